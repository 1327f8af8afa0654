// Command-line switches for every headless Chromium the tests and benches
// launch (test/e2e/helpers/chromium.ts, scripts/bench-load/chromium-driver.ts).

export const CHROMIUM_ARGS: readonly string[] = [
  // Root in a container has no usable sandbox.
  '--no-sandbox',
  '--disable-gpu',
  // Nothing but crcsync on the network: no background traffic, no first-run pages.
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--no-default-browser-check',
];
