// The background (Firefox: an MV3 event page; Chromium: a service worker).
// It only wires: the services (one init promise, services.ts), one browser's
// request path (firefox/ or chromium/, chosen at build time), and the
// popup's and panel's handlers (ui-handlers.ts). Every listener is
// registered synchronously while this module evaluates (the uBO Lite habit),
// so an event that wakes the page finds its listener; state lives in
// IndexedDB / storage.local and is loaded behind the init promise.
//
// Only this module imports ./firefox/ or ./chromium/ (test/conventions.test.ts).
// __CRCSYNC_BROWSER__ is a literal in each bundle (build-flags.ts), so esbuild
// drops the other browser's adapter from it.

import { browser } from '../shared/browser';
import '../shared/build-flags';
import { registerChromiumRequestPath } from './chromium/request-path';
import { registerFirefoxRequestPath } from './firefox/request-path';
import type { RequestPath } from './request-path';
import { startServices } from './services';
import { registerTestHooks } from './test-hooks';
import { registerUiHandlers } from './ui-handlers';

const services = startServices();
const extensionBaseUrl = browser.runtime.getURL('');

const requestPath: RequestPath =
  globalThis.__CRCSYNC_BROWSER__ === 'chromium'
    ? registerChromiumRequestPath({ services, extensionBaseUrl })
    : registerFirefoxRequestPath({ services, extensionBaseUrl });

registerUiHandlers({ services, requestPath, extensionBaseUrl });

// A literal in each build (see build-flags.ts): production bundles drop the hooks.
if (globalThis.__CRCSYNC_TEST_BUILD__ === true) registerTestHooks(() => services.ready);
