// Headless Firefox ESR for `npm run bench:load`, driven by puppeteer-core
// over WebDriver BiDi as the e2e tests do (test/e2e/helpers/firefox.ts; that
// module finds the repository from its own path, which a bundle in dist/
// does not keep, hence this small driver).
//
// Two browsers, one profile each: "on" with the extension installed, "off"
// without. Same prefs in both: the HTTP cache is off so every measured load
// goes to the network, nothing speculative opens connections or fetches
// ahead, and Accept-Encoding is the one Firefox sends over HTTPS (with br),
// since plain http:// gets "gzip, deflate" only and a real site is HTTPS.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import puppeteer, { Browser, Page, Target } from 'puppeteer-core';
import type { MessageMap, MessageType } from '../../extension/shared/messages';
import { BenchBrowsers, BrowserSetUp, Browsing, ExtensionControl, LoadDriver, WAIT_MS, withTimeout } from './browser-driver';
import type { Condition } from './report';

// The browser-neutral parts, where scripts/profile/presence.ts and older callers import them from.
export { checkDom, visit, waitFor, WAIT_MS, withTimeout } from './browser-driver';
export type { DomCheck, NavigationTiming } from './browser-driver';

export const ADDON_ID = 'crcsync@example.org';
const ADDON_UUID = '0b6c3a1e-5d42-4a8f-9d0e-be7c4c10ad01';

export const BENCH_PREFS: Record<string, unknown> = {
  'browser.cache.disk.enable': false,
  'browser.cache.memory.enable': false,
  'browser.cache.offline.enable': false,
  'network.http.speculative-parallel-limit': 0,
  'network.predictor.enabled': false,
  // Sub-millisecond timers for the extension's phases and the pages' Navigation Timing (both conditions alike).
  'privacy.reduceTimerPrecision': false,
  'network.prefetch-next': false,
  'network.dns.disablePrefetch': true,
  'network.http.accept-encoding': 'gzip, deflate, br',
  'network.http.accept-encoding.secure': 'gzip, deflate, br',
  'browser.shell.checkDefaultBrowser': false,
  'app.update.enabled': false,
  'browser.sessionstore.resume_from_crash': false,
  'extensions.webextensions.uuids': JSON.stringify({ [ADDON_ID]: ADDON_UUID }),
};

export function firefoxPath(): string {
  return execFileSync('sh', ['-c', 'command -v firefox-esr || command -v firefox']).toString().trim();
}

export interface BenchFirefox {
  browser: Browser;
  version: string;
  close(): Promise<void>;
}

/** Launches Firefox with a fresh profile; installs the extension at `extensionDir` when given. */
/** BENCH_PREFS with the HTTP cache on (--warm-assets). */
const WARM_CACHE_PREFS: Record<string, unknown> = { ...BENCH_PREFS, 'browser.cache.disk.enable': true, 'browser.cache.memory.enable': true };

export async function launchBenchFirefox(extensionDir: string | null, httpCache = false): Promise<BenchFirefox> {
  const profileDir = mkdtempSync(join(tmpdir(), 'crcsync-bench-load-profile-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath(),
    headless: true,
    userDataDir: profileDir,
    protocolTimeout: WAIT_MS * 2,
    extraPrefsFirefox: httpCache ? WARM_CACHE_PREFS : BENCH_PREFS,
  });
  const close = async () => {
    await browser.close().catch(() => undefined);
    rmSync(profileDir, { recursive: true, force: true });
  };
  try {
    if (extensionDir) await browser.installExtension(extensionDir);
    return { browser, version: await browser.version(), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The extension's popup page in a tab, to talk to the background. BiDi may
 * not navigate to moz-extension://, so the test build opens it when a
 * 127.0.0.1 page requests /__crcsync_test__/open-popup
 * (extension/background/test-hooks.ts). `startUrl` is any 127.0.0.1 page;
 * its tab is closed afterwards.
 */
export async function openControlPage(browser: Browser, startUrl: string): Promise<Page> {
  const from = await browser.newPage();
  await from.goto(startUrl, { waitUntil: 'load', timeout: WAIT_MS });
  const known = new Set(browser.targets());
  const created = browser.waitForTarget((target: Target) => target.type() === 'page' && !known.has(target), { timeout: WAIT_MS });
  await from.evaluate(() => fetch('/__crcsync_test__/open-popup').then((response) => response.status, () => 0));
  const control = await withTimeout((await created).page(), 'the control page');
  if (!control) throw new Error('the extension opened no page');
  await control.waitForFunction(() => location.href.startsWith('moz-extension://') && document.body?.dataset.ready === 'true', { timeout: WAIT_MS });
  await from.close();
  return control;
}

export function askBackground<T extends MessageType>(control: Page, type: T, request: MessageMap[T]['request']): Promise<MessageMap[T]['response']> {
  return withTimeout(
    control.evaluate(
      (message) => (globalThis as unknown as { browser: { runtime: { sendMessage(m: unknown): Promise<unknown> } } }).browser.runtime.sendMessage(message),
      { type, request },
    ) as Promise<MessageMap[T]['response']>,
    `the background's reply to ${type}`,
  );
}

/** The WebExtension tab id of the one tab showing `url`. */
export async function tabIdShowing(control: Page, url: string): Promise<number> {
  const ids = await control.evaluate(
    (wanted) =>
      (globalThis as unknown as { browser: { tabs: { query(q: unknown): Promise<{ id: number; url?: string }[]> } } }).browser.tabs
        .query({})
        .then((tabs) => tabs.filter((tab) => tab.url === wanted).map((tab) => tab.id)),
    url,
  );
  if (ids.length !== 1) throw new Error(`expected one tab showing ${url}, found ${ids.length}`);
  return ids[0];
}

/**
 * Leaves the page for about:blank, so that the next visit starts from an
 * empty tab as in a new one (the unload of a bench page never falls inside
 * a measured navigation). A tab is reused rather than opened per load: on
 * this machine opening one took 0.4-0.9 s and closing 0.1 s.
 */
export async function blank(tab: Page): Promise<void> {
  await tab.goto('about:blank', { waitUntil: 'load', timeout: WAIT_MS });
}

/** The extension's background through its control page. */
function controlOf(page: Page): ExtensionControl {
  return { ask: (type, request) => askBackground(page, type, request), tabIdShowing: (url) => tabIdShowing(page, url) };
}

/**
 * Firefox for `npm run bench:load`: "on" runs dist/firefox-test (the same
 * code as dist/firefox plus the test hooks, which let a script enable
 * 127.0.0.1 without the permission prompt and read the exchange log from an
 * extension page); "off" no extension; "floor" the do-nothing extension of
 * scripts/bench-load/floor-extension. Tabs rest at about:blank.
 */
export function firefoxDriver(root: string): LoadDriver {
  const extensionDir = join(root, 'dist/firefox-test');
  const floorExtensionDir = join(root, 'scripts/bench-load/floor-extension');
  return {
    browser: 'firefox',
    extensionDir,
    floorExtensionDir,
    text: {
      name: 'Firefox',
      conditions: (floorMeasured) =>
        `"on": Firefox with the extension (\`${relative(root, extensionDir)}\`), the origin enabled. "off": the same Firefox without it, which gets br from the server. Both: HTTP cache off (every load goes to the network), no speculative connections, predictor or prefetch, \`Accept-Encoding: gzip, deflate, br\` (what Firefox sends over HTTPS). One tab per browser, left at about:blank between visits.${floorMeasured ? ' "floor" (when measured): the same Firefox with `scripts/bench-load/floor-extension` instead, which hooks requests as crcsync does and does nothing with them; it gets br.' : ''}`,
      floorHooks: 'blocking `onBeforeSendHeaders` and `onHeadersReceived`, a pass-through `StreamFilter` on every 200 it could keep',
      readingNotes: [
        "With the HTTP cache off, every load fetches the page's scripts and stylesheets again (the bench's placeholders), in both conditions: on a page with blocking head scripts the load waits for that chain, which starts when the parser sees the tags, so the document's saved bytes shorten the load less than the \"bound\" column assumes. A real revisit would mostly find them in the HTTP cache.",
        "Until 2026-12-03 the corpus pages' scripts got 404, and Firefox then re-requested a varying number of them per load (a failed speculative fetch is retried by the parser only if it had already finished): 10 to 17 requests per load of the same page, in either condition, which decided the worst pages' ratios. The placeholders (scripts/bench-load/subresources.ts) make every load of a page make the same requests.",
      ],
    },
    async setUp(options: BrowserSetUp): Promise<BenchBrowsers> {
      const launch = async (dir: string | null): Promise<BenchFirefox> => {
        const firefox = await launchBenchFirefox(dir, options.httpCache);
        options.onCleanup(() => firefox.close());
        return firefox;
      };
      const withExtension = await launch(extensionDir);
      const without = await launch(null);
      const floor = options.floor ? await launch(floorExtensionDir) : null;
      const control = await openControlPage(withExtension.browser, options.startUrl);
      // The test build hooks scripts and stylesheets for the e2e tests; a user's extension does not by default (request-scope.ts).
      await askBackground(control, 'setSubresourceDeltas', { enabled: false });
      const browsing = async (condition: Condition, firefox: BenchFirefox, page: Page | null): Promise<Browsing> => {
        const tab = await firefox.browser.newPage();
        return { condition, tab, control: page ? controlOf(page) : null, rest: () => blank(tab) };
      };
      return {
        on: await browsing('on', withExtension, control),
        off: await browsing('off', without, null),
        floor: floor ? await browsing('floor', floor, null) : null,
        version: withExtension.version,
      };
    },
  };
}
