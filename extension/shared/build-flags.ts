// Build-time switches. scripts/build-extension.mjs defines them as literals,
// so esbuild folds every test of them and drops the code they rule out:
// - globalThis.__CRCSYNC_TEST_BUILD__: false in dist/firefox and
//   dist/chromium (the test-only code is dropped), true only in
//   dist/firefox-test and dist/chromium-test, the builds the e2e tests install.
// - globalThis.__CRCSYNC_BROWSER__: "firefox" in dist/firefox and
//   dist/firefox-test, "chromium" in dist/chromium and dist/chromium-test; the background registers
//   that browser's request path only (extension/background/index.ts), and
//   each bundle leaves the other one out.
// Under jest nothing is defined. Code that must fold in the bundle compares
// the global itself (a const exported from here is not inlined across modules).

export type TargetBrowser = 'firefox' | 'chromium';

declare global {
  // eslint-disable-next-line no-var
  var __CRCSYNC_TEST_BUILD__: boolean | undefined;
  // eslint-disable-next-line no-var
  var __CRCSYNC_BROWSER__: TargetBrowser | undefined;
}

/** True only in the test build: 127.0.0.1/localhost enabled by default, test triggers on. */
export const IS_TEST_BUILD: boolean = globalThis.__CRCSYNC_TEST_BUILD__ === true;
