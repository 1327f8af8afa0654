// What the plain (gzip / br) body of a representation compresses to, as far
// as this server has made it, so that choosing between a delta and the
// plain body (delta-response.ts) does not compress the same page again for
// every client that sends If-Block. Filled by the comparisons themselves
// and by ordinary gzip / br responses made whole.
//
// Keyed by URL, strong ETag, length and coding: a strong validator changes
// whenever the representation's bytes do (RFC 9110 §8.8.1), so the same key
// compresses to the same size. A response without a strong ETag is not
// remembered (a page made per request is compared every time). An origin
// that reuses a strong ETag for other bytes only makes the choice less
// good, never the response wrong: either answer decodes to the body sent.
//
// The same memo class keeps the sizes of deltas (deltaKeyOf), in a memo of
// their own so that If-Block values nobody sends twice cannot push the
// plain sizes out: with both sizes known, a request whose delta lost before
// gets the plain response without a scan or a deflated literal (handler.ts).
// Clients that loaded the same old version send the same If-Block, so a
// popular page's answer to last hour's copy is decided once per version.
// A delta never made (most of the body new, or the economy guard stopped)
// is noted with no exact size and an unbounded lower bound: it loses to
// any compressed plain body.

import { createHash } from 'node:crypto';
import type { CompressionCoding } from './content-coding';
import { HeaderMap, headerText } from './headers';

/** Default entries kept (each a key of ~100-200 bytes and two numbers). */
export const DEFAULT_PLAIN_SIZE_ENTRIES = 4096;

export interface PlainSize {
  /** The whole body's plain size, when it was made whole. */
  exact: number | null;
  /** A lower bound: the plain size of a prefix (a prefix never compresses to more than the whole body). */
  atLeast: number;
}

export class PlainSizeMemo {
  /** Insertion-ordered: the first entry is the least recently used. */
  private readonly entries = new Map<string, PlainSize>();

  constructor(readonly limit = DEFAULT_PLAIN_SIZE_ENTRIES) {}

  /** The key of this representation's plain body in `coding`, or null when it has no strong ETag (or the memo is off). */
  keyOf(url: string, originHeaders: HeaderMap, coding: CompressionCoding, level: number): string | null {
    return this.representationKey(url, originHeaders, [coding, String(level)]);
  }

  /**
   * The key of the delta this representation gets against one If-Block
   * value (and x=1 offer): the same bytes for every request that sends it,
   * so its size is as much a fact about the version as the plain sizes.
   * The header goes in as its SHA-1, so a hostile value's length costs the
   * memo nothing.
   */
  deltaKeyOf(url: string, originHeaders: HeaderMap, ifBlock: string, extension: number): string | null {
    // Hashed only for a representation that is remembered at all.
    const key = this.representationKey(url, originHeaders, ['delta', String(extension)]);
    return key === null ? null : `${key}\n${createHash('sha1').update(ifBlock).digest('base64')}`;
  }

  private representationKey(url: string, originHeaders: HeaderMap, rest: string[]): string | null {
    if (this.limit <= 0) return null;
    const etag = headerText(originHeaders, 'etag')?.trim();
    if (!etag || etag.startsWith('W/')) return null;
    return [url, etag, headerText(originHeaders, 'content-length') ?? '', ...rest].join('\n');
  }

  get(key: string | null): PlainSize | undefined {
    if (key === null) return undefined;
    const size = this.entries.get(key);
    if (size) {
      this.entries.delete(key);
      this.entries.set(key, size);
    }
    return size;
  }

  /** The whole plain body of `key` is `bytes` long. */
  noteExact(key: string | null, bytes: number): void {
    if (key !== null) this.put(key, { exact: bytes, atLeast: bytes });
  }

  /** The plain body of `key` is at least `bytes` long. */
  noteAtLeast(key: string | null, bytes: number): void {
    if (key === null) return;
    const known = this.entries.get(key);
    if (known && (known.exact !== null || known.atLeast >= bytes)) return;
    this.put(key, { exact: null, atLeast: bytes });
  }

  get size(): number {
    return this.entries.size;
  }

  private put(key: string, size: PlainSize): void {
    this.entries.delete(key);
    this.entries.set(key, size);
    while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string);
  }
}
