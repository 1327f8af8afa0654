// A private window stores nothing (PROTOCOL.md §6), in real headless Firefox
// ESR with the test build and the reference server.
//
// How a private window is reached: puppeteer over WebDriver BiDi cannot open
// one (Firefox 153's browsingContext.create has no private option), and
// permanent private browsing (`browser.privatebrowsing.autostart`) is no test
// at all: there the extension's own background page is private too and its
// IndexedDB refuses to open ("A mutation operation was attempted on a database
// that did not allow mutations"), so crcsync is simply off. Instead the add-on
// is installed with `moz:allowPrivateBrowsing` (Firefox's BiDi extension to
// webExtension.install) and the test build opens a private window on request
// (`windows.create({ incognito: true })`); BiDi drives that tab like any other.
//
// The same browser then shows the check can fail: the same visits in a normal
// window are cached and sent If-Block. Private and normal visits use two
// origins, so the last test can look for any trace of the private one in
// everything the extension persists (IndexedDB and storage.local).

import type { Page } from 'puppeteer-core';
import { LaunchedFirefox, WAIT_MS, askBackground, launchFirefox, openExtensionPage, openPrivateWindow, waitFor } from './helpers/firefox';
import { SiteServer, startSiteServer } from './helpers/servers';
import { expectPageShows, siteVersion, writeSite } from './helpers/site-content';

const SUBRESOURCES = ['/index.html', '/style.css', '/app.js', '/data.json'];
/** In every private body from version 2 on (site-content puts the marker in the page text and the JSON). */
const PRIVATE_MARKER = '(private visit)';
/** Too small to be cached (< 200 B): a page to start from and to fetch trigger URLs from. */
const START_PAGE = '/start.html';

let site: SiteServer;
let privateSite: SiteServer;
let firefox: LaunchedFirefox;
let page: Page;
let privatePage: Page;
let control: Page;

interface TabInfo {
  id: number;
  url?: string;
  incognito: boolean;
}

function tabsOf(extensionPage: Page, origin: string): Promise<TabInfo[]> {
  return extensionPage.evaluate(
    (prefix) =>
      (globalThis as unknown as { browser: { tabs: { query(q: unknown): Promise<TabInfo[]> } } }).browser.tabs
        .query({})
        .then((tabs) => tabs.filter((tab) => (tab.url ?? '').startsWith(prefix)).map(({ id, url, incognito }) => ({ id, url, incognito }))),
    `${origin}/`,
  );
}

function requestsFor(server: SiteServer, from = 0): { path: string; ifBlock: string | undefined }[] {
  return server.requests.slice(from).filter((request) => SUBRESOURCES.includes(request.path));
}

beforeAll(async () => {
  site = await startSiteServer();
  privateSite = await startSiteServer();
  site.write(START_PAGE, 'ok');
  privateSite.write(START_PAGE, 'ok');
  firefox = await launchFirefox({ allowPrivateBrowsing: true });
  page = await firefox.browser.newPage();
  await page.goto(`${site.origin}${START_PAGE}`, { waitUntil: 'load', timeout: WAIT_MS });
  control = await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(site.origin)}`);
  privatePage = await openPrivateWindow(firefox.browser, page, `${privateSite.origin}${START_PAGE}`);
}, 60_000);

afterAll(async () => {
  await firefox?.close();
  await site?.close();
  await privateSite?.close();
});

test('in a private window the extension sees every request, sends no If-Block and stores nothing', async () => {
  // It really is a private window, and the normal tab is not.
  expect((await tabsOf(control, privateSite.origin)).map((tab) => tab.incognito)).toEqual([true]);
  expect((await tabsOf(control, site.origin)).map((tab) => tab.incognito)).toEqual([false]);

  const [privateTab] = await tabsOf(control, privateSite.origin);
  // The extension runs there: it logs every exchange of the tab (as passed over for being private).
  const privateExchanges = (count: number) =>
    waitFor(`${count} private exchanges`, async () => {
      const seen = (await askBackground(control, 'getExchanges', { tabId: privateTab.id })).filter((record) =>
        SUBRESOURCES.some((path) => record.url === `${privateSite.origin}${path}`),
      );
      return seen.length >= count ? seen : undefined;
    });

  writeSite(privateSite.write, siteVersion(1, PRIVATE_MARKER));
  await expectPageShows(privatePage, `${privateSite.origin}/index.html`, siteVersion(1, PRIVATE_MARKER), WAIT_MS);
  await privateExchanges(4);
  // Every write the first visit could have started has settled before the second visit: had anything
  // been stored, the second visit would offer If-Block for it.
  expect((await askBackground(control, 'getStoreSummary', { settle: true })).entries).toEqual([]);

  writeSite(privateSite.write, siteVersion(2, PRIVATE_MARKER));
  await expectPageShows(privatePage, `${privateSite.origin}/index.html`, siteVersion(2, PRIVATE_MARKER), WAIT_MS);

  const requests = requestsFor(privateSite);
  expect(requests.map((request) => request.path).sort()).toEqual([...SUBRESOURCES, ...SUBRESOURCES].sort());
  expect(requests.filter((request) => request.ifBlock !== undefined)).toEqual([]);
  expect(privateSite.responses.filter((response) => response.encoding === 'crcsync')).toEqual([]);

  const records = await privateExchanges(8);
  expect(records.map((record) => [record.outcome, record.reason, record.ifBlock])).toEqual(Array(8).fill(['passed', 'not kept: private-window', null]));
  expect((await askBackground(control, 'getStoreSummary', { settle: true })).entries).toEqual([]);
});

test('the same visits in a normal window are cached and sent If-Block (the check above can fail)', async () => {
  writeSite(site.write, siteVersion(1));
  await page.bringToFront();
  await expectPageShows(page, `${site.origin}/index.html`, siteVersion(1), WAIT_MS);
  await waitFor('four stored bodies', async () => {
    const summary = await askBackground(control, 'getStoreSummary', { settle: true });
    return summary.entries.filter((entry) => entry.urlOrigin === site.origin).length >= 4 ? true : undefined;
  });
  const before = site.requests.length;
  writeSite(site.write, siteVersion(2));
  await expectPageShows(page, `${site.origin}/index.html`, siteVersion(2), WAIT_MS);
  const second = requestsFor(site, before);
  expect(second.map((request) => request.path).sort()).toEqual([...SUBRESOURCES].sort());
  expect(second.every((request) => request.ifBlock !== undefined)).toBe(true);

  const summary = await askBackground(control, 'getStoreSummary', { settle: true });
  expect(summary.entries.length).toBe(4);
  expect(summary.entries.every((entry) => entry.urlOrigin === site.origin && entry.partition === 'firefox-default')).toBe(true);
});

/** Everything the extension persists, read from one of its own pages: IndexedDB `crcsync` (all stores) and storage.local. */
function persistedState(extensionPage: Page, needles: string[]): Promise<{ stores: Record<string, number>; exchangeUrls: string[]; found: string[] }> {
  return extensionPage.evaluate(async (wanted) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('crcsync');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const stores: Record<string, number> = {};
    const texts: string[] = [];
    let exchangeUrls: string[] = [];
    try {
      for (const name of Array.from(db.objectStoreNames)) {
        const records = await new Promise<unknown[]>((resolve, reject) => {
          const request = db.transaction(name, 'readonly').objectStore(name).getAll();
          request.onsuccess = () => resolve(request.result as unknown[]);
          request.onerror = () => reject(request.error);
        });
        stores[name] = records.length;
        if (name === 'exchanges') exchangeUrls = records.map((record) => (record as { url: string }).url);
        for (const record of records) {
          texts.push(JSON.stringify(record, (_, value: unknown) => (value instanceof Uint8Array ? new TextDecoder().decode(value) : value)));
        }
      }
    } finally {
      db.close();
    }
    const local = await (globalThis as unknown as { browser: { storage: { local: { get(): Promise<unknown> } } } }).browser.storage.local.get();
    texts.push(JSON.stringify(local));
    const all = texts.join('\n');
    return { stores, exchangeUrls, found: wanted.filter((needle) => all.includes(needle)) };
  }, needles);
}

test("nothing from the private window is in the extension's persistent storage", async () => {
  // The exchange log is written in batches, oldest first: once the normal window's last exchanges are on
  // disk, anything queued from the private window before them would be too.
  const state = await waitFor('the normal exchanges written to IndexedDB', async () => {
    const current = await persistedState(control, [privateSite.origin, PRIVATE_MARKER, site.origin]);
    const normalWritten = current.exchangeUrls.filter((url) => SUBRESOURCES.some((path) => url === `${site.origin}${path}`)).length;
    return normalWritten >= 8 ? current : undefined;
  });
  expect(state.stores.entries).toBe(4);
  expect(state.stores.bodies).toBe(4);
  // Positive control: the normal origin is there (entries, exchanges, capability); the private one nowhere.
  expect(state.found).toEqual([site.origin]);
});
