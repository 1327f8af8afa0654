// Headless Firefox ESR with the test build of the extension, driven by
// puppeteer-core over WebDriver BiDi. One browser per test file; every wait
// is bounded; callers close the browser in afterAll / finally.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import puppeteer, { Browser, Page, Target } from 'puppeteer-core';
import type { MessageMap, MessageType } from '../../../extension/shared/messages';
import { waitFor as boundedWaitFor, withTimeout as boundedWithTimeout } from '../../helpers/bounded-wait';

export const ROOT = resolve(__dirname, '../../..');
export const EXTENSION_DIR = join(ROOT, 'dist/firefox-test');
export const ARTIFACTS_DIR = join(ROOT, 'test/artifacts');
export const ADDON_ID = 'crcsync@example.org';
/** Fixed so a restarted profile finds the same moz-extension:// origin (and its IndexedDB). */
export const ADDON_UUID = '6f1c7c4e-2b0e-4b8a-9c55-0c5e3a2d7e11';

/** Every wait in the e2e tests is bounded by this. */
export const WAIT_MS = 15_000;

export function firefoxPath(): string {
  return execFileSync('sh', ['-c', 'command -v firefox-esr || command -v firefox']).toString().trim();
}

export interface LaunchedFirefox {
  browser: Browser;
  profileDir: string;
  close(): Promise<void>;
}

/**
 * Launches Firefox and installs the test build. Pass a profileDir to reuse a
 * profile (the restart test); the prefs keep the extension's UUID and
 * storage across the temporary add-on's uninstall at shutdown. `prefs` adds
 * test-specific prefs (e.g. permanent private browsing).
 */
export async function launchFirefox(
  options: { profileDir?: string; prefs?: Record<string, unknown>; allowPrivateBrowsing?: boolean } = {},
): Promise<LaunchedFirefox> {
  const ownsProfile = options.profileDir === undefined;
  const profileDir = options.profileDir ?? mkdtempSync(join(tmpdir(), 'crcsync-e2e-profile-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath(),
    headless: true,
    userDataDir: profileDir,
    protocolTimeout: WAIT_MS * 2,
    extraPrefsFirefox: {
      'extensions.webextensions.uuids': JSON.stringify({ [ADDON_ID]: ADDON_UUID }),
      'extensions.webextensions.keepStorageOnUninstall': true,
      'extensions.webextensions.keepUuidOnUninstall': true,
      // Keep the tests about crcsync: no background traffic, no first-run pages.
      'browser.shell.checkDefaultBrowser': false,
      'app.update.enabled': false,
      'network.http.speculative-parallel-limit': 0,
      ...options.prefs,
    },
  });
  try {
    if (options.allowPrivateBrowsing) await installAllowedInPrivateWindows(browser, EXTENSION_DIR);
    else await browser.installExtension(EXTENSION_DIR);
  } catch (error) {
    await browser.close();
    throw error;
  }
  return {
    browser,
    profileDir,
    close: async () => {
      await browser.close().catch(() => undefined);
      if (ownsProfile) rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/**
 * Installs the (temporary) add-on with the "Run in Private Windows" permission.
 * Puppeteer's installExtension sends only `extensionData`; Firefox's BiDi
 * `webExtension.install` also takes `moz:allowPrivateBrowsing` (it grants the
 * hidden permission `internal:privateBrowsingAllowed` and reloads the add-on).
 * Without it a temporary add-on does not see private windows at all.
 */
async function installAllowedInPrivateWindows(browser: Browser, path: string): Promise<string> {
  const connection = (browser as unknown as { connection: BidiSender }).connection;
  const { result } = await connection.send('webExtension.install', {
    extensionData: { type: 'path', path },
    'moz:allowPrivateBrowsing': true,
  });
  return result.extension;
}

interface BidiSender {
  send(method: 'webExtension.install', params: Record<string, unknown>): Promise<{ result: { extension: string } }>;
}

export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  return boundedWithTimeout(promise, what, ms);
}

/** Polls `check` until it returns a value other than undefined; bounded. */
export function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = WAIT_MS): Promise<T> {
  return boundedWaitFor(what, check, ms);
}

/**
 * Asks the extension to open one of its pages in a new tab (via a trigger
 * URL fetched from `from`, an http://127.0.0.1 page) and returns that tab
 * once the page says it is ready.
 */
export async function openExtensionPage(browser: Browser, from: Page, triggerPath: string): Promise<Page> {
  const page = await pageOpenedBy(browser, from, triggerPath);
  await page.waitForFunction(() => location.href.startsWith('moz-extension://') && document.body?.dataset.ready === 'true', {
    timeout: WAIT_MS,
  });
  return page;
}

/** Fetches a trigger URL from `from` and returns the page the extension opens for it. */
async function pageOpenedBy(browser: Browser, from: Page, triggerPath: string): Promise<Page> {
  const known = new Set(browser.targets());
  const created = browser.waitForTarget((target: Target) => target.type() === 'page' && !known.has(target), { timeout: WAIT_MS });
  await from.evaluate((path) => fetch(path).then((response) => response.status), triggerPath);
  const target = await created;
  return withTimeout(target.page(), 'the new page').then((found) => {
    if (!found) throw new Error('the new target has no page');
    return found;
  });
}

/**
 * Opens a private window showing `url` (an http://127.0.0.1 page) and returns
 * its tab once that page has loaded. WebDriver BiDi cannot create a private
 * window (browsingContext.create has no such option in Firefox 153), so the
 * test build's extension opens it (`windows.create({ incognito: true })`);
 * that needs the add-on installed with `allowPrivateBrowsing`. BiDi does see
 * and drive the new tab.
 */
export async function openPrivateWindow(browser: Browser, from: Page, url: string): Promise<Page> {
  const page = await pageOpenedBy(browser, from, `/__crcsync_test__/open-private?url=${encodeURIComponent(url)}`);
  await page.waitForFunction((expected) => location.href === expected && document.readyState === 'complete', { timeout: WAIT_MS }, url);
  return page;
}

/** Sends a typed message to the background from an extension page. */
export function askBackground<T extends MessageType>(
  extensionPage: Page,
  type: T,
  request: MessageMap[T]['request'],
): Promise<MessageMap[T]['response']> {
  return withTimeout(
    extensionPage.evaluate(
      (message) => (globalThis as unknown as { browser: { runtime: { sendMessage(m: unknown): Promise<unknown> } } }).browser.runtime.sendMessage(message),
      { type, request },
    ) as Promise<MessageMap[T]['response']>,
    `background reply to ${type}`,
  );
}

/** The id of the tab showing a page of `origin` (the test build holds host permission for 127.0.0.1). */
export async function tabIdOf(extensionPage: Page, origin: string): Promise<number> {
  const ids = await extensionPage.evaluate(
    (prefix) =>
      (globalThis as unknown as { browser: { tabs: { query(q: unknown): Promise<{ id: number; url?: string }[]> } } }).browser.tabs
        .query({})
        .then((tabs) => tabs.filter((tab) => (tab.url ?? '').startsWith(prefix)).map((tab) => tab.id)),
    `${origin}/`,
  );
  if (ids.length !== 1) throw new Error(`expected one tab on ${origin}, found ${ids.length}`);
  return ids[0];
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}

/** Sends a test-build hook message (extension/background/test-hooks.ts) from an extension page. */
export function sendTestHook<T>(extensionPage: Page, message: Record<string, unknown>, what: string): Promise<T> {
  return withTimeout(
    extensionPage.evaluate(
      (m) => (globalThis as unknown as { browser: { runtime: { sendMessage(m: unknown): Promise<unknown> } } }).browser.runtime.sendMessage(m),
      message,
    ) as Promise<T>,
    what,
  );
}

/** What a page's fetch() got: the status and text of a response, or the error it rejected with. */
export type PageFetch = { kind: 'response'; status: number; text: string } | { kind: 'error'; message: string };

/** fetch(url) from the page (default cache mode, as a page's script does it), bounded. */
export function fetchInPage(page: Page, url: string, ms = WAIT_MS): Promise<PageFetch> {
  return withTimeout(
    page.evaluate(
      (target) =>
        fetch(target).then(
          async (response) => ({ kind: 'response' as const, status: response.status, text: await response.text() }),
          (error: unknown) => ({ kind: 'error' as const, message: String(error) }),
        ),
      url,
    ),
    `fetch(${url})`,
    ms,
  );
}
