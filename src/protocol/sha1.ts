// SHA-1 of the whole rebuilt body (PROTOCOL.md §3). The codec hashes
// incrementally as bytes arrive, so it needs a synchronous, incremental
// hasher: @noble/hashes by default (runs everywhere); Node adapters inject
// node:crypto, which is several times faster.

import { sha1 } from '@noble/hashes/legacy';

export interface Sha1Hasher {
  update(bytes: Uint8Array): void;
  digest(): Uint8Array;
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
  };
};
