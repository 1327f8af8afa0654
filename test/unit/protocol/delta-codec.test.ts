import { createHash } from 'node:crypto';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { createTwinEngine } from '../../../src/core/crc64-twin';
import { getDefaultEngine } from '../../../src/core/embedded-core';
import { DeltaEncoder } from '../../../src/protocol/delta-encoder';
import { formatIfBlock, parseIfBlock } from '../../../src/protocol/if-block';
import { fflateCompressor, pakoCompressor } from '../../../src/protocol/deflaters';
import { DeltaDecoder, INFLATE_FREE_BYTES, MAX_INFLATE_RATIO, inflateAllowance } from '../../../src/protocol/delta-decoder';
import { CrcsyncError } from '../../../src/protocol/errors';
import { nodeSha1 } from '../../../src/server/node-codecs';
import { readSections, sectionBoundaries, sectionRuns } from '../../helpers/delta-sections';
import { mutate, randomBytes, randomSplit, seededRandom } from '../../helpers/random';
import { decodeDelta, encodeDelta } from './codec-helpers';

const sha1 = (data: Uint8Array) => createHash('sha1').update(data).digest();
const section = (...parts: Array<number[] | Uint8Array>) => Buffer.concat(parts.map((part) => Buffer.from(part)));
const digestOf = (data: Uint8Array) => section([0x53], sha1(data));

function page(seed: number, size: number): Uint8Array {
  const random = seededRandom(seed);
  const words = ['<div class="story">', 'crcsync', 'delta', '</div>\n', 'news', 'the', 'browser', '<a href="/x">', 'cache'];
  let text = '';
  while (text.length < size) text += words[Math.floor(random() * words.length)] + (random() < 0.3 ? ' ' + Math.floor(random() * 1000) : ' ');
  return new TextEncoder().encode(text.slice(0, size));
}

describe('delta encoder (PROTOCOL.md §3, §4)', () => {
  const base = page(1, 20000);

  it('identical bodies encode as 40 B sections + S = 101 bytes', () => {
    const delta = encodeDelta(base, base);
    expect(delta.length).toBe(101);
    expect(readSections(delta).slice(0, 40)).toEqual([...Array(40).keys()].map((index) => ({ kind: 'B', index })));
  });

  it('an empty new body is S + SHA-1 of nothing = 21 bytes', () => {
    const delta = encodeDelta(base, new Uint8Array(0));
    expect(Buffer.from(delta).equals(digestOf(new Uint8Array(0)))).toBe(true);
  });

  it('a small edit costs a few hundred bytes and round-trips', () => {
    const body = mutate(seededRandom(2), base, 3);
    const delta = encodeDelta(base, body);
    expect(delta.length).toBeLessThan(800);
    expect(Buffer.from(decodeDelta(base, [delta]) as Uint8Array).equals(Buffer.from(body))).toBe(true);
  });

  it('each maximal literal run is one complete zlib stream (header 78 9C)', () => {
    const body = Buffer.concat([Buffer.from('NEW HEADER '), base.subarray(0, 10000), Buffer.from('MIDDLE'), base.subarray(10000)]);
    const sections = readSections(encodeDelta(base, body));
    const zs = sections.filter((s) => s.kind === 'Z');
    expect(zs.length).toBeGreaterThanOrEqual(2);
    for (const z of zs) if (z.kind === 'Z') expect([...z.raw.subarray(0, 2)]).toEqual([0x78, 0x9c]);
    // never two literal runs back to back: a run is maximal
    for (let i = 1; i < sections.length; i++) expect(sections[i - 1].kind === 'Z' && sections[i].kind === 'Z').toBe(false);
  });

  it('gives the same sections whatever the chunking, with either engine and either deflater', () => {
    const random = seededRandom(3);
    for (let round = 0; round < 6; round++) {
      const body = mutate(random, base, 1 + round * 5);
      const reference = encodeDelta(base, body, [body], { compressor: pakoCompressor });
      const pieces = randomSplit(random, body, 30);
      expect(Buffer.from(encodeDelta(base, body, pieces, { compressor: pakoCompressor })).equals(Buffer.from(reference))).toBe(true);
      expect(sectionRuns(encodeDelta(base, body, pieces, { compressor: fflateCompressor }))).toEqual(sectionRuns(reference));
      expect(sectionRuns(encodeDelta(base, body, pieces, { engine: createTwinEngine() }))).toEqual(sectionRuns(reference));
    }
  });

  it('streams: output for a long no-match body starts before the input ends', () => {
    const random = seededRandom(4);
    const engineBase = randomBytes(random, 5000);
    const out: number[] = [];
    const engine = getDefaultEngine();
    const encoder = new DeltaEncoder(parseIfBlock(formatIfBlock(engineBase, engine)!), { engine }, (chunk) => out.push(chunk.length));
    for (let i = 0; i < 20; i++) encoder.push(randomBytes(random, 64 * 1024), false);
    const beforeEnd = out.reduce((a, b) => a + b, 0);
    expect(beforeEnd).toBeGreaterThan(512 * 1024);
    encoder.push(new Uint8Array(0), true);
  });
});

describe('delta decoder (PROTOCOL.md §3, §5)', () => {
  const base = page(5, 8000); // bs 200
  const block = (i: number) => base.subarray(i * 200, i * 200 + 200);

  it('rebuilds B, Z and L sections, two Z in a row, and verifies the digest', () => {
    const body = Buffer.concat([block(3), Buffer.from('hello '), Buffer.from('world'), Buffer.from('raw'), block(39)]);
    const delta = section([0x42, 3], [0x5a], deflateSync(Buffer.from('hello ')), [0x5a], deflateSync(Buffer.from('world')), [0x4c, 0, 0, 0, 3], Buffer.from('raw'), [0x42, 39], digestOf(body));
    expect(Buffer.from(decodeDelta(base, [delta]) as Uint8Array).equals(body)).toBe(true);
  });

  it('gives the same result for every split of a delta, at random points and at every section boundary ±1', () => {
    const body = mutate(seededRandom(6), base, 12);
    const delta = encodeDelta(base, body);
    const random = seededRandom(7);
    for (let i = 0; i < 30; i++) {
      expect(Buffer.from(decodeDelta(base, randomSplit(random, delta, 40)) as Uint8Array).equals(Buffer.from(body))).toBe(true);
    }
    for (const point of sectionBoundaries(delta)) {
      const result = decodeDelta(base, [delta.subarray(0, point), delta.subarray(point)], { sha1: nodeSha1 });
      expect(Buffer.from(result as Uint8Array).equals(Buffer.from(body))).toBe(true);
    }
    const bytewise = [...delta].map((byte) => Uint8Array.of(byte));
    expect(Buffer.from(decodeDelta(base, bytewise) as Uint8Array).equals(Buffer.from(body))).toBe(true);
  });

  const body = Buffer.concat([block(1), Buffer.from('literal')]);
  const good = section([0x42, 1], [0x5a], deflateSync(Buffer.from('literal')), digestOf(body));
  const zlibStart = 3;

  it.each([
    ['an unknown section byte', section([0x42, 1, 0x48], good.subarray(2)), 'DELTA_UNKNOWN_SECTION'],
    ['a block index out of range', section([0x42, 40], good.subarray(2)), 'DELTA_BLOCK_OUT_OF_RANGE'],
    ['a wrong digest', section(good.subarray(0, -1), [good[good.length - 1] ^ 1]), 'DELTA_DIGEST_MISMATCH'],
    ['a missing S', good.subarray(0, -21), 'DELTA_MISSING_DIGEST'],
    ['bytes after S', section(good, [0x0a, 0x42]), 'DELTA_TRAILING_DATA'],
    ['a second S', section(good, digestOf(body)), 'DELTA_TRAILING_DATA'],
    ['a body ending inside S', good.subarray(0, -5), 'DELTA_TRUNCATED'],
    ['a body ending after B', section([0x42]), 'DELTA_TRUNCATED'],
    ['a body ending inside a zlib stream', good.subarray(0, zlibStart + 6), 'DELTA_TRUNCATED'],
    ['a body ending inside L', section([0x4c, 0, 0, 0, 9], Buffer.from('abc')), 'DELTA_TRUNCATED'],
    ['raw deflate instead of zlib', section([0x42, 1, 0x5a], deflateRawSync(Buffer.from('literal')), digestOf(body)), 'DELTA_ZLIB'],
    ['a corrupted Adler-32', section(good.subarray(0, -22), [good[good.length - 22] ^ 0xff], good.subarray(-21)), 'DELTA_ZLIB'],
    ['a gzip stream instead of zlib', section([0x42, 1, 0x5a], gzipSync(Buffer.from('literal')), digestOf(body)), 'DELTA_ZLIB'],
    ['an empty delta', new Uint8Array(0), 'DELTA_MISSING_DIGEST'],
  ])('refuses %s and releases nothing', (_what, delta, code) => {
    expect(decodeDelta(base, [delta])).toBe(code);
    // the same in 1-byte chunks
    expect(decodeDelta(base, [...delta].map((byte) => Uint8Array.of(byte)))).toBe(code);
  });

  it('caps the rebuilt size, even for a zlib bomb', () => {
    const bomb = section([0x5a], deflateSync(Buffer.alloc(50 * 1024 * 1024)), digestOf(Buffer.alloc(0)));
    expect(bomb.length).toBeLessThan(100 * 1024);
    // The ratio guard stops the bomb long before the size cap would.
    expect(decodeDelta(base, [bomb])).toBe('DELTA_INFLATE_RATIO');
    expect(decodeDelta(base, [section([0x4c, 0xff, 0xff, 0xff, 0xff])])).toBe('DELTA_TOO_LARGE');
    const blocks = section(...Array.from({ length: 200 }, () => [0x42, 39]));
    expect(decodeDelta(base, [blocks], { maxRebuiltBytes: 10000 })).toBe('DELTA_TOO_LARGE');
    // An honestly compressed literal run past the cap.
    const text = page(8, 20000);
    expect(decodeDelta(base, [section([0x5a], deflateSync(text), digestOf(text))], { maxRebuiltBytes: 10000 })).toBe('DELTA_TOO_LARGE');
  });

  describe('decompression bombs (§5: inflate output bounded by the delta bytes received)', () => {
    const bombOf = (literalBytes: number) => section([0x5a], deflateSync(Buffer.alloc(literalBytes)), digestOf(Buffer.alloc(literalBytes)));

    it('stops a bomb after reading only its first KiBs, inside the Z section', () => {
      const bomb = bombOf(30 * 1024 * 1024); // under the 32 MiB size cap: only the ratio stops it
      expect(bomb.length).toBeGreaterThan(20 * 1024);
      const decoder = new DeltaDecoder(base);
      let pushed = 0;
      let code: string | null = null;
      for (let at = 0; at < bomb.length && code === null; at += 1024) {
        const chunk = bomb.subarray(at, at + 1024);
        try {
          decoder.push(chunk, at + 1024 >= bomb.length);
        } catch (error) {
          code = (error as CrcsyncError).code;
        }
        pushed += chunk.length;
      }
      expect(code).toBe('DELTA_INFLATE_RATIO');
      // Zeros deflate about 1030:1: the allowance (1 MiB + 64 x bytes read) is passed within the second KiB.
      expect(pushed).toBeLessThanOrEqual(2 * 1024);
      expect(inflateAllowance(pushed)).toBeLessThan(2 * 1024 * 1024);
      expect(decoder.verifiedBody).toBeNull();
    });

    it('gives the same verdict however the bomb is split', () => {
      const bomb = bombOf(4 * 1024 * 1024);
      expect(decodeDelta(base, [bomb])).toBe('DELTA_INFLATE_RATIO');
      expect(decodeDelta(base, randomSplit(seededRandom(11), bomb, 50))).toBe('DELTA_INFLATE_RATIO');
    });

    it('lets honest, very repetitive literals through: padding within the free allowance, text at any size', () => {
      const padding = Buffer.concat([block(0), Buffer.alloc(INFLATE_FREE_BYTES - 4096, 0x20), block(39)]);
      const delta = section([0x42, 0], [0x5a], deflateSync(Buffer.alloc(INFLATE_FREE_BYTES - 4096, 0x20)), [0x42, 39], digestOf(padding));
      expect(Buffer.from(decodeDelta(base, [delta]) as Uint8Array).equals(padding)).toBe(true);
      // A 3 MiB literal of web-like text (about 5:1) in 1-byte chunks: the allowance grows with every byte read.
      const text = page(9, 3 * 1024 * 1024);
      const textDelta = section([0x5a], deflateSync(text, { level: 6 }), digestOf(text));
      expect(textDelta.length * MAX_INFLATE_RATIO).toBeGreaterThan(text.length);
      expect(Buffer.from(decodeDelta(base, randomSplit(seededRandom(12), textDelta, 2000)) as Uint8Array).equals(Buffer.from(text))).toBe(true);
    });

    it('counts every Z section of the delta together', () => {
      // Each section alone is within the free allowance; together they are a bomb.
      const piece = deflateSync(Buffer.alloc(512 * 1024));
      const literal = Buffer.alloc(8 * 512 * 1024);
      const delta = section(...Array.from({ length: 8 }, () => section([0x5a], piece)), digestOf(literal));
      expect(decodeDelta(base, [delta])).toBe('DELTA_INFLATE_RATIO');
    });
  });

  it('stays failed after an error and refuses pushes after the final chunk', () => {
    const decoder = new DeltaDecoder(base);
    expect(() => decoder.push(Uint8Array.of(0x99))).toThrow(CrcsyncError);
    expect(() => decoder.push(good, true)).toThrow(/not a section tag/);
    const done = new DeltaDecoder(base);
    done.push(good, true);
    expect(() => done.push(good, true)).toThrow(/after the final chunk/);
  });

  it('a failure of its own is DECODER_INTERNAL, never reported as a zlib error of the delta', () => {
    const failingSha1 = () => ({
      update() {
        throw new RangeError('out of memory while hashing');
      },
      digest(): Uint8Array {
        throw new RangeError('unreachable');
      },
    });
    const decoder = new DeltaDecoder(base, { sha1: failingSha1 });
    expect(() => decoder.push(good, true)).toThrow(expect.objectContaining({ code: 'DECODER_INTERNAL' }));
    expect(() => decoder.push(good, true)).toThrow(expect.objectContaining({ code: 'DECODER_INTERNAL' }));
  });

  it('refuses a base too small for its block count', () => {
    expect(() => new DeltaDecoder(new Uint8Array(39))).toThrow(expect.objectContaining({ code: 'BASE_UNUSABLE' }));
  });
});
