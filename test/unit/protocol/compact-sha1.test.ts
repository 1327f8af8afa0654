// The background's SHA-1 (src/protocol/compact-sha1.ts) against
// node:crypto as the oracle: every length around the padding boundaries,
// random lengths at random chunkings, digests of prefixes taken on the way,
// and the decoder verifying (and refusing) real deltas with it.

import { createHash } from 'node:crypto';
import { compactSha1 } from '../../../src/protocol/compact-sha1';
import { getDefaultEngine } from '../../../src/core/embedded-core';
import { DeltaDecoder } from '../../../src/protocol/delta-decoder';
import { DeltaEncoder } from '../../../src/protocol/delta-encoder';
import { formatIfBlock, parseIfBlock } from '../../../src/protocol/if-block';
import { seededRandom } from '../../helpers/random';

const oracle = (bytes: Uint8Array) => createHash('sha1').update(bytes).digest('hex');
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** Hashes `bytes` in chunks cut at random points. */
function chunked(bytes: Uint8Array, random: () => number): string {
  const hasher = compactSha1();
  for (let at = 0; at < bytes.length; ) {
    const take = Math.min(bytes.length - at, Math.floor(random() * 200));
    hasher.update(bytes.subarray(at, at + take));
    at += take;
  }
  return hex(hasher.digest());
}

describe('compactSha1', () => {
  it('matches node:crypto for every length from 0 to 300 (all padding cases), in one piece', () => {
    const random = seededRandom(1);
    for (let length = 0; length <= 300; length++) {
      const bytes = randomBytes(random, length);
      const hasher = compactSha1();
      hasher.update(bytes);
      expect(hex(hasher.digest())).toBe(oracle(bytes));
    }
  });

  it('matches node:crypto for random lengths at random chunkings', () => {
    const random = seededRandom(2);
    for (let round = 0; round < 200; round++) {
      const bytes = randomBytes(random, Math.floor(random() * 5000));
      expect(chunked(bytes, random)).toBe(oracle(bytes));
    }
  });

  it('matches node:crypto for a body of a few MiB', () => {
    const bytes = randomBytes(seededRandom(3), 3 * 1024 * 1024 + 17);
    expect(chunked(bytes, seededRandom(4))).toBe(oracle(bytes));
  });

  it('gives the digest of each prefix on the way and keeps hashing (digestSoFar)', () => {
    const random = seededRandom(5);
    const bytes = randomBytes(random, 4000);
    const hasher = compactSha1();
    for (let at = 0; at < bytes.length; ) {
      const take = Math.min(bytes.length - at, 1 + Math.floor(random() * 300));
      hasher.update(bytes.subarray(at, at + take));
      at += take;
      expect(hex(hasher.digestSoFar!())).toBe(oracle(bytes.subarray(0, at)));
    }
    expect(hex(hasher.digest())).toBe(oracle(bytes));
  });

  it('verifies a real delta in the decoder, and refuses one whose digest is off by a bit', () => {
    const random = seededRandom(6);
    const base = randomBytes(random, 20_000);
    const next = new Uint8Array(base);
    next.set(randomBytes(random, 300), 5000);
    const chunks: Uint8Array[] = [];
    new DeltaEncoder(parseIfBlock(formatIfBlock(base, getDefaultEngine())!), { engine: getDefaultEngine() }, (chunk) => chunks.push(chunk)).push(next, true);
    const delta = Buffer.concat(chunks);
    let rebuilt: Uint8Array | null = null;
    new DeltaDecoder(base, { sha1: compactSha1 }, (body) => (rebuilt = body)).push(delta, true);
    expect(hex(rebuilt!)).toBe(hex(next));

    const broken = Buffer.from(delta);
    broken[broken.length - 1] ^= 1; // the last byte of the S digest
    expect(() => new DeltaDecoder(base, { sha1: compactSha1 }).push(broken, true)).toThrow(expect.objectContaining({ code: 'DELTA_DIGEST_MISMATCH' }));
  });
});
