// The user's controls: the toolbar popup (savings, this site on/off, global
// on/off, forget this site) and the devtools panel (this tab's exchanges,
// HAR-like export). Extension pages are opened in tabs through the test
// build's trigger URLs (BiDi cannot navigate to moz-extension://); the
// screenshots land in test/artifacts/.

import type { Page } from 'puppeteer-core';
import { LaunchedFirefox, WAIT_MS, artifactPath, askBackground, launchFirefox, openExtensionPage, tabIdOf, waitFor } from './helpers/firefox';
import { SiteServer, startSiteServer } from './helpers/servers';
import { expectPageShows, siteVersion, writeSite } from './helpers/site-content';
import { formatBytes, formatSavedPercent } from '../../extension/shared/format';

let site: SiteServer;
let firefox: LaunchedFirefox;
let page: Page;
let popup: Page;
let version = 1;

function popupTrigger(): string {
  return `/__crcsync_test__/open-popup?site=${encodeURIComponent(site.origin)}`;
}

/** Writes the next version and loads it; returns the requests the visit made. */
async function visitNextVersion(): Promise<typeof site.requests> {
  version++;
  const next = siteVersion(version);
  writeSite(site.write, next);
  const before = site.requests.length;
  await expectPageShows(page, `${site.origin}/index.html`, next, WAIT_MS);
  return site.requests.slice(before);
}

async function storedForSite(): Promise<number> {
  const summary = await askBackground(popup, 'getStoreSummary', { settle: true });
  return summary.entries.filter((entry) => entry.urlOrigin === site.origin).length;
}

beforeAll(async () => {
  site = await startSiteServer();
  firefox = await launchFirefox();
  page = await firefox.browser.newPage();
  writeSite(site.write, siteVersion(version));
  await expectPageShows(page, `${site.origin}/index.html`, siteVersion(version), WAIT_MS);
  const control = await openExtensionPage(firefox.browser, page, popupTrigger());
  await waitFor('the first visit stored', async () => ((await askBackground(control, 'getStoreSummary', { settle: true })).entries.length >= 4 ? true : undefined));
  await control.close();
  const requests = await visitNextVersion();
  expect(requests.every((request) => request.ifBlock !== undefined)).toBe(true);
  popup = await openExtensionPage(firefox.browser, page, popupTrigger());
}, 60_000);

afterAll(async () => {
  await firefox?.close();
  await site?.close();
});

test('the popup shows this site on, and what it saved', async () => {
  const shown = await waitFor('savings in the popup', () =>
    popup.evaluate(() => {
      const saved = document.getElementById('site-saved')!.textContent ?? '';
      return saved.includes('%')
        ? {
            origin: document.getElementById('site-origin')!.textContent,
            siteOn: (document.getElementById('site-enabled') as HTMLInputElement).checked,
            globalOn: (document.getElementById('global-enabled') as HTMLInputElement).checked,
            saved,
            total: document.getElementById('total-saved')!.textContent,
          }
        : undefined;
    }),
  );
  expect(shown.origin).toBe(site.origin);
  expect(shown.siteOn).toBe(true);
  expect(shown.globalOn).toBe(true);
  const state = await askBackground(popup, 'getPopupState', { origin: site.origin });
  expect(state.site?.capable).toBe(true);
  const { baselineBytes, wireBytes } = state.site!.savings;
  expect(wireBytes).toBeLessThan(baselineBytes);
  // The text is exactly the background's numbers: saved = baseline - received.
  expect(shown.saved).toBe(
    `${formatBytes(baselineBytes - wireBytes)} saved (${formatSavedPercent(baselineBytes, wireBytes)}): ${formatBytes(wireBytes)} received instead of ${formatBytes(baselineBytes)}, 4 deltas`,
  );
  expect(shown.total).toMatch(/%/);
  await popup.setViewport({ width: 340, height: 360 });
  await popup.screenshot({ path: artifactPath('popup.png') });
});

test('this site off: requests carry no If-Block and nothing new is stored', async () => {
  await popup.click('#site-enabled');
  await waitFor('the site switched off', async () => ((await askBackground(popup, 'getPopupState', { origin: site.origin })).site?.enabled === false ? true : undefined));
  const stored = await storedForSite();
  const requests = await visitNextVersion();
  expect(requests.length).toBe(4);
  expect(requests.filter((request) => request.ifBlock !== undefined)).toEqual([]);
  expect(await storedForSite()).toBe(stored);

  await popup.click('#site-enabled');
  await waitFor('the site switched on', async () => ((await askBackground(popup, 'getPopupState', { origin: site.origin })).site?.enabled ? true : undefined));
});

test('global off: requests carry no If-Block', async () => {
  await popup.click('#global-enabled');
  await waitFor('crcsync switched off', async () => ((await askBackground(popup, 'getPopupState', { origin: null })).enabled ? undefined : true));
  const requests = await visitNextVersion();
  expect(requests.filter((request) => request.ifBlock !== undefined)).toEqual([]);
  await popup.click('#global-enabled');
  await waitFor('crcsync switched on', async () => ((await askBackground(popup, 'getPopupState', { origin: null })).enabled ? true : undefined));
});

test('the devtools panel lists this tab\'s exchanges and exports them', async () => {
  const tabId = await tabIdOf(popup, site.origin);
  const panel = await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-panel?tab=${tabId}`);
  const rows = await waitFor('rows in the panel', () =>
    panel.evaluate(() => {
      const found = Array.from(document.querySelectorAll<HTMLTableRowElement>('#exchanges tr')).map((row) => ({
        url: row.dataset.url,
        outcome: row.dataset.outcome,
        cells: Array.from(row.cells).map((cell) => cell.textContent),
      }));
      return found.length >= 8 ? found : undefined;
    }),
  );
  const verified = rows.filter((row) => row.outcome === 'verified');
  expect(verified.length).toBeGreaterThanOrEqual(4);
  expect(verified[0].cells[2]).toBe('sent');
  expect(verified[0].cells[3]).toBe('crcsync');
  expect(rows.some((row) => row.outcome === 'stored')).toBe(true);
  const har = JSON.parse(await panel.evaluate(() => (globalThis as unknown as { crcsyncHarJson(): string }).crcsyncHarJson()));
  expect(har.log.version).toBe('1.2');
  expect(har.log.entries.length).toBe(rows.length);
  const entry = har.log.entries.find((candidate: { _crcsync: { outcome: string } }) => candidate._crcsync.outcome === 'verified');
  expect(entry.request.headers[0].name).toBe('If-Block');
  expect(entry._crcsync.wireBytes).toBeLessThan(entry._crcsync.fullBytes);

  // Live: a new visit appears without reopening the panel.
  const count = rows.length;
  await visitNextVersion();
  await waitFor('live rows', () => panel.evaluate((before) => (document.querySelectorAll('#exchanges tr').length >= before + 4 ? true : undefined), count));
  await panel.setViewport({ width: 1100, height: 500 });
  await panel.screenshot({ path: artifactPath('devtools-panel.png') });
  await panel.close();
});

test('forget this site drops its cached bodies and what was learned about it; the next visit sends no If-Block', async () => {
  expect(await storedForSite()).toBeGreaterThanOrEqual(4);
  expect((await askBackground(popup, 'getPopupState', { origin: site.origin })).site?.capable).toBe(true);
  await popup.click('#forget-site');
  await popup.waitForFunction(() => /Forgot \d+ cached/.test(document.getElementById('message')!.textContent ?? ''), { timeout: WAIT_MS });
  expect(await storedForSite()).toBe(0);
  // PROTOCOL.md §6: the learned `Capability: crcsync` of the site goes too (learned.capableOrigins).
  expect((await askBackground(popup, 'getPopupState', { origin: site.origin })).site?.capable).toBe(false);
  const requests = await visitNextVersion();
  expect(requests.filter((request) => request.ifBlock !== undefined)).toEqual([]);
});
