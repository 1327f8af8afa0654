// Streaming delta decoder (PROTOCOL.md §3, limits §5). Takes the delta in
// chunks of any size and rebuilds the body against the cached base. A v=1
// body releases nothing before the S digest has verified the whole body:
// ondata fires once, after the final chunk, with the verified body. Every
// malformed input throws a CrcsyncError, and the decoder stays failed
// afterwards.
//
// When the client offered the extension (docs/extensions.md), a body that
// starts with the marker `X 01` is an extension body: C sections verify the
// rebuilt prefix (onverified releases it as it is verified) and D sections
// inflate with the rebuilt output as preset dictionary. Any other body is
// v=1 and decodes exactly as without the offer.

import * as zlibInflate from 'pako/lib/zlib/inflate.js';
import ZStream from 'pako/lib/zlib/zstream.js';
import { BlockLayout, blockLayout, blockRange } from './block-layout';
import { CrcsyncError } from './errors';
import {
  DICTIONARY_WINDOW_BYTES,
  EXT_VERSION,
  MIN_CHECKPOINT_SPACING_BYTES,
  TAG_CHECKPOINT,
  TAG_DICTIONARY_ZLIB,
  TAG_EXT_MARKER,
} from './ext-wire';
import { Sha1Factory, Sha1Hasher, nobleSha1 } from './sha1';
import {
  CLIENT_BLOCK_COUNT,
  DEFAULT_MAX_REBUILT_BYTES,
  SHA1_BYTES,
  TAG_BLOCK,
  TAG_DIGEST,
  TAG_LITERAL,
  TAG_ZLIB,
} from './wire';

export interface DeltaDecoderOptions {
  /** Blocks the client hashed for its If-Block (40 on the wire). */
  blockCount?: number;
  /** Cap on the rebuilt body (default 32 MiB). */
  maxRebuiltBytes?: number;
  /**
   * SHA-1 for the body digest (and the checkpoints of an extension body:
   * then its hashers must have digestSoFar). Default @noble/hashes.
   */
  sha1?: Sha1Factory;
  /**
   * The client offered the extension (`x=1` in If-Block, docs/extensions.md):
   * a body starting with `X 01` is decoded as an extension body. Without it
   * (the default) every body is v=1, and `X` is an unknown section.
   */
  acceptExtension?: boolean;
  /**
   * Hand the whole body to onverified as soon as its `S` digest verified,
   * in that push, instead of with the final push (docs/extensions.md §3.2:
   * the body is verified by then; bytes after `S` are still an error, which
   * push() then throws as always). Off by default: the whole body then comes
   * once, with the final push.
   */
  releaseAtDigest?: boolean;
}

export type VerifiedBodyListener = (body: Uint8Array, final: true) => void;
/**
 * Newly verified bytes: body[offset, offset + bytes.length). Ranges come in
 * order, each starting where the previous ended; together they are the whole
 * body. `bytes` is a view into the decoder's buffer: those bytes never change,
 * but the view keeps the buffer alive, so copy what you keep for long.
 */
export type VerifiedRangeListener = (bytes: Uint8Array, offset: number) => void;

type DecoderState =
  | 'tag' // expecting a section tag
  | 'block' // expecting the 1-byte index after B
  | 'zlib' // inside a Z section's zlib stream
  | 'literal-length' // expecting the 4-byte length after L
  | 'literal' // inside an L section's raw bytes
  | 'digest' // expecting the 20 digest bytes after S
  | 'ext-version' // expecting the version byte after the X marker (extension)
  | 'checkpoint' // expecting the 20 digest bytes after C (extension)
  | 'done' // S verified; only the end of input may follow
  | 'failed';

/**
 * Decompression-bomb guard (PROTOCOL.md §5: inflate output bounded). zlib
 * reaches about 1030:1, so 32 MiB of literal bytes fit in 32 KiB of delta
 * and cost the client most of a second of synchronous inflate on every load.
 * Honest Z sections are web text deflated at level 6: over the corpus and
 * the reference vectors the most compressible section inflates 11.8:1 and
 * the most compressible whole delta 8.5:1. So the literal bytes inflated so
 * far may exceed the delta bytes received so far by at most this ratio,
 * plus INFLATE_FREE_BYTES for short, very repetitive runs (a page of
 * padding); past that the decoder stops inside the offending section with
 * DELTA_INFLATE_RATIO before inflating any further. The work an inflating
 * decoder does is then bounded by the bytes the server sends.
 */
export const MAX_INFLATE_RATIO = 64;
export const INFLATE_FREE_BYTES = 1024 * 1024;

/** How many literal bytes Z sections may inflate to, once `deltaBytes` delta bytes have been read. */
export function inflateAllowance(deltaBytes: number): number {
  return INFLATE_FREE_BYTES + MAX_INFLATE_RATIO * deltaBytes;
}

/**
 * Dictionary-work guard for extension bodies (docs/extensions.md, Limits):
 * each D section makes the decoder check and load a preset dictionary of up
 * to 32 KiB (an Adler-32 over it and a copy into the inflate window), so a
 * string of tiny D sections would buy ~32 KiB of work per ~13 delta bytes.
 * The dictionary bytes loaded may exceed the delta bytes received by at most
 * this ratio, plus DICTIONARY_FREE_BYTES. Honest deltas over the corpus stay
 * far below (see the spec's rationale).
 */
export const MAX_DICTIONARY_RATIO = 256;
export const DICTIONARY_FREE_BYTES = 8 * 1024 * 1024;

/** How many dictionary bytes D sections may load, once `deltaBytes` delta bytes have been read. */
export function dictionaryAllowance(deltaBytes: number): number {
  return DICTIONARY_FREE_BYTES + MAX_DICTIONARY_RATIO * deltaBytes;
}

/** Growth step of the body buffer while inflating (the cap is checked at each step). */
const INFLATE_CHUNK_BYTES = 64 * 1024;

// zlib return codes and flush mode (zlib.h), as pako's zlib port uses them.
const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_NEED_DICT = 2;
const Z_BUF_ERROR = -5;
const Z_NO_FLUSH = 0;
/** 15-bit window, zlib wrapper only: no gzip auto-detection, no raw deflate (§3). */
const ZLIB_WINDOW_BITS = 15;

export class DeltaDecoder {
  ondata: VerifiedBodyListener;
  /**
   * Progressive release: called at the end of a push that completed without
   * error, with the bytes verified since the last call. A v=1 body is
   * verified only by its S digest, so it comes once, whole, just before
   * ondata; an extension body also at each verified C checkpoint. Write
   * these to the page; keep ondata's whole body as the next base.
   */
  onverified: VerifiedRangeListener = () => undefined;

  private readonly base: Uint8Array;
  private readonly layout: BlockLayout;
  private readonly maxRebuiltBytes: number;
  private readonly hasher: Sha1Hasher;
  private state: DecoderState = 'tag';
  private failure: CrcsyncError | null = null;
  private body: Uint8Array;
  private bodyLength = 0;
  private hashedLength = 0;
  /** Delta bytes consumed so far, for error messages. */
  private offset = 0;
  private inflater: ZStream | null = null;
  /** Partial fixed-size field (L length, S digest). */
  private field = new Uint8Array(SHA1_BYTES);
  private fieldLength = 0;
  private literalRemaining = 0;
  /** Literal bytes produced by Z sections so far (the bomb guard, see inflateAllowance). */
  private inflatedBytes = 0;
  private result: Uint8Array | null = null;
  private readonly acceptExtension: boolean;
  private readonly releaseAtDigest: boolean;
  /** The body started with the extension marker: C and D sections are allowed. */
  private extended = false;
  /** The open zlib stream is a D section that has not yet had its dictionary. */
  private dictionaryPending = false;
  /** Dictionary bytes D sections loaded so far (the guard, see dictionaryAllowance). */
  private dictionaryBytes = 0;
  /** Body bytes verified by a checkpoint (or the digest) so far, and released so far. */
  private verifiedLength = 0;
  private releasedLength = 0;

  constructor(base: Uint8Array, options: DeltaDecoderOptions = {}, ondata?: VerifiedBodyListener) {
    const blockCount = options.blockCount ?? CLIENT_BLOCK_COUNT;
    if (!Number.isInteger(blockCount) || blockCount < 1 || blockCount > 256 || base.length < blockCount) {
      throw new CrcsyncError('BASE_UNUSABLE', `${base.length}-byte base for ${blockCount} blocks`);
    }
    this.base = base;
    this.layout = blockLayout(base.length, blockCount);
    this.maxRebuiltBytes = options.maxRebuiltBytes ?? DEFAULT_MAX_REBUILT_BYTES;
    this.hasher = (options.sha1 ?? nobleSha1)();
    this.acceptExtension = options.acceptExtension ?? false;
    this.releaseAtDigest = options.releaseAtDigest ?? false;
    if (this.acceptExtension && !this.hasher.digestSoFar) {
      // A programming error, not a fault of any delta: checkpoints need the digest of a prefix.
      throw new TypeError('acceptExtension needs a SHA-1 whose hashers have digestSoFar (docs/extensions.md)');
    }
    this.body = new Uint8Array(Math.min(base.length + INFLATE_CHUNK_BYTES, this.maxRebuiltBytes));
    this.ondata = ondata ?? (() => undefined);
  }

  /** Whether the body is an extension body (known once its first byte was pushed). */
  get isExtensionBody(): boolean {
    return this.extended;
  }

  /** The `S` digest verified the whole body (more bytes, or none, may still follow before the final push). */
  get digestVerified(): boolean {
    return this.state === 'done';
  }

  /** The verified body once the final chunk was pushed, else null. */
  get verifiedBody(): Uint8Array | null {
    return this.result;
  }

  push(chunk: Uint8Array, final = false): void {
    if (this.failure) throw this.failure;
    if (this.result) throw new CrcsyncError('STREAM_STATE');
    try {
      this.consume(chunk);
      this.hashBody();
      if (final) this.finish();
    } catch (error) {
      this.fail(error);
    }
    this.release();
    if (this.result) this.ondata(this.result, true);
  }

  /** Hands what was verified during this push to onverified (one call per push at most). */
  private release(): void {
    if (this.verifiedLength === this.releasedLength) return;
    const source = this.result ?? this.body;
    const from = this.releasedLength;
    this.releasedLength = this.verifiedLength;
    this.onverified(source.subarray(from, this.verifiedLength), from);
  }

  private fail(error: unknown): never {
    this.state = 'failed';
    this.inflater = null;
    this.body = new Uint8Array(0);
    // pako's inflate reports problems as status codes, never by throwing: anything
    // else that escapes is the decoder's own failure, and is not called a zlib error.
    this.failure =
      error instanceof CrcsyncError ? error : new CrcsyncError('DECODER_INTERNAL', error instanceof Error ? error.message : String(error));
    throw this.failure;
  }

  private consume(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case 'tag':
          at = this.readTag(chunk, at);
          break;
        case 'block':
          this.copyBlock(chunk[at]);
          at++;
          this.state = 'tag';
          break;
        case 'zlib':
          at = this.inflate(chunk, at);
          break;
        case 'literal-length':
          at = this.readField(chunk, at, 4);
          if (this.fieldLength === 4) {
            const length = ((this.field[0] << 24) | (this.field[1] << 16) | (this.field[2] << 8) | this.field[3]) >>> 0;
            this.ensureRoom(length);
            this.literalRemaining = length;
            this.fieldLength = 0;
            this.state = length ? 'literal' : 'tag';
          }
          break;
        case 'literal': {
          const take = Math.min(this.literalRemaining, chunk.length - at);
          this.append(chunk.subarray(at, at + take));
          this.literalRemaining -= take;
          at += take;
          if (this.literalRemaining === 0) this.state = 'tag';
          break;
        }
        case 'digest':
          at = this.readField(chunk, at, SHA1_BYTES);
          if (this.fieldLength === SHA1_BYTES) this.verifyDigest();
          break;
        case 'ext-version':
          if (chunk[at] !== EXT_VERSION) throw new CrcsyncError('DELTA_EXTENSION_VERSION', `version ${chunk[at]}, this client speaks ${EXT_VERSION}`);
          this.extended = true;
          at++;
          this.state = 'tag';
          break;
        case 'checkpoint':
          at = this.readField(chunk, at, SHA1_BYTES);
          if (this.fieldLength === SHA1_BYTES) this.verifyCheckpoint(this.offset + at);
          break;
        case 'done':
          throw new CrcsyncError('DELTA_TRAILING_DATA', `${chunk.length - at} byte(s) at offset ${this.offset + at}`);
        default:
          throw new CrcsyncError('STREAM_STATE');
      }
    }
    this.offset += chunk.length;
  }

  private readTag(chunk: Uint8Array, at: number): number {
    const tag = chunk[at];
    switch (tag) {
      case TAG_BLOCK:
        this.state = 'block';
        break;
      case TAG_ZLIB:
        this.inflater = new ZStream();
        zlibInflate.inflateInit2(this.inflater, ZLIB_WINDOW_BITS);
        this.state = 'zlib';
        break;
      case TAG_LITERAL:
        this.state = 'literal-length';
        this.fieldLength = 0;
        break;
      case TAG_DIGEST:
        this.state = 'digest';
        this.fieldLength = 0;
        break;
      case TAG_EXT_MARKER:
        // Only as the very first byte, and only when the client offered the extension.
        if (!this.acceptExtension || this.offset + at !== 0) return this.unknownSection(tag, at);
        this.state = 'ext-version';
        break;
      case TAG_CHECKPOINT:
        if (!this.extended) return this.unknownSection(tag, at);
        this.state = 'checkpoint';
        this.fieldLength = 0;
        break;
      case TAG_DICTIONARY_ZLIB:
        if (!this.extended) return this.unknownSection(tag, at);
        this.startDictionarySection(at);
        break;
      default:
        return this.unknownSection(tag, at);
    }
    return at + 1;
  }

  private unknownSection(tag: number, at: number): never {
    throw new CrcsyncError('DELTA_UNKNOWN_SECTION', `byte 0x${tag.toString(16).padStart(2, '0')} at offset ${this.offset + at}`);
  }

  /**
   * A D section: one zlib stream whose preset dictionary is the last
   * min(32 KiB, rebuilt) bytes of the body. Its cost is charged before any
   * work: the dictionary is checked (DICTID) and loaded when inflate asks.
   */
  private startDictionarySection(at: number): void {
    if (this.bodyLength === 0) throw new CrcsyncError('DELTA_DICTIONARY', `D section at offset ${this.offset + at} before any byte was rebuilt`);
    this.dictionaryBytes += Math.min(DICTIONARY_WINDOW_BYTES, this.bodyLength);
    const deltaBytes = this.offset + at + 1;
    if (this.dictionaryBytes > dictionaryAllowance(deltaBytes)) {
      throw new CrcsyncError(
        'DELTA_DICTIONARY_WORK',
        `${this.dictionaryBytes} dictionary bytes from ${deltaBytes} delta bytes (at most ${MAX_DICTIONARY_RATIO}:1 beyond ${DICTIONARY_FREE_BYTES})`,
      );
    }
    this.inflater = new ZStream();
    zlibInflate.inflateInit2(this.inflater, ZLIB_WINDOW_BITS);
    this.dictionaryPending = true;
    this.state = 'zlib';
  }

  /** Answers inflate's request for the preset dictionary of a D section (zlib checks its Adler-32 against DICTID). */
  private setDictionary(stream: ZStream): void {
    const dictionary = this.body.subarray(this.bodyLength - Math.min(DICTIONARY_WINDOW_BYTES, this.bodyLength), this.bodyLength);
    if (zlibInflate.inflateSetDictionary(stream, dictionary) !== Z_OK) {
      throw new CrcsyncError('DELTA_DICTIONARY', `DICTID is not the Adler-32 of the last ${dictionary.length} rebuilt bytes`);
    }
    this.dictionaryPending = false;
  }

  private copyBlock(index: number): void {
    if (index >= this.layout.blockCount) {
      throw new CrcsyncError('DELTA_BLOCK_OUT_OF_RANGE', `block ${index} of ${this.layout.blockCount}`);
    }
    const [start, end] = blockRange(this.layout, index);
    this.append(this.base.subarray(start, end));
  }

  /** Inflates straight into the body buffer; returns where the zlib stream ended, or chunk.length if it goes on. */
  private inflate(chunk: Uint8Array, at: number): number {
    const stream = this.inflater!;
    stream.input = chunk;
    stream.next_in = at;
    stream.avail_in = chunk.length - at;
    for (;;) {
      if (this.bodyLength === this.body.length && this.bodyLength < this.maxRebuiltBytes) {
        this.ensureRoom(Math.min(INFLATE_CHUNK_BYTES, this.maxRebuiltBytes - this.bodyLength));
      }
      // One byte past the allowance is room enough to see it exceeded, and no more is inflated.
      const allowed = inflateAllowance(this.offset + stream.next_in) - this.inflatedBytes;
      stream.output = this.body;
      stream.next_out = this.bodyLength;
      stream.avail_out = Math.min(this.body.length - this.bodyLength, allowed + 1);
      const status = zlibInflate.inflate(stream, Z_NO_FLUSH);
      if (this.dictionaryPending) {
        if (status === Z_NEED_DICT) {
          this.setDictionary(stream);
          continue;
        }
        if (stream.next_out > this.bodyLength || status === Z_STREAM_END) {
          throw new CrcsyncError('DELTA_DICTIONARY', 'D section whose zlib stream has no preset dictionary (FDICT)');
        }
      }
      this.inflatedBytes += stream.next_out - this.bodyLength;
      this.bodyLength = stream.next_out;
      if (this.inflatedBytes > inflateAllowance(this.offset + stream.next_in)) {
        throw new CrcsyncError(
          'DELTA_INFLATE_RATIO',
          `${this.inflatedBytes} literal bytes from ${this.offset + stream.next_in} delta bytes (at most ${MAX_INFLATE_RATIO}:1 beyond ${INFLATE_FREE_BYTES})`,
        );
      }
      if (status === Z_STREAM_END) {
        // The next section starts right after the stream's Adler-32.
        zlibInflate.inflateEnd(stream);
        this.inflater = null;
        this.state = 'tag';
        return stream.next_in;
      }
      if (status !== Z_OK && status !== Z_BUF_ERROR) {
        throw new CrcsyncError('DELTA_ZLIB', `${stream.msg || `zlib status ${status}`} (section ending before offset ${this.offset + chunk.length})`);
      }
      if (stream.avail_in === 0) return chunk.length;
      if (this.bodyLength >= this.maxRebuiltBytes) throw new CrcsyncError('DELTA_TOO_LARGE', `more than ${this.maxRebuiltBytes} bytes`);
    }
  }

  private readField(chunk: Uint8Array, at: number, size: number): number {
    const take = Math.min(size - this.fieldLength, chunk.length - at);
    this.field.set(chunk.subarray(at, at + take), this.fieldLength);
    this.fieldLength += take;
    return at + take;
  }

  private verifyDigest(): void {
    this.hashBody();
    const actual = this.hasher.digest();
    for (let i = 0; i < SHA1_BYTES; i++) {
      if (actual[i] !== this.field[i]) throw new CrcsyncError('DELTA_DIGEST_MISMATCH', `rebuilt ${this.bodyLength} bytes`);
    }
    this.state = 'done';
    if (this.releaseAtDigest) this.verifiedLength = this.bodyLength;
  }

  /**
   * A C section: the SHA-1 of body[0, rebuilt so far). The spacing rule keeps
   * a hostile server's checkpoints to one per MIN_CHECKPOINT_SPACING_BYTES of
   * body, so their digests cost bounded CPU. Verified bytes are released at
   * the end of the push (release()).
   */
  private verifyCheckpoint(endOffset: number): void {
    if (this.bodyLength - this.verifiedLength < MIN_CHECKPOINT_SPACING_BYTES) {
      throw new CrcsyncError(
        'DELTA_CHECKPOINT_SPACING',
        `checkpoint ending at offset ${endOffset} covers ${this.bodyLength - this.verifiedLength} new bytes, want >= ${MIN_CHECKPOINT_SPACING_BYTES}`,
      );
    }
    this.hashBody();
    const actual = this.hasher.digestSoFar!();
    for (let i = 0; i < SHA1_BYTES; i++) {
      if (actual[i] !== this.field[i]) throw new CrcsyncError('DELTA_CHECKPOINT_MISMATCH', `rebuilt prefix of ${this.bodyLength} bytes (checkpoint ending at offset ${endOffset})`);
    }
    this.verifiedLength = this.bodyLength;
    this.fieldLength = 0;
    this.state = 'tag';
  }

  private finish(): void {
    if (this.state === 'done') {
      this.result = this.bodyLength === this.body.length ? this.body : this.body.slice(0, this.bodyLength);
      this.body = new Uint8Array(0);
      this.verifiedLength = this.bodyLength;
      return;
    }
    if (this.state === 'tag') throw new CrcsyncError('DELTA_MISSING_DIGEST', `delta ended after ${this.offset} bytes`);
    throw new CrcsyncError('DELTA_TRUNCATED', `delta ended inside a ${this.state} section after ${this.offset} bytes`);
  }

  private hashBody(): void {
    if (this.state === 'failed' || this.hashedLength === this.bodyLength) return;
    this.hasher.update(this.body.subarray(this.hashedLength, this.bodyLength));
    this.hashedLength = this.bodyLength;
  }

  private ensureRoom(extra: number): void {
    const needed = this.bodyLength + extra;
    if (needed > this.maxRebuiltBytes) {
      throw new CrcsyncError('DELTA_TOO_LARGE', `more than ${this.maxRebuiltBytes} bytes`);
    }
    if (needed > this.body.length) {
      const grown = new Uint8Array(Math.min(Math.max(needed, this.body.length * 2), this.maxRebuiltBytes));
      grown.set(this.body.subarray(0, this.bodyLength));
      this.body = grown;
    }
  }

  private append(bytes: Uint8Array): void {
    this.ensureRoom(bytes.length);
    this.body.set(bytes, this.bodyLength);
    this.bodyLength += bytes.length;
  }
}
