// Bytes on the wire for one corpus pair: what crcsync costs (the request's
// If-Block header line plus the delta body the reference server makes) for
// v=1 and for the x=1 extension at several block counts, beside gzip-6 and
// brotli-11 of the new body made here with node:zlib, and what the server
// would really send (served.ts). Every delta is decoded back with the
// project's decoder; a delta that does not rebuild `new` fails the bench.

import { deflateSync, brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { CrcEngine } from '../../src/core/crc-engine';
import { pakoCompressor } from '../../src/protocol/deflaters';
import { DeltaDecoder } from '../../src/protocol/delta-decoder';
import { DeltaEncoder } from '../../src/protocol/delta-encoder';
import { DictionaryCompressor, ExtDeltaEncoder } from '../../src/protocol/ext-encoder';
import { EXT_OFFER } from '../../src/protocol/ext-wire';
import { canSendIfBlock, formatIfBlockFromHashes, parseIfBlock } from '../../src/protocol/if-block';
import { IF_BLOCK_HEADER, MAX_SERVER_BLOCKS, MIN_SERVER_BLOCK_BYTES } from '../../src/protocol/wire';
import { DEFAULT_COMPRESSION, isCompressibleType } from '../../src/server/content-coding';
import { nodeSha1 } from '../../src/server/node-codecs';
import { CorpusPair } from './corpus';
import { ServedChoice, servedChoice } from './served';

/** A block count the client could send: PROTOCOL.md §1 allows 1..256 hashes in `h`; v=1 clients send 40. */
export interface BlockCountSetting {
  label: string;
  count(oldBytes: number): number;
}

export const BLOCK_COUNT_SETTINGS: readonly BlockCountSetting[] = [
  { label: 'n=40', count: () => 40 },
  { label: 'n=128', count: () => 128 },
  { label: 'n=256', count: () => MAX_SERVER_BLOCKS },
  // One block per 2 KiB of the cached body, at least the 40 of v=1.
  { label: 'n=fs/2048', count: (oldBytes) => Math.max(40, Math.min(MAX_SERVER_BLOCKS, Math.floor(oldBytes / 2048))) },
];

/** Bytes of the request header line `If-Block: VALUE\r\n` (name, ": ", value, CRLF). */
export const ifBlockLineBytes = (value: string) => Buffer.byteLength(`${IF_BLOCK_HEADER}: ${value}\r\n`, 'latin1');

export class RoundTripError extends Error {
  constructor(pair: string, variant: string, detail: string) {
    super(`${pair}, ${variant}: the delta does not decode to new (${detail})`);
    this.name = 'RoundTripError';
  }
}

/** x=1 literal pieces as the server makes them: node's zlib, level 6, one stream per piece (src/server/node-codecs.ts deflatePiece, synchronously). */
const nodeDictionaryCompressor: DictionaryCompressor = (piece, dictionary) =>
  dictionary.length ? deflateSync(piece, { level: 6, dictionary }) : deflateSync(piece, { level: 6 });

export interface EncodedDelta {
  requestBytes: number;
  deltaBytes: number;
  /** requestBytes + deltaBytes. */
  totalBytes: number;
  literalBytes: number;
  economyStopped: boolean;
}

export interface BlockCountResult {
  setting: string;
  blockCount: number;
  v1: EncodedDelta;
  x1: EncodedDelta;
  /** What the server sends the Firefox extension (x=1 offered): the x=1 delta or the plain br-5 body, plus the request header. */
  served: ServedChoice & { totalBytes: number };
}

export interface PairResult {
  name: string;
  category: string;
  oldBytes: number;
  newBytes: number;
  gzip6: number;
  br11: number;
  /** The server's plain answer to Firefox: br at its default quality (5), or identity for a type it does not compress. */
  plainForFirefox: { coding: 'br' | 'identity'; bytes: number };
  /** From baselines.csv when present: Compression Dictionary Transport, brotli (dcb) and zstd (dcz), old as the dictionary. */
  dcb: number | null;
  dcz: number | null;
  /** Null when a v=1 client sends no If-Block for this cached size (PROTOCOL.md §1). */
  crcsync: BlockCountResult[] | null;
}

function brotli(body: Uint8Array, quality: number): number {
  return brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: quality, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } }).length;
}

function decodeOrFail(pair: CorpusPair, variant: string, delta: Uint8Array, blockCount: number, acceptExtension: boolean): void {
  let rebuilt: Uint8Array | null = null;
  try {
    const decoder = new DeltaDecoder(pair.old, { blockCount, acceptExtension, sha1: nodeSha1 }, (body) => (rebuilt = body));
    decoder.push(delta, true);
  } catch (error) {
    throw new RoundTripError(pair.name, variant, (error as Error).message);
  }
  if (!rebuilt) throw new RoundTripError(pair.name, variant, 'no body');
  if (!Buffer.from(rebuilt as Uint8Array).equals(pair.new)) throw new RoundTripError(pair.name, variant, 'bytes differ');
}

function encodeV1(pair: CorpusPair, engine: CrcEngine, ifBlockValue: string): { delta: Buffer; stats: DeltaEncoder['stats'] } {
  const chunks: Uint8Array[] = [];
  // pako: byte-identical to zlib level 6 (the reference vectors' deflater).
  const encoder = new DeltaEncoder(parseIfBlock(ifBlockValue), { engine, compressor: pakoCompressor, sha1: nodeSha1 }, (chunk) => chunks.push(chunk));
  encoder.push(pair.new, true);
  return { delta: Buffer.concat(chunks), stats: encoder.stats };
}

function encodeX1(pair: CorpusPair, engine: CrcEngine, ifBlockValue: string): { delta: Buffer; stats: ExtDeltaEncoder['stats'] } {
  const chunks: Uint8Array[] = [];
  const encoder = new ExtDeltaEncoder(parseIfBlock(ifBlockValue), { engine, compressor: nodeDictionaryCompressor, sha1: nodeSha1 }, (chunk) => chunks.push(chunk));
  encoder.push(pair.new, true);
  return { delta: Buffer.concat(chunks), stats: encoder.stats };
}

function measureBlockCount(pair: CorpusPair, engine: CrcEngine, setting: BlockCountSetting, plain: PairResult['plainForFirefox']): BlockCountResult | null {
  const blockCount = setting.count(pair.old.length);
  // The server passes through block sizes below 5 bytes (§5): no delta for this setting.
  if (blockCount > pair.old.length || Math.floor(pair.old.length / blockCount) < MIN_SERVER_BLOCK_BYTES) return null;
  const value = formatIfBlockFromHashes(pair.old.length, engine.blockHashes(pair.old, blockCount));
  const v1 = encodeV1(pair, engine, value);
  decodeOrFail(pair, `v=1 ${setting.label}`, v1.delta, blockCount, false);
  const x1 = encodeX1(pair, engine, value + EXT_OFFER);
  decodeOrFail(pair, `x=1 ${setting.label}`, x1.delta, blockCount, true);
  const v1Request = ifBlockLineBytes(value);
  const x1Request = ifBlockLineBytes(value + EXT_OFFER);
  const encoded = (requestBytes: number, delta: Buffer, stats: { literalBytes: number; economyStopAt: number | null }): EncodedDelta => ({
    requestBytes,
    deltaBytes: delta.length,
    totalBytes: requestBytes + delta.length,
    literalBytes: stats.literalBytes,
    economyStopped: stats.economyStopAt !== null,
  });
  const x1Result = encoded(x1Request, x1.delta, x1.stats);
  const choice = servedChoice({
    bodyBytes: pair.new.length,
    deltaBytes: x1Result.deltaBytes,
    literalBytes: x1Result.literalBytes,
    economyStopped: x1Result.economyStopped,
    plainBytes: plain.bytes,
    plainIsCompressed: plain.coding !== 'identity',
    minCompressBytes: DEFAULT_COMPRESSION.minBytes,
  });
  return {
    setting: setting.label,
    blockCount,
    v1: encoded(v1Request, v1.delta, v1.stats),
    x1: x1Result,
    served: { ...choice, totalBytes: x1Request + choice.bodyBytes },
  };
}

export function measurePair(pair: CorpusPair, engine: CrcEngine, settings: readonly BlockCountSetting[] = BLOCK_COUNT_SETTINGS): PairResult {
  // A pair without meta.json has no content type: corpus pairs are text, which the server compresses.
  const compressible = pair.contentType === undefined || isCompressibleType(pair.contentType);
  const plainForFirefox: PairResult['plainForFirefox'] =
    compressible && pair.new.length >= DEFAULT_COMPRESSION.minBytes ? { coding: 'br', bytes: brotli(pair.new, DEFAULT_COMPRESSION.brotliQuality) } : { coding: 'identity', bytes: pair.new.length };
  const crcsync = canSendIfBlock(pair.old.length)
    ? settings.map((setting) => measureBlockCount(pair, engine, setting, plainForFirefox)).filter((result): result is BlockCountResult => result !== null)
    : null;
  return {
    name: pair.name,
    category: pair.category,
    oldBytes: pair.old.length,
    newBytes: pair.new.length,
    gzip6: gzipSync(pair.new, { level: 6 }).length,
    br11: brotli(pair.new, 11),
    plainForFirefox,
    dcb: pair.baselines?.dcb ?? null,
    dcz: pair.baselines?.dcz ?? null,
    crcsync,
  };
}
