// The encoder's side of the extension (docs/extensions.md): what it writes
// for the simple cases, that its plan depends on the body alone (not the
// chunking, not the deflater), where checkpoints go, and that D sections
// carry the dictionary the spec names. Read back by the independent
// reference decoder (test/helpers/ext-reference-decoder.ts).

import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { createTwinEngine } from '../../../src/core/crc64-twin';
import { getDefaultEngine } from '../../../src/core/embedded-core';
import { ExtDeltaEncoder, fflateDictionaryCompressor, pakoDictionaryCompressor } from '../../../src/protocol/ext-encoder';
import {
  DEFAULT_CHECKPOINT_POLICY,
  ENCODER_DICTIONARY_BYTES_PER_BODY_BYTE,
  ENCODER_DICTIONARY_FREE_BYTES,
  ExtSectionPlanner,
  MAX_PIECE_BYTES,
} from '../../../src/protocol/ext-sections';
import { MIN_CHECKPOINT_SPACING_BYTES } from '../../../src/protocol/ext-wire';
import { formatIfBlock, parseIfBlock } from '../../../src/protocol/if-block';
import { encodeDelta } from './codec-helpers';
import { adler32, referenceDecode, referenceSections } from '../../helpers/ext-reference-decoder';
import { decodeTracked, extEncode, nodeDictionaryCompressor, nodePrefixSha1, splitEvery } from '../../helpers/ext-codec';
import { mutate, newsText, randomBytes, randomSplit, seededRandom } from '../../helpers/random';

const sha1 = (data: Uint8Array) => createHash('sha1').update(data).digest();
const engine = getDefaultEngine();
const base = newsText(1, 30000);

/** Section tags and body ends, from the reference reading. */
const plan = (old: Uint8Array, delta: Uint8Array) => referenceSections(old, delta).map((section) => `${section.tag}${section.tag === 'C' ? `@${section.bodyEnd}` : ''}`);

describe('extension encoder: simple cases', () => {
  it('identical bodies: X 01, 40 B sections, S = 103 bytes, no checkpoint', () => {
    const delta = extEncode(base, base);
    expect(delta.length).toBe(103);
    expect([...delta.subarray(0, 4)]).toEqual([0x58, 0x01, 0x42, 0x00]);
    expect(plan(base, delta)).toEqual([...Array(40).fill('B'), 'S']);
  });

  it('an empty new body: X 01, S + SHA-1 of nothing = 23 bytes', () => {
    const delta = extEncode(base, new Uint8Array(0), []);
    expect(delta.equals(Buffer.concat([Buffer.from([0x58, 0x01, 0x53]), sha1(new Uint8Array(0))]))).toBe(true);
  });

  it('a literal at the start is Z (nothing rebuilt to be a dictionary); later ones are D with DICTID = Adler-32 of the last 32 KiB', () => {
    const body = Buffer.concat([Buffer.from('<!-- a new first line -->\n'), base.subarray(0, 20000), Buffer.from('<p>inserted paragraph with some words</p>'), base.subarray(20000)]);
    const delta = extEncode(base, body);
    const sections = referenceSections(base, delta);
    const literals = sections.filter((section) => section.tag === 'Z' || section.tag === 'D');
    expect(literals[0].tag).toBe('Z');
    expect(literals[0].bodyEnd - literals[0].added).toBe(0);
    for (const section of literals.slice(1)) {
      expect(section.tag).toBe('D');
      const stream = delta.subarray(section.at + 1, section.at + section.size);
      expect(stream[1] & 0x20).toBe(0x20);
      const start = section.bodyEnd - section.added;
      expect(stream.readUInt32BE(2)).toBe(adler32(body.subarray(Math.max(0, start - 32768), start)));
    }
    expect(referenceDecode(base, delta, { acceptExtension: true })).toMatchObject({ ok: true, body });
  });

  it('is never bigger than v=1 by more than its checkpoints, and smaller when the dictionary helps', () => {
    const random = seededRandom(2);
    // New paragraphs made of the page's own vocabulary: the dictionary knows them.
    const additions = Array.from({ length: 6 }, (_, i) => newsText(100 + i, 700));
    let body = Buffer.from(base);
    additions.forEach((addition, i) => {
      const at = 3000 + i * 4500;
      body = Buffer.concat([body.subarray(0, at), addition, body.subarray(at)]);
    });
    body = Buffer.from(mutate(random, body, 3));
    const v1 = encodeDelta(base, body);
    const ext = extEncode(base, body);
    const checkpoints = referenceSections(base, ext).filter((section) => section.tag === 'C').length;
    expect(ext.length).toBeLessThan(v1.length * 0.85);
    const random2 = seededRandom(3);
    const unrelated = randomBytes(random2, 20000);
    const extUnrelated = extEncode(base, unrelated);
    const checkpointsUnrelated = referenceSections(base, extUnrelated).filter((section) => section.tag === 'C').length;
    // Incompressible input: each D piece costs its header, DICTID and Adler-32, each checkpoint 21 bytes.
    expect(extUnrelated.length).toBeLessThanOrEqual(encodeDelta(base, unrelated).length + 2 + checkpointsUnrelated * (21 + 16));
    expect(checkpoints).toBeGreaterThanOrEqual(0);
  });
});

describe('extension encoder: a hostile If-Block cannot buy unbounded dictionary work', () => {
  it('after the free allowance, pieces get a dictionary only within 2 bytes per body byte; the rest go out as Z', () => {
    // 40 distinct 100-byte blocks; the body alternates a known block with 4100 new bytes: as many literal runs as
    // the economy guard allows (8 + one per 4 KiB), each of which could load a 32 KiB dictionary.
    const random = seededRandom(8);
    const blocks = Array.from({ length: 40 }, () => Buffer.from(randomBytes(random, 100)));
    const oldBody = Buffer.concat(blocks);
    const parts: Buffer[] = [];
    for (let i = 0; i < 150; i++) parts.push(blocks[i % 39], newsText(1000 + i, 4100));
    const body = Buffer.concat(parts);
    const ifBlock = parseIfBlock(formatIfBlock(oldBody, engine)!);
    const planner = new ExtSectionPlanner(ifBlock, { engine }, { onBlock: () => undefined, onLiteralPiece: () => undefined, onCheckpoint: () => undefined, onDigest: () => undefined });
    planner.push(body, true);
    const { stats } = planner;
    expect(stats.dictionaryPieces + stats.plainPieces).toBeGreaterThan(100);
    expect(stats.plainPieces).toBeGreaterThan(stats.dictionaryPieces);
    expect(stats.dictionaryBytes).toBeLessThanOrEqual(ENCODER_DICTIONARY_FREE_BYTES + ENCODER_DICTIONARY_BYTES_PER_BODY_BYTE * body.length);
    expect(decodeTracked(oldBody, [extEncode(oldBody, body)]).body!.equals(body)).toBe(true);
  });
});

describe('extension encoder: the plan depends on the body alone', () => {
  const random = seededRandom(4);
  const bodies = [
    mutate(random, base, 20),
    Buffer.concat([base.subarray(0, 4000), newsText(9, 70000), base.subarray(4000)]),
    Buffer.concat([newsText(10, 5000), base]),
    randomBytes(random, 50000),
  ];

  it.each(bodies.map((body, i) => [i, body] as const))('body %i: byte-identical at any chunking (pako); same sections with fflate, node zlib, the TS engine', (_i, body) => {
    const reference = extEncode(base, body);
    const sections = plan(base, reference);
    for (let round = 0; round < 4; round++) {
      const pieces = randomSplit(random, body, 40);
      expect(extEncode(base, body, pieces).equals(reference)).toBe(true);
      expect(plan(base, extEncode(base, body, pieces, { compressor: fflateDictionaryCompressor }))).toEqual(sections);
      expect(plan(base, extEncode(base, body, pieces, { compressor: nodeDictionaryCompressor, sha1: nodePrefixSha1 }))).toEqual(sections);
    }
    expect(extEncode(base, body, [body], { engine: createTwinEngine() }).equals(reference)).toBe(true);
    expect(extEncode(base, body, splitEvery(body, 1)).equals(reference)).toBe(true);
    expect(decodeTracked(base, [reference]).body!.equals(Buffer.from(body))).toBe(true);
  });

  it('streams: output for a long literal run starts before the input ends', () => {
    const out: number[] = [];
    const encoder = new ExtDeltaEncoder(parseIfBlock(formatIfBlock(base, engine)!), { engine }, (chunk) => out.push(chunk.length));
    const random2 = seededRandom(5);
    for (let i = 0; i < 16; i++) encoder.push(randomBytes(random2, 64 * 1024), false);
    expect(out.reduce((a, b) => a + b, 0)).toBeGreaterThan(512 * 1024);
    encoder.push(new Uint8Array(0), true);
  });
});

describe('extension encoder: checkpoints (DEFAULT_CHECKPOINT_POLICY)', () => {
  const checkpointEnds = (old: Uint8Array, delta: Uint8Array) => referenceSections(old, delta).filter((section) => section.tag === 'C').map((section) => section.bodyEnd);

  it('none where only B sections rebuild the body, however long', () => {
    const long = newsText(20, 400000);
    expect(checkpointEnds(long, extEncode(long, long))).toEqual([]);
  });

  it('inside a long literal run: first after 2 KiB, spacing doubling to 32 KiB, each piece at most 32 KiB', () => {
    const body = newsText(21, 200000);
    const delta = extEncode(base, body);
    const ends = checkpointEnds(base, delta);
    expect(ends.slice(0, 6)).toEqual([2048, 6144, 14336, 30720, 63488, 96256]);
    const gaps = ends.map((end, i) => end - (ends[i - 1] ?? 0));
    expect(Math.max(...gaps)).toBe(32768);
    for (const section of referenceSections(base, delta)) if (section.tag === 'D' || section.tag === 'Z') expect(section.added).toBeLessThanOrEqual(MAX_PIECE_BYTES);
    // Never right before S: the last checkpoint leaves something for S to verify.
    const sections = referenceSections(base, delta);
    expect(sections[sections.length - 2].tag).not.toBe('C');
  });

  it('before a literal run when enough B-rebuilt body waits; not after short literals', () => {
    // 20 unchanged KB, then 1500 new bytes, then the rest unchanged.
    const body = Buffer.concat([base.subarray(0, 20000), newsText(22, 1500), base.subarray(20000)]);
    const ends = checkpointEnds(base, extEncode(base, body));
    expect(ends[0]).toBe(19500); // the matched blocks before the run (bs = 750)
    // Then, with the run's 2250 literal bytes behind it, the next once the spacing (now 4 KiB) is reached: the first block end past 23596.
    expect(ends).toEqual([19500, 24000]);
    // A 100-byte edit only: under 1 KiB of literal bytes after the release before it.
    const small = Buffer.concat([base.subarray(0, 20000), Buffer.from('x'.repeat(100)), base.subarray(20100)]);
    expect(checkpointEnds(base, extEncode(base, small))).toEqual([19500]);
  });

  it('never closer than the 1 KiB the decoder requires, whatever the policy', () => {
    expect(DEFAULT_CHECKPOINT_POLICY.firstBytes).toBeGreaterThanOrEqual(MIN_CHECKPOINT_SPACING_BYTES);
    const ifBlock = parseIfBlock(formatIfBlock(base, engine)!);
    expect(() => new ExtSectionPlanner(ifBlock, { engine, checkpoints: { ...DEFAULT_CHECKPOINT_POLICY, firstBytes: 512 } }, null!)).toThrow(RangeError);
    const random = seededRandom(6);
    for (let round = 0; round < 10; round++) {
      const body = mutate(random, Buffer.concat([base, newsText(30 + round, 20000)]), 40);
      const ends = checkpointEnds(base, extEncode(base, body));
      ends.forEach((end, i) => expect(end - (ends[i - 1] ?? 0)).toBeGreaterThanOrEqual(MIN_CHECKPOINT_SPACING_BYTES));
    }
  });

  it('no checkpoints with checkpoints: null (measurements only)', () => {
    const body = newsText(23, 100000);
    expect(checkpointEnds(base, extEncode(base, body, [body], { checkpoints: null }))).toEqual([]);
  });

  it('D streams inflate with node:zlib given the dictionary the spec names', () => {
    const body = Buffer.concat([base.subarray(0, 10000), newsText(24, 50000)]);
    const delta = extEncode(base, body, [body], { compressor: fflateDictionaryCompressor });
    for (const section of referenceSections(base, delta)) {
      if (section.tag !== 'D') continue;
      const start = section.bodyEnd - section.added;
      const literal = inflateSync(delta.subarray(section.at + 1, section.at + section.size), { dictionary: body.subarray(Math.max(0, start - 32768), start) });
      expect(literal.equals(body.subarray(start, section.bodyEnd))).toBe(true);
    }
  });

  it('pako (byte-exact) and fflate give equally valid bodies', () => {
    const body = mutate(seededRandom(7), base, 30);
    for (const compressor of [pakoDictionaryCompressor, fflateDictionaryCompressor]) {
      expect(decodeTracked(base, splitEvery(extEncode(base, body, [body], { compressor }), 100)).body!.equals(Buffer.from(body))).toBe(true);
    }
  });
});
