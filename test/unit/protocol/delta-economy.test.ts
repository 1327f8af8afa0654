// The delta encoder's economy guard (PROTOCOL.md §5: "encoding must pay,
// whatever the client sent"): hostile If-Blocks get a valid delta no bigger
// than the body plus a small constant, with a bounded number of sections,
// while honest deltas stay exactly the greedy §4 output. Each hostile case
// also runs with the guard off (the encoder as it was before issue 8) to
// show the case really breaks the promise there.

import fc from 'fast-check';
import { getDefaultEngine } from '../../../src/core/embedded-core';
import { CompressorFactory, fflateCompressor, pakoCompressor } from '../../../src/protocol/deflaters';
import { DeltaEncoder } from '../../../src/protocol/delta-encoder';
import {
  ECONOMY_BYTES_PER_BLOCK,
  ECONOMY_BYTES_PER_RUN,
  ECONOMY_FREE_RUNS,
  ECONOMY_SLACK_BYTES,
  Z_SECTION_OVERHEAD_BYTES,
  zSectionBound,
} from '../../../src/protocol/delta-sections';
import { formatIfBlock, formatIfBlockFromHashes, parseIfBlock } from '../../../src/protocol/if-block';
import { nodeSha1 } from '../../../src/server/node-codecs';
import { readSections } from '../../helpers/delta-sections';
import { mutate, newsText, randomBytes, randomSplit, seededRandom } from '../../helpers/random';
import { decodeDelta } from './codec-helpers';

const engine = getDefaultEngine();
/** What a hostile delta may exceed its body by: the slack, one Z section's overhead, the digest (and rounding). */
const SMALL_CONSTANT = ECONOMY_SLACK_BYTES + Z_SECTION_OVERHEAD_BYTES + 64;


function hashesOf(blocks: Uint8Array[]): Uint8Array {
  const hashes = new Uint8Array(blocks.length * 8);
  blocks.forEach((block, i) => hashes.set(engine.blockHashes(block, 1), i * 8));
  return hashes;
}

function frequentGrams(body: Buffer, width: number, count = 256): Buffer[] {
  const seen = new Map<string, number>();
  const text = body.toString('latin1');
  for (let i = 0; i + width <= text.length; i++) seen.set(text.slice(i, i + width), (seen.get(text.slice(i, i + width)) ?? 0) + 1);
  return [...seen.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([gram]) => Buffer.from(gram, 'latin1'));
}

/** 256 distinct `width`-byte pieces of text, each followed by `gap` (bytes that never match), scrambled, up to `bytes`. */
function alternating(text: Buffer, width: number, gap: number, bytes: number): { pieces: Buffer[]; body: Buffer } {
  const pieces: Buffer[] = [];
  const seen = new Set<string>();
  for (let at = 0; pieces.length < 256; at += width + 13) {
    const piece = text.subarray(at, at + width);
    if (piece.includes(0x7e) || seen.has(piece.toString('latin1'))) continue;
    seen.add(piece.toString('latin1'));
    pieces.push(piece);
  }
  const body = Buffer.alloc(bytes);
  let at = 0;
  for (let i = 0; at < bytes; i++) {
    at += pieces[(i * 97) % 256].copy(body, at);
    for (let j = 0; j < gap && at < bytes; j++) body[at++] = 0x7e;
  }
  return { pieces, body };
}

interface Hostile {
  name: string;
  /** The client's cached body: block i of it has hash i. */
  base: Uint8Array;
  body: Buffer;
}

const text = newsText(1, 512 * 1024);

function hostileCases(): Hostile[] {
  const oneByte = Array.from({ length: 256 }, (_, value) => Uint8Array.of(value));
  const grams5 = frequentGrams(text.subarray(0, 128 * 1024), 5);
  const alt16 = alternating(text, 16, 1, text.length);
  const alt128 = alternating(text, 128, 1, text.length);
  const only8 = alternating(text, 8, 0, text.length);
  return [
    { name: 'bs = 1: fs = 256 and the CRCs of the 256 one-byte values', base: Buffer.concat(oneByte), body: text },
    { name: 'bs = 5: the 256 most frequent 5-grams of the body', base: Buffer.concat(grams5), body: text },
    { name: '256 equal hashes (the most frequent 5-gram)', base: Buffer.concat(Array(256).fill(grams5[0])), body: text },
    { name: 'matches alternating with 1-byte literals, 16-byte blocks (byte bound)', base: Buffer.concat(alt16.pieces), body: alt16.body },
    { name: 'matches alternating with 1-byte literals, 128-byte blocks (run allowance)', base: Buffer.concat(alt128.pieces), body: alt128.body },
    { name: 'a match every 8 bytes, no literals (block allowance)', base: Buffer.concat(only8.pieces), body: only8.body },
  ];
}

function encode(base: Uint8Array, body: Uint8Array, options: { compressor?: CompressorFactory; economyGuard?: boolean; pieces?: Uint8Array[] } = {}) {
  const ifBlock = parseIfBlock(formatIfBlockFromHashes(base.length, hashesOf(blockList(base))));
  const out: Uint8Array[] = [];
  const encoder = new DeltaEncoder(ifBlock, { engine, sha1: nodeSha1, compressor: options.compressor ?? pakoCompressor, economyGuard: options.economyGuard }, (chunk) => out.push(chunk));
  const pieces = options.pieces ?? [body];
  pieces.forEach((piece, i) => encoder.push(piece, i === pieces.length - 1));
  return { delta: Buffer.concat(out), stats: encoder.stats, blockCount: ifBlock.layout.blockCount };
}

/** The 256 blocks of a hostile base (each case's base is 256 equal-sized blocks). */
function blockList(base: Uint8Array): Uint8Array[] {
  const size = base.length / 256;
  return Array.from({ length: 256 }, (_, i) => base.subarray(i * size, (i + 1) * size));
}

function sectionCounts(delta: Uint8Array): { blocks: number; runs: number } {
  const sections = readSections(delta);
  return { blocks: sections.filter((s) => s.kind === 'B').length, runs: sections.filter((s) => s.kind === 'Z').length };
}

/** What the guard promises for a body of `length` bytes against n blocks. */
function withinPromise(delta: Uint8Array, length: number, blockCount: number): boolean {
  const { blocks, runs } = sectionCounts(delta);
  return (
    delta.length <= length + SMALL_CONSTANT &&
    blocks <= 2 * blockCount + length / ECONOMY_BYTES_PER_BLOCK &&
    runs <= ECONOMY_FREE_RUNS + length / ECONOMY_BYTES_PER_RUN + 1
  );
}

describe('economy guard on hostile If-Blocks (PROTOCOL.md §5)', () => {
  describe.each(hostileCases().map((hostile) => [hostile.name, hostile] as const))('%s', (_name, hostile) => {
    it.each([
      ['pako', pakoCompressor],
      ['fflate', fflateCompressor],
    ] as const)('%s: a delta that decodes exactly, no bigger than the body + a constant, with bounded sections', (_deflater, compressor) => {
      const { delta, stats, blockCount } = encode(hostile.base, hostile.body, { compressor });
      expect(Buffer.from(decodeDelta(hostile.base, [delta], { blockCount }) as Uint8Array).equals(hostile.body)).toBe(true);
      expect(withinPromise(delta, hostile.body.length, blockCount)).toBe(true);
      expect(stats.economyStopAt).not.toBeNull();
      // The bound the guard keeps is a true upper bound of what went out.
      expect(delta.length).toBeLessThanOrEqual(stats.boundBytes);
    });

    it('breaks that promise without the guard (the encoder before issue 8)', () => {
      const body = hostile.body.subarray(0, 128 * 1024); // enough to show it, and quick
      const { delta, stats, blockCount } = encode(hostile.base, body, { economyGuard: false });
      expect(stats.economyStopAt).toBeNull();
      expect(withinPromise(delta, body.length, blockCount)).toBe(false);
      expect(delta.length).toBeLessThanOrEqual(stats.boundBytes);
    });

    it('stops at the same place however the body is split (byte-identical with pako)', () => {
      const whole = encode(hostile.base, hostile.body);
      const random = seededRandom(hostile.body.length);
      const pieces = randomSplit(random, hostile.body, 40);
      const split = encode(hostile.base, hostile.body, { pieces });
      expect(split.stats.economyStopAt).toBe(whole.stats.economyStopAt);
      expect(split.delta.equals(whole.delta)).toBe(true);
    });
  });

  it('stops early: a hostile If-Block costs matching of at most a few KiB of the body', () => {
    for (const hostile of hostileCases()) {
      const { stats } = encode(hostile.base, hostile.body);
      // The byte bound trips within a few KiB; the run allowance after ~8 runs; the block allowance after ~530 blocks.
      expect(stats.economyStopAt!).toBeLessThan(8 * 1024);
    }
  });
});

describe('economy guard and honest clients', () => {
  const encodeHonest = (base: Uint8Array, body: Uint8Array, economyGuard: boolean) => {
    const ifBlock = parseIfBlock(formatIfBlock(base, engine)!);
    const out: Uint8Array[] = [];
    const encoder = new DeltaEncoder(ifBlock, { engine, compressor: pakoCompressor, sha1: nodeSha1, economyGuard }, (chunk) => out.push(chunk));
    encoder.push(body, true);
    return { delta: Buffer.concat(out), stats: encoder.stats };
  };

  it('gives the greedy §4 output, byte for byte, for revisits of pages of 2 KB .. 120 KB', () => {
    // A revisit: a few edits, more on a bigger page (at most 6 + 1 per 8 KiB,
    // so at most as many literal runs as ECONOMY_FREE_RUNS + 1 per 4 KiB allows).
    fc.assert(
      fc.property(
        fc.integer({ min: 2000, max: 120_000 }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: 6 + Math.floor(size / 8192) }), fc.integer({ min: 1, max: 2 ** 30 }))),
        ([size, edits, seed]) => {
          const base = newsText(seed, size);
          const body = mutate(seededRandom(seed + 1), base, edits);
          const guarded = encodeHonest(base, body, true);
          expect(guarded.stats.economyStopAt).toBeNull();
          expect(guarded.delta.equals(encodeHonest(base, body, false).delta)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('any edit of any page: the delta decodes exactly, and when the guard stops it is no bigger than the body + a constant', () => {
    // Heavily edited tiny pages (5-byte blocks, dozens of short runs) do not
    // pay: there the guard stops, as it does for a hostile client.
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 40_000 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 2 ** 30 }), (size, edits, seed) => {
        const base = newsText(seed, size);
        const body = Buffer.from(mutate(seededRandom(seed + 1), base, edits));
        const { delta, stats } = encodeHonest(base, body, true);
        expect(Buffer.from(decodeDelta(base, [delta]) as Uint8Array).equals(body)).toBe(true);
        expect(delta.length).toBeLessThanOrEqual(stats.boundBytes);
        if (stats.economyStopAt !== null) expect(delta.length).toBeLessThanOrEqual(body.length + SMALL_CONSTANT);
      }),
      { numRuns: 80 },
    );
    // A page of 254 bytes (bs = 6) with 8 edits is one such case.
    const base = newsText(10, 254);
    expect(encodeHonest(base, mutate(seededRandom(11), base, 8), true).stats.economyStopAt).not.toBeNull();
  });
});

describe('zSectionBound: the most a Z section takes on the wire', () => {
  // Z sections of every size class, incompressible (random), compressible
  // (text) and skewed (only bytes >= 144, the 9-bit fixed-Huffman codes):
  // the delta never exceeds the bound the scanner kept for it.
  const random = seededRandom(7);
  const literal = (length: number, kind: number) =>
    kind === 0 ? randomBytes(random, length) : kind === 1 ? newsText(length, length) : randomBytes(random, length, 112).map((byte) => byte + 144);

  it.each([
    ['pako', pakoCompressor],
    ['fflate', fflateCompressor],
  ] as const)('%s: holds for runs of 1 B .. 1 MiB, whole and in pieces', (_deflater, compressor) => {
    const base = randomBytes(seededRandom(8), 40 * 64);
    for (const length of [1, 2, 5, 17, 100, 300, 863, 1000, 2000, 5000, 16383, 16385, 40_000, 66_000, 131_073, 300_000, 1 << 20]) {
      for (const kind of [0, 1, 2]) {
        const body = literal(length, kind);
        const pieces = randomSplit(random, body, 12);
        const { delta, stats } = encodeAgainst(base, compressor, pieces);
        expect(delta.length).toBeLessThanOrEqual(stats.boundBytes);
        expect(stats.boundBytes).toBe(zSectionBound(length) + 21);
      }
    }
  });

  function encodeAgainst(base: Uint8Array, compressor: CompressorFactory, pieces: Uint8Array[]) {
    const out: Uint8Array[] = [];
    const encoder = new DeltaEncoder(parseIfBlock(formatIfBlock(base, engine)!), { engine, compressor, sha1: nodeSha1 }, (chunk) => out.push(chunk));
    pieces.forEach((piece, i) => encoder.push(piece, i === pieces.length - 1));
    return { delta: Buffer.concat(out), stats: encoder.stats };
  }
});
