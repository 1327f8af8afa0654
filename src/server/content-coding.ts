// Ordinary HTTP compression (gzip / br with node:zlib) for clients that send
// no If-Block, and decoding of gzip / br bodies from an upstream before a
// delta is made (PROTOCOL.md §2: "a server may decode gzip from its upstream
// first"). A client without If-Block gets what a plain compressing server
// would send, so the server is a fair baseline for itself.

import { Transform } from 'node:stream';
import * as zlib from 'node:zlib';

export type CompressionCoding = 'gzip' | 'br';

export interface CompressionSettings {
  /** zlib level for gzip (default 6, zlib's and nginx's usual). */
  gzipLevel: number;
  /** Brotli quality (default 5: what dynamic-compression setups commonly pick; 11 is for precompressing). */
  brotliQuality: number;
  /** Bodies with a known length below this are sent as they are. */
  minBytes: number;
}

export const DEFAULT_COMPRESSION: CompressionSettings = { gzipLevel: 6, brotliQuality: 5, minBytes: 256 };

/**
 * The most an upstream gzip / br body is decoded to before a delta is made:
 * a client never accepts a rebuilt body over 32 MiB (PROTOCOL.md §5,
 * DEFAULT_MAX_REBUILT_BYTES), so decoding past it only burns CPU on what
 * may be a decompression bomb. Beyond it the response is cut off.
 */
export const MAX_DECODED_UPSTREAM_BYTES = 32 * 1024 * 1024;

/** Upstream content-codings this server undoes before making a delta. */
export const DECODABLE_CODINGS: readonly string[] = ['gzip', 'x-gzip', 'br'];

const COMPRESSIBLE_TYPE = /^(text\/|application\/(javascript|ecmascript|json|xml|xhtml\+xml|wasm|manifest\+json|ld\+json)|application\/[a-z0-9.+-]+\+(json|xml)|image\/svg\+xml)/i;

export function isCompressibleType(contentType: string | undefined): boolean {
  return contentType !== undefined && COMPRESSIBLE_TYPE.test(contentType.trim());
}

/**
 * The codings this server can compress with that the client accepts, best
 * first. q-values are honoured (RFC 9110 §12.5.3); on a tie br comes first
 * because it is smaller at similar cost; `*` stands for both.
 */
export function acceptedCompressions(acceptEncoding: string | undefined): CompressionCoding[] {
  if (!acceptEncoding) return [];
  const quality = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = rawName.trim().toLowerCase();
    if (!name) continue;
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split('=').map((text) => text.trim());
      if (key.toLowerCase() === 'q') q = Number(value);
    }
    quality.set(name, Number.isFinite(q) ? q : 0);
  }
  const wildcard = quality.get('*') ?? 0;
  const br = quality.get('br') ?? wildcard;
  const gzip = Math.max(quality.get('gzip') ?? wildcard, quality.get('x-gzip') ?? 0);
  const accepted: [CompressionCoding, number][] = [['br', br], ['gzip', gzip]];
  return accepted
    .filter(([, q]) => q > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([coding]) => coding);
}

/** The coding to compress with for this Accept-Encoding (the best accepted), or null for identity. */
export function negotiateCompression(acceptEncoding: string | undefined): CompressionCoding | null {
  return acceptedCompressions(acceptEncoding)[0] ?? null;
}

/** Default for all gzip / br streams of one handler together (see compressionMemoryEstimate). */
export const DEFAULT_MAX_COMPRESSION_BUFFER_BYTES = 256 * 1024 * 1024;

/**
 * zlib's deflate state at level 6 (windowBits 15, memLevel 8): window 64 KiB,
 * prev 64 KiB, head 64 KiB, pending buffer 64 KiB (zlib's deflateInit2), plus
 * its 16 KiB output chunk and some slack. pako's state is the same size.
 */
export const DEFLATE_STATE_BYTES = 288 * 1024;

/** gzip/br of a body up to this size (known from the origin's Content-Length) is made whole and sent with a Content-Length. */
export const WHOLE_BODY_COMPRESS_BYTES = 1024 * 1024;

/** Whether gzip / br of a body of this stated length is made whole (through whole-body-jobs.ts) rather than streamed. */
export function compressedWhole(length: number | undefined): length is number {
  return length !== undefined && length <= WHOLE_BODY_COMPRESS_BYTES;
}

/**
 * Upper bound of what one gzip / br response holds while a client reads it:
 * the encoder's state and the stream buffers around it. Measured on this
 * project's server with clients that stop reading (RSS per response, 12 MiB
 * body): brotli at quality 5 with its default 4 MiB window ~10.6 MiB, gzip-6
 * ~2 MiB. A body known to be small cannot fill a large window: brotli then
 * holds about twice the body plus its hash tables. A body of known size up to
 * WHOLE_BODY_COMPRESS_BYTES is read whole and compressed in one call through
 * a queue (whole-body-jobs.ts): it holds its input and then its output, and
 * its encoder exists only while it runs, one of the queue's few (a fixed
 * cost: `limit` deflate states of 288 KiB or br encoders of a body up to
 * 1 MiB), so it is charged twice its size (a 100 KiB page 200 KiB where a
 * flat 2 MiB was: issue 11).
 */
export function compressionMemoryEstimate(coding: CompressionCoding, sizeHint: number | undefined): number {
  const MiB = 1024 * 1024;
  if (compressedWhole(sizeHint)) return 2 * sizeHint;
  if (coding === 'gzip') return 2 * MiB;
  return sizeHint === undefined ? 12 * MiB : Math.min(12 * MiB, 2 * MiB + 2 * sizeHint);
}

/** brotli's default window (lgwin 22, 4 MiB), the largest the server uses. */
const BROTLI_LARGEST_WINDOW_BITS = 22;
/** The smallest window the server asks for: at 16 bits and below qualities 5-9 switch to other hashers, hence other bytes. */
const BROTLI_SMALLEST_WINDOW_BITS = 17;
/** brotli cannot refer back the last 16 bytes of its window (BROTLI_WINDOW_GAP). */
const BROTLI_WINDOW_GAP = 16;

/**
 * A body of known size gets the smallest window that still reaches back to
 * its first byte, so every match brotli would find with its default 4 MiB
 * window it finds here too: over the 47 corpus pages at quality 5 the
 * output is the same size to within 1 byte per page (the window's size is
 * written in the stream's first bits). The encoder's ring buffer is sized
 * by the window (2^(lgwin + 1) bytes once the body passes 64 KiB: 8 MiB at
 * the default), reported to V8 as external memory, and with a few dozen br
 * responses in flight V8 collected its whole heap several times a second
 * for it (issue 11: on the corpus pages whose crcsync client gets br, 43-48
 * full collections in 5 s at 50 connections fell to 13-16, CPU per response
 * 4.4-4.5 ms to 3.8-4.2 ms, peak RSS 330-370 MiB to 215-220 MiB).
 */
function brotliParams(settings: CompressionSettings, sizeHint: number | undefined): Record<number, number> {
  const params: Record<number, number> = { [zlib.constants.BROTLI_PARAM_QUALITY]: settings.brotliQuality };
  if (sizeHint === undefined) return params;
  params[zlib.constants.BROTLI_PARAM_SIZE_HINT] = sizeHint;
  const reach = Math.ceil(Math.log2(sizeHint + BROTLI_WINDOW_GAP));
  params[zlib.constants.BROTLI_PARAM_LGWIN] = Math.min(BROTLI_LARGEST_WINDOW_BITS, Math.max(BROTLI_SMALLEST_WINDOW_BITS, reach));
  return params;
}

export function createCompressor(coding: CompressionCoding, settings: CompressionSettings, sizeHint?: number): Transform {
  if (coding === 'gzip') return zlib.createGzip({ level: settings.gzipLevel });
  return zlib.createBrotliCompress({ params: brotliParams(settings, sizeHint) });
}

/** Inputs up to this size are compressed on the event loop by compressOnce (~1 ms of br-5): a thread-pool job costs more than that to hand over. */
export const COMPRESS_ON_LOOP_BYTES = 64 * 1024;

/**
 * `input` compressed in one call, exactly as createCompressor's stream makes
 * it with the same size hint (no flush between writes, so the same bytes:
 * checked for every corpus page, gzip and br). Small inputs synchronously,
 * larger ones on zlib's thread pool.
 */
export function compressOnce(coding: CompressionCoding, settings: CompressionSettings, input: Buffer, sizeHint?: number): Promise<Buffer> {
  if (input.length > COMPRESS_ON_LOOP_BYTES) return compressOnPool(coding, settings, input, sizeHint);
  if (coding === 'gzip') return Promise.resolve(zlib.gzipSync(input, { level: settings.gzipLevel }));
  return Promise.resolve(zlib.brotliCompressSync(input, { params: brotliParams(settings, sizeHint) }));
}

/** As compressOnce, always on zlib's thread pool (whole-body-jobs.ts queues these). */
export function compressOnPool(coding: CompressionCoding, settings: CompressionSettings, input: Buffer, sizeHint?: number): Promise<Buffer> {
  const chunkSize = outputChunkBytes(input.length);
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, output: Buffer) => (error ? reject(error) : resolve(output));
    if (coding === 'gzip') zlib.gzip(input, { level: settings.gzipLevel, chunkSize }, done);
    else zlib.brotliCompress(input, { params: brotliParams(settings, sizeHint), chunkSize }, done);
  });
}

/** The largest output buffer a one-call compression gets (compressionMemoryEstimate charges twice the input, which covers it). */
const MAX_OUTPUT_CHUNK_BYTES = 1024 * 1024;

/**
 * An output buffer that holds the compressed body of a page in one piece:
 * each time zlib's 16 KiB default fills, the job comes back to the event
 * loop and goes to the pool again, one more round trip per 16 KiB of output
 * (issue 11). Half the input holds any page that compresses at all; the
 * bytes do not depend on the buffer's size.
 */
function outputChunkBytes(inputBytes: number): number {
  return Math.min(MAX_OUTPUT_CHUNK_BYTES, Math.max(zlib.constants.Z_DEFAULT_CHUNK, inputBytes >>> 1));
}

/** The error a decoder fails with once its output passes the cap (see MAX_DECODED_UPSTREAM_BYTES). */
export class DecodedSizeError extends Error {
  constructor(readonly limit: number) {
    super(`decoded upstream body exceeds ${limit} bytes`);
    this.name = 'DecodedSizeError';
  }
}

/**
 * A decoder for one of DECODABLE_CODINGS that fails (DecodedSizeError) as
 * soon as it has produced more than `maxOutputBytes`. zlib's own
 * `maxOutputLength` applies to the one-shot functions only, not to streams;
 * a destroyed zlib stream stops between two output buffers, so a bomb costs
 * at most the cap plus one buffer of inflate.
 */
export function createDecompressor(coding: string, maxOutputBytes: number = MAX_DECODED_UPSTREAM_BYTES): Transform {
  let decoder: Transform;
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      decoder = zlib.createGunzip();
      break;
    case 'br':
      decoder = zlib.createBrotliDecompress();
      break;
    default:
      throw new RangeError(`no decoder for content-coding "${coding}"`);
  }
  let produced = 0;
  decoder.on('data', (chunk: Buffer) => {
    produced += chunk.length;
    if (produced > maxOutputBytes) decoder.destroy(new DecodedSizeError(maxOutputBytes));
  });
  return decoder;
}

