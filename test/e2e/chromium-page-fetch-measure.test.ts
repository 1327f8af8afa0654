// A measurement, printed, not a timed assertion (issue 10 item 6, and the
// closing note's "changed JSON fetch in Chromium, with and without the
// extension"): a page's fetch() + text() of a JSON document that changes a
// little between fetches (its header and two items), at two sizes, in
// headless Chromium with dist/chromium-test (the relay path: a verified
// delta) and in the same Chromium without any extension (the full body every
// time). Bytes are the server's access log (body bytes sent: the delta, or the
// full body as the server compressed it for a browser, br); time is the
// page's, from fetch() to the text in hand, median of ROUNDS fetches after one
// warm-up, on 127.0.0.1 (no network latency: the extension's own cost shows,
// the bytes it saves do not pay back here). Each fetch's text is checked
// against the file.
//
// Seen on the 2-core test VM (Chromium 156, shared, noisy), two runs:
//   ~100 KB  with extension:  3216 B sent, 40 / 24 ms   without:  36733 B (br), 17 / 16 ms
//   ~1 MB    with extension: 38768 B sent, 95 / 80 ms   without: 368956 B (br), 94 / 55 ms
// i.e. about 10x fewer bytes, for some 8-25 ms more on loopback (the
// background round trip, the rebuild and its SHA-1, the verified body's two
// message hops). The bytes saved pay that back on a link slower than about
// 100 Mbit/s for the 1 MB answer (330 KB saved), 12-30 Mbit/s for the 100 KB one.

import { createHash } from 'node:crypto';
import puppeteer, { Browser, Page } from 'puppeteer-core';
import type { StoreSummary } from '../../extension/shared/messages';
import { LaunchedChromium, WAIT_MS, chromiumPath, launchChromium, openChromiumExtensionPage, sendToBackground, waitFor } from './helpers/chromium';
import { SiteServer, startSiteServer } from './helpers/servers';
import { seededRandom } from '../helpers/random';
import { CHROMIUM_ARGS } from '../helpers/chromium-args';

const CHROMIUM = chromiumPath();
if (!CHROMIUM) console.warn('chromium is not installed (apt-get install chromium): skipping the page-fetch measurement');
// A measurement: it runs with CRCSYNC_MEASURE=1 (e.g. `CRCSYNC_MEASURE=1 npx jest PATH`), not in every `npm test`.
const maybe = CHROMIUM && process.env.CRCSYNC_MEASURE === '1' ? describe : describe.skip;

const ROUNDS = 7;
const SIZES = [{ label: '~100 KB', items: 800 }, { label: '~1 MB', items: 8000 }];

/** A JSON feed of `items` items; version `n` changes its header and two items (which depends on n), as an API answer between polls. */
function feed(items: number, version: number): string {
  const random = seededRandom(items);
  const list = [];
  for (let i = 0; i < items; i++) {
    const words = Array.from({ length: 8 }, () => Math.floor(random() * 1e9).toString(36)).join(' ');
    const changed = version > 0 && (i === (version * 97) % items || i === (version * 389) % items);
    list.push({ id: i, title: `item ${i}`, text: words, price: Math.floor(random() * 10000) / 100, version: changed ? version : 0 });
  }
  return JSON.stringify({ generated: version, items: list });
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

interface Measured {
  ms: number;
  sentBytes: number;
  encoding: string;
}

/** Fetches `path` in the page, checks the text, and reads what the server sent for it. */
async function timedFetch(page: Page, site: SiteServer, path: string, expected: string): Promise<Measured> {
  const from = site.responses.length;
  const got = await page.evaluate(async (href) => {
    const start = performance.now();
    const text = await fetch(href).then((response) => response.text());
    return { ms: performance.now() - start, text };
  }, path);
  expect(sha256(got.text)).toBe(sha256(expected));
  const logged = await waitFor(`the access log line of ${path}`, () => site.responses.slice(from).find((entry) => entry.url === path));
  return { ms: got.ms, sentBytes: logged.sentBytes, encoding: logged.encoding };
}

/** One size: the first fetch (stored when the extension is there), then ROUNDS fetches of a changed version. */
async function measure(page: Page, site: SiteServer, path: string, items: number, afterFirst: () => Promise<void>): Promise<Measured[]> {
  site.write(path, feed(items, 0));
  await timedFetch(page, site, path, feed(items, 0));
  await afterFirst();
  const runs: Measured[] = [];
  for (let version = 1; version <= ROUNDS + 1; version++) {
    site.write(path, feed(items, version));
    const run = await timedFetch(page, site, path, feed(items, version));
    if (version > 1) runs.push(run); // the first changed fetch warms up (JIT, the base read into memory)
  }
  return runs;
}

maybe('changed JSON fetch in Chromium, with and without the extension (printed)', () => {
  let site: SiteServer;

  beforeAll(async () => {
    site = await startSiteServer();
    site.write('/start.html', '<!doctype html><p>start</p>');
  });

  afterAll(async () => {
    await site?.close();
  });

  test('bytes and time per fetch', async () => {
    const lines: string[] = [];
    const results: Record<string, { with: Measured[]; without: Measured[] }> = {};
    let chromium: LaunchedChromium | undefined;
    try {
      chromium = await launchChromium();
      const control = await openChromiumExtensionPage(chromium, 'popup/popup.html');
      const page = await chromium.browser.newPage();
      await page.goto(`${site.origin}/start.html`, { waitUntil: 'load', timeout: WAIT_MS });
      for (const { label, items } of SIZES) {
        const path = `/feed-${items}.json`;
        const stored = () =>
          // The base is written once the tab is quiet (tab-activity.ts): the changed fetches must find it.
          waitFor(`${path} stored`, async () => {
            const summary = await sendToBackground<StoreSummary>(control, { type: 'getStoreSummary', request: { settle: true } });
            return summary.entries.length >= storedBefore + 1 ? true : undefined;
          }).then(() => undefined);
        const storedBefore = (await sendToBackground<StoreSummary>(control, { type: 'getStoreSummary', request: { settle: true } })).entries.length;
        results[label] = { with: await measure(page, site, path, items, stored), without: [] };
      }
    } finally {
      await chromium?.close();
    }
    let plain: Browser | undefined;
    try {
      plain = await puppeteer.launch({ browser: 'chrome', executablePath: CHROMIUM!, headless: true, pipe: true, args: [...CHROMIUM_ARGS] });
      const page = await plain.newPage();
      await page.goto(`${site.origin}/start.html`, { waitUntil: 'load', timeout: WAIT_MS });
      for (const { label, items } of SIZES) results[label].without = await measure(page, site, `/plain-${items}.json`, items, async () => undefined);
    } finally {
      await plain?.close();
    }
    for (const { label } of SIZES) {
      const { with: extension, without } = results[label];
      // With the extension every changed fetch was a delta; without, the full body (compressed as the server chose: br).
      expect(extension.map((run) => run.encoding)).toEqual(extension.map(() => 'crcsync'));
      expect(without.filter((run) => run.encoding === 'crcsync')).toEqual([]);
      const withBytes = median(extension.map((run) => run.sentBytes));
      const withoutBytes = median(without.map((run) => run.sentBytes));
      expect(withBytes).toBeLessThan(withoutBytes);
      lines.push(
        `${label.padEnd(8)} with extension: ${String(withBytes).padStart(8)} B sent, ${median(extension.map((run) => run.ms)).toFixed(1).padStart(6)} ms` +
          `   without: ${String(withoutBytes).padStart(8)} B sent, ${median(without.map((run) => run.ms)).toFixed(1).padStart(6)} ms` +
          `   (times: ${extension.map((run) => run.ms.toFixed(0)).join(',')} | ${without.map((run) => run.ms.toFixed(0)).join(',')})`,
      );
    }
    console.log(`changed JSON fetch(), Chromium headless, 127.0.0.1, median of ${ROUNDS}:\n${lines.join('\n')}`);
  }, 240_000);
});
