// Chromium, default mode (issue 10 item 6): the page's own fetch()/XHR to an
// enabled site, rebuilt from a delta without `debugger`. The MAIN-world
// wrapper (extension/page/main-world.ts) hands an eligible request to the
// ISOLATED-world relay (extension/page/isolated-relay.ts), which opens one
// runtime Port per request to this bridge:
//   - the offer: planOffer decides, from the sender (tab, frame, document
//     URL; never from the message), the settings and the store. If-Block goes
//     out v=1 only: with no x=1 offer nothing is released before the S digest
//     verified the whole body, so a fallback can always give the page the
//     whole refetched body (no prefix already shown that a refetch must
//     continue, docs/extensions.md §3.4), and every body byte crosses two
//     message hops once, whole;
//   - a delta: the relay streams its bytes here (and nowhere else); the
//     rebuild (src/protocol/delta-rebuild.ts) runs against this background's
//     own base (hot-bodies / IndexedDB) and its sink streams the verified body
//     back; any failure refetches in full through the relay (the page's
//     cookies), never an unverified byte;
//   - a plain answer: the relay streams it to the page itself and sends a copy
//     here when planResponse keeps it (the next base).
// Exchanges are recorded with the same recorder as Firefox (devtools panel,
// savings); a private (incognito) tab gets nothing offered and stores nothing.
//
// Messaging cost, measured (test/e2e/chromium-page-fetch-messaging.test.ts
// prints it): a 1 MiB body from the service worker through a content script
// (runtime Port, which Chromium serializes as JSON) to the page (MessagePort,
// ArrayBuffers transferred), encoding and decoding included; Chromium 156
// headless on the 2-core test VM (shared, so noisy), median of 5 runs after
// a warm-up, two sessions:
//   base64,   16 KiB per message: 52 / 52 ms   number arrays,  64 KiB: 48 / 71 ms
//   base64,   64 KiB per message: 37 / 39 ms   number arrays, 256 KiB: 65 / 119 ms
//   base64,  256 KiB per message: 40 / 50 ms
//   base64, 1024 KiB per message: 58 / 56 ms
// So about 40 ms per MiB on this machine for the chosen form, on top of the
// network; a JSON answer of a few KiB should cost well under a millisecond
// (extrapolated from the per-MiB figure, not measured apart). Chosen: base64
// strings of 64 KiB (MESSAGE_CHUNK_BYTES, extension/page/byte-chunks.ts):
// the fastest in both sessions, and the first bytes move before the last are
// encoded. A plain answer (no delta) never crosses
// this hop to reach the page: the relay streams it straight to the page and
// the copy for the next base goes to the background beside it.
// Decoding runs here, in the background, because the base lives in its
// IndexedDB (and its in-memory hot bodies): moving the base out to the relay
// for every request would cost more than moving the rebuilt body once.

import { HeaderEntry, fallbackDropsBase, fallbackHoldsIfBlock, isCacheableBodySize, nextBaselineBytes, originOf } from '../../../src/protocol/client-policy';
import { FallbackReason, OfferPlan, planOffer, planResponse } from '../../../src/protocol/client-plan';
import { concatBytes } from '../../../src/protocol/byte-buffers';
import { DeltaOutcome, DeltaRebuild, RefetchResult, startDeltaRebuild } from '../../../src/protocol/delta-rebuild';
import { DEFAULT_MAX_REBUILT_BYTES, MAX_BASE_BYTES } from '../../../src/protocol/wire';
import { base64Chunks, base64ToBytes } from '../../page/byte-chunks';
import { BackgroundToRelay, HeaderPairs, PAGE_FETCH_PORT, RelayToBackground } from '../../page/page-messages';
import { PagePlace, PageSender, pagePlaceOf, parseRelayRequest } from './page-fetch-place';
import { rebuiltPageHeaders } from '../../page/response-headers';
import { Port, browser } from '../../shared/browser';
import type { ExchangeOutcome } from '../../shared/messages';
import { isOriginEnabled } from '../../shared/settings';
import { ExchangeResult, ExchangeState, ResponseSeen, countSavings, notStoredReason, recordExchange, saveBody } from '../exchange-recorder';
import { LoadPlace, failLoad } from '../failed-loads';
import { log } from '../log';
import { storeKeyFor } from '../request-context';
import type { RequestPathDeps } from '../request-path';
import type { Services } from '../services';
import { TabActivity } from '../tab-activity';

/** The webRequest type these exchanges are recorded under (Chromium files fetch() and XHR both so). */
const PAGE_FETCH_TYPE = 'xmlhttprequest';

const toHeaderEntries = (pairs: HeaderPairs): HeaderEntry[] => pairs.map(([name, value]) => ({ name, value }));

/** What the exchange log says when no If-Block went out; null when it did, or when there was nothing to offer. */
function withheldReason(plan: OfferPlan): string | null {
  if (plan.send || plan.reason === 'no-base' || plan.reason === 'no-decoder') return null;
  return plan.reason === 'held' ? `held: the last load with If-Block failed (${plan.detail})` : plan.reason;
}

interface PageExchangeState extends ExchangeState, LoadPlace {
  requestId: string;
}

interface RelayHead {
  status: number;
  statusText: string;
  headers: HeaderPairs;
  url: string;
}

/** The bridge's side of one relay port. */
class PageFetchExchange {
  private state: PageExchangeState | null = null;
  private base: Promise<Uint8Array | null> | null = null;
  private head: RelayHead | null = null;
  private onRelay: (message: RelayToBackground) => void = () => undefined;
  private disconnected = false;

  constructor(
    private readonly port: Port,
    private readonly place: PagePlace,
    private readonly services: RequestPathDeps['services'],
    private readonly tabActivity: TabActivity,
    private readonly requestId: string,
  ) {
    this.onRelay = (message) => void this.onRequest(message);
    port.onMessage.addListener((message: unknown) => this.onRelay(message as RelayToBackground));
    port.onDisconnect.addListener(() => {
      this.disconnected = true;
      this.tabActivity.ended(this.requestId);
      this.onRelay({ kind: 'abort' });
    });
  }

  /** This side is done with the port (closing it fires no onDisconnect here): the tab's request is over too. */
  private close(): void {
    this.tabActivity.ended(this.requestId);
    this.port.disconnect();
  }

  private send(message: BackgroundToRelay): void {
    if (this.disconnected) return;
    try {
      this.port.postMessage(message);
    } catch {
      this.disconnected = true;
    }
  }

  /** `siteOff`: crcsync is off for this document's origin: the relay stops asking for the rest of the document's life. */
  private pass(siteOff = false): void {
    this.send({ kind: 'pass', siteOff });
    this.close();
  }

  private async onRequest(message: RelayToBackground): Promise<void> {
    this.onRelay = () => undefined;
    const request = parseRelayRequest(message, this.place);
    if (!request) return this.pass();
    const current = await this.services.whenReady();
    if (!current || this.disconnected) return this.pass();
    const { place } = this;
    const urlOrigin = originOf(request.url);
    if (!urlOrigin || !isOriginEnabled(current.settings.current, urlOrigin)) return this.pass(true);
    const partition = place.incognito ? 'private' : 'default';
    const key = storeKeyFor(partition, place.topLevelOrigin, request.url);
    const entry = current.store.lookup(key);
    const hold = entry ? current.holds.heldFor(key) : undefined;
    const plan = planOffer({
      request: {
        method: 'GET',
        url: request.url,
        type: PAGE_FETCH_TYPE,
        tabId: place.tabId,
        originEnabled: true,
        incognito: place.incognito,
        cookieStoreId: undefined,
        topLevelOrigin: place.topLevelOrigin,
        // The relay's request and its fallback refetch are both made from this very
        // document, with its cookies: there is no other jar to tell apart (unlike
        // Firefox's refetch from the background, client-policy.ts). The document
        // must still be of the top-level page's host (bases are keyed by the top).
        thirdParty: undefined,
        frameOrigins: [place.documentOrigin],
        requestHeaders: toHeaderEntries(request.headers),
      },
      canDecode: true,
      storedIfBlock: entry?.ifBlock ?? null,
      heldBecause: hold ? hold.reason : null,
      // v=1 only on this path: see the top of this file.
      offerExtension: false,
    });
    // cache: 'no-store' from the page: its body never becomes a base (eligibility.ts).
    const keepsBody = plan.keepsBody && request.cache !== 'no-store';
    if (!plan.send && !keepsBody) return this.pass();
    this.state = {
      requestId: this.requestId,
      url: request.url,
      method: 'GET',
      type: PAGE_FETCH_TYPE,
      tabId: place.tabId,
      startedAt: Date.now(),
      partition,
      topLevelOrigin: place.topLevelOrigin,
      urlOrigin,
      incognito: place.incognito,
      privateContext: place.incognito || !keepsBody,
      withheld: withheldReason(plan),
      loadError: null,
      recorded: false,
      savingsCounted: false,
      loadFailed: false,
      key,
      ifBlock: plan.send ? plan.ifBlock : null,
      baselineBytes: plan.send ? (entry?.baselineBytes ?? null) : null,
    };
    this.tabActivity.started(this.requestId, place.tabId);
    if (plan.send && entry) {
      // In memory when this URL was stored or read lately (hot-bodies.ts); else the read starts now, beside the request.
      const hot = current.store.hotBody(key, entry.storedAt);
      this.base = hot ? Promise.resolve(hot) : current.store.loadBody(key, entry.storedAt);
    }
    this.onRelay = (next) => this.onAnswer(current, next);
    this.send({ kind: 'offer', ifBlock: this.state.ifBlock });
  }

  private onAnswer(current: Services, message: RelayToBackground): void {
    const state = this.state!;
    switch (message.kind) {
      case 'head':
        return this.onHead(current, state, message);
      case 'redirected':
        // The browser follows it for the page; the base of this URL is untouched.
        this.onRelay = () => undefined;
        return;
      case 'failed':
        // The If-Block request failed before any answer (the page's own request is made next).
        this.onRelay = () => undefined;
        if (state.ifBlock) {
          state.loadError = message.message;
          failLoad(current, state, message.message);
          this.record(current, { requestId: this.requestId, statusCode: 0 }, { outcome: 'failed', reason: null, wireBytes: null, bodyBytes: 0, baselineBytes: state.baselineBytes, fullBytes: 0 });
        }
        return;
      default:
        return;
    }
  }

  private record(current: Services, seen: ResponseSeen, result: Omit<ExchangeResult, 'rebuildMs'> & { rebuildMs?: number | null }): void {
    recordExchange(current, this.state!, seen, { rebuildMs: null, ...result });
  }

  private onHead(current: Services, state: PageExchangeState, head: RelayHead): void {
    this.head = head;
    const responseHeaders = toHeaderEntries(head.headers);
    const plan = planResponse({
      method: 'GET',
      url: state.url,
      status: head.status,
      responseHeaders,
      offered: state.ifBlock !== null && this.base !== null,
      keepsBody: !state.privateContext,
      canDecode: true,
    });
    const seen = { requestId: this.requestId, statusCode: head.status, responseHeaders };
    if (plan.action === 'rebuild' || plan.action === 'refetch') {
      this.send({ kind: 'page-head', status: head.status, statusText: head.statusText, headers: rebuiltPageHeaders(head.headers), url: head.url });
      this.startRebuild(current, state, seen, plan.keep, plan.action === 'refetch' ? plan.reason : null);
      return;
    }
    const keep = plan.action === 'capture' && plan.keep;
    if (plan.action === 'pass' && plan.dropStored) void current.store.remove([state.key]);
    this.send({ kind: 'keep', keep });
    const chunks: Uint8Array[] = [];
    let size = 0;
    this.onRelay = (message) => {
      switch (message.kind) {
        case 'chunk': {
          if (!keep) return;
          const bytes = base64ToBytes(message.data);
          size += bytes.length;
          if (size <= MAX_BASE_BYTES) chunks.push(bytes);
          return;
        }
        case 'end': {
          this.onRelay = () => undefined;
          const body = keep && size <= MAX_BASE_BYTES ? concatBytes(chunks, size) : null;
          const passReason = plan.action === 'pass' ? (plan.why === 'status' ? `status ${head.status}` : plan.why) : plan.action === 'ignore' ? 'not a delta of ours' : keep ? null : 'not cacheable';
          this.finishPlain(current, state, seen, passReason, body, message.transferSize);
          return;
        }
        case 'handed-back': {
          // The answer to our If-Block did not even decode (a peer labelling a delta gzip, the
          // Apache module's way): the page's request went out again without it; hold the URL (§5).
          this.onRelay = () => undefined;
          const reason = `CONTENT_DECODING_FAILED ${head.headers.find(([name]) => name.toLowerCase() === 'content-encoding')?.[1] ?? ''}`.trim();
          state.loadError = message.message;
          failLoad(current, state, reason);
          this.record(current, seen, { outcome: 'failed', reason, wireBytes: null, bodyBytes: 0, baselineBytes: state.baselineBytes, fullBytes: 0 });
          return;
        }
        case 'failed':
        case 'abort':
          this.onRelay = () => undefined;
          this.record(current, seen, { outcome: 'passed', reason: message.kind === 'failed' ? message.message : 'cancelled', wireBytes: null, bodyBytes: size, baselineBytes: null, fullBytes: size });
          return;
        default:
          return;
      }
    };
  }

  /** A plain answer ended: keep it as the next base (when `body` is a whole copy the plan keeps), count it, record it. */
  private finishPlain(current: Services, state: PageExchangeState, seen: ResponseSeen, passReason: string | null, body: Uint8Array | null, transferSize: number | null): void {
    const announced = Number(this.head?.headers.find(([name]) => name.toLowerCase() === 'content-length')?.[1]);
    // Resource Timing's transferSize when the relay could read it; else what the server announced; else the body.
    const wireBytes = transferSize ?? (Number.isFinite(announced) && announced > 0 ? announced : (body?.length ?? null));
    const bodyBytes = body?.length ?? 0;
    const kept = body !== null && isCacheableBodySize(body.length);
    // A plain 200 is a full download: what it cost is the baseline for the next delta of this URL.
    const saved = kept ? saveBody(current, state, body, nextBaselineBytes(wireBytes, state.baselineBytes), this.tabActivity) : Promise.resolve(null);
    countSavings(current, state, { outcome: 'passed', wireBytes, baselineBytes: wireBytes, fullBytes: bodyBytes });
    const notKept = passReason ?? (body === null ? 'not cacheable' : `size ${body.length} outside 200 B..4 MiB`);
    void saved.then((stored) =>
      this.record(current, seen, {
        // 'stored' only once the write committed: a quota error leaves it 'passed', with the reason.
        outcome: stored === 'saved' ? 'stored' : 'passed',
        reason: kept ? notStoredReason(stored) : notKept,
        wireBytes,
        bodyBytes,
        baselineBytes: wireBytes,
        fullBytes: bodyBytes,
      }),
    );
  }

  private startRebuild(current: Services, state: PageExchangeState, seen: ResponseSeen, keep: boolean, unusableReason: FallbackReason | null): void {
    let deltaTransfer: number | null = null;
    let refetchTransfer: number | null = null;
    let refetchWaiter: ((result: RefetchResult) => void) | null = null;
    let refetchChunks: Uint8Array[] = [];
    let refetchSize = 0;
    const rebuild: DeltaRebuild = startDeltaRebuild({
      base: this.base!,
      acceptExtension: false,
      maxRebuiltBytes: DEFAULT_MAX_REBUILT_BYTES,
      stallTimeoutMs: current.settings.current.deltaStallTimeoutMs,
      unusableReason,
      log,
      sink: {
        write: (bytes) => {
          for (const data of base64Chunks(bytes)) this.send({ kind: 'body', data });
        },
        // The end goes out with the outcome (done): 'close' for a whole body, 'fail' for none.
        close: () => undefined,
      },
      timers: { now: () => performance.now(), setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>) },
      refetch: async (reason, signal) => {
        // The cached copy goes first only when it may be what broke the delta (§5).
        if (fallbackDropsBase(reason)) await current.store.remove([state.key]).catch((error) => log('could not drop a bad entry', error));
        if (signal.aborted || this.disconnected) return { body: null, refusal: 'CANCELLED' };
        refetchChunks = [];
        refetchSize = 0;
        const result = new Promise<RefetchResult>((resolve) => {
          refetchWaiter = resolve;
          signal.addEventListener('abort', () => resolve({ body: null, refusal: 'CANCELLED' }), { once: true });
        });
        this.send({ kind: 'refetch', stallTimeoutMs: current.settings.current.deltaStallTimeoutMs });
        return result;
      },
      done: (outcome) => this.finishRebuild(current, state, seen, keep, outcome, deltaTransfer, refetchTransfer),
    });
    rebuild.start();
    this.onRelay = (message) => {
      switch (message.kind) {
        case 'chunk':
          return rebuild.push(base64ToBytes(message.data));
        case 'end':
          deltaTransfer = message.transferSize;
          return rebuild.end();
        case 'failed':
          // The delta's stream broke: a truncated delta, which falls back to the refetch.
          log(`${state.url}: the delta stream failed (${message.message})`);
          return rebuild.end();
        case 'refetch-chunk': {
          const bytes = base64ToBytes(message.data);
          refetchSize += bytes.length;
          if (refetchSize <= DEFAULT_MAX_REBUILT_BYTES) refetchChunks.push(bytes);
          return;
        }
        case 'refetch-end': {
          refetchTransfer = message.transferSize;
          const waiter = refetchWaiter;
          refetchWaiter = null;
          if (message.refusal) return waiter?.({ body: null, refusal: message.refusal });
          return waiter?.({ body: concatBytes(refetchChunks, refetchSize), refusal: null });
        }
        case 'abort':
          return rebuild.abort();
        default:
          return;
      }
    };
  }

  private finishRebuild(
    current: Services,
    state: PageExchangeState,
    seen: ResponseSeen,
    keep: boolean,
    outcome: DeltaOutcome,
    deltaTransfer: number | null,
    refetchTransfer: number | null,
  ): void {
    this.send(outcome.body ? { kind: 'close' } : { kind: 'fail', message: 'network error' });
    // Before the base is kept: its write waits until the tab has no request in flight (tab-activity.ts).
    this.close();
    const reason = outcome.refusal ? `${outcome.reason}; ${outcome.refusal}` : outcome.reason;
    const saved = outcome.body && keep ? saveBody(current, state, outcome.body, nextBaselineBytes(outcome.verified ? null : refetchTransfer, state.baselineBytes), this.tabActivity) : Promise.resolve(null);
    if (outcome.verified) current.holds.lift(state.key);
    else if (outcome.body) log(`${state.url}: fell back to a full fetch (${reason})`);
    if (outcome.body && !outcome.verified && outcome.reason && fallbackHoldsIfBlock(outcome.reason)) current.holds.fail(state, outcome.reason);
    // The page got no body: count it against the URL, unless the page itself went away.
    if (!outcome.body && outcome.refusal !== 'CANCELLED') failLoad(current, state, reason ?? 'FAILED');
    const result: ExchangeOutcome = outcome.verified ? 'verified' : outcome.body ? 'fell-back' : 'failed';
    // The delta's bytes on the wire (Resource Timing), else its body bytes; a fallback adds the refetch's.
    const delta = deltaTransfer ?? outcome.bodyBytes;
    const wireBytes = outcome.verified ? delta : refetchTransfer !== null ? delta + refetchTransfer : null;
    countSavings(current, state, { outcome: result, wireBytes, baselineBytes: state.baselineBytes, fullBytes: outcome.body?.length ?? 0 });
    void saved.then((stored) =>
      this.record(current, seen, {
        outcome: result,
        reason: reason ?? notStoredReason(stored),
        wireBytes,
        bodyBytes: outcome.bodyBytes,
        baselineBytes: state.baselineBytes,
        fullBytes: outcome.body?.length ?? 0,
        rebuildMs: outcome.verified ? outcome.rebuildMs : null,
        extensionBody: outcome.extensionBody,
        releasedEarlyBytes: outcome.releasedEarlyBytes,
      }),
    );
  }
}


/** Registers the relay ports' listener, synchronously (call at the top level of the background). */
export function registerPageFetchBridge({ services }: Pick<RequestPathDeps, 'services'>): void {
  /** The bridge's own exchanges per tab, so a base is written after the page's requests (tab-activity.ts). */
  const tabActivity = new TabActivity();
  let exchanges = 0;
  browser.runtime.onConnect.addListener((port) => {
    if (port.name !== PAGE_FETCH_PORT) return;
    const place = pagePlaceOf(port.sender as PageSender | undefined, browser.runtime.id);
    if (!place) {
      port.disconnect();
      return;
    }
    new PageFetchExchange(port, place, services, tabActivity, `page-${Date.now()}-${++exchanges}`);
  });
}
