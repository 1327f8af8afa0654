// The decoder's side of the extension (docs/extensions.md): extension bodies
// built by hand, section by section, with node:zlib and node:crypto, so each
// rule is checked on its own: the marker, C checkpoints and what they
// release, D dictionaries, and the limits that keep a hostile server cheap.

import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { DICTIONARY_FREE_BYTES, DeltaDecoder, MAX_DICTIONARY_RATIO, dictionaryAllowance } from '../../../src/protocol/delta-decoder';
import { CrcsyncError } from '../../../src/protocol/errors';
import { Sha1Factory, nobleSha1 } from '../../../src/protocol/sha1';
import { nodeSha1 } from '../../../src/server/node-codecs';
import { adler32 } from '../../helpers/ext-reference-decoder';
import { decodeTracked, splitEvery } from '../../helpers/ext-codec';
import { seededRandom } from '../../helpers/random';

const sha1 = (data: Uint8Array) => createHash('sha1').update(data).digest();
const join = (...parts: Array<number[] | Uint8Array>) => Buffer.concat(parts.map((part) => Buffer.from(part)));
const MARKER = [0x58, 0x01];
const checkpoint = (prefix: Uint8Array) => join([0x43], sha1(prefix));
const digest = (body: Uint8Array) => join([0x53], sha1(body));
const zSection = (literal: Uint8Array) => join([0x5a], deflateSync(literal));
/** D + a zlib stream of `literal` with the last 32 KiB of `before` as preset dictionary. */
const dSection = (literal: Uint8Array, before: Uint8Array) => join([0x44], deflateSync(literal, { dictionary: before.subarray(Math.max(0, before.length - 32768)) }));

function text(seed: number, size: number): Buffer {
  const random = seededRandom(seed);
  const words = ['<li class="item">', 'verified', 'prefix', '</li>\n', 'crcsync', 'stream', 'the', 'dictionary', '<a href="/n">'];
  let out = '';
  while (out.length < size) out += words[Math.floor(random() * words.length)] + ' ';
  return Buffer.from(out.slice(0, size));
}

const base = text(1, 40 * 1024); // bs 1024
const block = (i: number) => base.subarray(i * 1024, i * 1024 + 1024);

describe('extension bodies: marker and negotiation', () => {
  const body = Buffer.concat([block(0), block(1)]);
  const extBody = join(MARKER, [0x42, 0, 0x42, 1], digest(body));

  it('decodes an X 01 body when the client offered the extension', () => {
    const result = decodeTracked(base, [extBody]);
    expect(result.code).toBeNull();
    expect(result.body!.equals(body)).toBe(true);
    expect(result.extension).toBe(true);
  });

  it('refuses X when the client did not offer it, as a v=1 decoder always did', () => {
    expect(decodeTracked(base, [extBody], { acceptExtension: false }).code).toBe('DELTA_UNKNOWN_SECTION');
  });

  it('decodes a v=1 body exactly as without the offer, and releases it once, whole, at the end', () => {
    const v1 = join([0x42, 0, 0x42, 1], digest(body));
    for (const acceptExtension of [false, true]) {
      const result = decodeTracked(base, splitEvery(v1, 1), { acceptExtension });
      expect(result.body!.equals(body)).toBe(true);
      expect(result.releaseEnds).toEqual([body.length]);
      expect(result.releasePushes).toEqual([v1.length - 1]);
      expect(result.extension).toBe(false);
    }
  });

  it.each([
    ['a version it did not offer', join([0x58, 0x02], [0x42, 0], digest(block(0))), 'DELTA_EXTENSION_VERSION'],
    ['X anywhere but the first byte', join([0x42, 0], MARKER, digest(block(0))), 'DELTA_UNKNOWN_SECTION'],
    ['a second marker', join(MARKER, MARKER, digest(new Uint8Array(0))), 'DELTA_UNKNOWN_SECTION'],
    ['C in a v=1 body', join([0x42, 0, 0x42, 1], checkpoint(body), digest(body)), 'DELTA_UNKNOWN_SECTION'],
    ['D in a v=1 body', join([0x42, 0], dSection(Buffer.from('tail'), block(0)), digest(Buffer.concat([block(0), Buffer.from('tail')]))), 'DELTA_UNKNOWN_SECTION'],
    ['a marker cut after X', Uint8Array.of(0x58), 'DELTA_TRUNCATED'],
    ['a body cut inside C', join(MARKER, [0x42, 0, 0x42, 1], checkpoint(body).subarray(0, 9)), 'DELTA_TRUNCATED'],
    ['a body ending after a checkpoint', join(MARKER, [0x42, 0, 0x42, 1], checkpoint(body)), 'DELTA_MISSING_DIGEST'],
  ])('refuses %s', (_what, delta, code) => {
    expect(decodeTracked(base, [delta]).code).toBe(code);
    expect(decodeTracked(base, splitEvery(delta, 1)).code).toBe(code);
  });

  it('needs a SHA-1 with digestSoFar when it accepts the extension (a programming error, said at once)', () => {
    // A whole-body-only hasher, as an injected v=1 SHA-1 may be.
    const wholeBodySha1: Sha1Factory = () => {
      const hash = nodeSha1();
      return { update: (bytes) => hash.update(bytes), digest: () => hash.digest() };
    };
    expect(() => new DeltaDecoder(base, { acceptExtension: true, sha1: wholeBodySha1 })).toThrow(TypeError);
    expect(() => new DeltaDecoder(base, { acceptExtension: false, sha1: wholeBodySha1 })).not.toThrow();
    expect(() => new DeltaDecoder(base, { acceptExtension: true, sha1: nodeSha1 })).not.toThrow();
    expect(() => new DeltaDecoder(base, { acceptExtension: true, sha1: nobleSha1 })).not.toThrow();
  });
});

describe('C checkpoints: verified prefixes, released as they verify', () => {
  const body = Buffer.concat([block(0), block(1), block(2), block(3), Buffer.from('the end')]);
  const delta = join(MARKER, [0x42, 0, 0x42, 1], checkpoint(body.subarray(0, 2048)), [0x42, 2, 0x42, 3], checkpoint(body.subarray(0, 4096)), zSection(Buffer.from('the end')), digest(body));

  it('releases each verified prefix in the push that completes its checkpoint, the rest after S and the final push', () => {
    const result = decodeTracked(base, splitEvery(delta, 1));
    expect(result.body!.equals(body)).toBe(true);
    expect(result.releaseEnds).toEqual([2048, 4096, body.length]);
    const firstCheckpointEnd = 2 + 4 + 21;
    expect(result.releasePushes).toEqual([firstCheckpointEnd - 1, firstCheckpointEnd + 4 + 21 - 1, delta.length - 1]);
  });

  it('releases at most once per push: one push, one release of everything', () => {
    const result = decodeTracked(base, [delta]);
    expect(result.releaseEnds).toEqual([body.length]);
  });

  it('gives the same body and the same release ends at every split point', () => {
    for (let point = 1; point < delta.length; point++) {
      const result = decodeTracked(base, [delta.subarray(0, point), delta.subarray(point)]);
      expect(result.body!.equals(body)).toBe(true);
      for (const end of result.releaseEnds) expect([2048, 4096, body.length]).toContain(end);
    }
  });

  it('a wrong checkpoint fails the body: nothing past the last verified checkpoint is released', () => {
    const wrong = Buffer.from(delta);
    const secondDigest = 2 + 4 + 21 + 4 + 1;
    wrong[secondDigest + 5] ^= 0x80;
    const result = decodeTracked(base, splitEvery(wrong, 1));
    expect(result.code).toBe('DELTA_CHECKPOINT_MISMATCH');
    expect(result.body).toBeNull();
    expect(result.releaseEnds).toEqual([2048]);
    expect(result.released.equals(body.subarray(0, 2048))).toBe(true);
  });

  it('a checkpoint verified in the push that then fails is not released', () => {
    const broken = join(delta.subarray(0, 2 + 4 + 21), [0x99]);
    const result = decodeTracked(base, [broken]);
    expect(result.code).toBe('DELTA_UNKNOWN_SECTION');
    expect(result.releaseEnds).toEqual([]);
  });

  it('a wrong S after verified checkpoints fails: the checkpoints\' prefixes stay the only bytes released', () => {
    const wrong = Buffer.from(delta);
    wrong[wrong.length - 1] ^= 1;
    const result = decodeTracked(base, splitEvery(wrong, 7));
    expect(result.code).toBe('DELTA_DIGEST_MISMATCH');
    expect(result.releaseEnds).toEqual([2048, 4096]);
  });

  it('bytes after S fail the body; the tail after the last checkpoint is not released', () => {
    const result = decodeTracked(base, splitEvery(join(delta, [0x42]), 1));
    expect(result.code).toBe('DELTA_TRAILING_DATA');
    expect(result.releaseEnds).toEqual([2048, 4096]);
  });

  it('refuses checkpoints closer than 1 KiB of body (a hostile server\'s spam), the first one included', () => {
    const first = join(MARKER, zSection(text(3, 1023)), checkpoint(text(3, 1023)));
    expect(decodeTracked(base, [first]).code).toBe('DELTA_CHECKPOINT_SPACING');
    const repeated = join(MARKER, [0x42, 0], checkpoint(block(0)), checkpoint(block(0)));
    expect(decodeTracked(base, [repeated]).code).toBe('DELTA_CHECKPOINT_SPACING');
    const exactly = join(MARKER, [0x42, 0], checkpoint(block(0)), digest(block(0)));
    expect(decodeTracked(base, [exactly]).body!.equals(block(0))).toBe(true);
    const oneShort = join(MARKER, [0x42, 0], checkpoint(block(0)), zSection(text(3, 1023)), checkpoint(Buffer.concat([block(0), text(3, 1023)])));
    expect(decodeTracked(base, [oneShort]).code).toBe('DELTA_CHECKPOINT_SPACING');
  });

  it('checkpoint spam costs bounded work: at the tightest legal spacing, thousands of checkpoints decode in well under a second', () => {
    // 4 MiB rebuilt from 1-KiB blocks with a checkpoint after every block: 4096 checkpoints, the most 4 MiB can carry.
    const blocks: Buffer[] = [];
    const parts: Buffer[] = [Buffer.from(MARKER)];
    const hash = createHash('sha1');
    for (let i = 0; i < 4096; i++) {
      const index = i % 40 === 39 ? 0 : i % 40;
      blocks.push(block(index));
      hash.update(block(index));
      parts.push(Buffer.from([0x42, index]), Buffer.concat([Buffer.from([0x43]), hash.copy().digest()]));
    }
    parts.push(Buffer.concat([Buffer.from([0x53]), hash.digest()]));
    const spam = Buffer.concat(parts);
    const started = performance.now();
    const result = decodeTracked(base, splitEvery(spam, 1460));
    const elapsed = performance.now() - started;
    expect(result.body!.equals(Buffer.concat(blocks))).toBe(true);
    // One release per push, never one per checkpoint.
    expect(result.releaseEnds.length).toBeLessThanOrEqual(Math.ceil(spam.length / 1460));
    expect(elapsed).toBeLessThan(2000);
  });
});

describe('D sections: literals deflated with the rebuilt body as preset dictionary', () => {
  const before = Buffer.concat([block(0), block(1), block(2)]);
  const literal = Buffer.concat([block(1).subarray(100, 600), Buffer.from(' new words '), block(2).subarray(0, 300)]);
  const body = Buffer.concat([before, literal]);
  const good = join(MARKER, [0x42, 0, 0x42, 1, 0x42, 2], dSection(literal, before), digest(body));

  it('inflates with the last min(32 KiB, rebuilt) bytes as dictionary, at every split', () => {
    expect(decodeTracked(base, [good]).body!.equals(body)).toBe(true);
    for (let point = 1; point < good.length; point++) {
      expect(decodeTracked(base, [good.subarray(0, point), good.subarray(point)]).body!.equals(body)).toBe(true);
    }
    // A dictionary is what makes D pay: the same literal without one costs more.
    expect(dSection(literal, before).length).toBeLessThan(zSection(literal).length / 2);
  });

  it('takes exactly the last 32 KiB once the body is longer', () => {
    const long = Buffer.concat(Array.from({ length: 36 }, (_, i) => block(i)));
    const tail = Buffer.concat([block(35).subarray(0, 700), block(4).subarray(0, 300)]); // block 4 lies outside the window
    const delta = join(MARKER, ...Array.from({ length: 36 }, (_, i) => [0x42, i]), dSection(tail, long), digest(Buffer.concat([long, tail])));
    expect(decodeTracked(base, [delta]).body!.equals(Buffer.concat([long, tail]))).toBe(true);
    const wholeBodyDictionary = join(MARKER, ...Array.from({ length: 36 }, (_, i) => [0x42, i]), [0x44], deflateSync(tail, { dictionary: long }), digest(Buffer.concat([long, tail])));
    expect(decodeTracked(base, [wholeBodyDictionary]).code).toBe('DELTA_DICTIONARY');
  });

  it.each([
    ['a DICTID that is not the Adler-32 of the dictionary', () => {
      const wrong = Buffer.from(good);
      wrong[2 + 6 + 1 + 2 + 1] ^= 0x10; // a DICTID byte
      return wrong;
    }, 'DELTA_DICTIONARY'],
    ['a D stream without a preset dictionary (no FDICT)', () => join(MARKER, [0x42, 0, 0x42, 1, 0x42, 2], [0x44], deflateSync(literal), digest(body)), 'DELTA_DICTIONARY'],
    ['an empty D stream without FDICT', () => join(MARKER, [0x42, 0], [0x44], deflateSync(Buffer.alloc(0)), digest(block(0))), 'DELTA_DICTIONARY'],
    ['a D section before any byte is rebuilt', () => join(MARKER, [0x44], deflateSync(literal, { dictionary: Buffer.from('x') }), digest(literal)), 'DELTA_DICTIONARY'],
    ['a dictionary of other bytes than the rebuilt body', () => join(MARKER, [0x42, 0, 0x42, 1, 0x42, 2], [0x44], deflateSync(literal, { dictionary: block(7) }), digest(body)), 'DELTA_DICTIONARY'],
    ['a Z stream that asks for a dictionary', () => join(MARKER, [0x42, 0, 0x42, 1, 0x42, 2], [0x5a], deflateSync(literal, { dictionary: before }), digest(body)), 'DELTA_ZLIB'],
    ['a D stream cut after its DICTID', () => join(MARKER, [0x42, 0, 0x42, 1, 0x42, 2], dSection(literal, before).subarray(0, 7)), 'DELTA_TRUNCATED'],
  ])('refuses %s, releasing nothing', (_what, build, code) => {
    const delta = build();
    expect(decodeTracked(base, [delta]).code).toBe(code);
    const bytewise = decodeTracked(base, splitEvery(delta, 1));
    expect(bytewise.code).toBe(code);
    expect(bytewise.releaseEnds).toEqual([]);
  });

  it('DICTID is checked against the Adler-32 the spec names', () => {
    const stream = deflateSync(literal, { dictionary: before });
    expect(stream[1] & 0x20).toBe(0x20);
    expect(stream.readUInt32BE(2)).toBe(adler32(before));
  });

  it('bounds the dictionary work of many tiny D sections (each loads up to 32 KiB)', () => {
    const long = Buffer.concat(Array.from({ length: 36 }, (_, i) => block(i)));
    const tiny = join([0x44], deflateSync(Buffer.alloc(0), { dictionary: long.subarray(long.length - 32768) }));
    expect(tiny.length).toBe(13);
    const count = 2000;
    const delta = join(MARKER, ...Array.from({ length: 36 }, (_, i) => [0x42, i]), ...Array.from({ length: count }, () => tiny), digest(long));
    const decoder = new DeltaDecoder(base, { acceptExtension: true });
    let consumed = 0;
    let code: string | null = null;
    const started = performance.now();
    for (const piece of splitEvery(delta, 13)) {
      try {
        decoder.push(piece, false);
      } catch (error) {
        code = (error as CrcsyncError).code;
        break;
      }
      consumed += piece.length;
    }
    expect(code).toBe('DELTA_DICTIONARY_WORK');
    // It stops once the 32 KiB loads outrun the allowance: 8 MiB free, then 256 bytes per delta byte (3.3 KiB per 13-byte section).
    const sections = Math.ceil((consumed - 74) / 13);
    expect(sections * 32768).toBeLessThanOrEqual(dictionaryAllowance(consumed + 13) + 32768);
    expect(sections).toBeLessThan(count);
    expect(sections).toBeGreaterThan(DICTIONARY_FREE_BYTES / 32768);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(MAX_DICTIONARY_RATIO).toBe(256);
  });

  it('counts D output in the inflate-ratio guard like Z output', () => {
    const bombLiteral = Buffer.alloc(8 * 1024 * 1024);
    const bomb = join(MARKER, [0x42, 0], dSection(bombLiteral, block(0)), digest(Buffer.concat([block(0), bombLiteral])));
    expect(decodeTracked(base, [bomb]).code).toBe('DELTA_INFLATE_RATIO');
  });
});
