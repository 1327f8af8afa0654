// The extension leaves http-crcsync v=1 as it was (docs/extensions.md, "A
// v=1 peer is unaffected"): over every reference vector (../shared/vectors),
// a client that offers the extension decodes each v=1 body exactly as one
// that does not (the same body or the same error, at any chunking), releases
// it once, whole, after S; the offer leaves the If-Block's v=1 meaning alone;
// and the v=1 encoder still writes delta.bin byte for byte.

import { getDefaultEngine } from '../../src/core/embedded-core';
import { pakoCompressor } from '../../src/protocol/deflaters';
import { DeltaEncoder } from '../../src/protocol/delta-encoder';
import { answerableExtensionVersion, offerExtension } from '../../src/protocol/ext-offer';
import { formatIfBlock, parseIfBlock } from '../../src/protocol/if-block';
import { nodeSha1 } from '../../src/server/node-codecs';
import { decodeTracked, splitEvery } from '../helpers/ext-codec';
import { randomSplit, seededRandom } from '../helpers/random';
import { loadVectors, reportSharedMissing } from '../helpers/shared-data';

const vectors = loadVectors().filter((vector) => vector.ifBlock !== null && vector.delta !== null);

describe('v=1 reference vectors with a client that offered the extension', () => {
  if (vectors.length === 0) {
    reportSharedMissing('v=1 compatibility of the extension');
    return;
  }

  it.each(vectors.map((vector) => [vector.name, vector] as const))('%s', (_name, vector) => {
    const delta = vector.delta!;
    // The offer: the exact v=1 value, then "; x=1"; a v=1 reading of it is the same If-Block.
    expect(offerExtension(vector.ifBlock!).startsWith(vector.ifBlock!)).toBe(true);
    expect(parseIfBlock(offerExtension(vector.ifBlock!))).toEqual(parseIfBlock(vector.ifBlock!));
    expect(formatIfBlock(vector.old, getDefaultEngine())).toBe(vector.ifBlock);
    expect(answerableExtensionVersion(vector.ifBlock!)).toBe(0);

    // Decoding: the same outcome with and without the offer, at several chunkings.
    const random = seededRandom(delta.length);
    for (const pieces of [[delta], splitEvery(delta, 1), randomSplit(random, delta, 30), randomSplit(random, delta, 30)]) {
      const offered = decodeTracked(vector.old, pieces, { acceptExtension: true, sha1: undefined });
      const plain = decodeTracked(vector.old, pieces, { acceptExtension: false, sha1: nodeSha1 });
      expect([offered.code, offered.extension]).toEqual([plain.code, false]);
      if (vector.expect === 'decode-ok') {
        expect(offered.body!.equals(vector.new)).toBe(true);
        expect(plain.body!.equals(vector.new)).toBe(true);
        // One release, the whole body, in the final push: v=1 verifies only at S.
        expect(offered.releaseEnds).toEqual(vector.new.length ? [vector.new.length] : []);
        expect(offered.releasePushes).toEqual(vector.new.length ? [pieces.length - 1] : []);
      } else {
        expect(offered.code).not.toBeNull();
        expect(offered.released.length).toBe(0);
      }
    }

    // Encoding: v=1 output unchanged by the extension's changes to the section scanner.
    if (vector.expect === 'decode-ok') {
      const out: Uint8Array[] = [];
      const encoder = new DeltaEncoder(parseIfBlock(vector.ifBlock!), { engine: getDefaultEngine(), compressor: pakoCompressor, sha1: nodeSha1 }, (chunk) => out.push(chunk));
      encoder.push(vector.new, true);
      expect(Buffer.concat(out).equals(delta)).toBe(true);
    }
  });
});
