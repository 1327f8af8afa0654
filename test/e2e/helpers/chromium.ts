// Headless Chromium (Debian's) with the Chromium test build of the extension
// (dist/chromium-test), driven by puppeteer-core over CDP. Chromium loads an
// unpacked extension only over a pipe (`enableExtensions` + `pipe: true`,
// ../shared/browser-testing.md). One browser per test file; every wait is
// bounded; callers close the browser in afterAll / finally.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { Browser, Page, Target, WebWorker } from 'puppeteer-core';
import { ROOT, WAIT_MS, waitFor, withTimeout } from './firefox';
import { CHROMIUM_ARGS } from '../../helpers/chromium-args';

export { WAIT_MS, waitFor, withTimeout };

export const CHROMIUM_EXTENSION_DIR = join(ROOT, 'dist/chromium-test');

/** The Chromium binary, or null when it is not installed (callers skip, saying so). */
export function chromiumPath(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export interface LaunchedChromium {
  browser: Browser;
  /** The extension's id (the host of its chrome-extension:// pages). */
  extensionId: string;
  /** The extension's service worker (the background), found again if Chromium restarted it. */
  worker(): Promise<WebWorker>;
  close(): Promise<void>;
}

const isExtensionWorker = (target: Target, extensionId?: string): boolean =>
  target.type() === 'service_worker' &&
  target.url().startsWith(extensionId === undefined ? 'chrome-extension://' : `chrome-extension://${extensionId}/`);

/**
 * Launches headless Chromium with the extension loaded; resolves once its
 * service worker runs. A fresh profile, removed at close, unless `profileDir`
 * is given (a restart: the same profile, kept).
 */
export async function launchChromium(options: { extensionDir?: string; args?: string[]; profileDir?: string } = {}): Promise<LaunchedChromium> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('chromium is not installed (apt-get install chromium)');
  const ownsProfile = options.profileDir === undefined;
  const profileDir = options.profileDir ?? mkdtempSync(join(tmpdir(), 'crcsync-e2e-chromium-'));
  const browser = await puppeteer.launch({
    browser: 'chrome',
    executablePath,
    headless: true,
    pipe: true,
    enableExtensions: [options.extensionDir ?? CHROMIUM_EXTENSION_DIR],
    userDataDir: profileDir,
    protocolTimeout: WAIT_MS * 2,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
  try {
    const target = await browser.waitForTarget((candidate) => isExtensionWorker(candidate), { timeout: WAIT_MS });
    const extensionId = new URL(target.url()).host;
    if ((options.extensionDir ?? CHROMIUM_EXTENSION_DIR) === CHROMIUM_EXTENSION_DIR) {
      // The page-fetch scripts are registered at run time for the enabled sites (page-scripts.ts):
      // the test build's 127.0.0.1 pages get them once the background has done so.
      const worker = await target.worker();
      await waitFor('the page scripts registered', async () => {
        // Right after start the worker's context may not have its extension APIs yet: then ask again.
        const count = await worker!
          .evaluate(() => {
            const scripting = (globalThis as unknown as { chrome?: { scripting?: { getRegisteredContentScripts(): Promise<unknown[]> } } }).chrome?.scripting;
            return scripting ? scripting.getRegisteredContentScripts().then((scripts) => scripts.length) : 0;
          })
          .catch(() => 0);
        return count >= 2 ? true : undefined;
      });
    }
    return {
      browser,
      extensionId,
      worker: async () => {
        const current = await browser.waitForTarget((candidate) => isExtensionWorker(candidate, extensionId), { timeout: WAIT_MS });
        const worker = await current.worker();
        if (!worker) throw new Error('the extension service worker target has no worker');
        return worker;
      },
      close: async () => {
        await browser.close().catch(() => undefined);
        if (ownsProfile) rmSync(profileDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await browser.close().catch(() => undefined);
    if (ownsProfile) rmSync(profileDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Opens one of the extension's pages (e.g. 'popup/popup.html') in a new tab;
 * resolves when the page says it is ready (`document.body.dataset.ready`),
 * as the popup and the panel do.
 */
export async function openChromiumExtensionPage(launched: LaunchedChromium, path: string): Promise<Page> {
  const page = await launched.browser.newPage();
  await page.goto(`chrome-extension://${launched.extensionId}/${path}`, { timeout: WAIT_MS });
  await page.waitForFunction(() => document.body?.dataset.ready === 'true', { timeout: WAIT_MS });
  return page;
}

/** chrome.runtime.sendMessage from an extension page, bounded. */
export function sendToBackground<T>(page: Page, message: unknown, what = 'the background'): Promise<T> {
  return withTimeout(
    page.evaluate(
      (m) => (globalThis as unknown as { chrome: { runtime: { sendMessage(m: unknown): Promise<unknown> } } }).chrome.runtime.sendMessage(m),
      message as never,
    ) as Promise<T>,
    `reply from ${what}`,
  );
}
