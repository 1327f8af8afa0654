// Chromium's opt-in "accelerate page loads" (issue 10 items 7 and 8): the
// navigations of enabled sites are rebuilt through chrome.debugger and the
// CDP Fetch domain. This module wires it up; the jobs live in
// navigations-scope.ts (which tabs, which requests), navigations-attach.ts
// (the debugger sessions) and navigations-exchange.ts (one navigation's
// request and response stage).
//
// When the mode is on (the setting, crcsync on, the optional `debugger`
// permission granted), every tab showing an enabled site is attached:
// when it navigates to one (tabs.onUpdated), when the setting or the sites
// change (storage.onChanged), and at start-up. A tab that leaves the
// enabled sites, or the mode going off, detaches it. A tab opened straight
// onto an enabled page is attached only once its first load is under way:
// that load goes out without If-Block and is a plain 200 (the If-Block is
// only ever added in the interception that decodes the answer).
//
// declarativeNetRequest is deliberately not used (item 8). A DNR rule adds
// its header whether or not a debugger session is there to decode the
// answer: the first load of a new tab, a tab whose session the user just
// cancelled, a worker that restarted and has not attached again. Each of
// those would render the raw delta. A session rule scoped to attached tabs
// (condition.tabIds) narrows that, but its update and the attach are not
// one step, and the request is paused at the request stage anyway (the
// response stage needs the same pattern), so adding If-Block there costs
// nothing and is certain to be decoded. A tab that is not attached never
// sends If-Block from this path.
//
// The user's Cancel on Chrome's "started debugging this browser" bar ends
// every session (onDetach 'canceled_by_user'): the mode goes off (the
// setting), and a tab whose delta was under way is reloaded without
// If-Block (navigations-exchange.ts tabDetached), so no page is left on an
// undecoded answer.

import { browser } from '../../shared/browser';
import { SETTINGS_STORAGE_KEY } from '../../shared/settings';
import { log } from '../log';
import type { RequestPathDeps } from '../request-path';
import { TabActivity } from '../tab-activity';
import { CHROME_CDP, Debuggee, FetchRequestPaused, chromeDebugger } from './cdp';
import { TabAttachments } from './navigations-attach';
import { TEST_ATTACHED_MESSAGE, TEST_CANCEL_MESSAGE } from './navigations-test-messages';
import { NavigationExchanges } from './navigations-exchange';
import { documentPatterns, navigationsWanted, tabWanted } from './navigations-scope';

const DEBUGGER_PERMISSION = 'debugger';

/** The polyfill's permission names predate an optional `debugger`: compared as strings. */
function grantsDebugger(permissions: readonly string[] | undefined): boolean {
  return permissions?.includes(DEBUGGER_PERMISSION) === true;
}

/** How long a detach the extension decides waits for the tab's deltas under way to end (the page gets them whole). */
const DETACH_WAIT_MS = 5000;


/** What the path offers to the rest of the background and to tests. */
export interface NavigationPath {
  /** Looks at every tab again (attach or detach as the settings say). */
  sync(): Promise<void>;
  /** The tabs with a debugger session. */
  attachedTabs(): number[];
}

/** Registers Chromium's navigation path, synchronously (call at the top level of the background). */
export function registerNavigationPath({ services }: Pick<RequestPathDeps, 'services'>): NavigationPath {
  const tabActivity = new TabActivity();
  const attachments = new TabAttachments({
    api: chromeDebugger,
    patterns: () => (services.current ? documentPatterns(services.current.settings.current) : []),
    log,
  });
  const exchanges = new NavigationExchanges({
    cdp: CHROME_CDP,
    services,
    tabOf: (tabId) => attachments.get(tabId),
    tabActivity,
    reloadTab: (tabId) => browser.tabs.reload(tabId),
    timers: {
      now: () => performance.now(),
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    },
    log,
  });

  /** The mode is on now (settings loaded, permission held). */
  function active(): boolean {
    const current = services.current;
    return current !== null && navigationsWanted(current.settings.current, chromeDebugger() !== null);
  }

  /** Attaches or detaches one tab as its URL and the settings say. */
  async function follow(tabId: number, url: string | undefined, incognito: boolean): Promise<void> {
    const current = services.current;
    if (current && active() && tabWanted(current.settings.current, url, incognito)) {
      await attachments.attach(tabId, incognito);
      return;
    }
    if (attachments.get(tabId)) await detachWhenIdle(tabId);
  }

  /** Our own detach waits (bounded) for the tab's deltas under way, so their pages are fulfilled, not reloaded. */
  async function detachWhenIdle(tabId: number): Promise<void> {
    const deadline = Date.now() + DETACH_WAIT_MS;
    while (exchanges.pending(tabId) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await attachments.detach(tabId);
    exchanges.tabDetached(tabId, false);
  }

  async function sync(): Promise<void> {
    await services.ready.catch(() => undefined);
    if (!active()) {
      await Promise.all(attachments.attachedTabs().map((tabId) => detachWhenIdle(tabId)));
      return;
    }
    const tabs = await browser.tabs.query({});
    await attachments.refreshPatterns();
    await Promise.all(tabs.map((tab) => (tab.id === undefined ? undefined : follow(tab.id, tab.pendingUrl ?? tab.url, tab.incognito))));
  }

  function onDebuggerEvent(source: Debuggee, method: string, params?: unknown): void {
    if (method !== 'Fetch.requestPaused' || source.tabId === undefined) return;
    void exchanges.onRequestPaused(source.tabId, params as FetchRequestPaused);
  }

  function onDebuggerDetach(source: Debuggee, reason: string): void {
    if (source.tabId === undefined) return;
    attachments.forget(source.tabId);
    exchanges.tabDetached(source.tabId, reason === 'target_closed');
    if (reason === 'canceled_by_user') void turnOffAfterCancel();
  }

  /** The user cancelled debugging: the mode goes off, and stays off until they turn it on again. */
  async function turnOffAfterCancel(): Promise<void> {
    const current = await services.ready;
    if (!current.settings.current.acceleratePageLoads) return;
    log('debugging cancelled by the user: "accelerate page loads" is off');
    await current.settings.update((settings) => ({ ...settings, acceleratePageLoads: false }));
    await sync();
  }

  /** chrome.debugger's events, once the API is there (the permission may come later, without a restart). */
  function listenToDebugger(): void {
    const api = chromeDebugger();
    if (!api || api.onEvent.hasListener(onDebuggerEvent)) return;
    api.onEvent.addListener(onDebuggerEvent);
    api.onDetach.addListener(onDebuggerDetach);
  }

  // ---- registration: synchronous (the caller runs at the top level) ----

  listenToDebugger();
  browser.permissions.onAdded.addListener((granted) => {
    if (!grantsDebugger(granted.permissions)) return;
    listenToDebugger();
    void sync();
  });
  browser.permissions.onRemoved.addListener((removed) => {
    // Chrome ends the sessions itself; what is left is to forget them.
    if (grantsDebugger(removed.permissions)) for (const tabId of attachments.attachedTabs()) onDebuggerDetach({ tabId }, 'permission_removed');
  });
  browser.tabs.onUpdated.addListener((tabId, change, tab) => {
    if (change.url === undefined && change.status !== 'loading') return;
    void follow(tabId, change.url ?? tab.pendingUrl ?? tab.url, tab.incognito);
  });
  browser.tabs.onRemoved.addListener((tabId) => {
    attachments.forget(tabId);
    exchanges.tabDetached(tabId, true);
    tabActivity.forgetTab(tabId);
  });
  // The settings are written by the background only (SettingsStore): by the time this
  // fires the copy in memory is the new one. The mode, crcsync or a site switched: look again.
  browser.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && (SETTINGS_STORAGE_KEY in changes || 'learned' in changes)) void sync();
  });
  // What an attached tab is still loading, for the store's work (tab-activity.ts), without holding any request up.
  browser.webRequest.onBeforeRequest.addListener(
    (details) => {
      if (attachments.get(details.tabId)) tabActivity.started(details.requestId, details.tabId);
    },
    { urls: ['<all_urls>'] },
  );
  const ended = (details: { requestId: string }) => tabActivity.ended(details.requestId);
  browser.webRequest.onCompleted.addListener(ended, { urls: ['<all_urls>'] });
  browser.webRequest.onErrorOccurred.addListener(ended, { urls: ['<all_urls>'] });

  // Start-up (the browser's, or the worker's after it was stopped): attach what should be.
  void sync();

  // Test build only (esbuild drops this from the others): the infobar's Cancel, which no test can click.
  // Chrome detaches every session of the extension and reports 'canceled_by_user' for each.
  if (globalThis.__CRCSYNC_TEST_BUILD__ === true) {
    browser.runtime.onMessage.addListener((message: unknown) => {
      const type = (message as { type?: unknown } | null)?.type;
      if (type === TEST_ATTACHED_MESSAGE) return Promise.resolve({ tabIds: attachments.attachedTabs().filter((tabId) => attachments.get(tabId)?.mainFrameId) });
      if (type !== TEST_CANCEL_MESSAGE) return undefined;
      return (async () => {
        const tabIds = attachments.attachedTabs();
        await Promise.all(tabIds.map((tabId) => chromeDebugger()?.detach({ tabId }).catch(() => undefined)));
        for (const tabId of tabIds) onDebuggerDetach({ tabId }, 'canceled_by_user');
        await services.ready;
        return { detached: tabIds };
      })();
    });
  }

  return { sync, attachedTabs: () => attachments.attachedTabs() };
}
