// Firefox's request path (PROTOCOL.md §1-§3, §6), per request:
//   onBeforeSendHeaders (blocking)  add If-Block from the in-memory index
//   onHeadersReceived   (blocking)  learn Capability; for a delta, strip the
//                                   crcsync headers and rebuild the body with
//                                   filterResponseData; for a cacheable plain
//                                   200, tee the body into the store.
// declarativeNetRequest could add the header, but it cannot decode, and a
// header nobody decodes must never go out (§6); Firefox keeps blocking
// webRequest in MV3, so the header and the decode come from the same code.
// Only index.ts imports this module (test/conventions.test.ts), and only the
// Firefox builds contain it: its state lives inside registerFirefoxRequestPath,
// so the module has no top-level effect for a bundle to keep.

import {
  HeaderEntry,
  REFETCH_DEADLINE_MS,
  advertisesCrcsync,
  classifyDeltaResponse,
  fallbackDropsBase,
  fallbackHoldsIfBlock,
  findHeader,
  isCacheableBodySize,
  isCrcsyncEligibleUrl,
  loadErrorHoldsIfBlock,
  nextBaselineBytes,
  originOf,
  undecodedAnswerReason,
} from '../../../src/protocol/client-policy';
import { answerableExtensionVersion } from '../../../src/protocol/ext-offer';
import { FallbackReason, OfferPlan, planOffer, planResponse } from '../../../src/protocol/client-plan';
import { DEFAULT_MAX_REBUILT_BYTES, IF_BLOCK_HEADER, MAX_BASE_BYTES } from '../../../src/protocol/wire';
import { BeforeSendHeadersDetails, BlockingResponse, CompletedDetails, HeadersReceivedDetails, browser } from '../../shared/browser';
import type { ExchangeOutcome } from '../../shared/messages';
import { isOriginEnabled } from '../../shared/settings';
import { learnCapability } from '../capability-learning';
import { ExchangeState, countSavings, notStoredReason, phasesField, recordExchange, saveBody } from '../exchange-recorder';
import { PhaseClock } from '../exchange-phases';
import { LoadPlace, failLoad } from '../failed-loads';
import { log } from '../log';
import { refetchFull } from '../refetch';
import { RequestPlace, frameOriginsOf, isOwnRequest, isPrivateContext, partitionOf, storeKeyFor, topLevelOriginOf } from '../request-context';
import type { RequestPath, RequestPathDeps } from '../request-path';
import { DELTA_REQUEST_FILTER, DOCUMENT_AND_FETCH_FILTER, DOCUMENT_AND_FETCH_TYPES, SUBRESOURCE_FILTER } from '../request-scope';
import type { Services } from '../services';
import { TabActivity } from '../tab-activity';
import { RefetchTransfers, boundedTransfer } from '../transfers';
import { captureBody, rebuildDelta } from './response-filters';

/** What the request path remembers between its events (ExchangeState and LoadPlace: what recording and a failed load read). */
interface RequestState extends ExchangeState, LoadPlace {
  requestId: string;
  /** onHeadersReceived saw this request's final response. */
  headersSeen: boolean;
  /**
   * The page or the user cancelled the request (NS_BINDING_ABORTED: Stop, a
   * navigation elsewhere, fetch() aborted). Firefox then ends the body filter
   * with a normal stop, so the rebuild sees a truncated delta; nobody waits
   * for a fallback body, and nothing failed that should hold the URL.
   */
  cancelled: boolean;
  /** Aborts the fallback's refetch in flight, if there is one. */
  abortRefetch: (() => void) | null;
  requestHeaders: HeaderEntry[];
  /** The base the If-Block sent was computed from (read as soon as it was sent). */
  base: Promise<Uint8Array | null> | null;
  /** Firefox's responseSize for this request, from onCompleted; null on error or from the disk cache. */
  transfer: Promise<number | null>;
  reportTransfer(bytes: number | null): void;
  /** When each event of the exchange happened (ExchangeRecord.phases). */
  clock: PhaseClock;
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

/** What the exchange log says when no If-Block went out; null when it did, or when there was nothing to offer. */
function withheldReason(plan: OfferPlan): string | null {
  if (plan.send || plan.reason === 'no-base' || plan.reason === 'no-decoder') return null;
  return plan.reason === 'held' ? `held: the last load with If-Block failed (${plan.detail})` : plan.reason;
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

const ALL_URLS = { urls: ['<all_urls>'] };

/** Registers Firefox's request listeners, synchronously (call at the top level of the background). */
export function registerFirefoxRequestPath({ services, extensionBaseUrl }: RequestPathDeps): RequestPath {
  /** Filters rewrite bodies only where Firefox's StreamFilter exists; elsewhere no If-Block is ever sent (§6). */
  const canRewriteBodies = typeof (browser.webRequest as { filterResponseData?: unknown }).filterResponseData === 'function';

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

  /** The fallback refetches (the background's own requests) waiting for their transfer size. */
  const refetchTransfers = new RefetchTransfers();

  function onBeforeSendHeaders(details: BeforeSendHeadersDetails): BlockingResponse | Promise<BlockingResponse> {
    const clock = new PhaseClock();
    clock.requestAt = performance.now();
    clock.requestSeenEpochMs = Date.now();
    clock.requestEventEpochMs = details.timeStamp;
    inflight.delete(details.requestId); // a redirect starts over with the new URL
    if (details.type === 'main_frame' && details.tabId >= 0) latestNavigations.set(details.tabId, details.requestId);
    if (details.method !== 'GET' || !isCrcsyncEligibleUrl(details.url)) return {};
    if (isOwnRequest(details, extensionBaseUrl)) return {};
    if (services.current) {
      const response = offerIfBlock(services.current, details, clock);
      clock.offeredAt = performance.now();
      return response;
    }
    return services.whenReady().then((ready) => {
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
    if (advertisesCrcsync(headers) && !isPrivateContext(details)) learnCapability(services, details.url);
    const current = services.current;
    if (!state || !current) return {};
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
          startRebuild(current, state, details, plan.keep, plan.action === 'refetch' ? plan.reason : null);
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

  /** Rebuilds a delta answer (or refetches at once, for `unusableReason`); the page's body is kept as the next base when `cacheable` (the plan's `keep`). */
  function startRebuild(current: Services, state: RequestState, details: HeadersReceivedDetails, cacheable: boolean, unusableReason: FallbackReason | null): void {
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
        const transferred = refetchTransfers.await(state.url);
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
          outcome.body && cacheable ? saveBody(current, state, outcome.body, nextBaselineBytes(fullDownload, state.baselineBytes), tabActivity) : Promise.resolve(null);
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
        const saved = kept ? saveBody(current, state, body, wire.then((bytes) => nextBaselineBytes(bytes, state.baselineBytes)), tabActivity) : Promise.resolve(null);
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

  function onCompleted(details: CompletedDetails): void {
    tabActivity.ended(details.requestId);
    if (isOwnRequest(details, extensionBaseUrl)) return refetchTransfers.report(details.url, transferSizeOf(details));
    inflight.get(details.requestId)?.reportTransfer(transferSizeOf(details));
    inflight.delete(details.requestId);
  }

  function onErrorOccurred(details: RequestPlace & { requestId: string; error: string }): void {
    tabActivity.ended(details.requestId);
    if (isOwnRequest(details, extensionBaseUrl)) return refetchTransfers.report(details.url, null);
    const state = inflight.get(details.requestId);
    inflight.delete(details.requestId);
    if (!state) return;
    state.loadError = details.error;
    // Cancelled by the page or the user (NS_BINDING_ABORTED, or a navigation replaced by another): stop any fallback refetch.
    if (!loadErrorHoldsIfBlock(details.error) || wasCancelled(state)) {
      state.cancelled = true;
      state.abortRefetch?.();
    }
    const current = services.current;
    if (current && state.ifBlock && !state.cancelled) {
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

  // ---- registration: synchronous (the caller runs at the top level) ----

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

  if (canRewriteBodies) {
    // Only the types crcsync serves: each blocking listener costs its requests a round trip (request-scope.ts).
    browser.webRequest.onBeforeSendHeaders.addListener(onBeforeSendHeaders, DOCUMENT_AND_FETCH_FILTER, ['blocking', 'requestHeaders']);
    browser.webRequest.onHeadersReceived.addListener(onHeadersReceived, DOCUMENT_AND_FETCH_FILTER, ['blocking', 'responseHeaders']);
    // Scripts and stylesheets only when the user asked for them (request-scope.ts): after the settings loaded.
    void services.ready.then((current) => hookSubresources(current.settings.current.subresourceDeltas));
    // What a page is still loading, for the store's work (tab-activity.ts), without holding any request up.
    browser.webRequest.onBeforeRequest.addListener((details) => tabActivity.started(details.requestId, details.tabId), DELTA_REQUEST_FILTER);
    // Capability learning sees every response, without holding any up.
    browser.webRequest.onHeadersReceived.addListener(
      (details) => {
        if (!DOCUMENT_AND_FETCH_TYPES.includes(details.type) && advertisesCrcsync(details.responseHeaders) && !isPrivateContext(details)) learnCapability(services, details.url);
      },
      ALL_URLS,
      ['responseHeaders'],
    );
  } else {
    // No body filter (not expected in the Firefox versions the manifest admits): no If-Block ever, only learn which sites speak crcsync.
    browser.webRequest.onHeadersReceived.addListener(
      (details) => {
        if (advertisesCrcsync(details.responseHeaders)) learnCapability(services, details.url);
      },
      ALL_URLS,
      ['responseHeaders'],
    );
  }
  // Without a body filter no request is ours: the end events need no type filter then.
  const REQUEST_END_FILTER = canRewriteBodies ? DELTA_REQUEST_FILTER : ALL_URLS;
  browser.webRequest.onCompleted.addListener(onCompleted, REQUEST_END_FILTER);
  browser.webRequest.onErrorOccurred.addListener(onErrorOccurred, REQUEST_END_FILTER);

  // A closed tab's requests and navigations are over (the exchange log forgets it in ui-handlers.ts).
  browser.tabs.onRemoved.addListener((tabId) => {
    latestNavigations.delete(tabId);
    tabActivity.forgetTab(tabId);
  });

  return { applySubresourceDeltas: hookSubresources };
}
