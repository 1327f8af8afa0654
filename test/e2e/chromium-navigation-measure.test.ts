// A measurement, not a check: bytes and time of a changed page's navigation
// in headless Chromium with "accelerate page loads" on (a verified delta)
// and off (the full page), on loopback, through the reference server.
// Runs only with CRCSYNC_MEASURE=1 (it takes a while and asserts little);
// prints one line per case. Every wait is bounded.

import type { Page } from 'puppeteer-core';
import type { PopupState, StoreSummary } from '../../extension/shared/messages';
import { TEST_ATTACHED_MESSAGE } from '../../extension/background/chromium/navigations-test-messages';
import { LaunchedChromium, WAIT_MS, chromiumPath, launchChromium, openChromiumExtensionPage, sendToBackground, waitFor } from './helpers/chromium';
import { NavigationSite, startNavigationSite } from './helpers/chromium-navigation-server';

const RUN = process.env.CRCSYNC_MEASURE === '1' && chromiumPath() !== null;
const describeMeasure = RUN ? describe : describe.skip;

const VISITS = 9;

function pageText(label: string, version: number, lines: number): string {
  const rows: string[] = [];
  let seed = 12345;
  for (let i = 0; i < lines; i++) {
    let words = '';
    for (let w = 0; w < 12; w++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      words += `${seed.toString(36)} `;
    }
    rows.push(i === Math.floor(lines / 2) ? `<p id="version">${label} ${version}</p>` : `<p>${i}: ${words}</p>`);
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>${label}</title></head><body>${rows.join('\n')}</body></html>`;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

describeMeasure('measure: a changed page navigation in Chromium, accelerate page loads on and off', () => {
  let chromium: LaunchedChromium;
  let site: NavigationSite;
  let control: Page;
  let tab: Page;

  beforeAll(async () => {
    site = await startNavigationSite();
    site.write('/start.html', '<!doctype html><p>start</p>');
    chromium = await launchChromium();
    control = await openChromiumExtensionPage(chromium, 'popup/popup.html');
    tab = await chromium.browser.newPage();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await site?.close();
  });

  async function visits(path: string, label: string, lines: number, firstVersion: number): Promise<{ ms: number; responseEndMs: number; sent: number; encoding: string }> {
    const times: number[] = [];
    const responseEnds: number[] = [];
    const sent: number[] = [];
    const encodings = new Set<string>();
    for (let i = 0; i < VISITS; i++) {
      site.write(path, pageText(label, firstVersion + i, lines));
      const from = site.responses.length;
      const started = performance.now();
      await tab.goto(`${site.origin}${path}`, { waitUntil: 'load', timeout: WAIT_MS });
      times.push(performance.now() - started);
      responseEnds.push(await tab.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).responseEnd));
      const response = site.responses.slice(from).find((entry) => entry.url === path)!;
      sent.push(response.sentBytes);
      encodings.add(response.encoding);
      // The next version is stored as the base before the next visit.
      await sendToBackground<StoreSummary>(control, { type: 'getStoreSummary', request: { settle: true } });
    }
    return { ms: median(times), responseEndMs: median(responseEnds), sent: median(sent), encoding: [...encodings].join('/') };
  }

  it.each([
    ['/small.html', 'small', 300],
    ['/big.html', 'big', 10_000],
  ])('%s', async (path, label, lines) => {
    await sendToBackground<PopupState>(control, { type: 'setAcceleratePageLoads', request: { enabled: true } });
    await tab.goto(`${site.origin}/start.html`, { waitUntil: 'load', timeout: WAIT_MS });
    await waitFor('attached', async () => ((await sendToBackground<{ tabIds: number[] }>(control, { type: TEST_ATTACHED_MESSAGE })).tabIds.length ? true : undefined));
    site.write(path, pageText(label, 0, lines));
    await tab.goto(`${site.origin}${path}`, { waitUntil: 'load', timeout: WAIT_MS });
    await sendToBackground<StoreSummary>(control, { type: 'getStoreSummary', request: { settle: true } });
    const on = await visits(path, label, lines, 1);
    await sendToBackground<PopupState>(control, { type: 'setAcceleratePageLoads', request: { enabled: false } });
    await waitFor('detached', async () => ((await sendToBackground<{ tabIds: number[] }>(control, { type: TEST_ATTACHED_MESSAGE })).tabIds.length ? undefined : true));
    const off = await visits(path, label, lines, 100);
    const size = Buffer.byteLength(pageText(label, 1, lines));
    console.log(
      `${path} (${size} B): on: ${on.encoding} sent ${on.sent} B, load ${on.ms.toFixed(0)} ms, responseEnd ${on.responseEndMs.toFixed(1)} ms | ` +
        `off: ${off.encoding} sent ${off.sent} B, load ${off.ms.toFixed(0)} ms, responseEnd ${off.responseEndMs.toFixed(1)} ms (median of ${VISITS})`,
    );
    expect(on.encoding).toBe('crcsync');
    expect(off.encoding).not.toBe('crcsync');
  }, 180_000);
});
