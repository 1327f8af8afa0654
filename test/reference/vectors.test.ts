// The reference vectors of the original 2009-2011 implementation
// (../shared/vectors): If-Block byte-exact, deltas decoded exactly, damaged
// deltas refused, and our encoder's sections equal to theirs (byte-identical
// with the zlib-exact pako deflater).

import { createTwinEngine } from '../../src/core/crc64-twin';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { fflateCompressor, pakoCompressor } from '../../src/protocol/deflaters';
import { formatIfBlock } from '../../src/protocol/if-block';
import { nodeSha1 } from '../../src/server/node-codecs';
import { sectionBoundaries, sectionRuns } from '../helpers/delta-sections';
import { randomSplit, seededRandom } from '../helpers/random';
import { loadVectors, reportSharedMissing } from '../helpers/shared-data';
import { decodeDelta } from '../unit/protocol/codec-helpers';
import { DeltaEncoder } from '../../src/protocol/delta-encoder';
import { parseIfBlock } from '../../src/protocol/if-block';

const vectors = loadVectors();

function encodeWith(vectorNew: Uint8Array, ifBlock: string, compressor = pakoCompressor, pieces: Uint8Array[] = [vectorNew]): Buffer {
  const out: Uint8Array[] = [];
  const encoder = new DeltaEncoder(parseIfBlock(ifBlock), { engine: getDefaultEngine(), compressor, sha1: nodeSha1 }, (chunk) => out.push(chunk));
  pieces.forEach((piece, i) => encoder.push(piece, i === pieces.length - 1));
  return Buffer.concat(out);
}

describe('reference vectors', () => {
  if (vectors.length === 0) {
    reportSharedMissing('reference vectors');
    return;
  }

  it('has every kind of vector', () => {
    expect(new Set(vectors.map((vector) => vector.expect))).toEqual(new Set(['decode-ok', 'decode-error', 'no-if-block']));
  });

  describe.each(vectors.map((vector) => [vector.name, vector] as const))('%s', (_name, vector) => {
    it('If-Block of old is byte-exact (WASM and TS twin), or absent', () => {
      expect(formatIfBlock(vector.old, getDefaultEngine())).toBe(vector.ifBlock);
      if (vector.old.length <= 4 * 1024 * 1024) expect(formatIfBlock(vector.old, createTwinEngine())).toBe(vector.ifBlock);
    });

    if (vector.expect === 'decode-ok') {
      it('our encoder reproduces delta.bin byte for byte (pako) and section for section (fflate, any chunking)', () => {
        expect(encodeWith(vector.new, vector.ifBlock!).equals(vector.delta!)).toBe(true);
        const pieces = randomSplit(seededRandom(vector.new.length), vector.new, 25);
        expect(encodeWith(vector.new, vector.ifBlock!, pakoCompressor, pieces).equals(vector.delta!)).toBe(true);
        expect(sectionRuns(encodeWith(vector.new, vector.ifBlock!, fflateCompressor, pieces))).toEqual(sectionRuns(vector.delta!));
      });

      it('delta.bin decodes to new exactly, whole, at random splits and at every section boundary ±1', () => {
        const delta = vector.delta!;
        expect(Buffer.from(decodeDelta(vector.old, [delta]) as Uint8Array).equals(vector.new)).toBe(true);
        const random = seededRandom(delta.length);
        for (let i = 0; i < 10; i++) {
          expect(Buffer.from(decodeDelta(vector.old, randomSplit(random, delta, 30), { sha1: nodeSha1 }) as Uint8Array).equals(vector.new)).toBe(true);
        }
        for (const point of sectionBoundaries(delta)) {
          const result = decodeDelta(vector.old, [delta.subarray(0, point), delta.subarray(point)], { sha1: nodeSha1 });
          expect(Buffer.from(result as Uint8Array).equals(vector.new)).toBe(true);
        }
      });
    }

    if (vector.expect === 'decode-error') {
      it('the damaged delta is refused with no output, however it is split', () => {
        expect(typeof decodeDelta(vector.old, [vector.delta!])).toBe('string');
        const random = seededRandom(3);
        for (let i = 0; i < 10; i++) expect(typeof decodeDelta(vector.old, randomSplit(random, vector.delta!, 30))).toBe('string');
      });
    }
  });
});
