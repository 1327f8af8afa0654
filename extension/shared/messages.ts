// Typed messages between the popup / devtools panel and the background (the
// refined-github habit): one map from message type to request and response,
// one sender, and handlers checked against the same map.

import { browser } from './browser';

/** Why a response did not reach the page as a verified delta; stable strings for logs and the panel. */
export type ExchangeOutcome =
  | 'verified' // delta rebuilt, SHA-1 verified, written to the page
  | 'fell-back' // delta unusable; the full body was refetched and written instead
  | 'stored' // plain 200, passed through and kept as a future base
  | 'passed' // passed through, nothing kept (too big, no-store, not 200...)
  | 'failed'; // the page got no body: the load failed, or the fallback could not be done safely

export interface ExchangeRecord {
  /** requestId, unique per browser session. */
  id: string;
  tabId: number;
  url: string;
  method: string;
  type: string;
  status: number;
  startedAt: number;
  durationMs: number;
  /** The If-Block header value sent, or null. */
  ifBlock: string | null;
  /**
   * Why no If-Block went out on a request to an enabled origin: an
   * IfBlockRefusal of shouldOfferIfBlock ('third-party', 'container', ...)
   * or `held: ...` after a failed load (if-block-holds.ts); null when it was
   * sent or there was simply no cached copy. Absent in records of older versions.
   */
  ifBlockWithheld?: string | null;
  /** Content-Encoding as received (before the rewrite), 'identity' when absent. */
  encoding: string;
  /**
   * Bytes Firefox received for this exchange: status line, headers and body
   * as transferred (still gzip/br/crcsync-encoded), from webRequest
   * onCompleted `responseSize`, plus the fallback refetch's if there was one.
   * null when Firefox did not report it (the request never completed, e.g. a
   * stalled delta that was abandoned).
   */
  wireBytes: number | null;
  /** Body bytes the response filter received, i.e. after Firefox undid gzip/br (delta bytes for a delta). */
  bodyBytes: number;
  /** What the last full download of this URL cost, measured like wireBytes; null when unknown. */
  baselineBytes: number | null;
  /** Size of the body the page got. */
  fullBytes: number;
  /** Time from the last delta byte to the verified body, ms. */
  rebuildMs: number | null;
  /**
   * The delta answer was an extension body (x=1, docs/extensions.md: its
   * first byte the X marker) rather than a v=1 body. Absent when no delta
   * was decoded (a plain answer) and in records of older versions.
   */
  extensionBody?: boolean;
  /**
   * Verified body bytes the page got before the delta ended: the prefixes
   * checkpoints of an x=1 body verified (docs/extensions.md §3.2); 0 for a
   * v=1 body, which is written whole. On a fallback, what the page held
   * before the refetch. Absent where extensionBody is.
   */
  releasedEarlyBytes?: number;
  /**
   * Where a verified delta exchange's time went, in ms (performance.now() in
   * the background at each webRequest and StreamFilter event); absent for
   * every other outcome. Names and meanings: PHASE_NAMES in
   * extension/background/exchange-phases.ts. `ownMs` is the time the page
   * waited because of the extension; `*At`-style phases (firstByteMs,
   * lastByteMs, firstReleaseMs, deliveredMs) are relative to the request start.
   */
  phases?: Record<string, number>;
  outcome: ExchangeOutcome;
  /**
   * CrcsyncError code or a short reason for fell-back / passed / failed;
   * `not stored: <why>` when the body could not be kept as a base (e.g.
   * `storage-error`: IndexedDB refused the write, a full quota), whatever the outcome.
   */
  reason: string | null;
}

/**
 * Exchanges that carried If-Block and whose costs Firefox measured (see
 * countsTowardSavings in src/protocol/client-policy.ts). Saved =
 * baselineBytes - wireBytes.
 */
export interface Savings {
  /** Sizes of the bodies pages got from these exchanges (decoded). */
  fullBytes: number;
  /** Bytes received for them: headers + encoded body (+ fallback refetches), Firefox's responseSize. */
  wireBytes: number;
  /** What a full download of the same URLs cost the last time, measured the same way (gzip/br included). */
  baselineBytes: number;
  deltas: number;
  fallbacks: number;
}

export interface SiteState {
  origin: string;
  /** HTTPS or localhost: crcsync can be used here at all (PROTOCOL.md §6). */
  eligible: boolean;
  enabled: boolean;
  capable: boolean;
  /** Whether the extension holds the host permission for the origin. */
  permitted: boolean;
  cachedEntries: number;
  cachedBytes: number;
  savings: Savings;
}

export interface PopupState {
  enabled: boolean;
  enableAllCapable: boolean;
  subresourceDeltas: boolean;
  /** Chromium's opt-in "accelerate page loads" (Settings.acceleratePageLoads); the popup shows it in the Chromium build only. */
  acceleratePageLoads: boolean;
  site: SiteState | null;
  total: Savings & { cachedEntries: number; cachedBytes: number };
}

export interface StoreSummary {
  entries: { key: string; topLevelOrigin: string; urlOrigin: string; size: number; partition: string }[];
  pendingWrites: number;
}

export interface MessageMap {
  getPopupState: { request: { origin: string | null }; response: PopupState };
  setGlobalEnabled: { request: { enabled: boolean }; response: PopupState };
  setSiteEnabled: { request: { origin: string; enabled: boolean }; response: PopupState };
  setAllCapableEnabled: { request: { enabled: boolean }; response: PopupState };
  setSubresourceDeltas: { request: { enabled: boolean }; response: PopupState };
  /** Chromium: navigations through the debugger on or off (the popup asked for the `debugger` permission first). */
  setAcceleratePageLoads: { request: { enabled: boolean }; response: PopupState };
  forgetSite: { request: { origin: string }; response: { removedEntries: number } };
  getExchanges: { request: { tabId: number }; response: ExchangeRecord[] };
  clearExchanges: { request: { tabId: number }; response: { cleared: number } };
  /** Sets how long a delta stream may deliver nothing before the full refetch (settings, §5). */
  setDeltaStallTimeout: { request: { ms: number }; response: { deltaStallTimeoutMs: number } };
  /** Waits until every body write started so far has committed (tests, "forget" ordering). */
  getStoreSummary: { request: { settle: boolean }; response: StoreSummary };
}

export type MessageType = keyof MessageMap;

export interface Message<T extends MessageType = MessageType> {
  type: T;
  request: MessageMap[T]['request'];
}

export type MessageHandlers = {
  [T in MessageType]: (request: MessageMap[T]['request']) => Promise<MessageMap[T]['response']>;
};

export function sendMessage<T extends MessageType>(type: T, request: MessageMap[T]['request']): Promise<MessageMap[T]['response']> {
  const message: Message<T> = { type, request };
  return browser.runtime.sendMessage(message) as Promise<MessageMap[T]['response']>;
}

/**
 * Shaped like a Message: an object with its own string `type` (one inherited
 * through a prototype does not count). Whether the type has a handler, and
 * whether the sender may call it, is extension/background/message-gate.ts.
 */
export function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, 'type') && typeof (value as { type?: unknown }).type === 'string';
}

/** Name of the runtime.Port a devtools panel opens to receive this tab's exchanges live. */
export const EXCHANGES_PORT_PREFIX = 'exchanges:';
