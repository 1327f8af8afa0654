// The messages of Chromium's page-fetch path (issue 10 item 6), on its two hops:
//
//   page (MAIN world)  <-- MessagePort -->  relay (ISOLATED world)  <-- runtime Port -->  background
//
// MAIN <-> relay: a MessageChannel the MAIN script hands over at
// document_start (window.postMessage with transfer). Everything that comes
// from MAIN is hostile: the page can replace the MAIN script's functions,
// post its own hello, or talk on a port of its own. parseMainRequest below is
// the only way a MAIN message becomes a request, and what it admits is a
// same-origin GET of the document's own origin, which the page could make
// itself. What goes back to MAIN is a plain body (the server's own answer, as
// the page's fetch would have got it) or a verified rebuilt body: never a byte
// of a delta, never an unverified byte (the relay sends delta bytes only to
// the background).
//
// relay <-> background: one runtime Port per request (PAGE_FETCH_PORT). Chrome
// serializes runtime messages as JSON, so bytes travel as base64 strings
// (byte-chunks.ts: the measured cost and the chunk size).

/** runtime.connect name of the relay's per-request port. */
export const PAGE_FETCH_PORT = 'crcsync-page-fetch';

/** window.postMessage `type` of the MAIN script's hello (carries the port) and the relay's "I am listening". */
export const MAIN_HELLO = 'crcsync-main-hello';
export const RELAY_READY = 'crcsync-relay-ready';

/** A request id from MAIN: a small non-negative integer (its own counter). */
export type RequestId = number;

/** Header lists as [name, value] pairs (what fetch, Headers and JSON all carry). */
export type HeaderPairs = [string, string][];

/** The cache modes the page path takes on (eligibility.ts: the others go to the browser untouched). */
export type RelayCacheMode = 'default' | 'no-cache' | 'reload' | 'no-store';
export type RelayCredentials = 'omit' | 'same-origin' | 'include';

// ---- MAIN -> relay ----

export interface MainFetchRequest {
  kind: 'fetch';
  id: RequestId;
  /** Absolute URL, same origin as the document. */
  url: string;
  cache: RelayCacheMode;
  credentials: RelayCredentials;
  /** The page's request headers (no If-Block, no Range: eligibility.ts). */
  headers: HeaderPairs;
}

export interface MainAbort {
  kind: 'abort';
  id: RequestId;
}

export type MainMessage = MainFetchRequest | MainAbort;

// ---- relay -> MAIN ----

export interface PageResponseHead {
  status: number;
  statusText: string;
  headers: HeaderPairs;
  /** Response.url as the page's own fetch would report it. */
  url: string;
}

export type RelayToMain =
  /** crcsync is off for this document's origin: MAIN hands every request to the browser from now on. */
  | { kind: 'off' }
  /** Not ours: MAIN hands the request to the browser's own fetch/XHR, untouched. */
  | { kind: 'pass'; id: RequestId }
  | ({ kind: 'head'; id: RequestId } & PageResponseHead)
  /** Body bytes (the buffer is transferred). */
  | { kind: 'chunk'; id: RequestId; bytes: ArrayBuffer }
  | { kind: 'end'; id: RequestId }
  /** The body (or the request) failed: the page sees a network error (TypeError). */
  | { kind: 'error'; id: RequestId; message: string };

// ---- relay <-> background (JSON over a runtime Port) ----

export type RelayToBackground =
  /** The request, as the relay admitted it. */
  | { kind: 'request'; url: string; cache: RelayCacheMode; credentials: RelayCredentials; headers: HeaderPairs }
  /** The answer's status line and headers (before any body byte). */
  | { kind: 'head'; status: number; statusText: string; headers: HeaderPairs; url: string }
  /** The If-Block request was answered with a redirect: MAIN replays it with the browser's own fetch. */
  | { kind: 'redirected' }
  /** Body bytes, base64: the delta (rebuild) or a copy of a plain body (capture). */
  | { kind: 'chunk'; data: string }
  /** The body ended; transferSize: Resource Timing's, when the relay could read it. */
  | { kind: 'end'; transferSize: number | null }
  /** The fetch or the body failed (network error, the relay's stall timer). */
  | { kind: 'failed'; message: string }
  /**
   * The plain answer to our If-Block could not be read before the page got
   * anything (e.g. a delta labelled gzip): the browser makes the request
   * itself now, without If-Block.
   */
  | { kind: 'handed-back'; message: string }
  /** The page went away (aborted its fetch, closed the XHR). */
  | { kind: 'abort' }
  /** The fallback's refetch (asked by `refetch`): its body in chunks, then refetch-end. */
  | { kind: 'refetch-chunk'; data: string }
  | { kind: 'refetch-end'; refusal: string | null; transferSize: number | null };

export type BackgroundToRelay =
  /**
   * Hand the request to the browser untouched (site off, private window, no
   * tab...); siteOff: crcsync is off for the document's origin, so the relay
   * hands every later request of this document to the browser without asking
   * (enabling a site takes effect at the page's next load).
   */
  | { kind: 'pass'; siteOff: boolean }
  /** Fetch it: with If-Block when ifBlock is a string; copy the body to the background when keep (after `keep` says so). */
  | { kind: 'offer'; ifBlock: string | null }
  /** For a plain answer: whether the relay sends the background a copy of the body (the next base). */
  | { kind: 'keep'; keep: boolean }
  /** For a delta answer: what the page sees, before any body byte. */
  | ({ kind: 'page-head' } & PageResponseHead)
  /** Verified body bytes, base64. */
  | { kind: 'body'; data: string }
  /** The verified (or refetched) body is complete. */
  | { kind: 'close' }
  /** The page gets no whole body: the relay errors its stream. */
  | { kind: 'fail'; message: string }
  /**
   * Fetch the same URL without If-Block and send its body back (refetch-chunk,
   * refetch-end); stop reading the delta. No byte for stallTimeoutMs ends it.
   */
  | { kind: 'refetch'; stallTimeoutMs: number };

// ---- parsing what MAIN sends (hostile) ----

const MAX_URL_CHARS = 8192;
const MAX_HEADERS = 64;
const MAX_HEADER_CHARS = 8192;
/** RFC 9110 token characters: anything else is no header name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** No CR, LF or NUL in a value (fetch would throw; a relay never sends one on). */
const HEADER_VALUE = /^[^\r\n\0]*$/;
const CACHE_MODES: ReadonlySet<string> = new Set<RelayCacheMode>(['default', 'no-cache', 'reload', 'no-store']);
const CREDENTIALS: ReadonlySet<string> = new Set<RelayCredentials>(['omit', 'same-origin', 'include']);
/** Headers a page request that goes through the relay never carries (eligibility.ts sends such requests to the browser). */
const REFUSED_HEADERS: ReadonlySet<string> = new Set(['if-block', 'range']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRequestId(value: unknown): value is RequestId {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** [name, value] pairs as a relay may send them on, or null. */
export function parseHeaderPairs(value: unknown): HeaderPairs | null {
  if (!Array.isArray(value) || value.length > MAX_HEADERS) return null;
  const pairs: HeaderPairs = [];
  for (const pair of value) {
    if (!Array.isArray(pair) || pair.length !== 2) return null;
    const [name, text] = pair as unknown[];
    if (typeof name !== 'string' || typeof text !== 'string') return null;
    if (name.length + text.length > MAX_HEADER_CHARS || !HEADER_NAME.test(name) || !HEADER_VALUE.test(text)) return null;
    if (REFUSED_HEADERS.has(name.toLowerCase())) return null;
    pairs.push([name, text]);
  }
  return pairs;
}

/**
 * A MAIN message as the relay may act on it, or null (ignored). `documentUrl`
 * is the relay's own location.href: the only origin a request may name.
 */
export function parseMainMessage(data: unknown, documentUrl: string): MainMessage | null {
  if (!isRecord(data) || !Object.hasOwn(data, 'kind') || !isRequestId(data.id)) return null;
  if (data.kind === 'abort') return { kind: 'abort', id: data.id };
  if (data.kind !== 'fetch') return null;
  const { url, cache, credentials } = data;
  if (typeof url !== 'string' || url.length > MAX_URL_CHARS) return null;
  if (typeof cache !== 'string' || !CACHE_MODES.has(cache)) return null;
  if (typeof credentials !== 'string' || !CREDENTIALS.has(credentials)) return null;
  const headers = parseHeaderPairs(data.headers);
  if (!headers) return null;
  let target: URL;
  let document: URL;
  try {
    target = new URL(url);
    document = new URL(documentUrl);
  } catch {
    return null;
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') return null;
  if (target.origin !== document.origin || target.username || target.password) return null;
  return { kind: 'fetch', id: data.id, url: target.href, cache: cache as RelayCacheMode, credentials: credentials as RelayCredentials, headers };
}
