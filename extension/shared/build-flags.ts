// Build-time switches. scripts/build-extension.mjs defines
// globalThis.__CRCSYNC_TEST_BUILD__ as a literal: false in dist/firefox and
// dist/chromium (esbuild then drops the test-only code), true only in
// dist/firefox-test, the build the e2e tests install. Under jest nothing is
// defined and the value is false.

declare global {
  // eslint-disable-next-line no-var
  var __CRCSYNC_TEST_BUILD__: boolean | undefined;
}

/** True only in the test build: 127.0.0.1/localhost enabled by default, test triggers on. */
export const IS_TEST_BUILD: boolean = globalThis.__CRCSYNC_TEST_BUILD__ === true;
