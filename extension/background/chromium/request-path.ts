// Chromium's request path. MV3 Chromium has neither blocking webRequest nor
// a body filter, so If-Block goes out only from the two places that decode
// the answer themselves (a header nobody decodes must never go out,
// PROTOCOL.md §6; declarativeNetRequest is not used, see navigations.ts):
// - default: the page's own fetch()/XHR, made by the content-script relay
//   and rebuilt in the background (page-fetch.ts, extension/page/);
// - opt-in "accelerate page loads": navigations of enabled sites, through
//   chrome.debugger and the CDP Fetch domain (navigations.ts).
// The non-blocking listener here learns which sites speak crcsync.
// Only index.ts imports this module (test/conventions.test.ts), and only the
// Chromium build contains it.

import { advertisesCrcsync } from '../../../src/protocol/client-policy';
import { browser } from '../../shared/browser';
import { learnCapability } from '../capability-learning';
import type { RequestPath, RequestPathDeps } from '../request-path';
import { log } from '../log';
import { registerNavigationPath } from './navigations';
import { registerPageFetchBridge } from './page-fetch';
import { registerPageScripts } from './page-scripts';

const ALL_URLS = { urls: ['<all_urls>'] };

/** Registers Chromium's request listeners, synchronously (call at the top level of the background). */
export function registerChromiumRequestPath({ services }: RequestPathDeps): RequestPath {
  browser.webRequest.onHeadersReceived.addListener(
    (details) => {
      if (advertisesCrcsync(details.responseHeaders)) learnCapability(services, details.url);
    },
    ALL_URLS,
    ['responseHeaders'],
  );
  // Opt-in: navigations of enabled sites through chrome.debugger (navigations.ts).
  registerNavigationPath({ services });
  // Default mode: the page's own fetch()/XHR, through the content-script relay (page-fetch.ts).
  registerPageFetchBridge({ services });
  // Its content scripts, on the enabled sites only (page-scripts.ts).
  registerPageScripts({ services, log });
  // Nothing is hooked here, so there is nothing to add or remove when the setting changes.
  return { applySubresourceDeltas: () => undefined };
}
