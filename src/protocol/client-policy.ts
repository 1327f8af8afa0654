// What a crcsync client decides from URLs and headers (PROTOCOL.md §2, §6).
// Pure functions over plain header lists, so the browser adapters only
// translate events and the rules are unit-tested once.

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

export interface IfBlockRequest {
  method: string;
  url: string;
  /** The user enabled crcsync for the URL's origin (and globally). */
  originEnabled: boolean;
  /** Private window (or any context whose data must not persist). */
  privateContext: boolean;
  /** Request headers as they stand; a page that set its own If-Block keeps it. */
  requestHeaders: readonly HeaderEntry[] | undefined;
}

/** Whether the client adds If-Block to this request, given it holds a usable cached body (§6). */
export function shouldOfferIfBlock(request: IfBlockRequest): boolean {
  return (
    request.method.toUpperCase() === 'GET' &&
    request.originEnabled &&
    !request.privateContext &&
    isCrcsyncEligibleUrl(request.url) &&
    findHeader(request.requestHeaders, IF_BLOCK_HEADER) === undefined
  );
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
 * base that differs from the one the server hashed produces; an exception
 * inside the decoder could be either side, so the base goes too. Everything
 * else (a stall, a broken or truncated stream, a lying server, a storage or
 * filter error) says nothing against the base: §5 keeps it "as it was".
 */
const BASE_IMPLICATED = new Set(['DELTA_DIGEST_MISMATCH', 'DELTA_BLOCK_OUT_OF_RANGE', 'BASE_UNUSABLE', 'DECODER_EXCEPTION']);

/** Whether a fallback for `reason` drops the cached base before refetching (§5: "dropped if it was the cause"). */
export function fallbackDropsBase(reason: string): boolean {
  return BASE_IMPLICATED.has(reason);
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
