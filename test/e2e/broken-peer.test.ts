// A broken peer must not break a page for good. The original Apache module,
// in front of a precompressed file (`AddEncoding gzip .gz`), answers If-Block
// with a crcsync delta of the gzip bytes labelled `Content-Encoding: gzip`:
// Firefox cannot decode it ("Content Encoding Error"). The extension holds
// the URL (no If-Block for it for a while; extension/background/if-block-holds.ts),
// reloads a failed navigation once (that load goes without If-Block), and
// the exchange log says why.

import type { Page } from 'puppeteer-core';
import { LaunchedFirefox, WAIT_MS, askBackground, launchFirefox, openExtensionPage, tabIdOf, waitFor } from './helpers/firefox';
import { MislabellingServer, startMislabellingServer } from './helpers/servers';

let server: MislabellingServer;
let firefox: LaunchedFirefox;
let page: Page;
let control: Page;

const COLORS = ['rgb(0, 0, 255)', 'rgb(0, 128, 0)', 'rgb(128, 0, 128)'];

function text(version: number): string {
  return Array.from({ length: 40 }, (_, i) => `line ${i} of a precompressed page${i === 20 ? `, version ${version}` : ''}`).join('\n');
}

function publish(version: number): void {
  server.files.set('/page.html', {
    type: 'text/html; charset=utf-8',
    body: `<!doctype html><html><head><link rel="stylesheet" href="style.css"></head><body><pre id="content">${text(version)}</pre></body></html>\n`,
  });
  server.files.set('/style.css', { type: 'text/css', body: `#content { color: ${COLORS[version - 1]}; }\n/* ${text(version)} */\n` });
}

/** What the tab shows now; undefined while it shows something else (an error page, a load in progress). */
function shown(version: number): Promise<{ color: string } | undefined> {
  return page
    .evaluate(
      (expected) => {
        const content = document.getElementById('content');
        return content?.textContent === expected && document.readyState === 'complete' ? { color: getComputedStyle(content).color } : undefined;
      },
      text(version),
    )
    .catch(() => undefined);
}

function requestsSince(from: number, path: string): (string | undefined)[] {
  return server.requests
    .slice(from)
    .filter((request) => request.path === path)
    .map((request) => request.ifBlock);
}

beforeAll(async () => {
  server = await startMislabellingServer();
  firefox = await launchFirefox();
  page = await firefox.browser.newPage();
}, 60_000);

afterAll(async () => {
  await firefox?.close();
  await server?.close();
});

test('a delta of the gzip bytes labelled gzip: the failed visit heals itself, and the next ones go without If-Block', async () => {
  publish(1);
  await page.goto(`${server.origin}/page.html`, { waitUntil: 'load', timeout: WAIT_MS });
  expect(await shown(1)).toEqual({ color: COLORS[0] });
  control = await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(server.origin)}`);
  await waitFor('both bodies stored', async () => ((await askBackground(control, 'getStoreSummary', { settle: true })).entries.length >= 2 ? true : undefined));
  const tabId = await tabIdOf(control, server.origin);

  // Second visit: If-Block goes out, the answer cannot be decoded, the tab reloads once without it.
  publish(2);
  const second = server.requests.length;
  await page.goto(`${server.origin}/page.html`, { waitUntil: 'load', timeout: WAIT_MS }).catch(() => undefined);
  await waitFor('the healed second visit', () => shown(2));
  expect(requestsSince(second, '/page.html').map((ifBlock) => ifBlock !== undefined)).toEqual([true, false]);
  expect(server.mislabelled).toBeGreaterThanOrEqual(1);
  const failed = await waitFor('the failed exchange', async () =>
    (await askBackground(control, 'getExchanges', { tabId })).find((record) => record.url === `${server.origin}/page.html` && record.outcome === 'failed'),
  );
  expect(failed.ifBlock).not.toBeNull();
  // Firefox reports the load as completed; the body filter saw nothing (undecodedAnswerReason).
  expect(failed.reason).toBe('CONTENT_DECODING_FAILED gzip');

  // Third visit: no If-Block on the wire for either URL, the right page and style, and the log says why.
  publish(3);
  const third = server.requests.length;
  await page.goto(`${server.origin}/page.html`, { waitUntil: 'load', timeout: WAIT_MS });
  expect(await waitFor('the third visit', () => shown(3))).toEqual({ color: COLORS[2] });
  expect(requestsSince(third, '/page.html')).toEqual([undefined]);
  expect(requestsSince(third, '/style.css')).toEqual([undefined]);
  const withheld = await waitFor('the third visit\'s exchange', async () =>
    (await askBackground(control, 'getExchanges', { tabId })).find((record) => record.url === `${server.origin}/page.html` && record.startedAt >= failed.startedAt && record.ifBlockWithheld),
  );
  expect(withheld.ifBlock).toBeNull();
  expect(withheld.ifBlockWithheld).toBe(`held: the last load with If-Block failed (${failed.reason})`);
  expect(withheld.outcome).toBe('stored');

  // The holds are on disk (they survive a restart), one per URL, and go with "forget this site".
  const onDisk = () => control.evaluate(() => (globalThis as unknown as { browser: { runtime: { sendMessage(m: unknown): Promise<unknown> } } }).browser.runtime.sendMessage({ type: 'crcsync-test:readHolds' })) as Promise<{ key: string; failures: number; reason: string; topLevelOrigin: string }[]>;
  const holds = await waitFor('both holds on disk', async () => ((await onDisk()).length === 2 ? onDisk() : undefined));
  expect(holds.map((hold) => [hold.topLevelOrigin, hold.failures, hold.reason])).toEqual([
    [server.origin, 1, 'CONTENT_DECODING_FAILED gzip'],
    [server.origin, 1, 'CONTENT_DECODING_FAILED gzip'],
  ]);
  await askBackground(control, 'forgetSite', { origin: server.origin });
  expect(await waitFor('no hold left on disk', async () => ((await onDisk()).length === 0 ? true : undefined))).toBe(true);
  const afterForget = server.requests.length;
  await page.goto(`${server.origin}/page.html`, { waitUntil: 'load', timeout: WAIT_MS });
  expect(requestsSince(afterForget, '/page.html')).toEqual([undefined]); // nothing cached any more either
});
