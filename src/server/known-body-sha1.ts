// The SHA-1 of a body the origin holds whole and never changes (the static
// origin's kept files, file-cache.ts), worked out once per such Buffer
// rather than once per delta: hashing the new body was ~4% of the event
// loop's time under crcsync load (issue 11), the same bytes every request.
//
// The hasher does not take the origin's word for it: it skips the hashing
// only while every update is the next range of that very Buffer, and the
// digest is the memo only when the updates covered all of it. Anything else
// (a decoded body, a chunk copied on the way, a shorter or longer body)
// hashes the real bytes, the skipped prefix first, so the digest is always
// that of the bytes the delta describes.

import type { Sha1Factory, Sha1Hasher } from '../protocol/sha1';

const digests = new WeakMap<Buffer, Uint8Array>();

function memoDigest(body: Buffer, sha1: Sha1Factory): Uint8Array {
  let digest = digests.get(body);
  if (digest === undefined) {
    const hasher = sha1();
    hasher.update(body);
    digest = hasher.digest();
    digests.set(body, digest);
  }
  return digest;
}

class KnownBodySha1 implements Sha1Hasher {
  /** Bytes of `body` the updates have covered so far, in order. */
  private covered = 0;
  /** Set once an update was not the next range of `body`: from then on every byte is hashed. */
  private real: Sha1Hasher | null = null;

  constructor(
    private readonly body: Buffer,
    private readonly sha1: Sha1Factory,
  ) {}

  private isNextRange(bytes: Uint8Array): boolean {
    return bytes.buffer === this.body.buffer && bytes.byteOffset === this.body.byteOffset + this.covered && this.covered + bytes.length <= this.body.length;
  }

  private hashing(): Sha1Hasher {
    if (this.real === null) {
      this.real = this.sha1();
      if (this.covered > 0) this.real.update(this.body.subarray(0, this.covered));
    }
    return this.real;
  }

  update(bytes: Uint8Array): void {
    // No bytes hash to nothing, whatever memory they view (a body's end comes as an empty chunk).
    if (bytes.length === 0) return;
    if (this.real === null && this.isNextRange(bytes)) this.covered += bytes.length;
    else this.hashing().update(bytes);
  }

  digest(): Uint8Array {
    if (this.real === null && this.covered === this.body.length) return memoDigest(this.body, this.sha1).slice();
    return this.hashing().digest();
  }

  digestSoFar(): Uint8Array {
    // Checkpoints (x=1) need prefix digests: hash from here on.
    const real = this.hashing();
    if (!real.digestSoFar) throw new TypeError('digestSoFar needs a SHA-1 whose hashers have it');
    return real.digestSoFar();
  }
}

/**
 * A Sha1Factory for a response whose body is `body` (kept whole, never
 * written to): each hasher skips the work while it is fed exactly `body`,
 * in order, and hashes with `sha1` otherwise.
 */
export function sha1KnowingBody(body: Buffer, sha1: Sha1Factory): Sha1Factory {
  return () => new KnownBodySha1(body, sha1);
}
