// Inputs for the decoder fuzz (PROTOCOL.md §3, §5): a pool of valid deltas
// (our encoder on random and realistic old/new pairs, equivalent re-encodings
// of them, and the reference vectors' delta.bin when ../shared is present),
// and fast-check arbitraries that describe how to damage one: section-level
// edits (duplicate, drop, move, splice from another delta, block indexes and
// L lengths at their extremes, zlib bombs, broken or foreign zlib streams,
// junk after S), byte-level edits (bit flips, inserts, deletes, truncation),
// optionally "re-signed" with a correct S so the damage must be decoded
// rather than caught by the digest; plus random byte strings that start with
// a valid tag. Arbitraries hold only small numbers, so a failing case prints
// short and shrinks well; the bytes are derived from the pool.

import { createHash } from 'node:crypto';
import { constants, deflateRawSync, deflateSync, gzipSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { CompressorFactory, fflateCompressor, pakoCompressor } from '../../src/protocol/deflaters';
import { DeltaEncoder } from '../../src/protocol/delta-encoder';
import { formatIfBlockFromHashes, parseIfBlock } from '../../src/protocol/if-block';
import { DEFAULT_MAX_REBUILT_BYTES } from '../../src/protocol/wire';
import { nodeSha1 } from '../../src/server/node-codecs';
import { mutate, randomBytes, seededRandom } from '../helpers/random';
import { loadVectors } from '../helpers/shared-data';
import { oracleRebuildUnsigned } from './delta-oracle';

export const TAGS = { block: 0x42, zlib: 0x5a, literal: 0x4c, digest: 0x53 } as const;

/** A delta from the pool: whole sections (tag included); the last piece may be an unparseable rest. */
export interface PoolDelta {
  label: string;
  base: Buffer;
  blockCount: number;
  /** The body it rebuilds, or null for a reference vector that must fail. */
  body: Buffer | null;
  sections: Buffer[];
}

const sha1 = (data: Uint8Array) => createHash('sha1').update(data).digest();
const u32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes;
};

// ---------------------------------------------------------------- sections

/** Splits a delta into whole sections; anything from the first unreadable point on is one last piece. */
export function splitSections(delta: Uint8Array): Buffer[] {
  const bytes = Buffer.from(delta.buffer, delta.byteOffset, delta.length);
  const pieces: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const tag = bytes[at];
    let size = 0;
    if (tag === TAGS.block) size = 2;
    else if (tag === TAGS.digest) size = 21;
    else if (tag === TAGS.literal && at + 5 <= bytes.length) size = 5 + bytes.readUInt32BE(at + 1);
    else if (tag === TAGS.zlib) {
      try {
        const result = inflateSync(bytes.subarray(at + 1), { info: true, maxOutputLength: 64 * 1024 * 1024 }) as unknown as { engine: { bytesWritten: number } };
        size = 1 + result.engine.bytesWritten;
      } catch {
        size = 0;
      }
    }
    if (size === 0 || at + size > bytes.length) break;
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  if (at < bytes.length) pieces.push(bytes.subarray(at));
  return pieces;
}

function literalOf(section: Buffer): Buffer | null {
  if (section[0] === TAGS.literal && section.length >= 5) return section.subarray(5);
  if (section[0] !== TAGS.zlib) return null;
  try {
    return inflateSync(section.subarray(1), { maxOutputLength: 1024 * 1024, chunkSize: 1024 });
  } catch {
    return null;
  }
}

const zSection = (stream: Uint8Array) => Buffer.concat([Buffer.of(TAGS.zlib), stream]);
const lSection = (payload: Uint8Array, declared = payload.length) => Buffer.concat([Buffer.of(TAGS.literal), u32(declared), payload]);

// ---------------------------------------------------------------- the pool

const WORDS = ['<div class="story">', 'crcsync', 'delta', '</div>\n', 'news', 'the', 'browser', '<a href="/x">', 'cache', '{"id":', '},\n', 'function(', ') {', 'return', ';\n'];

function textPage(random: () => number, size: number): Buffer {
  let text = '';
  while (text.length < size) text += WORDS[Math.floor(random() * WORDS.length)] + (random() < 0.3 ? ` ${Math.floor(random() * 1000)} ` : ' ');
  return Buffer.from(text.slice(0, size));
}

function encode(base: Buffer, body: Buffer, blockCount: number, compressor: CompressorFactory): Buffer {
  const engine = getDefaultEngine();
  const ifBlock = parseIfBlock(formatIfBlockFromHashes(base.length, engine.blockHashes(base, blockCount)));
  const out: Uint8Array[] = [];
  const encoder = new DeltaEncoder(ifBlock, { engine, compressor, sha1: nodeSha1 }, (chunk) => out.push(chunk));
  encoder.push(body, true);
  return Buffer.concat(out);
}

/** Equivalent encodings a decoder must accept just the same (§3: L sections, two Z in a row, any valid zlib stream). */
function reencode(sections: Buffer[], random: () => number): { label: string; sections: Buffer[] } {
  const choice = Math.floor(random() * 4);
  if (choice === 0) return { label: 'as encoded', sections };
  if (choice === 1) {
    return { label: 'L sections', sections: sections.map((section) => (section[0] === TAGS.zlib ? lSection(literalOf(section)!) : section)) };
  }
  if (choice === 2) {
    // Each literal run as two streams: stored (level 0) then level 9.
    return {
      label: 'split runs',
      sections: sections.flatMap((section) => {
        if (section[0] !== TAGS.zlib) return [section];
        const literal = literalOf(section)!;
        const cut = Math.floor(random() * (literal.length + 1));
        return [zSection(deflateSync(literal.subarray(0, cut), { level: 0 })), zSection(deflateSync(literal.subarray(cut), { level: 9 }))];
      }),
    };
  }
  const empties = [zSection(deflateSync(Buffer.alloc(0))), lSection(Buffer.alloc(0))];
  const out = [...sections];
  for (const empty of empties) out.splice(Math.floor(random() * out.length), 0, empty);
  return { label: 'empty sections', sections: out };
}

function blockCountFor(random: () => number, baseSize: number): number {
  const roll = random();
  const count = roll < 0.7 ? 40 : roll < 0.76 ? 1 : roll < 0.82 ? 2 : roll < 0.9 ? 256 : 1 + Math.floor(random() * 256);
  return Math.min(count, baseSize);
}

/** `size` random bytes that are one of: realistic text, binary, or highly repetitive. */
function someBase(random: () => number, size: number): Buffer {
  const kind = random();
  if (kind < 0.6) return textPage(random, size);
  if (kind < 0.8) return Buffer.from(randomBytes(random, size));
  const period = 1 + Math.floor(random() * 9);
  const unit = randomBytes(random, period, 4);
  return Buffer.from(Array.from({ length: size }, (_, i) => unit[i % period] + 0x61));
}

const deltaLength = (entry: PoolDelta) => entry.sections.reduce((sum, section) => sum + section.length, 0);

/**
 * Our encoder's deltas for `count` random old/new pairs, in equivalent
 * encodings, smallest first, then the reference vectors (smallest first).
 */
export function buildPool(seed: number, count: number): PoolDelta[] {
  const random = seededRandom(seed);
  const pool: PoolDelta[] = [];
  for (let i = 0; i < count; i++) {
    // Log-uniform sizes, 200 B .. ~24 KB; one in 20 up to ~200 KB.
    const top = random() < 0.05 ? 200_000 : 24_000;
    const size = Math.floor(200 * Math.pow(top / 200, random()));
    const base = someBase(random, size);
    const change = random();
    const body =
      change < 0.08 ? Buffer.from(base)
      : change < 0.14 ? Buffer.alloc(0)
      : change < 0.2 ? someBase(random, Math.floor(random() * size * 1.5))
      : Buffer.from(mutate(random, base, Math.floor(random() * 16)));
    const blockCount = blockCountFor(random, base.length);
    const compressor = random() < 0.5 ? pakoCompressor : fflateCompressor;
    const { label, sections } = reencode(splitSections(encode(base, body, blockCount, compressor)), random);
    pool.push({ label: `${size} B base, n=${blockCount}, ${label}`, base, blockCount, body, sections });
  }
  pool.sort((a, b) => deltaLength(a) - deltaLength(b));
  const vectors: PoolDelta[] = [];
  for (const vector of loadVectors()) {
    if (!vector.delta) continue;
    vectors.push({
      label: `vector ${vector.name}`,
      base: vector.old,
      blockCount: 40,
      body: vector.expect === 'decode-ok' ? vector.new : null,
      sections: splitSections(vector.delta),
    });
  }
  return [...pool, ...vectors.sort((a, b) => deltaLength(a) - deltaLength(b))];
}

// ---------------------------------------------------------------- edits

/** Block indexes at the edges of the valid range, or any byte. */
export type IndexChoice = 'first' | 'last' | 'count' | 'count+1' | 'max' | number;
/** L length fields at their extremes, relative to the payload or the cap. */
export type LengthChoice = 'actual' | 'actual-1' | 'actual+1' | 'zero' | 'u32-max' | 'i32-max' | 'i32-max+1' | 'cap' | 'cap+1';
export type ZlibVariant =
  | 'raw-deflate'
  | 'gzip'
  | 'stored'
  | 'level-9'
  | 'preset-dictionary'
  | 'window-too-big'
  | 'bad-header-check'
  | 'bad-adler'
  | 'cut-adler'
  | 'stream-then-more';

export type SectionEdit =
  | { edit: 'duplicate'; at: number }
  | { edit: 'drop'; at: number }
  | { edit: 'move'; from: number; to: number }
  | { edit: 'splice'; donor: number; from: number; count: number; to: number }
  | { edit: 'insert-block'; at: number; index: IndexChoice }
  | { edit: 'retarget-block'; at: number; index: IndexChoice }
  | { edit: 'insert-literal'; at: number; length: LengthChoice; payload: Uint8Array }
  | { edit: 'bomb'; at: number; which: number }
  | { edit: 'zlib'; at: number; variant: ZlibVariant }
  | { edit: 'junk-after-digest'; bytes: Uint8Array };

export type ByteEdit =
  | { edit: 'flip'; at: number; bit: number }
  | { edit: 'set'; at: number; value: number }
  | { edit: 'insert'; at: number; bytes: Uint8Array }
  | { edit: 'delete'; at: number; length: number }
  | { edit: 'truncate'; at: number };

/** The rebuilt-size cap: default, at the body's size, at the decoder's buffer growth steps, or any. */
export type CapChoice = 'default' | 'body-1' | 'body' | 'body+1' | 'first growth+1' | 'between growths' | '1 MiB' | number;

export type DeltaSpec =
  | { kind: 'mutated'; source: number; sectionEdits: SectionEdit[]; byteEdits: ByteEdit[]; resign: boolean }
  | { kind: 'random'; source: number; tag: number; bytes: Uint8Array }
  | { kind: 'tag-soup'; source: number; pieces: Array<[number, Uint8Array]> };

export interface DecodeSpec {
  delta: DeltaSpec;
  cap: CapChoice;
  sha1: 'node' | 'noble';
  /** Cut points (taken modulo the delta's length + 1). */
  cuts: number[];
  /** Fixed small chunk size for the third chunking. */
  smallChunk: number;
  /** Whether `final` comes with an empty push after the last piece. */
  emptyFinal: boolean;
}

/** Zlib bombs: 1 MiB and 40 MiB of zeros (over the 32 MiB default cap), and exactly the default cap of 'a'. */
const BOMB_SOURCES: Array<() => Buffer> = [
  () => Buffer.alloc(1024 * 1024),
  () => Buffer.alloc(40 * 1024 * 1024),
  () => Buffer.alloc(DEFAULT_MAX_REBUILT_BYTES, 0x61),
];
const bombs = new Map<number, Buffer>();
function bomb(which: number): Buffer {
  const index = which % BOMB_SOURCES.length;
  if (!bombs.has(index)) bombs.set(index, zSection(deflateSync(BOMB_SOURCES[index](), { level: 9 })));
  return bombs.get(index)!;
}

const positionIn = (at: number, length: number) => (length === 0 ? 0 : at % (length + 1));

function blockIndex(choice: IndexChoice, blockCount: number): number {
  switch (choice) {
    case 'first':
      return 0;
    case 'last':
      return blockCount - 1;
    case 'count':
      return blockCount & 0xff;
    case 'count+1':
      return (blockCount + 1) & 0xff;
    case 'max':
      return 0xff;
    default:
      return choice & 0xff;
  }
}

function literalLength(choice: LengthChoice, payload: number, cap: number): number {
  const table: Record<LengthChoice, number> = {
    actual: payload,
    'actual-1': Math.max(0, payload - 1),
    'actual+1': payload + 1,
    zero: 0,
    'u32-max': 0xffffffff,
    'i32-max': 0x7fffffff,
    'i32-max+1': 0x80000000,
    cap: Math.min(cap, 0xffffffff),
    'cap+1': Math.min(cap + 1, 0xffffffff),
  };
  return table[choice];
}

function zlibVariant(variant: ZlibVariant, literal: Buffer): Buffer {
  switch (variant) {
    case 'raw-deflate':
      return deflateRawSync(literal);
    case 'gzip':
      return gzipSync(literal);
    case 'stored':
      return deflateSync(literal, { level: 0 });
    case 'level-9':
      return deflateSync(literal, { level: 9 });
    case 'preset-dictionary':
      return deflateSync(literal, { dictionary: Buffer.from('crcsync dictionary') });
    case 'window-too-big': {
      const stream = deflateSync(literal);
      // CINFO 8: a 64 KiB window, beyond RFC 1950's 32 KiB; FCHECK kept valid so only the window size is wrong.
      stream[0] = 0x88;
      stream[1] = (31 - ((0x88 * 256) % 31)) % 31;
      return stream;
    }
    case 'bad-header-check': {
      const stream = deflateSync(literal);
      stream[1] ^= 0x01;
      return stream;
    }
    case 'bad-adler': {
      const stream = deflateSync(literal);
      stream[stream.length - 1] ^= 0x80;
      return stream;
    }
    case 'cut-adler':
      return deflateSync(literal).subarray(0, -2);
    case 'stream-then-more':
      return Buffer.concat([deflateSync(literal), deflateSync(literal, { strategy: constants.Z_HUFFMAN_ONLY })]);
  }
}

function applySectionEdit(sections: Buffer[], edit: SectionEdit, source: PoolDelta, pool: PoolDelta[], cap: number): Buffer[] {
  const out = [...sections];
  const pick = (at: number) => (out.length === 0 ? -1 : at % out.length);
  switch (edit.edit) {
    case 'duplicate': {
      const i = pick(edit.at);
      if (i >= 0) out.splice(i, 0, out[i]);
      return out;
    }
    case 'drop': {
      const i = pick(edit.at);
      if (i >= 0) out.splice(i, 1);
      return out;
    }
    case 'move': {
      const i = pick(edit.from);
      if (i < 0) return out;
      const [moved] = out.splice(i, 1);
      out.splice(positionIn(edit.to, out.length), 0, moved);
      return out;
    }
    case 'splice': {
      const donor = pool[edit.donor % pool.length].sections;
      const from = donor.length ? edit.from % donor.length : 0;
      out.splice(positionIn(edit.to, out.length), 0, ...donor.slice(from, from + edit.count));
      return out;
    }
    case 'insert-block':
      out.splice(positionIn(edit.at, out.length), 0, Buffer.of(TAGS.block, blockIndex(edit.index, source.blockCount)));
      return out;
    case 'retarget-block': {
      const blocks = out.map((section, i) => [section, i] as const).filter(([section]) => section[0] === TAGS.block && section.length === 2);
      if (blocks.length === 0) return out;
      const [, i] = blocks[edit.at % blocks.length];
      out[i] = Buffer.of(TAGS.block, blockIndex(edit.index, source.blockCount));
      return out;
    }
    case 'insert-literal':
      out.splice(positionIn(edit.at, out.length), 0, lSection(edit.payload, literalLength(edit.length, edit.payload.length, cap)));
      return out;
    case 'bomb':
      out.splice(positionIn(edit.at, out.length), 0, bomb(edit.which));
      return out;
    case 'zlib': {
      const zs = out.map((section, i) => [section, i] as const).filter(([section]) => section[0] === TAGS.zlib);
      if (zs.length === 0) {
        out.splice(positionIn(edit.at, out.length), 0, zSection(zlibVariant(edit.variant, Buffer.from('an inserted literal run'))));
        return out;
      }
      const [section, i] = zs[edit.at % zs.length];
      out[i] = zSection(zlibVariant(edit.variant, literalOf(section) ?? Buffer.from('unreadable run')));
      return out;
    }
    case 'junk-after-digest':
      out.push(Buffer.from(edit.bytes));
      return out;
  }
}

function applyByteEdit(bytes: Buffer, edit: ByteEdit): Buffer {
  const at = positionIn(edit.at, bytes.length);
  switch (edit.edit) {
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const out = Buffer.from(bytes);
      out[at % bytes.length] ^= 1 << edit.bit;
      return out;
    }
    case 'set': {
      if (bytes.length === 0) return bytes;
      const out = Buffer.from(bytes);
      out[at % bytes.length] = edit.value;
      return out;
    }
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), edit.bytes, bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + edit.length)]);
    case 'truncate':
      return bytes.subarray(0, at);
  }
}

export interface BuiltInput {
  delta: Buffer;
  source: PoolDelta;
  maxRebuiltBytes: number;
  /** The exact body this delta must rebuild: set for unedited valid deltas only. */
  expectedBody: Buffer | null;
  resigned: boolean;
}

export function capBytes(choice: CapChoice, source: PoolDelta): number {
  const body = source.body?.length ?? source.base.length;
  switch (choice) {
    case 'default':
      return DEFAULT_MAX_REBUILT_BYTES;
    case 'body-1':
      return Math.max(0, body - 1);
    case 'body':
      return body;
    case 'body+1':
      return body + 1;
    // The decoder's buffer starts at the base's size + 64 KiB and doubles: caps just past and between those steps.
    case 'first growth+1':
      return source.base.length + 64 * 1024 + 1;
    case 'between growths':
      return Math.floor(1.5 * (source.base.length + 64 * 1024));
    case '1 MiB':
      return 1024 * 1024;
    default:
      return choice;
  }
}

/** Turns a spec into delta bytes against its source's base. */
export function buildInput(spec: DecodeSpec, pool: PoolDelta[]): BuiltInput {
  const source = pool[spec.delta.source % pool.length];
  const maxRebuiltBytes = capBytes(spec.cap, source);
  const result = (delta: Buffer, expectedBody: Buffer | null = null, resigned = false): BuiltInput => ({ delta, source, maxRebuiltBytes, expectedBody, resigned });
  switch (spec.delta.kind) {
    case 'random':
      return result(Buffer.concat([Buffer.of(spec.delta.tag), spec.delta.bytes]));
    case 'tag-soup':
      return result(Buffer.concat(spec.delta.pieces.flatMap(([tag, bytes]) => [Buffer.of(tag), bytes])));
    case 'mutated': {
      const { sectionEdits, byteEdits, resign } = spec.delta;
      let sections = source.sections;
      for (const edit of sectionEdits) sections = applySectionEdit(sections, edit, source, pool, maxRebuiltBytes);
      let bytes: Buffer = Buffer.concat(sections);
      for (const edit of byteEdits) bytes = applyByteEdit(bytes, edit);
      // Unedited, and the cap leaves room for it: it must rebuild exactly its new body.
      const unedited = sectionEdits.length === 0 && byteEdits.length === 0 && source.body !== null && source.body.length <= maxRebuiltBytes;
      if (resign) {
        const rebuilt = oracleRebuildUnsigned(bytes, { base: source.base, blockCount: source.blockCount, maxRebuiltBytes });
        if (rebuilt) bytes = Buffer.concat([bytes.subarray(0, rebuilt.digestAt), Buffer.of(TAGS.digest), sha1(rebuilt.body)]);
        return result(bytes, unedited ? source.body : null, rebuilt !== null);
      }
      return result(bytes, unedited ? source.body : null);
    }
  }
}

// ---------------------------------------------------------------- arbitraries

const indexChoice: fc.Arbitrary<IndexChoice> = fc.oneof(fc.constantFrom<IndexChoice>('first', 'last', 'count', 'count+1', 'max'), fc.nat(255));
const lengthChoice = fc.constantFrom<LengthChoice>('actual', 'actual-1', 'actual+1', 'zero', 'u32-max', 'i32-max', 'i32-max+1', 'cap', 'cap+1');
const zlibChoice = fc.constantFrom<ZlibVariant>(
  'raw-deflate',
  'gzip',
  'stored',
  'level-9',
  'preset-dictionary',
  'window-too-big',
  'bad-header-check',
  'bad-adler',
  'cut-adler',
  'stream-then-more',
);
const smallBytes = (maxLength: number) => fc.uint8Array({ maxLength });

/** Weights: zlib bombs are costly to inflate (up to the guard's few MiB, three times), so about 1 input in 100 has one. */
const sectionEdit: fc.Arbitrary<SectionEdit> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ edit: fc.constant('duplicate' as const), at: fc.nat() }) },
  { weight: 10, arbitrary: fc.record({ edit: fc.constant('drop' as const), at: fc.nat() }) },
  { weight: 10, arbitrary: fc.record({ edit: fc.constant('move' as const), from: fc.nat(), to: fc.nat() }) },
  { weight: 10, arbitrary: fc.record({ edit: fc.constant('splice' as const), donor: fc.nat(), from: fc.nat(), count: fc.integer({ min: 1, max: 4 }), to: fc.nat() }) },
  { weight: 10, arbitrary: fc.record({ edit: fc.constant('insert-block' as const), at: fc.nat(), index: indexChoice }) },
  { weight: 10, arbitrary: fc.record({ edit: fc.constant('retarget-block' as const), at: fc.nat(), index: indexChoice }) },
  { weight: 10, arbitrary: fc.record({ edit: fc.constant('insert-literal' as const), at: fc.nat(), length: lengthChoice, payload: smallBytes(64) }) },
  { weight: 1, arbitrary: fc.record({ edit: fc.constant('bomb' as const), at: fc.nat(), which: fc.nat(2) }) },
  { weight: 20, arbitrary: fc.record({ edit: fc.constant('zlib' as const), at: fc.nat(), variant: zlibChoice }) },
  {
    weight: 10,
    arbitrary: fc.record({
      edit: fc.constant('junk-after-digest' as const),
      // What servers and proxies append in practice (the original decoder tolerated some), or anything.
      bytes: fc.oneof(fc.constantFrom(...['\n', '\r\n', ' ', '\0', '\n/* cache: HIT */\n', 'S'].map((text) => Uint8Array.from(Buffer.from(text, 'latin1')))), fc.uint8Array({ minLength: 1, maxLength: 24 })),
    }),
  },
);

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ edit: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }) },
  fc.record({ edit: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 0xff, 0x42, 0x4c, 0x53, 0x5a, 0x78, 0x9c, 0x80, 0x7f), fc.nat(255)) }),
  fc.record({ edit: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ edit: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ edit: fc.constant('truncate' as const), at: fc.nat() }),
);

const tag = fc.constantFrom<number>(TAGS.block, TAGS.zlib, TAGS.literal, TAGS.digest);

/**
 * Which pool delta to start from: mostly the smaller half of our own (cheap,
 * and a shrunk counterexample is small), also any of ours, and sometimes a
 * reference vector (large: jQuery, lodash).
 */
function sourceIndex(generated: number, total: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.nat(Math.max(0, Math.floor(generated / 2) - 1)) },
    { weight: 3, arbitrary: fc.nat(Math.max(0, generated - 1)) },
    { weight: total > generated ? 1 : 0, arbitrary: fc.integer({ min: generated, max: Math.max(generated, total - 1) }) },
  );
}

function deltaSpec(generated: number, total: number): fc.Arbitrary<DeltaSpec> {
  const source = sourceIndex(generated, total);
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('mutated' as const),
        source,
        sectionEdits: fc.array(sectionEdit, { maxLength: 3 }),
        byteEdits: fc.array(byteEdit, { maxLength: 3 }),
        resign: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('random' as const), source, tag, bytes: smallBytes(400) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('tag-soup' as const),
        source,
        pieces: fc.array(
          fc.oneof(
            fc.tuple(fc.constant<number>(TAGS.block), fc.uint8Array({ minLength: 1, maxLength: 1 })),
            fc.tuple(fc.constant<number>(TAGS.zlib), smallBytes(40)),
            fc.tuple(fc.constant<number>(TAGS.zlib), smallBytes(40).map((bytes) => deflateSync(bytes))),
            fc.tuple(fc.constant<number>(TAGS.literal), smallBytes(12)),
            fc.tuple(fc.constant<number>(TAGS.digest), fc.uint8Array({ minLength: 20, maxLength: 20 })),
          ),
          { maxLength: 8 },
        ),
      }),
    },
  );
}

const capChoice: fc.Arbitrary<CapChoice> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<CapChoice>('default') },
  { weight: 3, arbitrary: fc.constantFrom<CapChoice>('body-1', 'body', 'body+1', 'first growth+1', 'between growths', '1 MiB') },
  { weight: 1, arbitrary: fc.nat(300_000) },
);

/** `generated` pool entries are our encoder's, the rest (up to `total`) reference vectors. */
export function decodeSpec(generated: number, total: number): fc.Arbitrary<DecodeSpec> {
  return fc.record({
    delta: deltaSpec(generated, total),
    cap: capChoice,
    sha1: fc.constantFrom<'node' | 'noble'>('node', 'node', 'node', 'noble'),
    cuts: fc.array(fc.nat(), { maxLength: 10 }),
    smallChunk: fc.integer({ min: 1, max: 7 }),
    emptyFinal: fc.boolean(),
  });
}

/** Every pool delta as it is, at three chunkings: run first, so each (every reference vector included) is decoded at least once. */
export function uneditedExamples(total: number): DecodeSpec[] {
  return Array.from({ length: total }, (_, source) => ({
    delta: { kind: 'mutated' as const, source, sectionEdits: [], byteEdits: [], resign: false },
    cap: 'default' as const,
    sha1: source % 2 ? ('noble' as const) : ('node' as const),
    cuts: [source * 7919, source * 104729],
    smallChunk: 1 + (source % 7),
    emptyFinal: source % 3 === 0,
  }));
}
