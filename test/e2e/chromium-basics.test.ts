// Chromium basics with the built extension (dist/chromium-test): it loads in
// Debian's headless Chromium, its popup and devtools panel work against the
// background (screenshots in test/artifacts/), a tab with nothing to decode
// deltas never asks for one (PROTOCOL.md §6: a header nobody decodes renders
// a raw delta), and what it stored survives a browser restart. The decoding
// paths have their own tests (chromium-page-fetch, chromium-navigation).

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import type { ExchangeRecord } from '../../extension/shared/messages';
import { LaunchedChromium, WAIT_MS, chromiumPath, launchChromium, openChromiumExtensionPage, sendToBackground, waitFor } from './helpers/chromium';
import { artifactPath } from './helpers/firefox';
import { SiteServer, startSiteServer } from './helpers/servers';
import { expectPageShows, siteVersion, writeSite } from './helpers/site-content';
import { newsText } from '../helpers/random';

const executable = chromiumPath();
const maybe = executable ? describe : describe.skip;
if (!executable) console.warn('chromium is not installed (apt-get install chromium): Chromium e2e tests skipped');

maybe('the extension in Chromium', () => {
  let site: SiteServer;
  let chromium: LaunchedChromium;

  beforeAll(async () => {
    site = await startSiteServer();
    chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await site?.close();
  });

  test('the service worker runs the Chromium build, with its icons', async () => {
    const worker = await chromium.worker();
    const manifest = (await worker.evaluate(() => (globalThis as unknown as { chrome: { runtime: { getManifest(): unknown } } }).chrome.runtime.getManifest())) as {
      name: string;
      background: { service_worker?: string };
      icons: Record<string, string>;
    };
    expect(manifest.name).toBe('crcsync (test build)');
    expect(manifest.background.service_worker).toBe('background.js');
    const page = await chromium.browser.newPage();
    try {
      const icon = await page.goto(`chrome-extension://${chromium.extensionId}/${manifest.icons['32']}`, { timeout: WAIT_MS });
      expect(icon?.status()).toBe(200);
      expect(icon?.headers()['content-type']).toBe('image/png');
    } finally {
      await page.close();
    }
  });

  test('the popup shows the test site as on, from the background', async () => {
    const popup = await openChromiumExtensionPage(chromium, `popup/popup.html?site=${encodeURIComponent(site.origin)}`);
    try {
      const shown = await popup.evaluate(() => ({
        origin: document.getElementById('site-origin')!.textContent,
        globalOn: (document.getElementById('global-enabled') as HTMLInputElement).checked,
        siteOn: (document.getElementById('site-enabled') as HTMLInputElement).checked,
      }));
      expect(shown).toEqual({ origin: site.origin, globalOn: true, siteOn: true });
      writeFileSync(artifactPath('chromium-popup.png'), await popup.screenshot({ type: 'png', fullPage: true }));
    } finally {
      await popup.close();
    }
  });

  test('navigations of a tab the extension does not decode never carry If-Block, and show the page', async () => {
    const page: Page = await chromium.browser.newPage();
    try {
      for (let version = 1; version <= 3; version++) {
        const content = siteVersion(version);
        writeSite(site.write, content);
        await expectPageShows(page, `${site.origin}/index.html`, content, WAIT_MS);
      }
      const documents = site.requests.filter((request) => request.path === '/index.html');
      expect(documents.length).toBeGreaterThanOrEqual(3);
      expect(documents.filter((request) => request.ifBlock !== undefined)).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  test('after a restart with the same profile, a page’s fetch() gets a delta against what was stored before; the panel lists it', async () => {
    const profileDir = mkdtempSync(join(tmpdir(), 'crcsync-e2e-chromium-restart-'));
    const path = '/restart/data.txt';
    // Text that compresses like a page (so a delta beats br, the never-worse rule), the same but its last line.
    const stable = newsText(7, 30_000).toString();
    const body = (version: number) => `${stable}\nversion ${version}\n`;
    site.write('restart/index.html', '<!doctype html><title>restart</title><p>restart</p>');
    const fetchText = (page: Page) => page.evaluate((target) => fetch(target).then((response) => response.text()), path);
    let first: LaunchedChromium | null = await launchChromium({ profileDir });
    let second: LaunchedChromium | null = null;
    try {
      site.write(path.slice(1), body(1));
      const page = await first.browser.newPage();
      await page.goto(`${site.origin}/restart/index.html`, { timeout: WAIT_MS });
      expect(await fetchText(page)).toBe(body(1));
      const control = await openChromiumExtensionPage(first, 'popup/popup.html');
      await waitFor('the body stored', async () => {
        const summary = await sendToBackground<{ entries: { urlOrigin: string }[]; pendingWrites: number }>(control, { type: 'getStoreSummary', request: { settle: true } });
        return summary.entries.some((entry) => entry.urlOrigin === site.origin) && summary.pendingWrites === 0 ? true : undefined;
      });
      await first.close();
      first = null;

      second = await launchChromium({ profileDir });
      site.write(path.slice(1), body(2));
      const before = site.requests.length;
      const again = await second.browser.newPage();
      await again.goto(`${site.origin}/restart/index.html`, { timeout: WAIT_MS });
      expect(await fetchText(again)).toBe(body(2));
      expect(site.requests.slice(before).filter((request) => request.path === path).map((request) => request.ifBlock !== undefined)).toEqual([true]);
      const control2 = await openChromiumExtensionPage(second, 'popup/popup.html');
      const tabId = await control2.evaluate(
        (prefix) =>
          (globalThis as unknown as { chrome: { tabs: { query(q: unknown): Promise<{ id: number; url?: string }[]> } } }).chrome.tabs
            .query({})
            .then((tabs) => tabs.find((tab) => (tab.url ?? '').startsWith(prefix))!.id),
        `${site.origin}/restart/`,
      );
      const record = await waitFor('the delta verified', async () => {
        const records = await sendToBackground<ExchangeRecord[]>(control2, { type: 'getExchanges', request: { tabId } });
        return records.find((candidate) => candidate.url === `${site.origin}${path}` && candidate.outcome === 'verified');
      });
      expect(record.fullBytes).toBe(body(2).length);
      const panel = await openChromiumExtensionPage(second, `devtools/panel.html?tab=${tabId}`);
      await panel.waitForFunction((url) => document.body.textContent!.includes(url), { timeout: WAIT_MS }, path);
      writeFileSync(artifactPath('chromium-panel.png'), await panel.screenshot({ type: 'png', fullPage: true }));
    } finally {
      await first?.close();
      await second?.close();
      rmSync(profileDir, { recursive: true, force: true });
    }
  }, 90_000);

  test('an incognito (off-the-record) window: no If-Block goes out and nothing is stored', async () => {
    const context = await chromium.browser.createBrowserContext();
    try {
      const path = '/incognito/data.txt';
      site.write('incognito/index.html', '<!doctype html><title>incognito</title><p>incognito</p>');
      site.write(path.slice(1), newsText(9, 20_000).toString());
      const page = await context.newPage();
      await page.goto(`${site.origin}/incognito/index.html`, { timeout: WAIT_MS });
      const before = site.requests.length;
      for (let round = 0; round < 2; round++) await page.evaluate((target) => fetch(target).then((response) => response.text()), path);
      expect(site.requests.slice(before).filter((request) => request.path === path).map((request) => request.ifBlock)).toEqual([undefined, undefined]);
      const control = await openChromiumExtensionPage(chromium, 'popup/popup.html');
      const summary = await sendToBackground<{ entries: { key: string }[] }>(control, { type: 'getStoreSummary', request: { settle: true } });
      const urlHash = createHash('sha256').update(`${site.origin}${path}`).digest('hex');
      expect(summary.entries.filter((entry) => entry.key.endsWith(urlHash))).toEqual([]);
      await control.close();
    } finally {
      await context.close();
    }
  });
});
