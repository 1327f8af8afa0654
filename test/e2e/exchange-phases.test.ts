// Where a delta exchange's time goes (issue 9), in real headless Firefox ESR
// with the test build and the reference server: a verified delta's exchange
// record carries `phases` (extension/background/exchange-phases.ts) that fit
// together the way they are defined; other outcomes carry none. A returning
// page's base comes from memory (hot-bodies.ts), and "forget this site"
// leaves nothing of it there either. No timing thresholds: how fast is for
// the benchmarks (npm run bench:load, scripts/profile-exchanges.ts).

import type { Page } from 'puppeteer-core';
import type { ExchangeRecord } from '../../extension/shared/messages';
import { PHASE_NAMES } from '../../extension/background/exchange-phases';
import { checkStore } from './helpers/cache-check';
import { LaunchedFirefox, WAIT_MS, askBackground, launchFirefox, openExtensionPage, tabIdOf, waitFor } from './helpers/firefox';
import { SiteServer, startSiteServer } from './helpers/servers';
import { expectPageShows, siteVersion, writeSite } from './helpers/site-content';

let site: SiteServer;
let firefox: LaunchedFirefox;
let page: Page;
let control: Page;

beforeAll(async () => {
  site = await startSiteServer();
  firefox = await launchFirefox();
  page = await firefox.browser.newPage();
}, 60_000);

afterAll(async () => {
  await firefox?.close();
  await site?.close();
});

async function storedBodies(): Promise<number> {
  return (await askBackground(control, 'getStoreSummary', { settle: true })).entries.filter((entry) => entry.urlOrigin === site.origin).length;
}

/** The latest exchange of `path` since `since`, once it is recorded. */
async function exchangeOf(path: string, since: number): Promise<ExchangeRecord> {
  const tabId = await tabIdOf(control, site.origin);
  return waitFor(`the exchange of ${path}`, async () => {
    const records = await askBackground(control, 'getExchanges', { tabId });
    return records.filter((record) => record.url === `${site.origin}${path}` && record.startedAt >= since).pop();
  });
}

/** What must hold between the phases of any verified delta exchange, however fast or slow it was. */
function expectConsistentPhases(phases: Record<string, number>): void {
  for (const [name, value] of Object.entries(phases)) {
    expect(name in PHASE_NAMES).toBe(true);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeGreaterThanOrEqual(0);
  }
  for (const name of ['offerMs', 'waitNetworkMs', 'headersMs', 'firstByteMs', 'lastByteMs', 'decodeMs', 'verifyMs', 'writeMs', 'deliveredMs', 'ownMs', 'baseFromMemory']) {
    expect(phases).toHaveProperty(name);
  }
  const slack = 0.02; // each phase is rounded to 0.01 ms
  // In order along the request: offered, headers, first byte, last byte, delivered.
  expect(phases.offerMs + phases.waitNetworkMs + phases.headersMs).toBeLessThanOrEqual(phases.firstByteMs + slack);
  expect(phases.firstByteMs).toBeLessThanOrEqual(phases.lastByteMs);
  expect(phases.lastByteMs).toBeLessThanOrEqual(phases.deliveredMs);
  if ('filterStartMs' in phases) expect(phases.filterStartMs).toBeLessThanOrEqual(phases.firstByteMs + slack);
  // Parts within wholes.
  expect(phases.verifyMs).toBeLessThanOrEqual(phases.decodeMs + slack);
  expect(phases.writeMs).toBeLessThanOrEqual(phases.deliveredMs - phases.lastByteMs + slack);
  // The wait for the response's end lies between the last byte and onstop.
  if ('endWaitMs' in phases && 'stopGapMs' in phases) expect(phases.endWaitMs).toBeLessThanOrEqual(phases.stopGapMs + slack);
  // ownMs is exactly its definition, so it holds the listeners and the tail after the last byte;
  // the wait for the end counts out only when the body was written at the end (not when S verified).
  const listeners = (phases.offerDispatchMs ?? 0) + phases.offerMs + (phases.headersDispatchMs ?? 0) + phases.headersMs;
  const tail = phases.deliveredMs - phases.lastByteMs;
  const endAt = 'stopGapMs' in phases ? phases.lastByteMs + phases.stopGapMs : Infinity;
  const candidates = [
    ...(phases.deliveredMs >= endAt - slack ? [listeners + tail - (phases.endWaitMs ?? 0)] : []),
    ...(phases.deliveredMs <= endAt + slack ? [listeners + tail] : []),
  ];
  expect(Math.min(...candidates.map((own) => Math.abs(phases.ownMs - own)))).toBeLessThanOrEqual(0.06);
  expect(phases.ownMs).toBeGreaterThanOrEqual(phases.offerMs + phases.headersMs + phases.writeMs - slack);
  expect([0, 1]).toContain(phases.baseFromMemory);
  if (phases.baseFromMemory === 1) expect(phases.baseReadMs).toBe(0);
}

test('a verified delta records its phases, consistent with one another; a stored plain response records none', async () => {
  writeSite(site.write, siteVersion(1));
  let since = Date.now();
  await expectPageShows(page, `${site.origin}/index.html`, siteVersion(1), WAIT_MS);
  control = await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(site.origin)}`);
  await page.bringToFront();
  await waitFor('four stored bodies', async () => ((await storedBodies()) >= 4 ? true : undefined));
  const first = await exchangeOf('/index.html', since);
  expect(first.outcome).toBe('stored');
  expect(first.phases).toBeUndefined();

  writeSite(site.write, siteVersion(2));
  since = Date.now();
  await expectPageShows(page, `${site.origin}/index.html`, siteVersion(2), WAIT_MS);
  for (const path of ['/index.html', '/style.css', '/app.js', '/data.json']) {
    const record = await waitFor(`${path} verified`, async () => {
      const found = await exchangeOf(path, since);
      return found.outcome === 'verified' ? found : undefined;
    });
    expect(record.phases).toBeDefined();
    expectConsistentPhases(record.phases!);
    // Stored in this session: the base was in memory, no IndexedDB read on the request path.
    expect(record.phases!.baseFromMemory).toBe(1);
    expect(record.phases!.baseWaitMs).toBe(0);
  }
  const store = await checkStore(control);
  expect(store.problems).toEqual([]);
  expect(store.hotBodies).toBeGreaterThanOrEqual(4);
});

test('"forget this site" leaves none of its bodies in memory, and the next visit sends no If-Block', async () => {
  const { removedEntries } = await askBackground(control, 'forgetSite', { origin: site.origin });
  expect(removedEntries).toBeGreaterThanOrEqual(4);
  const store = await checkStore(control);
  expect(store.problems).toEqual([]);
  expect(store.hotBodies).toBe(0);

  writeSite(site.write, siteVersion(3));
  const requestsBefore = site.requests.length;
  await expectPageShows(page, `${site.origin}/index.html`, siteVersion(3), WAIT_MS);
  const sent = site.requests.slice(requestsBefore).filter((request) => request.path === '/index.html');
  expect(sent.map((request) => request.ifBlock)).toEqual([undefined]);
});
