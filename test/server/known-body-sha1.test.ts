// The SHA-1 of a kept body, worked out once per Buffer (known-body-sha1.ts):
// whatever a hasher is fed, its digest is the SHA-1 of exactly those bytes,
// and only a feed of the very Buffer, in order and whole, skips the hashing.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sha1KnowingBody } from '../../src/server/known-body-sha1';
import { nodeSha1 } from '../../src/server/node-codecs';
import type { Sha1Factory } from '../../src/protocol/sha1';

function sha1Hex(...parts: Uint8Array[]): string {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** nodeSha1, counting the bytes it is given. */
function countingSha1(): { factory: Sha1Factory; hashedBytes: () => number } {
  let hashed = 0;
  const factory: Sha1Factory = () => {
    const inner = nodeSha1();
    return {
      update(bytes) {
        hashed += bytes.length;
        inner.update(bytes);
      },
      digest: () => inner.digest(),
      digestSoFar: () => inner.digestSoFar!(),
    };
  };
  return { factory, hashedBytes: () => hashed };
}

/** `body` cut at `cuts` (offsets, any order, repeats allowed) into views of the same memory. */
function views(body: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set([0, ...cuts.map((cut) => cut % (body.length + 1)), body.length])].sort((a, b) => a - b);
  return at.slice(1).map((end, i) => body.subarray(at[i], end));
}

describe('sha1KnowingBody', () => {
  it('hashes a kept body once, however many deltas are made of it and however it is sliced', () => {
    const body = Buffer.from('<html>' + 'a kept page, served again and again. '.repeat(3000) + '</html>');
    const { factory, hashedBytes } = countingSha1();
    const sha1 = sha1KnowingBody(body, factory);
    for (const cuts of [[], [1], [65536, 70000], [5, 6, 7, 100000]]) {
      const hasher = sha1();
      for (const view of views(body, cuts)) hasher.update(view);
      hasher.update(Buffer.alloc(0)); // the end, as delta-response.ts scans it
      expect(hex(hasher.digest())).toBe(sha1Hex(body));
    }
    expect(hashedBytes()).toBe(body.length);
  });

  it('gives the digest of what it was fed, and hashes it, when that is not the kept Buffer whole and in order', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.constantFrom('copy', 'copy-after-prefix', 'prefix-only', 'gap', 'extra-bytes', 'reordered'),
        (bytes, cuts, feed) => {
          const body = Buffer.from(bytes);
          const pieces = views(body, cuts);
          let fed: Uint8Array[];
          if (feed === 'copy') fed = pieces.map((piece) => Buffer.from(piece));
          else if (feed === 'copy-after-prefix') fed = pieces.map((piece, i) => (i === pieces.length - 1 ? Buffer.from(piece) : piece));
          else if (feed === 'prefix-only') fed = pieces.slice(0, -1);
          else if (feed === 'gap') fed = pieces.filter((_, i) => i !== Math.floor(pieces.length / 2));
          else if (feed === 'extra-bytes') fed = [...pieces, new Uint8Array([1, 2, 3])];
          else fed = [...pieces].reverse();
          const { factory } = countingSha1();
          const hasher = sha1KnowingBody(body, factory)();
          for (const piece of fed) hasher.update(piece);
          expect(hex(hasher.digest())).toBe(sha1Hex(...fed));
        },
      ),
    );
  });

  it('does not mistake another Buffer with the same bytes, or a view of the same memory past the body, for the body', () => {
    const memory = Buffer.from('0123456789abcdefghij');
    const body = memory.subarray(0, 10);
    const { factory, hashedBytes } = countingSha1();
    const hasher = sha1KnowingBody(body, factory)();
    hasher.update(memory.subarray(0, 5));
    hasher.update(memory.subarray(5, 15)); // runs past the body's end
    expect(hex(hasher.digest())).toBe(sha1Hex(memory.subarray(0, 15)));
    expect(hashedBytes()).toBe(15);

    const twin = sha1KnowingBody(body, factory)();
    twin.update(Buffer.from(body));
    expect(hex(twin.digest())).toBe(sha1Hex(body));
  });

  it('gives prefix digests for checkpoints, and the whole digest after them', () => {
    const body = Buffer.from('checkpointed body '.repeat(100));
    const hasher = sha1KnowingBody(body, nodeSha1)();
    hasher.update(body.subarray(0, 700));
    expect(hex(hasher.digestSoFar!())).toBe(sha1Hex(body.subarray(0, 700)));
    hasher.update(body.subarray(700));
    expect(hex(hasher.digest())).toBe(sha1Hex(body));
  });
});
