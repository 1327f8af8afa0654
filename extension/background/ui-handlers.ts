// The popup's and the devtools panel's side of the background, whichever
// browser: their messages (message-gate.ts admits our own pages only), the
// panel's live exchange port, and the housekeeping that follows the user
// (a new session, a closed tab, cleared history, the event page suspended).
// Browser-neutral; the request path is reached only through RequestPath.

import { isCrcsyncEligibleUrl, originOf } from '../../src/protocol/client-policy';
import { browser } from '../shared/browser';
import { EXCHANGES_PORT_PREFIX, MessageHandlers, PopupState } from '../shared/messages';
import {
  MAX_DELTA_STALL_TIMEOUT_MS,
  MIN_DELTA_STALL_TIMEOUT_MS,
  isOriginCapable,
  isOriginEnabled,
  isValidStallTimeout,
  withoutCapableOrigins,
} from '../shared/settings';
import { log } from './log';
import { MessageSenderFields, admitMessage } from './message-gate';
import type { RequestPath } from './request-path';
import type { ServiceHandle, Services } from './services';

export interface UiDeps {
  services: ServiceHandle;
  requestPath: RequestPath;
  extensionBaseUrl: string;
}

/**
 * §6: clearing a site's data (popup "forget", cleared history) clears what
 * crcsync keeps about it: the bodies cached under it or fetched from it,
 * the learned `Capability: crcsync`, and the URLs held after failed loads.
 * `null`: every origin. Resolves to the number of bodies removed.
 */
async function forgetOrigins(current: Services, origins: string[] | null): Promise<number> {
  await current.store.settle();
  const keys = new Set(origins === null ? [...current.store.entries()].map((entry) => entry.key) : origins.flatMap((origin) => current.store.keysForOrigin(origin)));
  await current.store.remove([...keys]);
  await current.settings.learn((learned) => withoutCapableOrigins(learned, origins));
  await current.holds.forgetOrigins(origins);
  return keys.size;
}

// ---- popup / panel messages ----

async function popupState(current: Services, origin: string | null): Promise<PopupState> {
  const settings = current.settings.current;
  let cachedEntries = 0;
  let cachedBytes = 0;
  for (const entry of current.store.entries()) {
    cachedEntries++;
    cachedBytes += entry.size;
  }
  const state: PopupState = {
    enabled: settings.enabled,
    enableAllCapable: settings.enableAllCapable,
    subresourceDeltas: settings.subresourceDeltas,
    acceleratePageLoads: settings.acceleratePageLoads,
    site: null,
    total: { ...current.savings.total(), cachedEntries, cachedBytes },
  };
  if (origin) {
    const keys = current.store.keysForOrigin(origin);
    let siteBytes = 0;
    for (const key of keys) siteBytes += current.store.lookup(key)?.size ?? 0;
    let permitted = false;
    try {
      permitted = await browser.permissions.contains({ origins: [`${origin}/*`] });
    } catch {
      permitted = false;
    }
    state.site = {
      origin,
      eligible: isCrcsyncEligibleUrl(`${origin}/`),
      enabled: isOriginEnabled(settings, origin),
      capable: isOriginCapable(settings, origin),
      permitted,
      cachedEntries: keys.length,
      cachedBytes: siteBytes,
      savings: current.savings.forOrigin(origin),
    };
  }
  return state;
}

/** Registers the popup's and panel's listeners and the housekeeping ones, synchronously (call at the top level). */
export function registerUiHandlers({ services, requestPath, extensionBaseUrl }: UiDeps): void {
  const { ready } = services;

  const handlers: MessageHandlers = {
    async getPopupState({ origin }) {
      return popupState(await ready, origin);
    },
    async setGlobalEnabled({ enabled }) {
      const current = await ready;
      await current.settings.update((settings) => ({ ...settings, enabled }));
      return popupState(current, null);
    },
    async setSiteEnabled({ origin, enabled }) {
      const current = await ready;
      await current.settings.update((settings) => ({ ...settings, sites: { ...settings.sites, [origin]: enabled } }));
      return popupState(current, origin);
    },
    async setAllCapableEnabled({ enabled }) {
      const current = await ready;
      await current.settings.update((settings) => ({ ...settings, enableAllCapable: enabled }));
      return popupState(current, null);
    },
    async setSubresourceDeltas({ enabled }) {
      const current = await ready;
      await current.settings.update((settings) => ({ ...settings, subresourceDeltas: enabled }));
      requestPath.applySubresourceDeltas(current.settings.current.subresourceDeltas);
      return popupState(current, null);
    },
    async setAcceleratePageLoads({ enabled }) {
      const current = await ready;
      // Chromium's navigation path follows the stored setting (storage.onChanged): it attaches or detaches the tabs.
      await current.settings.update((settings) => ({ ...settings, acceleratePageLoads: enabled }));
      return popupState(current, null);
    },
    async forgetSite({ origin }) {
      const current = await ready;
      const removedEntries = await forgetOrigins(current, [origin]);
      current.savings.forget(origin);
      return { removedEntries };
    },
    async getExchanges({ tabId }) {
      return (await ready).exchanges.forTab(tabId);
    },
    async clearExchanges({ tabId }) {
      return { cleared: await (await ready).exchanges.clear(tabId) };
    },
    async setDeltaStallTimeout({ ms }) {
      const current = await ready;
      if (!isValidStallTimeout(ms)) throw new Error(`stall timeout must be ${MIN_DELTA_STALL_TIMEOUT_MS}..${MAX_DELTA_STALL_TIMEOUT_MS} ms`);
      await current.settings.update((settings) => ({ ...settings, deltaStallTimeoutMs: Math.floor(ms) }));
      return { deltaStallTimeoutMs: current.settings.current.deltaStallTimeoutMs };
    },
    async getStoreSummary({ settle }) {
      const current = await ready;
      if (settle) await current.store.settle();
      return {
        entries: [...current.store.entries()].map(({ key, topLevelOrigin, urlOrigin, size, partition }) => ({
          key,
          topLevelOrigin,
          urlOrigin,
          size,
          partition,
        })),
        pendingWrites: current.store.pendingWrites,
      };
    },
  };

  /** Our own pages only (popup, devtools panel), own handlers only (message-gate.ts); anything else gets no answer here. */
  function onMessage(message: unknown, sender: MessageSenderFields): Promise<unknown> | undefined {
    const admitted = admitMessage(handlers, message, sender, { id: browser.runtime.id, baseUrl: extensionBaseUrl });
    if ('refused' in admitted) {
      if (admitted.refused === 'foreign-sender') log(`ignored a "${(message as { type: string }).type}" message from ${sender?.url ?? 'an unknown sender'}`);
      return undefined;
    }
    const handler = handlers[admitted.message.type] as (request: unknown) => Promise<unknown>;
    return handler(admitted.message.request);
  }

  browser.runtime.onMessage.addListener(onMessage);

  browser.runtime.onConnect.addListener((port) => {
    if (!port.name.startsWith(EXCHANGES_PORT_PREFIX)) return;
    const tabId = Number(port.name.slice(EXCHANGES_PORT_PREFIX.length));
    void ready.then((current) => {
      const unsubscribe = current.exchanges.subscribe((record) => {
        if (record.tabId === tabId) port.postMessage(record);
      });
      port.onDisconnect.addListener(unsubscribe);
    });
  });

  // A new browser session: tab ids start over, so does the exchange history.
  browser.runtime.onStartup.addListener(() => {
    void ready.then((current) => current.exchanges.clear(null));
  });
  browser.tabs.onRemoved.addListener((tabId) => {
    void ready.then((current) => current.exchanges.clear(tabId));
  });

  // Firefox has no browsingData.onRemoved (nor does Chromium): when the user
  // clears history for a site ("Forget About This Site" does), the history API
  // reports it, if the user granted the optional "history" permission (from
  // about:addons). Granted later, the API appears in this context at once, so
  // the listener is attached then too, not only at the next start.
  let historyWatched = false;
  function watchHistoryRemoval(): void {
    if (historyWatched || !browser.history?.onVisitRemoved) return;
    historyWatched = true;
    browser.history.onVisitRemoved.addListener((removed) => {
      void ready.then((current) => {
        const origins = new Set(removed.urls.map((url) => originOf(url)).filter((origin): origin is string => !!origin));
        return forgetOrigins(current, removed.allHistory ? null : [...origins]);
      });
    });
  }
  watchHistoryRemoval();
  browser.permissions.onAdded.addListener((granted) => {
    if (granted.permissions?.includes('history')) watchHistoryRemoval();
  });

  // Flush batched writes when Firefox suspends the event page.
  browser.runtime.onSuspend?.addListener(() => {
    const current = services.current;
    if (!current) return;
    void current.exchanges.flush();
    void current.savings.save();
    void current.store.flushTouches();
  });
}
