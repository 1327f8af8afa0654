// Hostile If-Block values for the HTTP fuzz (PROTOCOL.md §1, §5), in classes:
// syntactically random strings; near-valid edits of an honest header (field
// order, whitespace, case, duplicates, v != 1, fs 0 / negative / huge / not
// decimal, h of every length up to 60 KiB, base64 junk, other separators);
// and semantically hostile valid ones made from a real base: fs = 256 with
// the CRCs of the 256 one-byte values (bs = 1), the page's most common
// 4/5/6-grams as blocks, one huge block (n = 1), all-equal hashes, short
// page substrings as blocks, and CRC-64 collisions (blocks that are not in
// the page but have a page window's CRC). Values carry the real base they
// were hashed from, when there is one, so a client's rebuild can be checked.
//
// modelIfBlock is an independent reading of §1 and §5 (not parseIfBlock):
// what a lenient server may accept at all, and the block sizes it may encode.

import fc from 'fast-check';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { encodeBase64Unpadded } from '../../src/protocol/base64';
import { mutate, randomBytes, seededRandom } from '../helpers/random';
import { textBody } from '../server/fixtures';

export interface Page {
  path: string;
  body: Buffer;
  /** An earlier version of the body, as a client would have cached it (>= 200 bytes). */
  old: Buffer;
}

/** A base a client could hold, and the block count its hashes were made for. */
export interface RealBase {
  base: Buffer;
  blockCount: number;
}

export interface HostileValue {
  /** The header value, or two values sent as two header lines. */
  value: string | [string, string];
  /** The base the hashes came from, when they came from one. */
  origin: RealBase | null;
}

// ---------------------------------------------------------------- the model

/** HTTP's optional whitespace (RFC 9110 §5.6.3): SP and HTAB, not NBSP (0xA0, which String.prototype.trim strips). */
const OWS = /^[ \t]+|[ \t]+$/g;
const trimOws = (text: string) => text.replace(OWS, '');
const BASE64_PREFIX = /^[A-Za-z0-9+/]*/;

export const MODEL_LIMITS = {
  headerBytes: 4096,
  maxBlocks: 256,
  maxFileSize: 64 * 1024 * 1024,
  /** §5: the block sizes honest clients use, 5 B .. 128 KiB; outside, no delta. */
  minBlockSize: 5,
  maxBlockSize: 128 * 1024,
} as const;

export interface ModelIfBlock {
  fileSize: number;
  blockCount: number;
  hashes: Buffer;
  blockSize: number;
  tailSize: number;
}

/**
 * What §1 says a lenient server reads from this value, or null when it must
 * not encode: fields split on ';' with optional whitespace, any order, names
 * case-insensitive, no field twice; v defaults to 1 and must be 1; fs a
 * positive decimal up to 64 MiB; h base64 decoded up to the first character
 * outside the alphabet, n = floor(bytes / 8) with 1 <= n <= 256 and n <= fs;
 * the value at most 4 KiB (§5). Two header lines arrive joined by ", ".
 */
export function modelIfBlock(value: string | [string, string]): ModelIfBlock | null {
  // The HTTP parser strips SP / HTAB around a header value, and joins repeated lines with ", ".
  const text = typeof value === 'string' ? trimOws(value) : `${trimOws(value[0])}, ${trimOws(value[1])}`;
  if (text.length > MODEL_LIMITS.headerBytes) return null;
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    const field = trimOws(part);
    if (field === '') continue;
    const equals = field.indexOf('=');
    if (equals <= 0) return null;
    const name = trimOws(field.slice(0, equals)).toLowerCase();
    if (fields.has(name)) return null;
    fields.set(name, trimOws(field.slice(equals + 1)));
  }
  if ((fields.get('v') ?? '1') !== '1') return null;
  const size = fields.get('fs');
  if (size === undefined || !/^[0-9]+$/.test(size)) return null;
  const fileSize = Number(size);
  if (fileSize < 1 || fileSize > MODEL_LIMITS.maxFileSize) return null;
  const h = fields.get('h');
  if (h === undefined) return null;
  const alphabet = BASE64_PREFIX.exec(h)![0];
  const bytes = Buffer.from(alphabet.slice(0, alphabet.length - (alphabet.length % 4 === 1 ? 1 : 0)), 'base64');
  const blockCount = Math.floor(bytes.length / 8);
  if (blockCount < 1 || blockCount > MODEL_LIMITS.maxBlocks || blockCount > fileSize) return null;
  const blockSize = Math.floor(fileSize / blockCount);
  return { fileSize, blockCount, hashes: bytes.subarray(0, blockCount * 8), blockSize, tailSize: blockSize + (fileSize % blockCount) };
}

/** §5: whether a server may answer this (valid) If-Block with a delta at all. */
export function modelAllowsDelta(model: ModelIfBlock): boolean {
  return model.blockSize >= MODEL_LIMITS.minBlockSize && model.blockSize <= MODEL_LIMITS.maxBlockSize;
}

/**
 * The base a client must hold for this If-Block as the server reads it: each
 * block whose (hash, size) is a block of the origin's base gets that block's
 * bytes, any other block zeros (an unknown hash matches nothing; the CRC of
 * zeros is 0, so a zero hash matches zeros).
 */
export function baseForModel(model: ModelIfBlock, origin: RealBase | null): Buffer {
  const base = Buffer.alloc(model.fileSize);
  if (!origin) return base;
  const known = new Map<string, Buffer>();
  const originHashes = blockHashes(origin.base, origin.blockCount);
  const originSize = Math.floor(origin.base.length / origin.blockCount);
  for (let i = 0; i < origin.blockCount; i++) {
    const start = i * originSize;
    const block = origin.base.subarray(start, i === origin.blockCount - 1 ? origin.base.length : start + originSize);
    known.set(`${Buffer.from(originHashes.subarray(i * 8, i * 8 + 8)).toString('hex')}:${block.length}`, block);
  }
  for (let i = 0; i < model.blockCount; i++) {
    const size = i === model.blockCount - 1 ? model.tailSize : model.blockSize;
    const block = known.get(`${model.hashes.subarray(i * 8, i * 8 + 8).toString('hex')}:${size}`);
    if (block) block.copy(base, i * model.blockSize);
  }
  return base;
}

// ---------------------------------------------------------------- real bases

const hashCache = new WeakMap<Uint8Array, Map<number, Uint8Array>>();

/** The block hashes of a base (cached: the huge bases are hashed once). */
function blockHashes(base: Uint8Array, blockCount: number): Uint8Array {
  let byCount = hashCache.get(base);
  if (!byCount) hashCache.set(base, (byCount = new Map()));
  if (!byCount.has(blockCount)) byCount.set(blockCount, getDefaultEngine().blockHashes(base, blockCount));
  return byCount.get(blockCount)!;
}

export function ifBlockOf(base: Uint8Array, blockCount: number): string {
  return `v=1; fs=${base.length}; h=${encodeBase64Unpadded(blockHashes(base, blockCount))}`;
}

/** The pages both servers serve: a realistic text page, a small one, binary, and empty. */
export function makePages(seed: number): Page[] {
  const random = seededRandom(seed);
  const page = textBody(random, 48_000);
  const small = textBody(random, 700);
  const binary = Buffer.from(randomBytes(random, 16_000));
  return [
    { path: '/page.html', body: page, old: Buffer.from(mutate(random, page, 12)) },
    { path: '/small.txt', body: small, old: Buffer.from(mutate(random, small, 3)) },
    { path: '/data.bin', body: binary, old: Buffer.from(mutate(random, binary, 6)) },
    { path: '/empty.txt', body: Buffer.alloc(0), old: textBody(random, 1200) },
  ];
}

/** The `count` most common `length`-byte substrings of the page (ties by first appearance). */
function commonGrams(page: Buffer, length: number, count: number): Buffer[] {
  const seen = new Map<string, number>();
  for (let i = 0; i + length <= page.length; i++) {
    const gram = page.toString('latin1', i, i + length);
    seen.set(gram, (seen.get(gram) ?? 0) + 1);
  }
  return [...seen.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([gram]) => Buffer.from(gram, 'latin1'));
}

/** Bytes of the page from `offset`, `length` long, wrapping (a page of any size gives any length; empty gives zeros). */
function pageBytes(page: Buffer, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  if (page.length === 0) return out;
  for (let at = 0; at < length; ) {
    const from = (offset + at) % page.length;
    const take = Math.min(length - at, page.length - from);
    page.copy(out, at, from, from + take);
    at += take;
  }
  return out;
}

const gramCache = new Map<string, Buffer[]>();
function gramsOf(page: Page, length: number): Buffer[] {
  const key = `${page.path}:${length}`;
  if (!gramCache.has(key)) gramCache.set(key, commonGrams(page.body.length ? page.body : page.old, length, 256));
  return gramCache.get(key)!;
}

const hugeBases = new Map<string, Buffer>();
function hugeBase(page: Page, size: number): Buffer {
  const key = `${page.path}:${size}`;
  if (!hugeBases.has(key)) hugeBases.set(key, pageBytes(page.body.length ? page.body : page.old, 0, size));
  return hugeBases.get(key)!;
}

function shuffled<T>(items: T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const hostile = (origin: RealBase): HostileValue => ({ value: ifBlockOf(origin.base, origin.blockCount), origin });

// ---------------------------------------------------------------- classes

/** One value, described by small numbers; `make` turns it into a header for a page. */
export type ValueMaker = (page: Page) => HostileValue;

/** A maker that fast-check prints as its parameters (a counterexample then reads as data, not code). */
function described(parameters: unknown, make: ValueMaker): ValueMaker {
  return Object.assign(make, { [fc.toStringMethod]: () => JSON.stringify(parameters) });
}

/** Header-safe characters (what Node lets a client send): HTAB, visible ASCII, space, obs-text. */
const headerChar = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)) },
  { weight: 4, arbitrary: fc.constantFrom('=', ';', ' ', ',', 'v', 'f', 's', 'h', '1', '0', '\t') },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)) },
);

const TOKENS = ['v=1', 'v=2', 'fs=', 'h=', ';', '; ', ' ', '=', ',', '\t', '200', '256', '0', '-1', 'AAAAAAAA', '////////', '+', '/', '==', 'FS', 'H', 'V', '\u00a0'];

const randomSyntax: fc.Arbitrary<ValueMaker> = fc.oneof(
  fc.string({ unit: headerChar, maxLength: 300 }).map((value) => described({ value }, () => ({ value, origin: null }))),
  fc
    .array(fc.oneof(fc.constantFrom(...TOKENS), fc.nat(70_000_000).map(String), fc.base64String({ maxLength: 80 })), { maxLength: 16 })
    .map((tokens) => described({ value: tokens.join('') }, () => ({ value: tokens.join(''), origin: null }))),
);

type FieldEdit =
  | { edit: 'shuffle'; seed: number }
  | { edit: 'space'; field: number; where: number; text: string }
  | { edit: 'upper'; field: number }
  | { edit: 'drop'; field: number }
  | { edit: 'duplicate'; field: number }
  | { edit: 'extra'; name: string; value: string; at: number }
  | { edit: 'empty-fields'; at: number; text: string }
  | { edit: 'version'; value: string }
  | { edit: 'size'; value: string }
  | { edit: 'hashes'; change: HashChange }
  | { edit: 'separator'; text: string }
  | { edit: 'two-lines' };

type HashChange =
  | { change: 'cut'; length: number }
  | { change: 'junk'; at: number; text: string }
  | { change: 'repeat'; length: number }
  | { change: 'pad' }
  | { change: 'url-safe' }
  | { change: 'lower' }
  | { change: 'random'; bytes: number; seed: number };

const fieldIndex = fc.nat(2);
const ows = fc.constantFrom(' ', '  ', '\t', ' \t ', '');
const fieldEdit: fc.Arbitrary<FieldEdit> = fc.oneof(
  fc.record({ edit: fc.constant('shuffle' as const), seed: fc.nat() }),
  { weight: 2, arbitrary: fc.record({ edit: fc.constant('space' as const), field: fieldIndex, where: fc.nat(3), text: ows }) },
  fc.record({ edit: fc.constant('upper' as const), field: fieldIndex }),
  fc.record({ edit: fc.constant('drop' as const), field: fieldIndex }),
  fc.record({ edit: fc.constant('duplicate' as const), field: fieldIndex }),
  fc.record({ edit: fc.constant('extra' as const), name: fc.constantFrom('x', 'm', 'n', 'bs', 'fs2', 'hh', 'vv'), value: fc.string({ unit: headerChar, maxLength: 12 }), at: fc.nat(3) }),
  fc.record({ edit: fc.constant('empty-fields' as const), at: fc.nat(3), text: fc.constantFrom(';', ';;', '; ;', ' ; ') }),
  fc.record({ edit: fc.constant('version' as const), value: fc.constantFrom('1', '2', '0', '01', '', 'one', '1.0', ' 1', '1 ', '+1', '\u00a01') }),
  {
    weight: 3,
    arbitrary: fc.record({
      edit: fc.constant('size' as const),
      value: fc.oneof(
        fc.constantFrom('0', '-1', '-200', '00000', '1', '255', '256', '257', String(64 * 1024 * 1024), String(64 * 1024 * 1024 + 1), '9'.repeat(400), 'abc', '0x1f', '1e3', '12abc', '', '1.5', '+200', ' 200', '\u00a0200'),
        fc.nat(80_000_000).map(String),
        // Relative to the real fs, resolved at make time; '0fs' zero-padded (a lenient decimal parse reads the same number).
        fc.integer({ min: -3, max: 3 }).map((delta) => `fs${delta >= 0 ? '+' : ''}${delta}`),
        fc.integer({ min: -1, max: 1 }).map((delta) => `0fs${delta >= 0 ? '+' : ''}${delta}`),
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      edit: fc.constant('hashes' as const),
      change: fc.oneof(
        fc.record({ change: fc.constant('cut' as const), length: fc.nat(430) }),
        fc.record({ change: fc.constant('junk' as const), at: fc.nat(430), text: fc.constantFrom('!', '=', ' ', '-', '_', '.', '\t', '%3D', '\u00ff', 'AAAA') }),
        fc.record({ change: fc.constant('repeat' as const), length: fc.integer({ min: 428, max: 6000 }) }),
        fc.record({ change: fc.constant('pad' as const) }),
        fc.record({ change: fc.constant('url-safe' as const) }),
        fc.record({ change: fc.constant('lower' as const) }),
        fc.record({ change: fc.constant('random' as const), bytes: fc.nat(2200), seed: fc.nat() }),
      ),
    }),
  },
  fc.record({ edit: fc.constant('separator' as const), text: fc.constantFrom(',', ', ', ' ', ';', ' ;', '&', '\t;\t') }),
  fc.record({ edit: fc.constant('two-lines' as const) }),
);

function changeHashes(h: string, change: HashChange): string {
  switch (change.change) {
    case 'cut':
      return h.slice(0, change.length);
    case 'junk':
      return h.slice(0, change.at) + change.text + h.slice(change.at);
    case 'repeat': {
      const unit = h || 'A'; // an earlier edit may have cut h to nothing
      return unit.repeat(Math.ceil(change.length / unit.length)).slice(0, change.length);
    }
    case 'pad':
      return `${h}=`;
    case 'url-safe':
      return h.replace(/\+/g, '-').replace(/\//g, '_');
    case 'lower':
      return h.toLowerCase();
    case 'random':
      return encodeBase64Unpadded(randomBytes(seededRandom(change.seed), change.bytes));
  }
}

/** Near-valid: an honest header of the page's old version, then edited. */
function nearValid(edits: FieldEdit[]): ValueMaker {
  return described({ nearValid: edits }, (page) => {
    const origin = { base: page.old, blockCount: 40 };
    const honest = ifBlockOf(page.old, 40);
    const h = honest.split('h=')[1];
    let fields: Array<[string, string]> = [
      ['v', '1'],
      ['fs', String(page.old.length)],
      ['h', h],
    ];
    const spaces = new Map<string, string>();
    let separator = '; ';
    let twoLines = false;
    for (const edit of edits) {
      const i = 'field' in edit ? edit.field % Math.max(fields.length, 1) : 0;
      switch (edit.edit) {
        case 'shuffle':
          fields = shuffled(fields, edit.seed);
          break;
        case 'space':
          spaces.set(`${i}:${edit.where}`, edit.text);
          break;
        case 'upper':
          if (fields[i]) fields[i] = [fields[i][0].toUpperCase(), fields[i][1]];
          break;
        case 'drop':
          fields.splice(i, 1);
          break;
        case 'duplicate':
          if (fields[i]) fields.splice(i, 0, fields[i]);
          break;
        case 'extra':
          fields.splice(edit.at % (fields.length + 1), 0, [edit.name, edit.value]);
          break;
        case 'empty-fields':
          fields.splice(edit.at % (fields.length + 1), 0, ['', edit.text]);
          break;
        case 'version':
          fields = fields.map(([name, value]) => [name, name.toLowerCase() === 'v' ? edit.value : value]);
          break;
        case 'size': {
          const relative = /^(0?)fs([+-]\d+)$/.exec(edit.value);
          const value = relative ? `${relative[1] ? '000' : ''}${page.old.length + Number(relative[2])}` : edit.value;
          fields = fields.map(([name, old]) => [name, name.toLowerCase() === 'fs' ? value : old]);
          break;
        }
        case 'hashes':
          fields = fields.map(([name, value]) => [name, name.toLowerCase() === 'h' ? changeHashes(value, edit.change) : value]);
          break;
        case 'separator':
          separator = edit.text;
          break;
        case 'two-lines':
          twoLines = true;
          break;
      }
    }
    const text = fields
      .map(([name, value], i) => (name === '' ? value : `${spaces.get(`${i}:0`) ?? ''}${name}${spaces.get(`${i}:1`) ?? ''}=${spaces.get(`${i}:2`) ?? ''}${value}${spaces.get(`${i}:3`) ?? ''}`))
      .join(separator);
    return { value: twoLines ? [text, honest] : text, origin };
  });
}

const oneByteBlocks: fc.Arbitrary<ValueMaker> = fc.nat().map((seed) =>
  described({ oneByteBlocks: seed }, () => {
    // fs = 256 and the CRCs of the 256 one-byte values: bs = 1, every byte of any body a match (§5).
    const base = Buffer.from(shuffled([...Array(256).keys()], seed));
    return hostile({ base, blockCount: 256 });
  }),
);

const commonGramBlocks: fc.Arbitrary<ValueMaker> = fc
  .record({ length: fc.constantFrom(4, 5, 5, 5, 6), count: fc.integer({ min: 1, max: 256 }) })
  .map(({ length, count }) =>
    described({ commonGrams: { length, count } }, (page) => {
      // The page's most common n-grams as blocks (bs = length): a match every few bytes.
      const grams = gramsOf(page, length);
      const base = Buffer.concat(Array.from({ length: count }, (_, i) => (grams.length ? grams[i % grams.length] : Buffer.alloc(length))));
      return hostile({ base, blockCount: count });
    }),
  );

const HUGE_SIZES = ['page', 'page-1', 'half', 128 * 1024 - 1, 128 * 1024, 128 * 1024 + 1, 4 * 1024 * 1024, 64 * 1024 * 1024] as const;
const oneHugeBlock: fc.Arbitrary<ValueMaker> = fc.constantFrom(...HUGE_SIZES).map((choice) =>
  described({ oneHugeBlock: choice }, (page) => {
    // n = 1: the whole base is one block, the matcher's window as wide as it.
    const source = page.body.length ? page.body : page.old;
    const size = choice === 'page' ? source.length : choice === 'page-1' ? source.length - 1 : choice === 'half' ? Math.max(1, source.length >> 1) : choice;
    return hostile({ base: hugeBase(page, Math.max(1, size)), blockCount: 1 });
  }),
);

const equalHashes: fc.Arbitrary<ValueMaker> = fc
  .record({ blockSize: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(256, 1000, 4096)), count: fc.integer({ min: 2, max: 256 }), offset: fc.nat() })
  .map((parameters) =>
    described({ equalHashes: parameters }, (page) => {
      // Every block the same bytes, so every hash equal: many candidates per window (§5: must stay linear).
      const block = pageBytes(page.body, parameters.offset % Math.max(page.body.length, 1), parameters.blockSize);
      return hostile({ base: Buffer.concat(Array.from({ length: parameters.count }, () => block)), blockCount: parameters.count });
    }),
  );

const shortBlocks: fc.Arbitrary<ValueMaker> = fc
  .record({ blockSize: fc.integer({ min: 1, max: 8 }), count: fc.integer({ min: 1, max: 256 }), seed: fc.nat() })
  .map((parameters) =>
    described({ shortBlocks: parameters }, (page) => {
      // Short page substrings as blocks: matches alternating with short literal runs, each a section header (§5).
      const random = seededRandom(parameters.seed);
      const parts = Array.from({ length: parameters.count }, () => pageBytes(page.body, Math.floor(random() * Math.max(page.body.length, 1)), parameters.blockSize));
      return hostile({ base: Buffer.concat(parts), blockCount: parameters.count });
    }),
  );

const oversizedHashes: fc.Arbitrary<ValueMaker> = fc
  .record({ length: fc.integer({ min: 4000, max: 60_000 }), seed: fc.nat() })
  .map((parameters) =>
    described({ oversizedHashes: parameters }, () => {
      // h far over the 4 KiB header limit (and up to 7,500 hashes).
      const h = encodeBase64Unpadded(randomBytes(seededRandom(parameters.seed), Math.ceil((parameters.length * 3) / 4))).slice(0, parameters.length);
      return { value: `v=1; fs=1000000; h=${h}`, origin: null };
    }),
  );

/**
 * XOR of two 9-byte strings with the same CRC-64: the generator itself,
 * x^64 + x^4 + x^3 + x + 1, in the reflected bit order (§1). With init 0 and
 * no final xor the CRC is linear, so any window changed by it (at any byte
 * offset) keeps its CRC: "ds what o" and "ts what t" collide.
 */
const GENERATOR_PATTERN = [0x10, 0, 0, 0, 0, 0, 0, 0, 0x1b];

const crcCollisions: fc.Arbitrary<ValueMaker> = fc
  .record({ at: fc.nat() })
  .map((parameters) =>
    described({ crcCollision: parameters }, (page) => {
      // The client's base is the page's old version with one window changed
      // by the generator: its 40 block CRCs are those of the old version, so
      // the If-Block is an honest one and its delta pays (the server answers
      // with it, not with the plain body: issue 9's never-worse rule), but
      // the changed block is not in the page although it has the CRC of a
      // page window. The server (which cannot see the base) sends `B`, the
      // client's SHA-1 check refuses the rebuild.
      const base = Buffer.from(page.old);
      if (base.length >= GENERATOR_PATTERN.length) {
        const at = parameters.at % (base.length - GENERATOR_PATTERN.length + 1);
        GENERATOR_PATTERN.forEach((bits, i) => (base[at + i] ^= bits));
      }
      return hostile({ base, blockCount: 40 });
    }),
  );

const honestValue: fc.Arbitrary<ValueMaker> = fc.constant(described('honest', (page: Page) => hostile({ base: page.old, blockCount: 40 })));

export const VALUE_CLASSES = {
  'random syntax': randomSyntax,
  'near-valid': fc.array(fieldEdit, { minLength: 1, maxLength: 4 }).map(nearValid),
  'h over 4 KiB': oversizedHashes,
  'fs=256, 1-byte blocks': oneByteBlocks,
  'common n-grams as blocks': commonGramBlocks,
  'n=1, one huge block': oneHugeBlock,
  'all hashes equal': equalHashes,
  'short page substrings': shortBlocks,
  'CRC-64 collisions': crcCollisions,
  'honest (control)': honestValue,
} as const;

export type ValueClass = keyof typeof VALUE_CLASSES;

/** How often each class comes up (random and near-valid most, the control least). */
export const CLASS_WEIGHTS: Record<ValueClass, number> = {
  'random syntax': 4,
  'near-valid': 6,
  'h over 4 KiB': 1,
  'fs=256, 1-byte blocks': 2,
  'common n-grams as blocks': 3,
  'n=1, one huge block': 1,
  'all hashes equal': 2,
  'short page substrings': 3,
  'CRC-64 collisions': 1,
  'honest (control)': 1,
};
