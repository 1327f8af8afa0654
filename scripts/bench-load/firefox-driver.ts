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
import { join } from 'node:path';
import puppeteer, { Browser, Page, Target } from 'puppeteer-core';
import type { ExchangeRecord, MessageMap, MessageType } from '../../extension/shared/messages';
import { waitFor as boundedWaitFor, withTimeout as boundedWithTimeout } from '../../test/helpers/bounded-wait';

export const ADDON_ID = 'crcsync@example.org';
const ADDON_UUID = '0b6c3a1e-5d42-4a8f-9d0e-be7c4c10ad01';
/** Bound on every wait; a 1 Mbit/s load of the largest page is far below it. */
export const WAIT_MS = 60_000;

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
export async function launchBenchFirefox(extensionDir: string | null): Promise<BenchFirefox> {
  const profileDir = mkdtempSync(join(tmpdir(), 'crcsync-bench-load-profile-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath(),
    headless: true,
    userDataDir: profileDir,
    protocolTimeout: WAIT_MS * 2,
    extraPrefsFirefox: BENCH_PREFS,
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

export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  return boundedWithTimeout(promise, what, ms);
}

/** Polls `check` until it returns a value other than undefined; bounded. */
export function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = WAIT_MS): Promise<T> {
  return boundedWaitFor(what, check, ms, { firstPollMs: 10, maxPollMs: 100 });
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

/** The exchange records of the tab showing `url` (the log forgets a tab when it closes: ask first). */
export async function exchangesOfTab(control: Page, url: string): Promise<ExchangeRecord[]> {
  return askBackground(control, 'getExchanges', { tabId: await tabIdShowing(control, url) });
}

/** Navigation Timing of the page's document, ms from the navigation's start. */
export interface NavigationTiming {
  responseStart: number;
  domInteractive: number;
  domContentLoadedEventEnd: number;
  loadEventEnd: number;
}

/**
 * Navigates `tab` to `url` and waits for the load event to have finished
 * (loadEventEnd is set after the load handlers ran, a moment after
 * puppeteer's "load"); answers the document's Navigation Timing.
 */
export async function visit(tab: Page, url: string): Promise<NavigationTiming> {
  await tab.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
  // One round trip: the page polls for loadEventEnd itself (waitForFunction costs several under load).
  return withTimeout(
    tab.evaluate(
      () =>
        new Promise<NavigationTiming>((resolve) => {
          const check = () => {
            const entry = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
            if (!entry || entry.loadEventEnd <= 0) return void setTimeout(check, 5);
            resolve({
              responseStart: entry.responseStart,
              domInteractive: entry.domInteractive,
              domContentLoadedEventEnd: entry.domContentLoadedEventEnd,
              loadEventEnd: entry.loadEventEnd,
            });
          };
          check();
        }),
    ),
    `loadEventEnd of ${url}`,
  );
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

/** What the DOM check found: the page's DOM against the old and new files, parsed by the same browser. */
export interface DomCheck {
  matchesNew: boolean;
  /** Only looked at when the new one does not match. */
  matchesOld: boolean;
  /** Where the live DOM first differs from the new file's (serialized), when it does. */
  firstDifference: string | null;
}

/**
 * Compares the live document with `DOMParser` parses of the two versions.
 * `style` attributes are left out on both sides: the Django pages' inline
 * script shows the search box by setting one. Scripts that do not run in the
 * parsed copy (the corpus pages' others fail on 404s) change nothing else.
 */
export function checkDom(tab: Page, newText: string, oldText: string): Promise<DomCheck> {
  return withTimeout(
    tab.evaluate(
      (expectedNew, expectedOld) => {
        const serialize = (root: Element) => {
          const copy = root.cloneNode(true) as Element;
          for (const element of [copy, ...Array.from(copy.querySelectorAll('[style]'))]) element.removeAttribute('style');
          return copy.outerHTML;
        };
        const live = serialize(document.documentElement);
        const parsed = (text: string) => serialize(new DOMParser().parseFromString(text, 'text/html').documentElement);
        const fresh = parsed(expectedNew);
        let at = 0;
        while (at < live.length && live[at] === fresh[at]) at++;
        return {
          matchesNew: live === fresh,
          matchesOld: live !== fresh && live === parsed(expectedOld),
          firstDifference: live === fresh ? null : `at ${at}: page ${JSON.stringify(live.slice(at, at + 60))} vs file ${JSON.stringify(fresh.slice(at, at + 60))}`,
        };
      },
      newText,
      oldText,
    ),
    'the DOM check',
  );
}
