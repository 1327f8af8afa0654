// One navigation's exchange in an attached tab (issue 10 item 7), from its
// two Fetch.requestPaused events:
//
//   request stage   planOffer: If-Block or not. Fetch.continueRequest with
//                   ALL the original headers plus If-Block (continueRequest
//                   replaces the headers it is given; the browser still adds
//                   cookies after the interception). The header is added
//                   here, in the interception that will decode the answer,
//                   never by declarativeNetRequest (see navigations.ts).
//   response stage  planResponse:
//     rebuild       the delta's body through Fetch.takeResponseBodyAsStream
//                   and IO.read into delta-rebuild.ts; the verified body is
//                   the page's, by Fetch.fulfillRequest with the response's
//                   own status and headers (Set-Cookie, CSP, caching...) minus
//                   the crcsync ones (Content-Encoding, Content-Length,
//                   Capability, Vary: If-Block).
//     capture       a plain cacheable 200: its body is read and kept as the
//                   next base, the response goes on unchanged (see capture()
//                   for how, and what it costs).
//     pass/ignore   the response goes on unchanged.
//
// Fallback: a delta that cannot be used (digest mismatch, broken stream,
// missing base, stall...) is never the page's. The response is fulfilled as
// a 307 to its own URL instead, and that one retry goes out without
// If-Block. The browser makes the retry itself, so it carries the page's own
// cookies: a refetch by the service worker would not (CDP's request headers
// hold no Cookie, the browser adds it after the interception, so the
// background could not tell a logged-in request from a logged-out one), and
// a failed request plus a tab reload would show an error page first. A
// plain answer to If-Block that decodes to nothing takes the same way.
//
// Only main-frame documents: a sub-frame's top-level site and the frames
// between them are not in the event, so frames go on untouched (no
// If-Block, no base). Only v=1: Fetch.fulfillRequest takes one whole body,
// so x=1's verified prefixes could not reach the page any sooner.

import {
  HeaderEntry,
  classifyDeltaResponse,
  fallbackDropsBase,
  fallbackHoldsIfBlock,
  findHeader,
  isCacheableBodySize,
  isCrcsyncEligibleUrl,
  nextBaselineBytes,
  originOf,
  undecodedAnswerReason,
} from '../../../src/protocol/client-policy';
import { FallbackReason, OfferPlan, ResponsePlan, planOffer, planResponse } from '../../../src/protocol/client-plan';
import { DeltaOutcome, DeltaRebuild, RebuildTimers, startDeltaRebuild } from '../../../src/protocol/delta-rebuild';
import { DEFAULT_MAX_REBUILT_BYTES, IF_BLOCK_HEADER } from '../../../src/protocol/wire';
import type { ExchangeOutcome } from '../../shared/messages';
import { isOriginEnabled } from '../../shared/settings';
import { ExchangeState, countSavings, notStoredReason, recordExchange, saveBody } from '../exchange-recorder';
import { PhaseClock } from '../exchange-phases';
import type { LoadPlace } from '../failed-loads';
import { cacheUrlOf, partitionOf, storeKeyFor } from '../request-context';
import type { ServiceHandle, Services } from '../services';
import type { TabActivity } from '../tab-activity';
import { CdpClient, FetchRequestPaused, headerEntriesOf, isResponseStage } from './cdp';
import { bytesToBase64, streamResponseBody, wholeResponseBody } from './cdp-body';

/** What the navigation path knows of an attached tab. */
export interface AttachedTab {
  /** The tab's main frame (Page.getFrameTree); null until known: then nothing is treated as a main-frame load. */
  mainFrameId: string | null;
  incognito: boolean;
}

export interface NavigationExchangeDeps {
  cdp: CdpClient;
  services: ServiceHandle;
  /** The tab as attached; undefined when it is not (any more). */
  tabOf(tabId: number): AttachedTab | undefined;
  tabActivity: Pick<TabActivity, 'whenQuiet'>;
  /** Reloads a tab whose navigation was left undecoded (the debugger went away under it). */
  reloadTab(tabId: number): Promise<void>;
  timers: RebuildTimers;
  log(message: string, error?: unknown): void;
}

/** Why no If-Block went out on the retry after a delta that could not be used (exchange log). */
export const RETRY_WITHHELD = 'retry: the delta before could not be used';
/** The refusal a fallback records: the page got its body from the browser's own retry, not from a refetch here. */
export const RETRIED_IN_TAB = 'RETRIED_IN_TAB';
/** A debugger detach (the user's Cancel, DevTools, the extension turned off) left the exchange undecoded. */
export const DEBUGGER_DETACHED = 'DEBUGGER_DETACHED';

/** Response headers a fulfilled page never gets: crcsync's own, and what described the delta's bytes. */
const NOT_FORWARDED = /^(capability|content-length|content-encoding|transfer-encoding)$/i;

/** The rebuilt page's headers: the plan's (rebuiltResponseHeaders) without Capability or a framing header. */
export function fulfilledHeaders(planned: readonly HeaderEntry[]): { name: string; value: string }[] {
  return planned.filter((header) => !NOT_FORWARDED.test(header.name)).map((header) => ({ name: header.name, value: header.value ?? '' }));
}

interface NavigationState extends ExchangeState, LoadPlace {
  requestId: string;
  /** The base the If-Block was computed from (being read since the request went out). */
  base: Promise<Uint8Array | null> | null;
  clock: PhaseClock;
  rebuild: DeltaRebuild | null;
  /** The response was answered (fulfilled, continued) or abandoned: nothing more is sent for it. */
  settled: boolean;
}

type ResponseSeenNow = { requestId: string; statusCode: number; responseHeaders: HeaderEntry[] };

function withheldReason(plan: OfferPlan): string | null {
  if (plan.send || plan.reason === 'no-base' || plan.reason === 'no-decoder') return null;
  return plan.reason === 'held' ? `held: the last load with If-Block failed (${plan.detail})` : plan.reason;
}

export class NavigationExchanges {
  private readonly inflight = new Map<string, NavigationState>();
  /** `tabId url` of navigations answered with a self-redirect: their next request goes without If-Block, once. */
  private readonly retries = new Set<string>();

  constructor(private readonly deps: NavigationExchangeDeps) {}

  /** A Fetch.requestPaused of an attached tab. Never rejects: a command that fails means the tab went away. */
  async onRequestPaused(tabId: number, event: FetchRequestPaused): Promise<void> {
    try {
      if (isResponseStage(event)) await this.responseStage(tabId, event);
      else await this.requestStage(tabId, event);
    } catch (error) {
      this.deps.log(`${event.request.url}: the paused navigation could not be handled`, error);
    }
  }

  /**
   * The tab's debugger session ended (detached, closed, the user's Cancel).
   * Chrome resumes its paused requests unchanged: an answer to If-Block
   * would then reach the page undecoded. Every exchange of the tab that
   * sent If-Block and is not settled is abandoned, and the tab reloaded
   * (now without the debugger: no If-Block) unless it closed.
   */
  tabDetached(tabId: number, tabClosed: boolean): void {
    let undecoded = false;
    for (const key of this.retries) if (key.startsWith(`${tabId} `)) this.retries.delete(key);
    for (const [requestId, state] of this.inflight) {
      if (state.tabId !== tabId) continue;
      this.inflight.delete(requestId);
      if (state.settled || !state.ifBlock) continue;
      state.settled = true;
      undecoded = true;
      state.rebuild?.abort();
      const current = this.deps.services.current;
      if (current) this.record(current, state, { requestId, statusCode: 0, responseHeaders: [] }, 'failed', DEBUGGER_DETACHED, { wireBytes: null, bodyBytes: 0, fullBytes: 0 });
    }
    if (undecoded && !tabClosed) {
      this.deps.log(`tab ${tabId}: the debugger went away during a delta; reloading it without If-Block`);
      void this.deps.reloadTab(tabId).catch((error) => this.deps.log(`tab ${tabId}: could not reload`, error));
    }
  }

  /** How many exchanges are under way (tests, and the detach that waits for a tab's to end). */
  pending(tabId?: number): number {
    let count = 0;
    for (const state of this.inflight.values()) if (!state.settled && (tabId === undefined || state.tabId === tabId)) count++;
    return count;
  }

  // ---- request stage ----

  private async requestStage(tabId: number, event: FetchRequestPaused): Promise<void> {
    const { requestId, request } = event;
    this.inflight.delete(requestId); // a redirect pauses again under the same id: it starts over
    const goOn = () => this.deps.cdp.send(tabId, 'Fetch.continueRequest', { requestId });
    const tab = this.deps.tabOf(tabId);
    // Frames: their top-level site is not in the event (see the top of this file).
    if (!tab || tab.mainFrameId === null || event.frameId !== tab.mainFrameId) return void (await goOn());
    // CDP's request.url has no fragment (urlFragment holds it): the URL as it goes out.
    const url = request.url;
    const retry = this.retries.delete(`${tabId} ${cacheUrlOf(url)}`);
    const current = this.deps.services.current ?? (await this.deps.services.whenReady());
    const origin = originOf(url);
    if (!current || request.method !== 'GET' || !isCrcsyncEligibleUrl(url) || !origin || !isOriginEnabled(current.settings.current, origin)) {
      return void (await goOn());
    }
    const clock = new PhaseClock();
    clock.requestAt = performance.now();
    clock.requestSeenEpochMs = Date.now();
    const requestHeaders = headerEntriesOf(request.headers);
    const place = { url, type: 'main_frame', tabId, incognito: tab.incognito };
    const partition = partitionOf(place);
    const key = storeKeyFor(partition, origin, url);
    const entry = current.store.lookup(key);
    const hold = entry ? current.holds.heldFor(key) : undefined;
    const plan = planOffer({
      request: {
        method: request.method,
        url,
        type: 'main_frame',
        tabId,
        originEnabled: true,
        incognito: tab.incognito,
        cookieStoreId: undefined,
        topLevelOrigin: origin,
        thirdParty: false,
        frameOrigins: [],
        requestHeaders,
      },
      canDecode: true,
      storedIfBlock: entry?.ifBlock ?? null,
      heldBecause: hold ? hold.reason : null,
      offerExtension: false,
    });
    const send = plan.send && !retry && entry !== undefined;
    const state: NavigationState = {
      requestId,
      url,
      method: request.method,
      type: 'main_frame',
      tabId,
      startedAt: Date.now(),
      partition,
      topLevelOrigin: origin,
      urlOrigin: origin,
      incognito: tab.incognito,
      privateContext: tab.incognito || !plan.keepsBody,
      withheld: retry && plan.send ? RETRY_WITHHELD : withheldReason(plan),
      loadError: null,
      recorded: false,
      savingsCounted: false,
      loadFailed: false,
      key,
      ifBlock: null,
      base: null,
      baselineBytes: null,
      clock,
      rebuild: null,
      settled: false,
    };
    this.inflight.set(requestId, state);
    if (!send || !plan.send) return void (await goOn());
    state.ifBlock = plan.ifBlock;
    state.baselineBytes = entry.baselineBytes ?? null;
    clock.baseReadStartAt = performance.now();
    const hot = current.store.hotBody(key, entry.storedAt);
    clock.baseFromMemory = hot ? 1 : 0;
    state.base = hot ? Promise.resolve(hot) : current.store.loadBody(key, entry.storedAt);
    state.base.then(
      () => (clock.baseReadyAt = performance.now()),
      () => undefined,
    );
    const headers = [...requestHeaders, { name: IF_BLOCK_HEADER, value: plan.ifBlock }].map(({ name, value }) => ({ name, value: value ?? '' }));
    await this.deps.cdp.send(tabId, 'Fetch.continueRequest', { requestId, headers });
    clock.offeredAt = performance.now();
  }

  // ---- response stage ----

  private async responseStage(tabId: number, event: FetchRequestPaused): Promise<void> {
    const { requestId } = event;
    const state = this.inflight.get(requestId);
    const status = event.responseStatusCode ?? 0;
    const responseHeaders = event.responseHeaders ?? [];
    const current = this.deps.services.current;
    const seen: ResponseSeenNow = { requestId, statusCode: status, responseHeaders };
    if (!state || !current) {
      // Not an exchange of ours (a frame, another site), or its state is gone: whatever it
      // is, a crcsync body in this tab is never shown undecoded.
      if (event.responseErrorReason === undefined && classifyDeltaResponse(status, responseHeaders) !== 'plain') return this.retryInTab(tabId, event.request.url, requestId);
      return void (await this.deps.cdp.send(tabId, 'Fetch.continueRequest', { requestId }));
    }
    state.clock.headersAt = performance.now();
    if (event.responseErrorReason !== undefined) {
      state.settled = true;
      this.inflight.delete(requestId);
      state.loadError = event.responseErrorReason;
      if (state.ifBlock) {
        current.holds.fail(state, event.responseErrorReason);
        this.record(current, state, seen, 'failed', null, { wireBytes: null, bodyBytes: 0, fullBytes: 0 });
      }
      return void (await this.deps.cdp.send(tabId, 'Fetch.continueRequest', { requestId }));
    }
    const plan = planResponse({
      method: state.method,
      url: state.url,
      status,
      responseHeaders,
      offered: state.ifBlock !== null && state.base !== null,
      keepsBody: !state.privateContext,
      canDecode: true,
    });
    state.clock.headersDoneAt = performance.now();
    switch (plan.action) {
      case 'rebuild':
      case 'refetch':
        return this.rebuild(current, tabId, state, seen, plan);
      case 'capture':
        return this.capture(current, tabId, state, seen, plan);
      case 'pass':
      case 'ignore':
        return this.pass(current, tabId, state, seen, plan);
    }
  }

  private async pass(current: Services, tabId: number, state: NavigationState, seen: ResponseSeenNow, plan: Extract<ResponsePlan, { action: 'pass' | 'ignore' }>): Promise<void> {
    this.settle(state);
    await this.deps.cdp.send(tabId, 'Fetch.continueRequest', { requestId: state.requestId });
    if (plan.action === 'ignore') return;
    if (plan.dropStored) void current.store.remove([state.key]);
    const reason = plan.why === 'not kept' ? `not kept: ${state.withheld ?? 'private-window'}` : plan.why === 'status' ? `status ${seen.statusCode}` : plan.why;
    this.record(current, state, seen, 'passed', reason, { wireBytes: announcedLength(seen.responseHeaders), bodyBytes: 0, fullBytes: 0 });
  }

  /**
   * A plain 200 kept as the next base: Fetch.getResponseBody, then the
   * response goes on unchanged (Fetch.continueRequest), so the page gets
   * the browser's own response, headers and all. Measured against the
   * alternative (Fetch.takeResponseBodyAsStream + IO.read, then
   * Fetch.fulfillRequest with the same status, headers and body) in
   * headless Chromium 156 over CDP, median page load of 12 after warm-up:
   * 30 KB page 41 ms plain / 38 ms getResponseBody+continue / 45 ms
   * stream+fulfil; 1 MiB page 173 / 238 / 304 ms. The body goes through
   * the extension once instead of twice: the cheaper one, by about half
   * for a large page. A body announced over 4 MiB is never read (the plan
   * does not keep it).
   */
  private async capture(current: Services, tabId: number, state: NavigationState, seen: ResponseSeenNow, plan: Extract<ResponsePlan, { action: 'capture' }>): Promise<void> {
    let body: Uint8Array;
    try {
      body = await wholeResponseBody(this.deps.cdp, tabId, state.requestId);
    } catch (error) {
      // The body did not arrive (the connection broke, the tab went away): the browser says what happened.
      this.deps.log(`${state.url}: could not read the body to keep`, error);
      this.settle(state);
      await this.deps.cdp.send(tabId, 'Fetch.continueRequest', { requestId: state.requestId }).catch(() => undefined);
      return;
    }
    const undecoded = state.ifBlock ? undecodedAnswerReason({ status: seen.statusCode, contentEncoding: findHeader(seen.responseHeaders, 'Content-Encoding'), decodedBytes: body.length }) : null;
    // An answer to If-Block that decodes to nothing (a delta mislabelled gzip): the page gets the retry instead.
    if (undecoded) return this.fallBack(current, tabId, state, seen, `CONTENT_ENCODING ${undecoded}`, body.length);
    this.settle(state);
    await this.deps.cdp.send(tabId, 'Fetch.continueRequest', { requestId: state.requestId });
    const kept = plan.keep && isCacheableBodySize(body.length);
    const wireBytes = announcedLength(seen.responseHeaders) ?? body.length;
    countSavings(current, state, { outcome: 'passed', wireBytes, baselineBytes: wireBytes, fullBytes: body.length });
    const stored = kept ? await saveBody(current, state, body, nextBaselineBytes(wireBytes, state.baselineBytes), this.deps.tabActivity) : null;
    this.record(current, state, seen, stored === 'saved' ? 'stored' : 'passed', !plan.keep ? 'not cacheable' : kept ? notStoredReason(stored) : `size ${body.length} outside 200 B..4 MiB`, {
      wireBytes,
      bodyBytes: body.length,
      fullBytes: body.length,
    });
  }

  private async rebuild(current: Services, tabId: number, state: NavigationState, seen: ResponseSeenNow, plan: Extract<ResponsePlan, { action: 'rebuild' | 'refetch' }>): Promise<void> {
    const outcome = await new Promise<DeltaOutcome>((resolve) => {
      const rebuild = startDeltaRebuild({
        base: state.base!,
        acceptExtension: false,
        maxRebuiltBytes: DEFAULT_MAX_REBUILT_BYTES,
        stallTimeoutMs: current.settings.current.deltaStallTimeoutMs,
        unusableReason: plan.action === 'refetch' ? plan.reason : null,
        // The page's fallback body comes from the browser's own retry (fulfilled below), not from here.
        refetch: async (reason) => {
          if (fallbackDropsBase(reason)) await current.store.remove([state.key]).catch((error) => this.deps.log('could not drop a bad entry', error));
          return { body: null, refusal: RETRIED_IN_TAB };
        },
        done: resolve,
        log: (message, error) => this.deps.log(`${state.url}: ${message}`, error),
        // v=1 only: nothing is released before the end, so the body written here is the outcome's body,
        // fulfilled whole below (Fetch.fulfillRequest takes one body).
        sink: { write: () => undefined, close: () => undefined },
        timers: this.deps.timers,
        marks: state.clock,
      });
      state.rebuild = rebuild;
      rebuild.start();
      if (plan.action === 'refetch') return;
      streamResponseBody(this.deps.cdp, tabId, state.requestId, { chunk: (bytes) => rebuild.push(bytes) }, () => state.settled).then(
        () => rebuild.end(),
        (error: unknown) => rebuild.fail(`delta stream: ${error instanceof Error ? error.message : String(error)}`),
      );
    });
    if (state.settled) return; // the tab was detached meanwhile (tabDetached did the rest)
    if (outcome.verified && outcome.body) {
      this.settle(state);
      await this.fulfil(tabId, state.requestId, seen.statusCode, fulfilledHeaders(plan.headers), outcome.body);
      current.holds.lift(state.key);
      countSavings(current, state, { outcome: 'verified', wireBytes: outcome.bodyBytes, baselineBytes: state.baselineBytes, fullBytes: outcome.body.length });
      const stored = plan.keep ? await saveBody(current, state, outcome.body, state.baselineBytes, this.deps.tabActivity) : null;
      this.record(current, state, seen, 'verified', notStoredReason(stored), {
        wireBytes: outcome.bodyBytes,
        bodyBytes: outcome.bodyBytes,
        fullBytes: outcome.body.length,
        rebuildMs: outcome.rebuildMs,
      });
      return;
    }
    return this.fallBack(current, tabId, state, seen, outcome.reason ?? 'FILTER_ERROR', outcome.bodyBytes);
  }

  /** The delta is not the page's: a self-redirect, whose retry goes out without If-Block (see the top of this file). */
  private async fallBack(current: Services, tabId: number, state: NavigationState, seen: ResponseSeenNow, reason: FallbackReason, bodyBytes: number): Promise<void> {
    this.deps.log(`${state.url}: the delta could not be used (${reason}); the browser retries without If-Block`);
    // A costly delta (a bomb, past the size cap) would cost the same again: the URL is held, as in Firefox.
    if (fallbackHoldsIfBlock(reason)) current.holds.fail(state, reason);
    this.record(current, state, seen, 'fell-back', `${reason}; ${RETRIED_IN_TAB}`, { wireBytes: bodyBytes || null, bodyBytes, fullBytes: 0 });
    countSavings(current, state, { outcome: 'fell-back', wireBytes: null, baselineBytes: state.baselineBytes, fullBytes: 0 });
    this.settle(state);
    await this.retryInTab(tabId, state.url, state.requestId);
  }

  private async retryInTab(tabId: number, url: string, requestId: string): Promise<void> {
    this.retries.add(`${tabId} ${cacheUrlOf(url)}`);
    await this.deps.cdp.send(tabId, 'Fetch.fulfillRequest', {
      requestId,
      responseCode: 307,
      responseHeaders: [
        { name: 'Location', value: url },
        { name: 'Cache-Control', value: 'no-store' },
      ],
      body: '',
    });
  }

  private async fulfil(tabId: number, requestId: string, status: number, headers: { name: string; value: string }[], body: Uint8Array): Promise<void> {
    await this.deps.cdp.send(tabId, 'Fetch.fulfillRequest', { requestId, responseCode: status, responseHeaders: headers, body: bytesToBase64(body) });
  }

  private settle(state: NavigationState): void {
    state.settled = true;
    this.inflight.delete(state.requestId);
  }

  private record(
    current: Services,
    state: NavigationState,
    seen: ResponseSeenNow,
    outcome: ExchangeOutcome,
    reason: string | null,
    sizes: { wireBytes: number | null; bodyBytes: number; fullBytes: number; rebuildMs?: number },
  ): void {
    recordExchange(current, state, seen, {
      outcome,
      reason,
      wireBytes: sizes.wireBytes,
      bodyBytes: sizes.bodyBytes,
      baselineBytes: outcome === 'stored' || outcome === 'passed' ? sizes.wireBytes : state.baselineBytes,
      fullBytes: sizes.fullBytes,
      rebuildMs: sizes.rebuildMs ?? null,
    });
  }
}

/**
 * What the network said a response cost, as far as CDP tells without the
 * Network domain (enabling it would cost every request of the tab): the
 * announced Content-Length, headers not counted; null for a chunked body.
 */
function announcedLength(headers: readonly HeaderEntry[]): number | null {
  const value = findHeader(headers, 'Content-Length');
  return value !== undefined && /^[0-9]+$/.test(value.trim()) ? Number(value) : null;
}
