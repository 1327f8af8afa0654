// The background (Firefox: an MV3 event page; Chromium: a service worker).
// Every listener is registered synchronously at the top level (the uBO Lite
// habit) so an event that wakes the page finds its listener; state lives in
// IndexedDB / storage.local and is loaded behind one init promise.
//
// Firefox path, per request (PROTOCOL.md §1-§3, §6):
//   onBeforeSendHeaders (blocking)  add If-Block from the in-memory index
//   onHeadersReceived   (blocking)  learn Capability; for a delta, strip the
//                                   crcsync headers and rebuild the body with
//                                   filterResponseData; for a cacheable plain
//                                   200, tee the body into the store.
// declarativeNetRequest could add the header, but it cannot decode, and a
// header nobody decodes must never go out (§6); Firefox keeps blocking
// webRequest in MV3, so the header and the decode come from the same code.

import { getDefaultEngine } from '../../src/core/embedded-core';
import {
  HeaderEntry,
  REFETCH_DEADLINE_MS,
  advertisesCrcsync,
  classifyDeltaResponse,
  countsTowardSavings,
  fallbackDropsBase,
  fallbackHoldsIfBlock,
  findHeader,
  isCacheableBodySize,
  isCacheableResponse,
  isCrcsyncEligibleUrl,
  isSameResource,
  loadErrorHoldsIfBlock,
  nextBaselineBytes,
  originOf,
  undecodedAnswerReason,
} from '../../src/protocol/client-policy';
import { formatIfBlock } from '../../src/protocol/if-block';
import { answerableExtensionVersion } from '../../src/protocol/ext-offer';
import { FallbackReason, OfferPlan, planOffer, planResponse } from '../../src/protocol/client-plan';
import { DEFAULT_MAX_REBUILT_BYTES, IF_BLOCK_HEADER, MAX_BASE_BYTES } from '../../src/protocol/wire';
import { BeforeSendHeadersDetails, BlockingResponse, CompletedDetails, HeadersReceivedDetails, browser } from '../shared/browser';
import { EXCHANGES_PORT_PREFIX, ExchangeOutcome, ExchangeRecord, MessageHandlers, PopupState } from '../shared/messages';
import {
  MAX_DELTA_STALL_TIMEOUT_MS,
  MIN_DELTA_STALL_TIMEOUT_MS,
  isOriginCapable,
  isOriginEnabled,
  isValidStallTimeout,
  withCapableOrigin,
  withoutCapableOrigins,
} from '../shared/settings';
import { BodyStore, SaveOutcome } from './body-store';
import { openDatabase } from './database';
import { MessageSenderFields, admitMessage } from './message-gate';
import { ExchangeLog } from './exchange-log';
import { PhaseClock, phasesOf } from './exchange-phases';
import { HoldStore } from './if-block-holds';
import { refetchFull } from './refetch';
import { RequestPlace, frameOriginsOf, isOwnRequest, isPrivateContext, partitionOf, storeKeyFor, topLevelOriginOf } from './request-context';
import { DELTA_REQUEST_FILTER, DOCUMENT_AND_FETCH_FILTER, DOCUMENT_AND_FETCH_TYPES, SUBRESOURCE_FILTER } from './request-scope';
import { captureBody, rebuildDelta } from './response-filters';
import { SavingsBook, emptySavings } from './savings-book';
import { SettingsStore } from './settings-store';
import { TabActivity } from './tab-activity';
import '../shared/build-flags';
import { registerTestHooks } from './test-hooks';

function log(message: string, error?: unknown): void {
  if (error === undefined) console.warn(`crcsync: ${message}`);
  else console.warn(`crcsync: ${message}`, error);
}

interface Services {
  db: IDBDatabase;
  settings: SettingsStore;
  store: BodyStore;
  exchanges: ExchangeLog;
  savings: SavingsBook;
  holds: HoldStore;
}

let services: Services | null = null;

async function init(): Promise<Services> {
  // Requests that wake the event page wait for this (whenReady): the database and the
  // settings are independent, so neither waits for the other (issue 9).
  const [db, settings] = await Promise.all([openDatabase(), SettingsStore.load()]);
  const [store, exchanges, savings, holds] = await Promise.all([
    BodyStore.open(db, () => settings.current.storeCapBytes, log),
    ExchangeLog.open(db, log),
    SavingsBook.load(),
    HoldStore.open(db, log),
  ]);
  services = { db, settings, store, exchanges, savings, holds };
  return services;
}

/** The one init promise; no top-level await (STYLE.md habit 5). */
const ready: Promise<Services> = init();
ready.catch((error) => log('init failed; crcsync stays off until restart', error));

/** A request arriving before init finished waits at most this long, then goes out without If-Block. */
const INIT_WAIT_MS = 3000;

function whenReady(): Promise<Services | null> {
  if (services) return Promise.resolve(services);
  return Promise.race([ready, new Promise<null>((resolve) => setTimeout(() => resolve(null), INIT_WAIT_MS))]).catch(() => null);
}

const extensionBaseUrl = browser.runtime.getURL('');

/** Filters rewrite bodies only where Firefox's StreamFilter exists; elsewhere no If-Block is ever sent (§6). */
const canRewriteBodies = typeof (browser.webRequest as { filterResponseData?: unknown }).filterResponseData === 'function';

/** What the request path remembers between its events. */
interface RequestState {
  requestId: string;
  url: string;
  method: string;
  type: string;
  tabId: number;
  startedAt: number;
  partition: string;
  topLevelOrigin: string;
  urlOrigin: string;
  /** A private window (§6): nothing about this request is persisted, not even in the exchange log. */
  incognito: boolean;
  /**
   * A context where no fallback could be done safely (private, a container,
   * third-party, no tab...; shouldOfferIfBlock): no If-Block, and its body never becomes a base.
   */
  privateContext: boolean;
  /** Why no If-Block went out although the request is to an enabled origin (exchange log); null when sent or no base. */
  withheld: string | null;
  /** webRequest onErrorOccurred's error, once the load failed. */
  loadError: string | null;
  /** onHeadersReceived saw this request's final response. */
  headersSeen: boolean;
  /** The exchange was recorded (at most once per request). */
  recorded: boolean;
  /** The exchange was added to the savings (at most once per request; before the record when the body is kept). */
  savingsCounted: boolean;
  /** A failed load was already counted against the URL (at most once per request). */
  loadFailed: boolean;
  /**
   * The page or the user cancelled the request (NS_BINDING_ABORTED: Stop, a
   * navigation elsewhere, fetch() aborted). Firefox then ends the body filter
   * with a normal stop, so the rebuild sees a truncated delta; nobody waits
   * for a fallback body, and nothing failed that should hold the URL.
   */
  cancelled: boolean;
  /** Aborts the fallback's refetch in flight, if there is one. */
  abortRefetch: (() => void) | null;
  key: string;
  requestHeaders: HeaderEntry[];
  /** The If-Block value sent, and the base it was computed from (read as soon as it was sent). */
  ifBlock: string | null;
  base: Promise<Uint8Array | null> | null;
  /** The baseline of the entry whose If-Block went out (what its last full download cost). */
  baselineBytes: number | null;
  /** Firefox's responseSize for this request, from onCompleted; null on error or from the disk cache. */
  transfer: Promise<number | null>;
  reportTransfer(bytes: number | null): void;
  /** When each event of the exchange happened (ExchangeRecord.phases). */
  clock: PhaseClock;
}

const inflight = new Map<string, RequestState>();

/** Every request of every tab the listeners see, to put the store's work after a page's loading (tab-activity.ts). */
const tabActivity = new TabActivity();

/**
 * Each tab's latest top-level navigation (requestId). A navigation that ends
 * after another one started in its tab was left by the user: Firefox 153
 * reports that either as NS_BINDING_ABORTED or, now and then, as
 * NS_ERROR_FAILURE with a body-filter error; neither is a failed load.
 */
const latestNavigations = new Map<number, string>();

/** The page or the user gave up on this request (Stop, fetch() aborted, a navigation elsewhere): nothing failed. */
function wasCancelled(state: RequestState): boolean {
  return state.cancelled || (state.type === 'main_frame' && state.tabId >= 0 && latestNavigations.get(state.tabId) !== state.requestId);
}

/**
 * How long an outcome waits for onCompleted's transfer size. Firefox fires
 * onCompleted around the time the body filter sees the end; a request that
 * never completes (an abandoned stalled delta) is recorded without it.
 */
const TRANSFER_WAIT_MS = 3000;

function boundedTransfer(transfer: Promise<number | null>): Promise<number | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), TRANSFER_WAIT_MS);
    void transfer.then((bytes) => {
      clearTimeout(timer);
      resolve(bytes);
    });
  });
}

/**
 * What Firefox says one response cost on the network: onCompleted's
 * `responseSize` (nsIHttpChannel.transferSize: status line, headers and body
 * as received, before gzip/br/crcsync decoding). A response from the disk
 * cache cost nothing on the network and is not a measurement.
 */
function transferSizeOf(details: CompletedDetails): number | null {
  if (details.fromCache) return null;
  const size = (details as { responseSize?: unknown }).responseSize;
  return typeof size === 'number' && size > 0 ? size : null;
}

/** The fallback refetches (the background's own requests) waiting for their transfer size, by URL, oldest first. */
const refetchTransfers = new Map<string, ((bytes: number | null) => void)[]>();

function awaitRefetchTransfer(url: string): Promise<number | null> {
  return new Promise((resolve) => {
    const waiting = refetchTransfers.get(url) ?? [];
    refetchTransfers.set(url, waiting);
    const report = (bytes: number | null) => {
      clearTimeout(timer);
      resolve(bytes);
    };
    // A redirect ends the refetch under another URL: then nothing is reported here.
    const timer = setTimeout(() => {
      const index = waiting.indexOf(report);
      if (index >= 0) waiting.splice(index, 1);
      if (!waiting.length && refetchTransfers.get(url) === waiting) refetchTransfers.delete(url);
      resolve(null);
    }, TRANSFER_WAIT_MS * 2);
    waiting.push(report);
  });
}

function reportRefetchTransfer(url: string, bytes: number | null): void {
  const waiting = refetchTransfers.get(url);
  const report = waiting?.shift();
  if (waiting && !waiting.length) refetchTransfers.delete(url);
  report?.(bytes);
}

function onBeforeSendHeaders(details: BeforeSendHeadersDetails): BlockingResponse | Promise<BlockingResponse> {
  const clock = new PhaseClock();
  clock.requestAt = performance.now();
  clock.requestSeenEpochMs = Date.now();
  clock.requestEventEpochMs = details.timeStamp;
  inflight.delete(details.requestId); // a redirect starts over with the new URL
  if (details.type === 'main_frame' && details.tabId >= 0) latestNavigations.set(details.tabId, details.requestId);
  if (details.method !== 'GET' || !isCrcsyncEligibleUrl(details.url)) return {};
  if (isOwnRequest(details, extensionBaseUrl)) return {};
  if (services) {
    const response = offerIfBlock(services, details, clock);
    clock.offeredAt = performance.now();
    return response;
  }
  return whenReady().then((ready) => {
    const response = ready ? offerIfBlock(ready, details, clock) : {};
    clock.offeredAt = performance.now();
    return response;
  });
}

function offerIfBlock({ settings, store, holds }: Services, details: BeforeSendHeadersDetails, clock: PhaseClock): BlockingResponse {
  const topLevelOrigin = topLevelOriginOf(details);
  const urlOrigin = originOf(details.url);
  if (!topLevelOrigin || !urlOrigin || !isOriginEnabled(settings.current, urlOrigin)) return {};
  const partition = partitionOf(details);
  const incognito = isPrivateContext(details);
  const key = storeKeyFor(partition, topLevelOrigin, details.url);
  const entry = store.lookup(key);
  const hold = entry ? holds.heldFor(key) : undefined;
  // The one client decision (src/protocol/client-plan.ts): If-Block or not, and whether the body may become a base.
  const plan = planOffer({
    request: {
      method: details.method,
      url: details.url,
      type: details.type,
      tabId: details.tabId,
      originEnabled: true,
      incognito,
      cookieStoreId: details.cookieStoreId,
      topLevelOrigin,
      thirdParty: typeof details.thirdParty === 'boolean' ? details.thirdParty : undefined,
      frameOrigins: frameOriginsOf(details),
      requestHeaders: details.requestHeaders,
    },
    canDecode: canRewriteBodies,
    storedIfBlock: entry?.ifBlock ?? null,
    heldBecause: hold ? hold.reason : null,
    // This client decodes extension bodies (docs/extensions.md §1.1); a v=1 server ignores the field.
    offerExtension: true,
  });
  let reportTransfer: (bytes: number | null) => void = () => undefined;
  const transfer = new Promise<number | null>((resolve) => (reportTransfer = resolve));
  const state: RequestState = {
    requestId: details.requestId,
    url: details.url,
    method: details.method,
    type: details.type,
    tabId: details.tabId,
    startedAt: Date.now(),
    partition,
    topLevelOrigin,
    urlOrigin,
    incognito,
    privateContext: incognito || !plan.keepsBody,
    withheld: withheldReason(plan),
    loadError: null,
    headersSeen: false,
    recorded: false,
    savingsCounted: false,
    loadFailed: false,
    cancelled: false,
    abortRefetch: null,
    key,
    requestHeaders: details.requestHeaders ?? [],
    ifBlock: null,
    base: null,
    baselineBytes: null,
    transfer,
    reportTransfer,
    clock,
  };
  inflight.set(details.requestId, state);
  if (!plan.send || !entry) return {};
  state.ifBlock = plan.ifBlock;
  state.baselineBytes = entry.baselineBytes ?? null;
  // The base: in memory when this URL was stored or read lately (hot-bodies.ts); else the
  // read starts now, so the body is in memory by the time the delta arrives.
  clock.baseReadStartAt = performance.now();
  const hot = store.hotBody(state.key, entry.storedAt);
  clock.baseFromMemory = hot ? 1 : 0;
  if (hot) {
    clock.baseReadyAt = clock.baseReadStartAt;
    state.base = Promise.resolve(hot);
  } else {
    state.base = store.loadBody(state.key, entry.storedAt);
    state.base.then(
      () => (clock.baseReadyAt = performance.now()),
      () => undefined,
    );
  }
  return { requestHeaders: [...(details.requestHeaders ?? []), { name: IF_BLOCK_HEADER, value: plan.ifBlock }] };
}

/** What the exchange log says when no If-Block went out; null when it did, or when there was nothing to offer. */
function withheldReason(plan: OfferPlan): string | null {
  if (plan.send || plan.reason === 'no-base' || plan.reason === 'no-decoder') return null;
  return plan.reason === 'held' ? `held: the last load with If-Block failed (${plan.detail})` : plan.reason;
}

function onHeadersReceived(details: HeadersReceivedDetails): BlockingResponse {
  const enteredAt = performance.now();
  const enteredEpochMs = Date.now();
  const state = inflight.get(details.requestId);
  if (state) {
    state.clock.headersAt = enteredAt;
    state.clock.headersSeenEpochMs = enteredEpochMs;
    state.clock.headersEventEpochMs = details.timeStamp;
  }
  const response = answerHeaders(details, state);
  if (state) state.clock.headersDoneAt = performance.now();
  return response;
}

function answerHeaders(details: HeadersReceivedDetails, state: RequestState | undefined): BlockingResponse {
  if (isOwnRequest(details, extensionBaseUrl)) return refuseEncodedRefetch(details);
  const headers = details.responseHeaders ?? [];
  // Learning is persisted (storage.local), so a private window teaches nothing (§6).
  if (advertisesCrcsync(headers) && !isPrivateContext(details)) learnCapability(details.url);
  if (!state || !services) return {};
  const current = services;
  if (details.statusCode >= 300 && details.statusCode < 400) return {}; // the redirect target is a new request
  state.headersSeen = true;
  // The one client decision on an answer (src/protocol/client-plan.ts).
  const plan = planResponse({
    method: state.method,
    url: state.url,
    status: details.statusCode,
    responseHeaders: headers,
    offered: state.ifBlock !== null && state.base !== null,
    keepsBody: !state.privateContext,
    canDecode: canRewriteBodies,
  });
  switch (plan.action) {
    case 'ignore':
      return {};
    case 'rebuild':
    case 'refetch':
      try {
        startRebuild(current, state, details, plan.action === 'refetch' ? plan.reason : null);
      } catch (error) {
        // No filter, no rebuild: the page would get raw delta bytes. A failed
        // load is what the user would get from a broken server anyway; garbage is worse (§3).
        log(`${state.url}: cannot filter the delta response; cancelling it`, error);
        failLoad(current, state, 'FILTER_UNAVAILABLE');
        return { cancel: true };
      }
      return { responseHeaders: plan.headers };
    case 'capture':
      startCapture(current, state, details, plan.keep);
      return {};
    case 'pass': {
      const reason = plan.why === 'not kept' ? `not kept: ${state.withheld ?? 'private-window'}` : plan.why === 'status' ? `status ${details.statusCode}` : plan.why;
      if (plan.dropStored) void current.store.remove([state.key]);
      void boundedTransfer(state.transfer).then((wireBytes) =>
        recordExchange(current, state, details, { outcome: 'passed', reason, wireBytes, bodyBytes: 0, baselineBytes: null, fullBytes: 0, rebuildMs: null }),
      );
      return {};
    }
  }
}

/**
 * The extension's own requests (the fallback refetch) never carry If-Block,
 * so a response labelled crcsync is a lie nobody can verify: refused before
 * a byte of it reaches the background (refetch.ts refuses it too, when
 * Content-Encoding is visible to fetch).
 */
function refuseEncodedRefetch(details: HeadersReceivedDetails): BlockingResponse {
  return classifyDeltaResponse(details.statusCode, details.responseHeaders) === 'plain' ? {} : { cancel: true };
}

/** PROTOCOL.md §6: may this response's body become a cached base? */
function isCacheableExchange(state: RequestState, status: number, headers: HeaderEntry[]): boolean {
  return isCacheableResponse({ method: state.method, url: state.url, status, privateContext: state.privateContext, responseHeaders: headers });
}

function learnCapability(url: string): void {
  const origin = originOf(url);
  if (!origin) return;
  void whenReady().then((ready) => ready?.settings.learn((learned) => withCapableOrigin(learned, origin, Date.now())));
}

function startRebuild(current: Services, state: RequestState, details: HeadersReceivedDetails, unusableReason: FallbackReason | null): void {
  const headers = details.responseHeaders ?? [];
  const cacheable = isCacheableExchange(state, details.statusCode, headers);
  let refetchTransfer: number | null = null;
  rebuildDelta(browser.webRequest.filterResponseData(details.requestId), {
    base: state.base!,
    // Decode X bodies only when this request offered them (docs/extensions.md §3.1).
    acceptExtension: answerableExtensionVersion(state.ifBlock!) > 0,
    clock: state.clock,
    maxRebuiltBytes: DEFAULT_MAX_REBUILT_BYTES,
    stallTimeoutMs: current.settings.current.deltaStallTimeoutMs,
    unusableReason,
    log,
    refetch: async (reason) => {
      // The cached copy goes first only when it may be what broke the delta (§5); a stall or a broken stream leaves it as it was.
      if (fallbackDropsBase(reason)) await current.store.remove([state.key]).catch((error) => log('could not drop a bad entry', error));
      // The page gave up on the request (its end looked like a truncated delta): nobody waits for a full download.
      if (wasCancelled(state)) return { body: null, refusal: 'CANCELLED' };
      const controller = new AbortController();
      state.abortRefetch = () => controller.abort();
      const transferred = awaitRefetchTransfer(state.url);
      const result = await refetchFull({
        url: state.url,
        requestHeaders: state.requestHeaders,
        stallTimeoutMs: current.settings.current.deltaStallTimeoutMs,
        deadlineMs: REFETCH_DEADLINE_MS,
        maxBytes: DEFAULT_MAX_REBUILT_BYTES,
        signal: controller.signal,
      });
      state.abortRefetch = null;
      if (wasCancelled(state)) return { body: null, refusal: 'CANCELLED' };
      refetchTransfer = await transferred;
      if (result.refusal) log(`${state.url}: refetch refused: ${result.refusal} (${result.detail ?? ''})`);
      return { body: result.body, refusal: result.refusal && (result.refusal === 'REFETCH_STATUS' ? `${result.refusal} ${result.status}` : result.refusal) };
    },
    done: (outcome) => {
      const reason = outcome.refusal ? `${outcome.reason}; ${outcome.refusal}` : outcome.reason;
      const fullDownload = outcome.verified ? null : refetchTransfer;
      // A refetched body is a 200 of this URL (refetchRefusal), so it is kept like any plain 200.
      const saved =
        outcome.body && cacheable ? saveBody(current, state, outcome.body, nextBaselineBytes(fullDownload, state.baselineBytes)) : Promise.resolve(null);
      if (outcome.verified) current.holds.lift(state.key);
      else if (outcome.body) log(`${state.url}: fell back to a full fetch (${reason})`);
      // A bomb would go off again against the refetched base: hold the URL, the page has its body.
      if (outcome.body && !outcome.verified && outcome.reason && fallbackHoldsIfBlock(outcome.reason)) current.holds.fail(state, outcome.reason);
      // The page got nothing (or a browser error): count it against the URL, heal a navigation;
      // unless the page or the user gave up on the request: then nothing failed (issue 8 item 11,
      // case 2). A filter error arrives before webRequest says how the channel ended, so it waits
      // for that (a real failure is then counted by onErrorOccurred, or here after onCompleted).
      if (!outcome.body) {
        const countFailure = () => {
          if (!wasCancelled(state)) failLoad(current, state, reason ?? 'FAILED');
        };
        if (outcome.reason === 'FILTER_ERROR') void boundedTransfer(state.transfer).then(countFailure);
        else countFailure();
      }
      const result: ExchangeOutcome = outcome.verified ? 'verified' : outcome.body ? 'fell-back' : 'failed';
      const wire = boundedTransfer(state.transfer).then((deltaTransfer) => {
        // A fallback cost the delta (if Firefox measured it) plus the refetch; a stalled delta is never measured.
        // Firefox 153 reported responseSize 0 for chunked responses in our tests; then the
        // delta's body bytes (exact: Firefox does not decode crcsync) stand in, headers not counted.
        const delta = deltaTransfer ?? outcome.bodyBytes;
        const wireBytes = outcome.verified ? delta : refetchTransfer !== null ? delta + refetchTransfer : null;
        countSavings(current, state, { outcome: result, wireBytes, baselineBytes: state.baselineBytes, fullBytes: outcome.body?.length ?? 0 });
        return wireBytes;
      });
      void Promise.all([wire, saved]).then(([wireBytes, stored]) => {
        recordExchange(current, state, details, {
          outcome: result,
          // The page got its body either way; a base that could not be kept (quota) is said, not hidden.
          reason: reason ?? notStoredReason(stored),
          wireBytes,
          bodyBytes: outcome.bodyBytes,
          baselineBytes: state.baselineBytes,
          fullBytes: outcome.body?.length ?? 0,
          rebuildMs: outcome.verified ? outcome.rebuildMs : null,
          extensionBody: outcome.extensionBody,
          releasedEarlyBytes: outcome.releasedEarlyBytes,
          ...(outcome.verified ? phasesField(state.clock) : {}),
        });
      });
    },
  });
}

// ---- a broken peer must not break a page for good ----

/**
 * A load that carried If-Block ended with a browser error or with nothing
 * for the page: its URL is held (no If-Block for a while, if-block-holds.ts)
 * and, for a top-level navigation, the tab is reloaded once, which goes
 * without If-Block and so gets the page the way it would without crcsync.
 */
function failLoad(current: Services, state: RequestState, reason: string): void {
  if (state.loadFailed || !state.ifBlock) return;
  state.loadFailed = true;
  log(`${state.url}: the load with If-Block failed (${reason}); no If-Block for it for a while`);
  const hold = current.holds.fail(state, reason);
  if (hold && state.type === 'main_frame') void healNavigation(state);
}

/** How long a failed navigation may take to show its error page (or its empty document) before the reload. */
const HEAL_WAIT_MS = 5000;

async function healNavigation(state: RequestState): Promise<void> {
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

/** Passes a plain body through; keeps a copy as the next base when `keep` (a cacheable response). */
function startCapture(current: Services, state: RequestState, details: HeadersReceivedDetails, keep: boolean): void {
  captureBody(browser.webRequest.filterResponseData(details.requestId), {
    maxBytes: keep ? MAX_BASE_BYTES : 0,
    log,
    done: (body, bodyBytes) => {
      const undecoded = state.ifBlock
        ? undecodedAnswerReason({ status: details.statusCode, contentEncoding: findHeader(details.responseHeaders, 'Content-Encoding'), decodedBytes: bodyBytes })
        : null;
      if (undecoded) failLoad(current, state, undecoded);
      const kept = keep && !undecoded && body !== null && isCacheableBodySize(body.length);
      // Firefox's responseSize when it gives one; else the encoded body size the server announced;
      // else, for an identity body, what the filter saw. A chunked gzip/br body with no responseSize
      // falls back to its decoded size, which overstates the baseline (README: "Bytes").
      const announced = Number(findHeader(details.responseHeaders, 'Content-Length'));
      const wire = boundedTransfer(state.transfer).then((bytes) => bytes ?? (Number.isFinite(announced) && announced > 0 ? announced : bodyBytes));
      // A plain 200 is a full download: what it cost is the baseline for the next delta of this URL.
      const saved = kept ? saveBody(current, state, body, wire.then((bytes) => nextBaselineBytes(bytes, state.baselineBytes))) : Promise.resolve(null);
      void wire.then((wireBytes) => countSavings(current, state, { outcome: undecoded ? 'failed' : 'passed', wireBytes, baselineBytes: wireBytes, fullBytes: bodyBytes }));
      void Promise.all([wire, saved]).then(([wireBytes, stored]) =>
        recordExchange(current, state, details, {
          // 'stored' only once the write committed: a quota error leaves it 'passed', with the reason.
          outcome: undecoded ? 'failed' : stored === 'saved' ? 'stored' : 'passed',
          reason: undecoded ?? (!keep ? 'not cacheable' : kept ? notStoredReason(stored) : body ? `size ${body.length} outside 200 B..4 MiB` : 'too big or stream failed'),
          wireBytes,
          bodyBytes,
          baselineBytes: wireBytes,
          fullBytes: bodyBytes,
          rebuildMs: null,
        }),
      );
    },
  });
}

/** Why a body that was to be kept as a base is not (null: it was kept, or keeping it was never tried). */
function notStoredReason(stored: SaveOutcome | null | undefined): string | null {
  return stored === undefined || stored === null || stored === 'saved' ? null : `not stored: ${stored}`;
}

/** Resolves to what became of the write (never rejects); undefined when nothing was to be written. */
function saveBody(
  current: Services,
  state: RequestState,
  body: Uint8Array,
  baselineBytes: number | null | Promise<number | null>,
): Promise<SaveOutcome | null | undefined> {
  if (state.privateContext) return Promise.resolve(undefined);
  // The page has its body already. Hashing it for its next If-Block and writing it wait
  // for the baseline (onCompleted) and then until the tab stops loading (tab-activity.ts),
  // so they do not hold up the listeners of the requests the page makes right after
  // (issue 9). store.save counts the write as pending from now on (settle(), "forget" ordering).
  const entry = Promise.all([baselineBytes, tabActivity.whenQuiet(state.tabId)])
    .then(([baseline]) => {
      const ifBlock = formatIfBlock(body, getDefaultEngine());
      if (ifBlock === null) return null;
      return {
        key: state.key,
        partition: state.partition,
        topLevelOrigin: state.topLevelOrigin,
        urlOrigin: state.urlOrigin,
        ifBlock,
        body,
        privateContext: state.privateContext,
        baselineBytes: baseline,
      };
    });
  return current.store.save(entry).catch((error: unknown): SaveOutcome => {
    log(`store: could not save ${state.key}`, error);
    return 'storage-error';
  });
}

/** The record's `phases` for a verified delta, when every mark is there. */
function phasesField(clock: PhaseClock): Pick<ExchangeRecord, 'phases'> {
  const phases = phasesOf(clock);
  return phases ? { phases } : {};
}

/** What recordExchange reads of a response (a failed request may have none: status 0). */
interface ResponseSeen {
  requestId: string;
  statusCode: number;
  responseHeaders?: HeaderEntry[];
}

function recordExchange(
  current: Services,
  state: RequestState,
  details: ResponseSeen,
  result: Pick<ExchangeRecord, 'outcome' | 'reason' | 'wireBytes' | 'bodyBytes' | 'baselineBytes' | 'fullBytes' | 'rebuildMs' | 'phases' | 'extensionBody' | 'releasedEarlyBytes'>,
): void {
  if (state.recorded) return;
  state.recorded = true;
  // The channel failed (onErrorOccurred): whatever the filter made of it, the page got a browser error.
  const failed = state.loadError !== null && result.outcome !== 'verified' && result.outcome !== 'fell-back';
  const record: ExchangeRecord = {
    id: `${state.startedAt}-${details.requestId}`,
    tabId: state.tabId,
    url: state.url,
    method: state.method,
    type: state.type,
    status: details.statusCode,
    startedAt: state.startedAt,
    durationMs: Date.now() - state.startedAt,
    ifBlock: state.ifBlock,
    ifBlockWithheld: state.withheld,
    encoding: findHeader(details.responseHeaders, 'Content-Encoding') ?? 'identity',
    ...result,
    ...(failed ? { outcome: 'failed' as const, reason: result.outcome === 'failed' && result.reason ? `${result.reason} (${state.loadError})` : state.loadError } : {}),
  };
  // A private window's exchanges stay in memory for its devtools panel; none is written to IndexedDB (§6).
  current.exchanges.add(record, { persist: !state.incognito });
  countSavings(current, state, record);
}

/**
 * Adds an exchange that carried If-Block to the popup's savings, once. Called
 * as soon as the transfer size is known, before the body is kept as the next
 * base (that write waits until the page has loaded, tab-activity.ts): the
 * popup is right the moment the page is shown.
 */
function countSavings(
  current: Services,
  state: RequestState,
  result: Pick<ExchangeRecord, 'outcome' | 'wireBytes' | 'baselineBytes' | 'fullBytes'>,
): void {
  if (state.savingsCounted || state.ifBlock === null) return;
  state.savingsCounted = true;
  // The channel failed (onErrorOccurred): whatever the filter made of it, the page got a browser error.
  const outcome = state.loadError !== null && result.outcome !== 'verified' && result.outcome !== 'fell-back' ? 'failed' : result.outcome;
  const change = {
    ...emptySavings(),
    deltas: outcome === 'verified' ? 1 : 0,
    fallbacks: outcome === 'fell-back' || outcome === 'failed' ? 1 : 0,
  };
  const cost = { ifBlockSent: true, wireBytes: result.wireBytes, baselineBytes: result.baselineBytes };
  if (countsTowardSavings(cost) && outcome !== 'failed') {
    change.fullBytes = result.fullBytes;
    change.wireBytes = cost.wireBytes;
    change.baselineBytes = cost.baselineBytes;
  }
  current.savings.record(state.topLevelOrigin, change);
}

function onCompleted(details: CompletedDetails): void {
  tabActivity.ended(details.requestId);
  if (isOwnRequest(details, extensionBaseUrl)) return reportRefetchTransfer(details.url, transferSizeOf(details));
  inflight.get(details.requestId)?.reportTransfer(transferSizeOf(details));
  inflight.delete(details.requestId);
}

function onErrorOccurred(details: RequestPlace & { requestId: string; error: string }): void {
  tabActivity.ended(details.requestId);
  if (isOwnRequest(details, extensionBaseUrl)) return reportRefetchTransfer(details.url, null);
  const state = inflight.get(details.requestId);
  inflight.delete(details.requestId);
  if (!state) return;
  state.loadError = details.error;
  // Cancelled by the page or the user (NS_BINDING_ABORTED, or a navigation replaced by another): stop any fallback refetch.
  if (!loadErrorHoldsIfBlock(details.error) || wasCancelled(state)) {
    state.cancelled = true;
    state.abortRefetch?.();
  }
  if (services && state.ifBlock && !state.cancelled) {
    const current = services;
    failLoad(current, state, details.error);
    // Failed before any response headers: no filter or header path will record it.
    if (!state.headersSeen) {
      recordExchange(current, state, { requestId: details.requestId, statusCode: 0 }, {
        outcome: 'failed',
        reason: null,
        wireBytes: null,
        bodyBytes: 0,
        baselineBytes: state.baselineBytes,
        fullBytes: 0,
        rebuildMs: null,
      });
    }
  }
  state.reportTransfer(null);
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
    hookSubresources(current.settings.current.subresourceDeltas);
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

// ---- registration: synchronous, top level ----

// The same listeners for scripts, stylesheets and the other subresource types, as their own
// function objects so that removing them leaves the documents' registration in place.
const onBeforeSendHeadersOfSubresource = (details: BeforeSendHeadersDetails) => onBeforeSendHeaders(details);
const onHeadersReceivedOfSubresource = (details: HeadersReceivedDetails) => onHeadersReceived(details);

/** Hooks scripts, stylesheets and the like, or stops hooking them (Settings.subresourceDeltas). */
function hookSubresources(wanted: boolean): void {
  if (!canRewriteBodies) return;
  const hooked = browser.webRequest.onBeforeSendHeaders.hasListener(onBeforeSendHeadersOfSubresource);
  if (wanted && !hooked) {
    browser.webRequest.onBeforeSendHeaders.addListener(onBeforeSendHeadersOfSubresource, SUBRESOURCE_FILTER, ['blocking', 'requestHeaders']);
    browser.webRequest.onHeadersReceived.addListener(onHeadersReceivedOfSubresource, SUBRESOURCE_FILTER, ['blocking', 'responseHeaders']);
  } else if (!wanted && hooked) {
    browser.webRequest.onBeforeSendHeaders.removeListener(onBeforeSendHeadersOfSubresource);
    browser.webRequest.onHeadersReceived.removeListener(onHeadersReceivedOfSubresource);
  }
}

const ALL_URLS = { urls: ['<all_urls>'] };

if (canRewriteBodies) {
  // Only the types crcsync serves: each blocking listener costs its requests a round trip (request-scope.ts).
  browser.webRequest.onBeforeSendHeaders.addListener(onBeforeSendHeaders, DOCUMENT_AND_FETCH_FILTER, ['blocking', 'requestHeaders']);
  browser.webRequest.onHeadersReceived.addListener(onHeadersReceived, DOCUMENT_AND_FETCH_FILTER, ['blocking', 'responseHeaders']);
  // Scripts and stylesheets only when the user asked for them (request-scope.ts): after the settings loaded.
  void ready.then((current) => hookSubresources(current.settings.current.subresourceDeltas));
  // What a page is still loading, for the store's work (tab-activity.ts), without holding any request up.
  browser.webRequest.onBeforeRequest.addListener((details) => tabActivity.started(details.requestId, details.tabId), DELTA_REQUEST_FILTER);
  // Capability learning sees every response, without holding any up.
  browser.webRequest.onHeadersReceived.addListener(
    (details) => {
      if (!DOCUMENT_AND_FETCH_TYPES.includes(details.type) && advertisesCrcsync(details.responseHeaders) && !isPrivateContext(details)) learnCapability(details.url);
    },
    ALL_URLS,
    ['responseHeaders'],
  );
} else {
  // Chromium MV3 has neither blocking webRequest nor a body filter: only learn which sites speak crcsync.
  browser.webRequest.onHeadersReceived.addListener(
    (details) => {
      if (advertisesCrcsync(details.responseHeaders)) learnCapability(details.url);
    },
    ALL_URLS,
    ['responseHeaders'],
  );
}
// Chromium rejects Firefox's resource types in a filter; there the request path is not ours anyway.
const REQUEST_END_FILTER = canRewriteBodies ? DELTA_REQUEST_FILTER : ALL_URLS;
browser.webRequest.onCompleted.addListener(onCompleted, REQUEST_END_FILTER);
browser.webRequest.onErrorOccurred.addListener(onErrorOccurred, REQUEST_END_FILTER);

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
  latestNavigations.delete(tabId);
  tabActivity.forgetTab(tabId);
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
  if (!services) return;
  void services.exchanges.flush();
  void services.savings.save();
  void services.store.flushTouches();
});

// A literal in each build (see build-flags.ts): production bundles drop the hooks.
if (globalThis.__CRCSYNC_TEST_BUILD__ === true) registerTestHooks(() => ready);
