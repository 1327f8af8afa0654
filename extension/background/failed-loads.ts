// A broken peer must not break a page for good: a load that carried If-Block
// and ended with a browser error or with nothing for the page holds its URL
// (no If-Block for it for a while, if-block-holds.ts) and, for a top-level
// navigation, reloads the tab once, which goes without If-Block and so gets
// the page the way it would without crcsync.

import { isSameResource } from '../../src/protocol/client-policy';
import { browser } from '../shared/browser';
import type { HoldPlace } from './if-block-holds';
import { log } from './log';
import type { Services } from './services';

/** What failLoad reads of a request, and its once-only mark. */
export interface LoadPlace extends HoldPlace {
  url: string;
  type: string;
  tabId: number;
  ifBlock: string | null;
  /** A failed load was already counted against the URL (at most once per request). */
  loadFailed: boolean;
}

export function failLoad(current: Services, state: LoadPlace, reason: string): void {
  if (state.loadFailed || !state.ifBlock) return;
  state.loadFailed = true;
  log(`${state.url}: the load with If-Block failed (${reason}); no If-Block for it for a while`);
  const hold = current.holds.fail(state, reason);
  if (hold && state.type === 'main_frame') void healNavigation(state);
}

/** How long a failed navigation may take to show its error page (or its empty document) before the reload. */
const HEAL_WAIT_MS = 5000;

async function healNavigation(state: LoadPlace): Promise<void> {
  try {
    // Reload only the tab still showing this URL (the error page, or the empty
    // document the failed fallback left): never a page the user moved on to.
    if (!(await tabShows(state.tabId, state.url, HEAL_WAIT_MS))) return;
    log(`${state.url}: reloading the tab once, without If-Block`);
    await browser.tabs.reload(state.tabId);
  } catch (error) {
    log(`${state.url}: could not reload the tab`, error);
  }
}

/** Resolves true once the tab shows `url` and has finished loading it; false after `ms` or when the tab goes away. */
function tabShows(tabId: number, url: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (shown: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      browser.tabs.onUpdated.removeListener(check);
      resolve(shown);
    };
    const timer = setTimeout(() => finish(false), ms);
    const check = (changedTabId: number) => {
      if (changedTabId !== tabId) return;
      browser.tabs.get(tabId).then(
        (tab) => {
          if (tab.status === 'complete' && tab.url !== undefined && isSameResource(tab.url, url)) finish(true);
        },
        () => finish(false),
      );
    };
    browser.tabs.onUpdated.addListener(check);
    check(tabId);
  });
}
