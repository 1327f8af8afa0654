// Node's native codecs for the server and CLI: node:crypto SHA-1 (several
// times faster than the portable default) and node:zlib on the thread pool
// for the x=1 extension's literal pieces. (v=1 literal runs are deflated by
// delta-transform.ts: most synchronously, long ones on the thread pool.)

import { createHash } from 'node:crypto';
import { deflate } from 'node:zlib';
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

/**
 * One literal piece of an x=1 body as one complete zlib stream, deflated at
 * level 6 on zlib's thread pool: with `dictionary` as preset dictionary (a
 * `D` section: FDICT set, DICTID its Adler-32) or, when it is empty, without
 * (a `Z` section). Node copies the dictionary when the job is created, so
 * only `piece` must stay unchanged until the promise settles. Each call has
 * its own zlib state (a preset dictionary is set once per stream), freed
 * when the job ends.
 */
export function deflatePiece(piece: Uint8Array, dictionary: Uint8Array): Promise<Buffer> {
  const options = dictionary.length ? { level: 6, dictionary } : { level: 6 };
  return new Promise((resolve, reject) => deflate(piece, options, (error, output) => (error ? reject(error) : resolve(output))));
}
