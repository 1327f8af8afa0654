// Server-side response decisions of http-crcsync v=1 (PROTOCOL.md §2, §5),
// as pure functions so every adapter (the Node server, tests, a future edge
// worker) makes the same call: encode or pass through, and the header edits
// an encoded response gets. Adapters own I/O; this file owns the rules.

import { CrcsyncError } from './errors';
import { IfBlock, parseIfBlock } from './if-block';
import { CRCSYNC_ENCODING, ETAG_SUFFIX, IF_BLOCK_HEADER, MAX_BASE_BYTES, MAX_SERVER_BLOCK_BYTES, MIN_SERVER_BLOCK_BYTES } from './wire';

/** Why a response is passed through instead of encoded; one token per §2 case plus server policy. */
export type PassThroughReason =
  | 'method' // not GET (§2), HEAD included
  | 'status' // status other than 200 (§2)
  | 'partial' // a Content-Range answer, even with status 200 (§2)
  | 'no-transform' // Cache-Control: no-transform from the origin (RFC 9111 §5.2.2.6)
  | 'no-store' // Cache-Control: no-store from the origin (see decideDeltaEncoding)
  | 'no-if-block' // the request had no If-Block (§2)
  | 'invalid-if-block' // If-Block failed to parse or breaks a §5 limit
  | 'block-size' // valid If-Block, but bs outside what honest clients send (§5: MIN/MAX_SERVER_BLOCK_BYTES)
  | 'encoded' // origin content-encoding the adapter cannot undo (§2)
  | 'window-too-large' // the tail block exceeds the adapter's per-request buffer budget (§5)
  | 'busy' // the adapter's memory budget for deltas in flight is spent (§5); decided by the adapter
  | 'excluded' // the operator excluded the path from delta encoding (BREACH, see delta-exclusions.ts)
  | 'close-delimited'; // the origin's body ends only when its connection closes: a cut-short body would verify

export interface DeltaEncodingInput {
  method: string;
  status: number;
  /** The request's If-Block value(s); Node joins repeated headers, so a string or an array. */
  ifBlock: string | readonly string[] | undefined;
  /** The origin's Content-Encoding, raw (may be undefined). */
  contentEncoding: string | undefined;
  contentRange: string | undefined;
  cacheControl: string | readonly string[] | undefined;
  /** Content-codings the adapter can decode before encoding (e.g. gzip, br with node:zlib). */
  decodable: readonly string[];
  /**
   * Largest block (the tail) the adapter will hold per request. The encoder
   * keeps up to one tail block of the new body pending (§4 windows), so this
   * bounds memory per request (§5). The block-size rule already keeps the
   * tail under 128 KiB + 255 B; this is for an adapter that wants less.
   * Defaults to 4 MiB (no honest block is larger, §1).
   */
  maxBlockBytes?: number;
  /** The operator keeps this path out of delta encoding (delta-exclusions.ts). */
  excluded?: boolean;
  /**
   * The origin's body is delimited by the end of its connection (HTTP/1.x
   * without Content-Length or chunked coding, RFC 9112 §6.3 item 8). A
   * connection that drops early looks exactly like the end of the body, and
   * a delta would carry a SHA-1 of the truncated body that verifies: the
   * client would keep a cut page as its base. Not encoded.
   */
  bodyEndsAtClose?: boolean;
}

export type DeltaEncodingDecision =
  | { readonly encode: true; readonly ifBlock: IfBlock; readonly originEncoding: string }
  | { readonly encode: false; readonly reason: PassThroughReason; readonly error?: CrcsyncError };

/** Lower-cased directive names of Cache-Control (values ignored: none of ours take one). */
export function cacheControlDirectives(value: string | readonly string[] | undefined): Set<string> {
  const directives = new Set<string>();
  if (value === undefined) return directives;
  for (const line of typeof value === 'string' ? [value] : value) {
    for (const part of line.split(',')) {
      const name = part.split('=')[0].trim().toLowerCase();
      if (name) directives.add(name);
    }
  }
  return directives;
}

/**
 * The origin's content-coding as one lower-case token; '' and `identity`
 * both mean identity (§2: "an origin `identity` is replaced").
 */
export function originContentEncoding(value: string | undefined): string {
  const token = (value ?? '').trim().toLowerCase();
  return token === '' ? 'identity' : token;
}

/**
 * Whether this response may be sent as a crcsync delta, and against which
 * If-Block. The order of checks only decides which reason is reported.
 *
 * no-store: not encoded. §6 keeps a client from caching a no-store body, so
 * a base for it exists only if the origin changed its mind; the delta would
 * rebuild the body out of a cache the origin has just told everyone not to
 * use for this resource, and it must carry `Vary: If-Block`, a cache key
 * derived from a cached copy. Passing it through (still compressed per
 * Accept-Encoding) is what §2 prescribes for every case we do not encode.
 *
 * no-transform: not encoded and, by the adapter, not re-encoded at all
 * (RFC 9111 §5.2.2.6 forbids intermediaries to change the content-coding).
 */
export function decideDeltaEncoding(input: DeltaEncodingInput): DeltaEncodingDecision {
  if (input.method !== 'GET') return { encode: false, reason: 'method' };
  if (input.status !== 200) return { encode: false, reason: 'status' };
  if (input.contentRange !== undefined) return { encode: false, reason: 'partial' };
  const directives = cacheControlDirectives(input.cacheControl);
  if (directives.has('no-transform')) return { encode: false, reason: 'no-transform' };
  if (directives.has('no-store')) return { encode: false, reason: 'no-store' };
  if (input.ifBlock === undefined) return { encode: false, reason: 'no-if-block' };
  if (input.excluded) return { encode: false, reason: 'excluded' };
  if (input.bodyEndsAtClose) return { encode: false, reason: 'close-delimited' };
  const originEncoding = originContentEncoding(input.contentEncoding);
  if (originEncoding !== 'identity' && !input.decodable.includes(originEncoding)) {
    return { encode: false, reason: 'encoded' };
  }
  let ifBlock: IfBlock;
  try {
    // Two If-Block headers are as invalid as two fs fields in one: the
    // joined value carries duplicate fields, which parseIfBlock rejects.
    ifBlock = parseIfBlock(typeof input.ifBlock === 'string' ? input.ifBlock : input.ifBlock.join('; '));
  } catch (error) {
    if (error instanceof CrcsyncError) return { encode: false, reason: 'invalid-if-block', error };
    throw error;
  }
  // Encoding must pay whatever the client sent (§5): bs = 1 makes every byte
  // a 2-byte B section, a 4 MiB block a 4 MiB window per request. Honest
  // clients never leave 5 B .. 128 KiB, so nothing honest is lost.
  const blockSize = ifBlock.layout.blockSize;
  if (blockSize < MIN_SERVER_BLOCK_BYTES || blockSize > MAX_SERVER_BLOCK_BYTES) {
    return { encode: false, reason: 'block-size' };
  }
  if (ifBlock.layout.tailSize > (input.maxBlockBytes ?? MAX_BASE_BYTES)) {
    return { encode: false, reason: 'window-too-large' };
  }
  return { encode: true, ifBlock, originEncoding };
}

/** Adds `token` to a Vary value unless it (or `*`) is already listed (§2). */
export function mergeVary(existing: string | readonly string[] | undefined, token: string): string {
  const listed = (existing === undefined ? [] : typeof existing === 'string' ? [existing] : [...existing])
    .flatMap((line) => line.split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const wanted = token.toLowerCase();
  if (listed.some((name) => name === '*' || name.toLowerCase() === wanted)) return listed.join(', ');
  return [...listed, token].join(', ');
}

/**
 * The ETag of an encoded response: the origin's, with `-crcsync-<coding>`
 * after it (after the closing quote, §2), so `"v1"` becomes
 * `"v1"-crcsync-identity` and `W/"v1"` becomes `W/"v1"-crcsync-identity`
 * (vector 28). `originEncoding` is the coding the origin sent, before any
 * decoding by the adapter.
 */
export function crcsyncEtag(etag: string, originEncoding: string): string {
  return `${etag.trim()}${ETAG_SUFFIX}${originContentEncoding(originEncoding)}`;
}

/** The Vary token and Content-Encoding value of an encoded response (§2). */
export const ENCODED_RESPONSE = { vary: IF_BLOCK_HEADER, contentEncoding: CRCSYNC_ENCODING } as const;

/** Headers an encoded response must not keep: the delta has its own size and digest (§2). */
export const HEADERS_DROPPED_WHEN_ENCODED = ['content-length', 'content-md5'] as const;

// The never-worse rule (issue 9): a client that sent If-Block never pays
// more bytes than it would without it. Every adapter (the Node server, the
// edge handler) compares with these.

/** A delta must save at least this fraction of the plain body... */
export const DELTA_GAIN_DIVISOR = 8;
/**
 * ...and at least this many bytes: a delta's response headers and chunked
 * framing take ~32 bytes more than a br response's (`Content-Encoding:
 * crcsync`, `Vary: If-Block`, the ETag suffix, chunk sizes instead of a
 * Content-Length), so a smaller gain is none on the wire.
 */
export const DELTA_MIN_GAIN_BYTES = 64;

/** The least a delta must save against a plain body of `plainBytes` bytes. */
export function requiredGainBytes(plainBytes: number): number {
  return Math.max(DELTA_MIN_GAIN_BYTES, Math.ceil(plainBytes / DELTA_GAIN_DIVISOR));
}

/**
 * The delta goes out only when it is smaller than the plain body by the
 * margin: the client also pays a rebuild (read the base, inflate, SHA-1),
 * and until the whole delta has arrived and verified it has nothing to show
 * (a br body is parsed as it arrives). A tie goes to the plain body.
 */
export function deltaBeats(deltaBytes: number, plainBytes: number): boolean {
  return deltaBytes + requiredGainBytes(plainBytes) <= plainBytes;
}
