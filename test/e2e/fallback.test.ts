// Failure is invisible (PROTOCOL.md §3, §5): a corrupt delta, a wrong
// digest, a truncated body, a server that lies about crcsync (full body
// labelled `Content-Encoding: crcsync`) all end with the correct page, and a
// delta that stalls half way (connection left open) still gives fetch() the
// exact new body after about one stall timeout; bytes after a delta whose S
// already verified leave the page with the verified body, unrefetched. The
// extension refetches the URL without If-Block, writes that body through
// the filter, logs why, and replaces the bad cache entry.

import type { Page } from 'puppeteer-core';
import { LaunchedFirefox, WAIT_MS, askBackground, launchFirefox, openExtensionPage, tabIdOf, waitFor, withTimeout } from './helpers/firefox';
import { DamageMode, DamagingProxy, SiteServer, startDamagingProxy, startSiteServer } from './helpers/servers';
import { expectPageShows, siteVersion, writeSite } from './helpers/site-content';

const FILES = ['index.html', 'style.css', 'app.js', 'data.json'];
const STALL_TIMEOUT_MS = 1000;

let site: SiteServer;
let proxy: DamagingProxy;
let firefox: LaunchedFirefox;
let page: Page;
let control: Page;

beforeAll(async () => {
  site = await startSiteServer();
  proxy = await startDamagingProxy(site.origin);
  firefox = await launchFirefox();
  page = await firefox.browser.newPage();
  writeSite(site.write, siteVersion(1), 'start/');
  await expectPageShows(page, `${proxy.origin}/start/index.html`, siteVersion(1), WAIT_MS);
  control = await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(proxy.origin)}`);
  // The default (10 s) would make the stall test slow; the setting is the user's knob, validated in the background.
  expect(await askBackground(control, 'setDeltaStallTimeout', { ms: STALL_TIMEOUT_MS })).toEqual({ deltaStallTimeoutMs: STALL_TIMEOUT_MS });
}, 60_000);

afterAll(async () => {
  await firefox?.close();
  await proxy?.close();
  await site?.close();
});

const MODES: [DamageMode, RegExp][] = [
  ['corrupt', /^(DELTA_[A-Z_]+)$/],
  ['wrong-digest', /^DELTA_DIGEST_MISMATCH$/],
  ['truncate', /^DELTA_(TRUNCATED|MISSING_DIGEST)$/],
  ['lie', /^DELTA_[A-Z_]+$/],
];

test.each(MODES)('a %s delta still ends with the correct page', async (mode, reasonPattern) => {
  const directory = `${mode}/`;
  const stored = (await askBackground(control, 'getStoreSummary', { settle: true })).entries.length;
  proxy.mode = 'none';
  writeSite(site.write, siteVersion(1), directory);
  await expectPageShows(page, `${proxy.origin}/${directory}index.html`, siteVersion(1), WAIT_MS);
  await waitFor('the first visit stored', async () => {
    const summary = await askBackground(control, 'getStoreSummary', { settle: true });
    return summary.entries.length >= stored + FILES.length ? true : undefined;
  });

  const next = siteVersion(2, ` (${mode})`);
  writeSite(site.write, next, directory);
  proxy.mode = mode;
  const seenBefore = proxy.requests.length;
  await expectPageShows(page, `${proxy.origin}/${directory}index.html`, next, WAIT_MS);
  // Each file: once with If-Block (damaged answer), then once without (the background's refetch).
  for (const file of FILES) {
    const seen = proxy.requests.slice(seenBefore).filter((request) => request.path === `/${directory}${file}`);
    expect(seen.map((request) => request.ifBlock !== undefined)).toEqual([true, false]);
  }
  const tabId = await tabIdOf(control, proxy.origin);
  const fellBack = await waitFor('four fell-back exchanges', async () => {
    const records = (await askBackground(control, 'getExchanges', { tabId })).filter(
      (record) => record.outcome === 'fell-back' && record.url.includes(`/${directory}`),
    );
    return records.length >= FILES.length ? records : undefined;
  });
  for (const record of fellBack) {
    expect(record.reason).toMatch(reasonPattern);
    expect(record.fullBytes).toBeGreaterThan(0);
  }
  // The bad entries were replaced by the refetched bodies: the next visit deltas against those.
  await askBackground(control, 'getStoreSummary', { settle: true });
  proxy.mode = 'none';
  const third = siteVersion(3, ` (${mode})`);
  writeSite(site.write, third, directory);
  const seenBeforeThird = proxy.requests.length;
  await expectPageShows(page, `${proxy.origin}/${directory}index.html`, third, WAIT_MS);
  const thirdRequests = proxy.requests.slice(seenBeforeThird).filter((request) => request.path.startsWith(`/${directory}`));
  expect(thirdRequests.length).toBe(FILES.length);
  expect(thirdRequests.every((request) => request.ifBlock !== undefined)).toBe(true);
});

test('bytes after a verified delta (a later chunk): the page keeps the verified body, nothing is refetched, the peer error is logged', async () => {
  const directory = 'trailing/';
  const stored = (await askBackground(control, 'getStoreSummary', { settle: true })).entries.length;
  proxy.mode = 'none';
  writeSite(site.write, siteVersion(1), directory);
  await expectPageShows(page, `${proxy.origin}/${directory}index.html`, siteVersion(1), WAIT_MS);
  await waitFor('the first visit stored', async () => {
    const summary = await askBackground(control, 'getStoreSummary', { settle: true });
    return summary.entries.length >= stored + FILES.length ? true : undefined;
  });
  const next = siteVersion(2, ' (trailing)');
  writeSite(site.write, next, directory);
  proxy.mode = 'trailing';
  const seenBefore = proxy.requests.length;
  await expectPageShows(page, `${proxy.origin}/${directory}index.html`, next, WAIT_MS);
  const tabId = await tabIdOf(control, proxy.origin);
  const records = await waitFor('four exchanges', async () => {
    const found = (await askBackground(control, 'getExchanges', { tabId })).filter((record) => record.url.includes(`/${directory}`) && record.outcome !== 'stored');
    return found.length >= FILES.length ? found : undefined;
  });
  for (const record of records) {
    expect([record.url, record.outcome, record.reason]).toEqual([record.url, 'verified', 'DELTA_TRAILING_DATA']);
  }
  // One request per file: the verified body was the server's, so nothing was fetched again.
  for (const file of FILES) {
    const seen = proxy.requests.slice(seenBefore).filter((request) => request.path === `/${directory}${file}`);
    expect(seen.map((request) => request.ifBlock !== undefined)).toEqual([true]);
  }
  proxy.mode = 'none';
});

test('a delta that stalls half way: fetch() still gets the exact new body, after about one stall timeout', async () => {
  proxy.mode = 'none';
  const before = (await askBackground(control, 'getStoreSummary', { settle: true })).entries.length;
  writeSite(site.write, siteVersion(1), 'stall/');
  await expectPageShows(page, `${proxy.origin}/stall/index.html`, siteVersion(1), WAIT_MS);
  const stored = await waitFor('the first visit stored', async () => {
    const summary = await askBackground(control, 'getStoreSummary', { settle: true });
    return summary.entries.length >= before + FILES.length ? summary.entries.length : undefined;
  });
  const next = siteVersion(2, ' (stall)');
  writeSite(site.write, next, 'stall/');
  proxy.mode = 'stall';
  const seenBefore = proxy.requests.length;
  const stalledBefore = proxy.stalled;
  const started = Date.now();
  const text = await withTimeout(page.evaluate(() => fetch('data.json').then((response) => response.text())), 'the stalled fetch');
  const waited = Date.now() - started;
  expect(text).toBe(next.json);
  expect(proxy.stalled - stalledBefore).toBe(1);
  // Bounded by the configured stall timeout (not Firefox's network timeouts): stall + refetch.
  expect(waited).toBeGreaterThanOrEqual(STALL_TIMEOUT_MS);
  expect(waited).toBeLessThan(STALL_TIMEOUT_MS + 4000);
  const seen = proxy.requests.slice(seenBefore).filter((request) => request.path === '/stall/data.json');
  expect(seen.map((request) => request.ifBlock !== undefined)).toEqual([true, false]);
  const tabId = await tabIdOf(control, proxy.origin);
  const record = await waitFor('the stalled exchange', async () =>
    (await askBackground(control, 'getExchanges', { tabId })).find((candidate) => candidate.url.endsWith('/stall/data.json') && candidate.outcome === 'fell-back'),
  );
  expect(record.reason).toBe('DELTA_STALLED');
  expect(record.fullBytes).toBe(new TextEncoder().encode(next.json).length);
  // A stall says nothing against the cached copy: it was kept, then replaced by the refetched body, never lost.
  const after = await askBackground(control, 'getStoreSummary', { settle: true });
  expect(after.entries.length).toBe(stored);
});
