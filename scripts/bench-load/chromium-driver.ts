// Headless Debian Chromium for `npm run bench:load -- --browser chromium`,
// driven by puppeteer-core over CDP as the e2e tests do
// (test/e2e/helpers/chromium.ts finds the repository from its own path,
// which a bundle in dist/ does not keep, hence this driver).
//
// Conditions, one browser and profile each:
// - "on": dist/chromium-test with the opt-in "accelerate page loads" mode on
//   (navigations rebuilt through chrome.debugger and CDP Fetch,
//   extension/background/chromium/navigations*.ts). The test build holds
//   the `debugger` permission and enables 127.0.0.1 itself, so no prompt.
// - "off": the same Chromium without extensions.
// - "floor": scripts/bench-load/chromium-floor-extension, which pauses the
//   same documents at the same two stages as crcsync and lets each go on
//   unchanged: what the debugger mechanism alone costs.
//
// Alike in all: HTTP cache off on the bench tab (CDP Network.setCacheDisabled,
// through puppeteer's setCacheEnabled), network prediction (preconnect,
// prefetch) off in the profile's preferences. Accept-Encoding is Chromium's
// own: over http://127.0.0.1 it offers br as over HTTPS (checked in the
// bench: every "off" document must be served br, see load-sequence.ts).
//
// Tabs rest on a plain 127.0.0.1 page straight from the server, not on
// about:blank: the extension attaches its debugger to a tab only while it
// shows an enabled site, and a navigation that starts from about:blank is
// under way before the attach, so it would go out without If-Block
// (navigations.ts). The resting page keeps the tab attached; the other
// conditions rest on the same page, so every measured navigation starts
// alike.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import puppeteer, { Browser, Page, Target } from 'puppeteer-core';
import type { MessageMap, MessageType } from '../../extension/shared/messages';
import { BenchBrowsers, BrowserSetUp, Browsing, ExtensionControl, LoadDriver, WAIT_MS, waitFor, withTimeout } from './browser-driver';
import type { Condition } from './report';
import { CHROMIUM_ARGS } from '../../test/helpers/chromium-args';

export class ChromiumMissingError extends Error {
  constructor() {
    super('chromium is not installed (apt-get install chromium): `--browser chromium` needs it');
    this.name = 'ChromiumMissingError';
  }
}

export function chromiumPath(): string {
  let path = '';
  try {
    path = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
  } catch {
    // `command -v` found neither: reported below.
  }
  if (!path) throw new ChromiumMissingError();
  return path;
}

/** Chromium's own preferences for a fresh profile: no network prediction (preconnect, DNS prefetch, prefetch of links). */
const PROFILE_PREFERENCES = { net: { network_prediction_options: 2 } };


export interface BenchChromium {
  browser: Browser;
  /** e.g. "chromium/156.0.7520.0". */
  version: string;
  /** The loaded extension's service worker target, or null without an extension. */
  extensionWorker: Target | null;
  close(): Promise<void>;
}

const isExtensionWorker = (target: Target) => target.type() === 'service_worker' && target.url().startsWith('chrome-extension://');

/** Launches headless Chromium with a fresh profile; loads the unpacked extension at `extensionDir` when given. */
export async function launchBenchChromium(extensionDir: string | null): Promise<BenchChromium> {
  const profileDir = mkdtempSync(join(tmpdir(), 'crcsync-bench-load-chromium-'));
  mkdirSync(join(profileDir, 'Default'));
  writeFileSync(join(profileDir, 'Default/Preferences'), JSON.stringify(PROFILE_PREFERENCES));
  const browser = await puppeteer.launch({
    browser: 'chrome',
    executablePath: chromiumPath(),
    headless: true,
    // Chromium loads an unpacked extension only over a pipe (../shared/browser-testing.md); "off" the same way.
    pipe: true,
    enableExtensions: extensionDir ? [extensionDir] : false,
    userDataDir: profileDir,
    protocolTimeout: WAIT_MS * 2,
    args: [...CHROMIUM_ARGS],
  });
  const close = async () => {
    await browser.close().catch(() => undefined);
    rmSync(profileDir, { recursive: true, force: true });
  };
  try {
    const extensionWorker = extensionDir ? await browser.waitForTarget(isExtensionWorker, { timeout: WAIT_MS }) : null;
    const version = (await browser.version()).replace(/^(Headless)?Chrom(e|ium)\//i, 'chromium/');
    return { browser, version, extensionWorker, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** chrome.runtime.sendMessage from an extension page, bounded. */
function sendFrom<T>(page: Page, message: unknown, what: string): Promise<T> {
  return withTimeout(
    page.evaluate(
      (m) => (globalThis as unknown as { chrome: { runtime: { sendMessage(m: unknown): Promise<unknown> } } }).chrome.runtime.sendMessage(m),
      message as never,
    ) as Promise<T>,
    what,
  );
}

function controlOf(page: Page): ExtensionControl {
  return {
    ask: <T extends MessageType>(type: T, request: MessageMap[T]['request']) => sendFrom<MessageMap[T]['response']>(page, { type, request }, `the background's reply to ${type}`),
    async tabIdShowing(url: string): Promise<number> {
      const ids = await page.evaluate(
        (wanted) =>
          (globalThis as unknown as { chrome: { tabs: { query(q: object): Promise<{ id: number; url?: string }[]> } } }).chrome.tabs
            .query({})
            .then((tabs) => tabs.filter((tab) => tab.url === wanted).map((tab) => tab.id)),
        url,
      );
      if (ids.length !== 1) throw new Error(`expected one tab showing ${url}, found ${ids.length}`);
      return ids[0];
    },
  };
}

/** The extension's popup page in a tab of its own: the bench's line to the background. */
async function openControlPage(chromium: BenchChromium): Promise<Page> {
  const extensionId = new URL(chromium.extensionWorker!.url()).host;
  const page = await chromium.browser.newPage();
  await page.goto(`chrome-extension://${extensionId}/popup/popup.html`, { timeout: WAIT_MS });
  await page.waitForFunction(() => document.body?.dataset.ready === 'true', { timeout: WAIT_MS });
  return page;
}

/**
 * The page-fetch scripts are registered at run time for the enabled sites
 * (page-scripts.ts): a user's pages have them long before, so the bench
 * waits until the background has registered them.
 */
async function pageScriptsRegistered(chromium: BenchChromium): Promise<void> {
  const worker = await chromium.extensionWorker!.worker();
  if (!worker) throw new Error('the extension service worker target has no worker');
  await waitFor('the page scripts registered', async () => {
    // Right after start the worker's context may not have its extension APIs yet: then ask again.
    const count = await worker
      .evaluate(() => {
        const scripting = (globalThis as unknown as { chrome?: { scripting?: { getRegisteredContentScripts(): Promise<unknown[]> } } }).chrome?.scripting;
        return scripting ? scripting.getRegisteredContentScripts().then((scripts) => scripts.length) : 0;
      })
      .catch(() => 0);
    return count > 0 ? true : undefined;
  });
}

/**
 * A tab's first load is never intercepted (the debugger attaches while it
 * is under way): the measured loads start once the tab's navigations go
 * through the extension, seen as an exchange record of the resting page.
 * Asked of the exchange log rather than of a test hook, so the bench needs
 * nothing from the Chromium adapter's modules.
 */
async function navigationsIntercepted(control: ExtensionControl, tab: Page, restingUrl: string): Promise<void> {
  const tabId = await control.tabIdShowing(restingUrl);
  await waitFor(`the extension handling the navigations of tab ${tabId}`, async () => {
    await tab.goto(restingUrl, { waitUntil: 'load', timeout: WAIT_MS });
    const records = await control.ask('getExchanges', { tabId });
    return records.some((record) => record.url === restingUrl && record.type === 'main_frame') ? true : undefined;
  });
  await control.ask('clearExchanges', { tabId });
}

/** Resolves once the floor extension's debugger session on the tab showing `url` is set up (its worker keeps the attached tab ids). */
async function floorAttached(chromium: BenchChromium): Promise<void> {
  const worker = await chromium.extensionWorker!.worker();
  if (!worker) throw new Error('the floor extension service worker target has no worker');
  await waitFor('the floor extension attached to the bench tab', async () => {
    const count = await worker.evaluate(() => (globalThis as unknown as { floorAttachedTabs?: Set<number> }).floorAttachedTabs?.size ?? 0).catch(() => 0);
    return count > 0 ? true : undefined;
  });
}

/** The bench tab: HTTP cache off (on with --warm-assets), at the resting page. */
async function benchTab(chromium: BenchChromium, restingUrl: string, httpCache: boolean): Promise<Page> {
  const tab = await chromium.browser.newPage();
  await tab.setCacheEnabled(httpCache);
  await tab.goto(restingUrl, { waitUntil: 'load', timeout: WAIT_MS });
  return tab;
}

/** Headless Chromium for `npm run bench:load -- --browser chromium` (see the top of this file). */
export function chromiumDriver(root: string): LoadDriver {
  const extensionDir = join(root, 'dist/chromium-test');
  const floorExtensionDir = join(root, 'scripts/bench-load/chromium-floor-extension');
  return {
    browser: 'chromium',
    extensionDir,
    floorExtensionDir,
    text: {
      name: 'Chromium',
      conditions: (floorMeasured) =>
        `"on": Chromium with the extension (\`${relative(root, extensionDir)}\`), the origin enabled and the opt-in "accelerate page loads" mode on (navigations rebuilt through \`chrome.debugger\` and CDP Fetch). "off": the same Chromium without extensions, which gets br from the server: Chromium offers \`Accept-Encoding: gzip, deflate, br, zstd\` to http://127.0.0.1 as to an HTTPS site, so nothing is changed (the bench checks every "off" document was served br). Both: HTTP cache off on the bench tab (CDP \`Network.setCacheDisabled\`), network prediction off in the profile (\`net.network_prediction_options\` = 2: no preconnect or prefetch). One tab per browser, left between visits at a plain page served straight by the server on 127.0.0.1 (not through the proxy): from about:blank the extension would attach its debugger only after the navigation went out, without If-Block.${floorMeasured ? ' "floor" (when measured): the same Chromium with `scripts/bench-load/chromium-floor-extension` instead, which attaches the debugger to the tab and pauses the same documents at the same two stages (request and response) as crcsync, letting each go on unchanged; it gets br.' : ''}`,
      floorHooks: 'a `chrome.debugger` session on the tab, CDP Fetch pausing every document at the request and at the response stage and letting it go on unchanged',
      readingNotes: [],
    },
    async setUp(options: BrowserSetUp): Promise<BenchBrowsers> {
      const launch = async (dir: string | null): Promise<BenchChromium> => {
        const chromium = await launchBenchChromium(dir);
        options.onCleanup(() => chromium.close());
        return chromium;
      };
      const withExtension = await launch(extensionDir);
      const without = await launch(null);
      const floor = options.floor ? await launch(floorExtensionDir) : null;

      await pageScriptsRegistered(withExtension);
      const control = controlOf(await openControlPage(withExtension));
      // The test build hooks scripts and stylesheets for the e2e tests; a user's extension does not by default (request-scope.ts).
      await control.ask('setSubresourceDeltas', { enabled: false });
      await control.ask('setAcceleratePageLoads', { enabled: true });
      await waitFor('"accelerate page loads" on', async () => ((await control.ask('getPopupState', { origin: null })).acceleratePageLoads ? true : undefined));

      const browsing = (condition: Condition, tab: Page, withControl: ExtensionControl | null): Browsing => ({
        condition,
        tab,
        control: withControl,
        rest: async () => {
          await tab.goto(options.restingUrl, { waitUntil: 'load', timeout: WAIT_MS });
        },
      });
      const onTab = await benchTab(withExtension, options.restingUrl, options.httpCache);
      await navigationsIntercepted(control, onTab, options.restingUrl);
      const floorTab = floor ? await benchTab(floor, options.restingUrl, options.httpCache) : null;
      if (floor) await floorAttached(floor);
      return {
        on: browsing('on', onTab, control),
        off: browsing('off', await benchTab(without, options.restingUrl, options.httpCache), null),
        floor: floor && floorTab ? browsing('floor', floorTab, null) : null,
        version: withExtension.version,
      };
    },
  };
}
