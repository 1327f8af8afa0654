// SHA-1 of the whole rebuilt body (PROTOCOL.md §3). The codec hashes
// incrementally as bytes arrive, so it needs a synchronous, incremental
// hasher: @noble/hashes by default (runs everywhere); Node adapters inject
// node:crypto, which is several times faster.

import { sha1 } from '@noble/hashes/legacy';

export interface Sha1Hasher {
  update(bytes: Uint8Array): void;
  digest(): Uint8Array;
  /**
   * The digest of the bytes so far, leaving the hasher open for more: the
   * checkpoints of the extension (docs/extensions.md) need it; v=1 does not.
   */
  digestSoFar?(): Uint8Array;
}

export type Sha1Factory = () => Sha1Hasher;

export const nobleSha1: Sha1Factory = () => {
  const hash = sha1.create();
  return {
    update(bytes) {
      hash.update(bytes);
    },
    digest() {
      return hash.digest();
    },
    digestSoFar() {
      return hash.clone().digest();
    },
  };
};
