// The happy path in real headless Firefox ESR with the test build of the
// extension and the reference server: the first visit stores the bodies, the
// second sends If-Block for each of them (page, stylesheet, script, fetch())
// and the page shows the new version exactly, with fewer bytes on the wire.
// Then the popup and the devtools panel, with screenshots in test/artifacts/.

import type { Page } from 'puppeteer-core';
import { LaunchedFirefox, WAIT_MS, askBackground, launchFirefox, openExtensionPage, tabIdOf, waitFor } from './helpers/firefox';
import { SiteServer, startSiteServer } from './helpers/servers';
import { SiteVersion, expectPageShows, siteVersion, writeSite } from './helpers/site-content';

const SUBRESOURCES = ['/index.html', '/style.css', '/app.js', '/data.json'];

let site: SiteServer;
let firefox: LaunchedFirefox;
let page: Page;
let control: Page;

function visit(version: SiteVersion): Promise<void> {
  return expectPageShows(page, `${site.origin}/index.html`, version, WAIT_MS);
}

function sentBytes(fromIndex: number, path: string): { encoding: string; sent: number } {
  const entry = site.responses.slice(fromIndex).find((response) => response.url === path && response.method === 'GET');
  if (!entry) throw new Error(`no response for ${path}`);
  return { encoding: entry.encoding, sent: entry.sentBytes };
}

beforeAll(async () => {
  site = await startSiteServer();
  firefox = await launchFirefox();
  page = await firefox.browser.newPage();
}, 60_000);

afterAll(async () => {
  await firefox?.close();
  await site?.close();
});

test('first visit stores every cacheable body, sends no If-Block', async () => {
  writeSite(site.write, siteVersion(1));
  await visit(siteVersion(1));
  for (const path of SUBRESOURCES) {
    expect(site.requests.filter((request) => request.path === path).map((request) => request.ifBlock)).toEqual([undefined]);
  }
  control = await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(site.origin)}`);
  const summary = await waitFor('four stored bodies', async () => {
    const current = await askBackground(control, 'getStoreSummary', { settle: true });
    return current.entries.filter((entry) => entry.urlOrigin === site.origin).length >= 4 ? current : undefined;
  });
  expect(summary.entries.every((entry) => entry.topLevelOrigin === site.origin && entry.partition === 'firefox-default')).toBe(true);
});

test('second visit sends If-Block, rebuilds every body exactly, and moves fewer bytes', async () => {
  const before = site.responses.length;
  const requestsBefore = site.requests.length;
  const fullSizes = Object.fromEntries(SUBRESOURCES.map((path) => [path, sentBytes(0, path).sent]));
  const next = siteVersion(2);
  writeSite(site.write, next);
  await page.bringToFront();
  await visit(next);
  for (const path of SUBRESOURCES) {
    const requests = site.requests.slice(requestsBefore).filter((request) => request.path === path);
    expect(requests.length).toBe(1);
    expect(requests[0].ifBlock).toMatch(/^v=1; fs=\d+; h=[A-Za-z0-9+/]{427}$/);
    const { encoding, sent } = sentBytes(before, path);
    expect(encoding).toBe('crcsync');
    expect(sent).toBeLessThan(fullSizes[path]);
  }
  const totalDelta = SUBRESOURCES.reduce((sum, path) => sum + sentBytes(before, path).sent, 0);
  const totalFull = SUBRESOURCES.reduce((sum, path) => sum + fullSizes[path], 0);
  expect(totalDelta * 3).toBeLessThan(totalFull);

  const tabId = await tabIdOf(control, site.origin);
  const exchanges = await waitFor('four verified exchanges', async () => {
    const verified = (await askBackground(control, 'getExchanges', { tabId })).filter((record) => record.outcome === 'verified');
    return verified.length >= 4 ? verified : undefined;
  });
  for (const record of exchanges) {
    expect(record.ifBlock).not.toBeNull();
    expect(record.encoding).toBe('crcsync');
    expect(record.wireBytes).toBeLessThan(record.fullBytes);
  }
});
