// Node's native SHA-1 for the codecs: node:crypto is several times faster
// than the portable default and is what the server and CLI use. (Literal
// runs are deflated on zlib's thread pool by delta-transform.ts.)

import { createHash } from 'node:crypto';
import type { Sha1Factory } from '../protocol/sha1';

export const nodeSha1: Sha1Factory = () => {
  const hash = createHash('sha1');
  return {
    update(bytes) {
      hash.update(bytes);
    },
    digest() {
      return new Uint8Array(hash.digest());
    },
    // The x=1 checkpoints (docs/extensions.md): the prefix digest from a copy of the running state.
    digestSoFar() {
      return new Uint8Array(hash.copy().digest());
    },
  };
};
