// Test build only (dist/firefox-test; esbuild drops this module from the
// production builds because IS_TEST_BUILD is a literal false there).
//
// WebDriver BiDi refuses to navigate a tab to a moz-extension:// page, so an
// e2e test asks the extension to open its own pages in a tab by loading a
// trigger URL on the 127.0.0.1 test server:
//   /__crcsync_test__/open-popup?site=<origin>   the popup, showing <origin>
//   /__crcsync_test__/open-panel[?tab=<id>]      the devtools panel for a tab
//                                                (default: the requesting tab)
//   /__crcsync_test__/open-private?url=<url>     a private window showing <url>
//                                                (an http://127.0.0.1 URL only;
//                                                BiDi cannot open private windows)
// The test server answers these with 204; the extension only observes them.

import { browser } from '../shared/browser';

export const TEST_TRIGGER_PATH = '/__crcsync_test__/';

export function registerTestHooks(): void {
  browser.webRequest.onBeforeRequest.addListener(
    (details) => {
      const url = new URL(details.url);
      if (url.hostname !== '127.0.0.1' || !url.pathname.startsWith(TEST_TRIGGER_PATH)) return;
      const action = url.pathname.slice(TEST_TRIGGER_PATH.length);
      if (action === 'open-popup') {
        const site = url.searchParams.get('site') ?? url.origin;
        void browser.tabs.create({ url: browser.runtime.getURL(`popup/popup.html?site=${encodeURIComponent(site)}`) });
      } else if (action === 'open-panel') {
        const tabId = url.searchParams.get('tab') ?? String(details.tabId);
        void browser.tabs.create({ url: browser.runtime.getURL(`devtools/panel.html?tab=${encodeURIComponent(tabId)}`) });
      } else if (action === 'open-private') {
        const target = new URL(url.searchParams.get('url') ?? url.origin);
        if (target.protocol !== 'http:' || target.hostname !== '127.0.0.1') return;
        // Needs "Run in Private Windows" (the e2e helper installs with moz:allowPrivateBrowsing).
        browser.windows.create({ incognito: true, url: target.href }).catch((error: unknown) => console.error('crcsync test hook: open-private', error));
      }
    },
    { urls: ['<all_urls>'] },
  );
}
