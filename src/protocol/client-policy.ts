// What a crcsync client decides from URLs and headers (PROTOCOL.md §2, §6).
// Pure functions over plain header lists, so the browser adapters only
// translate events and the rules are unit-tested once.

import type { FallbackReason } from './client-plan';
import { cacheControlDirectives } from './response-policy';
import { CAPABILITY_HEADER, CRCSYNC_ENCODING, IF_BLOCK_HEADER, MAX_BASE_BYTES, MIN_BASE_BYTES } from './wire';

/** A header as webRequest, fetch and node all can express it. */
export interface HeaderEntry {
  name: string;
  value?: string;
}

/** Hosts that may use plain http (§6: localhost / 127.0.0.1 for development and tests). */
const PLAIN_HTTP_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a URL may ever carry If-Block: HTTPS, or http to localhost / 127.0.0.1 (§6). */
export function isCrcsyncEligibleUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === 'https:') return true;
  return parsed.protocol === 'http:' && PLAIN_HTTP_HOSTS.has(parsed.hostname);
}

/** The origin ("scheme://host[:port]") of a URL, or null when it has none (data:, about:...). */
export function originOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

export function findHeader(headers: readonly HeaderEntry[] | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  for (const header of headers) {
    if (header.name.toLowerCase() === lower) return header.value ?? '';
  }
  return undefined;
}

// ---- when to offer If-Block (PROTOCOL.md §6, and the fallback of §5) ----
//
// §6: "the header goes out only where the extension can also rebuild the
// body", and §5: a failed decode falls back to a normal fetch of the same
// URL. The fallback is a fetch from the extension's background, which uses
// the default cookie jar, unpartitioned (the jar a top-level document of
// the URL's own site uses). So If-Block goes out only on requests whose
// cookies come from that very jar: GET requests of a tab, in a normal
// (not private) window, in the default container, whose URL and every
// frame above it are same-site with the top-level document (Firefox's own
// eTLD+1 rule: webRequest `thirdParty` is false). That covers top-level
// navigations, same-site sub_frame navigations and same-site subresources,
// same-site CORS requests included (their credentials mode is honoured by
// refetchCredentials). Everything third-party (cross-site frames and
// everything loaded inside them, cross-site subresources, cross-site CORS)
// lives in a partitioned jar (Total Cookie Protection) the background
// cannot reach, so it never gets If-Block, and its bodies are never kept.

/** Why a request does not get If-Block; stable strings for the exchange log and the devtools panel. */
export type IfBlockRefusal =
  | 'not-get' // §6: GET only
  | 'insecure-url' // §6: HTTPS, or http to localhost / 127.0.0.1
  | 'site-off' // the user has not enabled the origin (or crcsync is off)
  | 'page-if-block' // the page sent its own If-Block: not ours to answer
  | 'private-window' // §6: nothing persists from private windows
  | 'container' // a container's cookie jar: the refetch could only use the default one
  | 'no-tab' // a worker's or the browser's own request: no document context to check
  | 'request-type' // websocket, media (Range), speculative: no body to rebuild
  | 'range' // a Range request: a partial answer is never a delta
  | 'third-party'; // not same-site with the top-level document: a partitioned cookie jar

export interface IfBlockRequest {
  method: string;
  url: string;
  /** webRequest resource type ('main_frame', 'sub_frame', 'script', 'xmlhttprequest', ...). */
  type: string;
  /** The tab the request belongs to; -1 for requests without one (workers, the browser, extensions). */
  tabId: number;
  /** The user enabled crcsync for the URL's origin (and globally). */
  originEnabled: boolean;
  /** A private window. */
  incognito: boolean;
  /** webRequest cookieStoreId; 'firefox-default' (or absent) is the default jar. */
  cookieStoreId: string | undefined;
  /** Origin of the top-level document of the tab (a main_frame request's own); null when unknown. */
  topLevelOrigin: string | null;
  /**
   * Firefox's webRequest `thirdParty`: the request or any frame above it is
   * not same-site with the top-level document. undefined: the browser does
   * not say; then the request and every frame above must share the top's host.
   */
  thirdParty: boolean | undefined;
  /** Origins of the document the request comes from and of every frame above it (only read when thirdParty is unknown). */
  frameOrigins: readonly (string | null)[];
  /** Request headers as they stand; a page that set its own If-Block keeps it. */
  requestHeaders: readonly HeaderEntry[] | undefined;
}

export type IfBlockDecision = { offer: true } | { offer: false; reason: IfBlockRefusal };

/** Resource types that never carry If-Block: no body to rebuild (websocket, speculative) or Range requests (media). */
const NEVER_OFFERED_TYPES = new Set(['websocket', 'media', 'speculative']);

const DEFAULT_COOKIE_STORE = 'firefox-default';

/**
 * Whether this request may carry If-Block, given the client holds a base
 * for it; the same answer decides whether its body may become a base.
 */
export function shouldOfferIfBlock(request: IfBlockRequest): IfBlockDecision {
  const refuse = (reason: IfBlockRefusal): IfBlockDecision => ({ offer: false, reason });
  if (request.method.toUpperCase() !== 'GET') return refuse('not-get');
  if (!isCrcsyncEligibleUrl(request.url)) return refuse('insecure-url');
  if (!request.originEnabled) return refuse('site-off');
  if (findHeader(request.requestHeaders, IF_BLOCK_HEADER) !== undefined) return refuse('page-if-block');
  if (request.incognito) return refuse('private-window');
  if (request.cookieStoreId !== undefined && request.cookieStoreId !== DEFAULT_COOKIE_STORE) return refuse('container');
  if (request.tabId < 0) return refuse('no-tab');
  if (NEVER_OFFERED_TYPES.has(request.type)) return refuse('request-type');
  if (findHeader(request.requestHeaders, 'Range') !== undefined) return refuse('range');
  if (request.type === 'main_frame') return { offer: true };
  return isFirstPartyRequest(request) ? { offer: true } : refuse('third-party');
}

function isFirstPartyRequest(request: IfBlockRequest): boolean {
  const top = parseUrl(request.topLevelOrigin);
  const target = parseUrl(request.url);
  if (!top || !target || top.protocol !== target.protocol) return false;
  if (request.thirdParty !== undefined) return !request.thirdParty;
  // No PSL here: the same host is always the same site, so this errs toward refusing.
  if (target.hostname !== top.hostname) return false;
  return request.frameOrigins.every((origin) => parseUrl(origin)?.hostname === top.hostname);
}

function parseUrl(url: string | null | undefined): URL | null {
  if (!url) return null;
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** Whether a response advertises crcsync (`Capability: crcsync; m=1`, §2). */
export function advertisesCrcsync(responseHeaders: readonly HeaderEntry[] | undefined): boolean {
  const value = findHeader(responseHeaders, CAPABILITY_HEADER);
  if (value === undefined) return false;
  return value
    .split(/[;,]/)
    .some((token) => token.trim().toLowerCase() === CRCSYNC_ENCODING);
}

/**
 * How the client treats a response to a request it sent If-Block with (§2):
 * - 'delta': status 200 and Content-Encoding exactly `crcsync`: rebuild it.
 * - 'unusable': crcsync appears among other encodings, or on a status other
 *   than 200: nobody can decode it, so the client refetches in full.
 * - 'plain': a normal response (the server did not encode).
 */
export type DeltaResponseKind = 'delta' | 'plain' | 'unusable';

export function classifyDeltaResponse(status: number, responseHeaders: readonly HeaderEntry[] | undefined): DeltaResponseKind {
  const encoding = findHeader(responseHeaders, 'Content-Encoding');
  if (encoding === undefined) return 'plain';
  const tokens = encoding
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '');
  if (!tokens.includes(CRCSYNC_ENCODING)) return 'plain';
  if (status === 200 && tokens.length === 1) return 'delta';
  return 'unusable';
}

/**
 * The headers the page sees for a rebuilt delta response (§2): no
 * Content-Encoding (the body is the decoded one), no Content-Length or
 * Content-MD5 (they described the delta), no If-Block token in Vary. The
 * browser's own HTTP cache must not keep the delta bytes under headers that
 * no longer say crcsync, so the rewritten response is marked no-store.
 */
export function rebuiltResponseHeaders(responseHeaders: readonly HeaderEntry[]): HeaderEntry[] {
  const result: HeaderEntry[] = [];
  for (const header of responseHeaders) {
    const name = header.name.toLowerCase();
    if (name === 'content-encoding' || name === 'content-length' || name === 'content-md5' || name === 'cache-control') {
      continue;
    }
    if (name === 'vary') {
      const kept = (header.value ?? '')
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token !== '' && token.toLowerCase() !== IF_BLOCK_HEADER.toLowerCase());
      if (kept.length) result.push({ name: header.name, value: kept.join(', ') });
      continue;
    }
    result.push(header);
  }
  result.push({ name: 'Cache-Control', value: 'no-store' });
  return result;
}

/** Whether the response says `Cache-Control: no-store` (in any of its Cache-Control lines). */
export function forbidsStoring(responseHeaders: readonly HeaderEntry[] | undefined): boolean {
  const lines = (responseHeaders ?? []).filter((header) => header.name.toLowerCase() === 'cache-control').map((header) => header.value ?? '');
  return cacheControlDirectives(lines).has('no-store');
}

/** Whether a body of this size may be kept as a future delta base (§6: 200 B .. 4 MiB). */
export function isCacheableBodySize(size: number): boolean {
  return size >= MIN_BASE_BYTES && size <= MAX_BASE_BYTES;
}

export interface CacheCandidate {
  method: string;
  url: string;
  status: number;
  /** A context whose bodies are never kept: private, a container, third-party (see shouldOfferIfBlock). */
  privateContext: boolean;
  /** Response headers as the server sent them (before any crcsync rewrite). */
  responseHeaders: readonly HeaderEntry[] | undefined;
}

/**
 * Whether the client should capture this response's body to store (§6): a
 * GET 200 over an eligible URL, not `Cache-Control: no-store`, not from a
 * private context, and not announced as bigger than 4 MiB. Delta responses
 * (Content-Encoding: crcsync) qualify: what gets stored is the rebuilt body.
 * Other content-encodings never reach the extension: the browser decodes
 * gzip/br before the body filter sees it.
 */
export function isCacheableResponse(candidate: CacheCandidate): boolean {
  if (candidate.method.toUpperCase() !== 'GET' || candidate.status !== 200 || candidate.privateContext) return false;
  if (!isCrcsyncEligibleUrl(candidate.url)) return false;
  if (forbidsStoring(candidate.responseHeaders)) return false;
  const encoding = findHeader(candidate.responseHeaders, 'Content-Encoding');
  const isDelta = encoding !== undefined && encoding.trim().toLowerCase() === CRCSYNC_ENCODING;
  const length = findHeader(candidate.responseHeaders, 'Content-Length');
  // A delta's Content-Length says nothing about the rebuilt size; a plain body's does.
  if (!isDelta && length !== undefined && /^[0-9]+$/.test(length.trim()) && Number(length) > MAX_BASE_BYTES) return false;
  return true;
}

// ---- fallback (PROTOCOL.md §5) ----

/** Reason recorded when a delta stream delivered no byte for the configured time (§5: "stalled"). */
export const DELTA_STALLED = 'DELTA_STALLED';

/**
 * Fallback reasons that implicate the cached base. A rebuilt body whose
 * SHA-1 does not match, or a block index the base does not have, is what a
 * base that differs from the one the server hashed produces; so are, in an
 * extension body (docs/extensions.md §3.5), a checkpoint whose prefix digest
 * does not match and a D section whose dictionary (the rebuilt bytes, part
 * of them from the base) does not match its DICTID. An exception inside the
 * decoder (DECODER_INTERNAL, or DECODER_EXCEPTION from an adapter) could be
 * either side, so the base goes too. Everything else (a stall, a broken or
 * truncated stream, a lying server, checkpoints too close together, a
 * storage or filter error) says nothing against the base: §5 keeps it "as it was".
 */
const BASE_IMPLICATED: ReadonlySet<FallbackReason> = new Set<FallbackReason>([
  'DELTA_DIGEST_MISMATCH',
  'DELTA_BLOCK_OUT_OF_RANGE',
  'BASE_UNUSABLE',
  'DECODER_EXCEPTION',
  'DECODER_INTERNAL',
  'DELTA_INFLATE_RATIO',
  'DELTA_CHECKPOINT_MISMATCH',
  'DELTA_DICTIONARY',
  'DELTA_DICTIONARY_WORK',
]);

/**
 * Whether a fallback for `reason` drops the cached base before refetching
 * (§5: "dropped if it was the cause"). A decompression bomb
 * (DELTA_INFLATE_RATIO) or a pile of dictionary loads (DELTA_DICTIONARY_WORK)
 * is not the base's fault, but keeping the base would send If-Block again and
 * let the next load pay for the same work.
 */
export function fallbackDropsBase(reason: FallbackReason): boolean {
  return BASE_IMPLICATED.has(reason);
}

/**
 * Fallback reasons after which the URL is also held (no If-Block for a
 * while, see nextIfBlockHold) although the page got its body: a delta that
 * costs the client a bounded but pointless amount of work (a decompression
 * bomb, a rebuild past the size cap, D sections loading more dictionary
 * bytes than the delta pays for) would cost it again on the next load,
 * since the refetched body becomes the next base.
 */
const COSTLY_DELTA: ReadonlySet<FallbackReason> = new Set<FallbackReason>(['DELTA_INFLATE_RATIO', 'DELTA_TOO_LARGE', 'DELTA_DICTIONARY_WORK']);

export function fallbackHoldsIfBlock(reason: FallbackReason): boolean {
  return COSTLY_DELTA.has(reason);
}

/**
 * The refusal recorded when a fallback's refetch cannot continue what the
 * page already holds: an extension body released a verified prefix, then
 * failed, and the refetched body does not start with exactly those bytes
 * (docs/extensions.md §3.4). The response ends without another byte and the
 * load counts as failed.
 */
export const REFETCH_PREFIX_MISMATCH = 'REFETCH_PREFIX_MISMATCH';

/**
 * Whether a refetched body may complete a response whose first bytes went
 * to the page already (docs/extensions.md §3.4): only when it starts with
 * exactly those bytes, so the page ends up with exactly the refetched body
 * and never a mix of two. `released` are the released ranges in order.
 */
export function refetchContinuesRelease(released: readonly Uint8Array[], refetched: Uint8Array): boolean {
  let offset = 0;
  for (const range of released) {
    if (offset + range.length > refetched.length) return false;
    for (let i = 0; i < range.length; i++) {
      if (refetched[offset + i] !== range[i]) return false;
    }
    offset += range.length;
  }
  return true;
}

/**
 * The refetch's credentials mode: cookies only when the page's own request
 * carried a Cookie header (seen in onBeforeSendHeaders). A request the page
 * made with `credentials: 'omit'` (or a same-origin-only fetch to another
 * origin of the site) gets its body again without cookies too. An
 * Authorization header is copied as a header, whatever this says.
 */
export function refetchCredentials(requestHeaders: readonly HeaderEntry[] | undefined): 'include' | 'omit' {
  const cookie = findHeader(requestHeaders, 'Cookie');
  return cookie !== undefined && cookie.trim() !== '' ? 'include' : 'omit';
}

/** Why a refetched response may not be written under the original response's headers. */
export type RefetchRefusal =
  | 'REFETCH_REDIRECTED' // a 3xx (fetched with redirect: 'manual'): the body would be another URL's
  | 'REFETCH_STATUS' // not 200: the page already got 200 headers
  | 'REFETCH_OTHER_URL' // the response is not the requested URL's
  | 'REFETCH_ENCODED' // labelled crcsync although no If-Block went out: nobody could verify it
  | 'REFETCH_TOO_LARGE' // more than the rebuilt-size cap
  | 'REFETCH_TIMEOUT' // no byte for the stall timeout, or over the deadline
  | 'REFETCH_NETWORK'; // the fetch failed

export interface RefetchResponse {
  requestedUrl: string;
  /** fetch's Response.url ('' for an opaque redirect). */
  responseUrl: string;
  /** fetch's Response.type ('basic', 'cors', 'opaqueredirect', ...). */
  responseType: string;
  status: number;
  /** Content-Encoding as fetch reports it (null when absent or not exposed). */
  contentEncoding: string | null;
}

/**
 * Whether the refetch may be written to the page (§5: the fallback is "a
 * normal fetch of the same URL"): only a 200 of the very URL the page asked
 * for, never a redirect's target, an error page, or a body still in crcsync.
 */
export function refetchRefusal(response: RefetchResponse): RefetchRefusal | null {
  if (response.responseType === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) return 'REFETCH_REDIRECTED';
  if (response.status !== 200) return 'REFETCH_STATUS';
  if (!isSameResource(response.requestedUrl, response.responseUrl)) return 'REFETCH_OTHER_URL';
  const encodings = (response.contentEncoding ?? '').split(',').map((token) => token.trim().toLowerCase());
  if (encodings.includes(CRCSYNC_ENCODING)) return 'REFETCH_ENCODED';
  return null;
}

/** Whether two URLs name the same resource (the fragment never reaches the server). */
export function isSameResource(a: string, b: string): boolean {
  const left = parseUrl(a);
  const right = parseUrl(b);
  if (!left || !right) return false;
  left.hash = '';
  right.hash = '';
  return left.href === right.href;
}

/** The refetch gives up after this long in total, however slowly bytes keep coming (the stall timeout bounds each gap). */
export const REFETCH_DEADLINE_MS = 60_000;

// ---- a broken peer must not break a page for good ----
//
// When a response to a request that carried If-Block fails to load (the
// channel errors, e.g. a delta mislabelled `Content-Encoding: gzip`), the
// filter fails, or the fallback cannot complete, the page got an error or
// nothing. Sending If-Block again would fail the same way on every visit, so
// the URL is held: its requests go without If-Block for a while, doubling
// with each failure, and a verified delta lifts the hold.

export interface IfBlockHold {
  /** Failed loads in a row. */
  failures: number;
  failedAt: number;
  /** No If-Block for this URL before this time (ms). */
  heldUntil: number;
  /** Why the last load failed (a Firefox error name or a crcsync reason). */
  reason: string;
}

export const IF_BLOCK_HOLD_FIRST_MS = 60 * 60 * 1000;
export const IF_BLOCK_HOLD_MAX_MS = 30 * 24 * 60 * 60 * 1000;

/** The hold after one more failed load: one hour, then twice as long for each failure in a row, at most 30 days. */
export function nextIfBlockHold(previous: IfBlockHold | undefined, reason: string, now: number): IfBlockHold {
  const failures = (previous?.failures ?? 0) + 1;
  const holdMs = Math.min(IF_BLOCK_HOLD_FIRST_MS * 2 ** Math.min(failures - 1, 30), IF_BLOCK_HOLD_MAX_MS);
  return { failures, failedAt: now, heldUntil: now + holdMs, reason };
}

export function isIfBlockHeld(hold: IfBlockHold | undefined, now: number): boolean {
  return hold !== undefined && now < hold.heldUntil;
}

/**
 * Why a plain (not crcsync) 200 answer to a request that carried If-Block
 * did not load, or null when it did. A peer like the original Apache module
 * in front of a precompressed file sends a crcsync delta of the gzip bytes
 * labelled `Content-Encoding: gzip`; Firefox cannot gunzip it and shows
 * "Content Encoding Error", yet webRequest reports the load as completed
 * (onCompleted, no onErrorOccurred, seen on Firefox 153): the one trace is a
 * body filter, which sees the decoded bytes, seeing none. An honestly
 * compressed empty body looks the same; taking it for a failure costs one
 * hold, never a wrong byte.
 */
export function undecodedAnswerReason(answer: { status: number; contentEncoding: string | undefined; decodedBytes: number }): string | null {
  if (answer.status !== 200 || answer.decodedBytes > 0) return null;
  const codings = (answer.contentEncoding ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '' && token !== 'identity');
  return codings.length ? `CONTENT_DECODING_FAILED ${codings.join(', ')}` : null;
}

/**
 * Whether a webRequest error (onErrorOccurred `error`) on a request that
 * carried If-Block counts against the URL. NS_BINDING_ABORTED is the page or
 * the user stopping the load (navigation away, AbortController, Esc): not
 * the peer's doing.
 */
export function loadErrorHoldsIfBlock(error: string): boolean {
  return error !== 'NS_BINDING_ABORTED';
}

// ---- bytes saved ----

/**
 * What one exchange counts toward "saved" (popup). Only exchanges that
 * carried If-Block count: the rest cost what they would have cost anyway.
 * `wireBytes` is what Firefox received for this exchange (status line,
 * headers and body as transferred, i.e. still gzip/br/crcsync-encoded, plus
 * the fallback refetch if there was one); `baselineBytes` is what the last
 * full download of the same URL cost, measured the same way. Either unknown
 * means nothing is claimed.
 */
export interface ExchangeCost {
  ifBlockSent: boolean;
  wireBytes: number | null;
  baselineBytes: number | null;
}

export function countsTowardSavings(cost: ExchangeCost): cost is ExchangeCost & { wireBytes: number; baselineBytes: number } {
  return cost.ifBlockSent && cost.wireBytes !== null && cost.baselineBytes !== null;
}

/**
 * The baseline to store with a new cached body: a full download (a plain
 * 200, or the fallback's refetch) is its own baseline; a body rebuilt from a
 * delta keeps the baseline of the body it replaced, since the next full
 * download of this URL would cost about as much as the last one did.
 */
export function nextBaselineBytes(fullDownloadBytes: number | null, previousBaselineBytes: number | null): number | null {
  return fullDownloadBytes ?? previousBaselineBytes;
}
