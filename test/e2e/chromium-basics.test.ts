// Chromium basics with the built extension (dist/chromium-test): it loads in
// Debian's headless Chromium, its popup works against the background, and a
// tab with nothing to decode deltas never asks for one (PROTOCOL.md §6: a
// header nobody decodes renders a raw delta). The decoding paths have their
// own tests (chromium-page-fetch, chromium-navigation).

import type { Page } from 'puppeteer-core';
import { LaunchedChromium, WAIT_MS, chromiumPath, launchChromium, openChromiumExtensionPage } from './helpers/chromium';
import { SiteServer, startSiteServer } from './helpers/servers';
import { expectPageShows, siteVersion, writeSite } from './helpers/site-content';

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
});
