// Extension round trip over every old/new pair of ../shared/corpus
// (docs/extensions.md): encode at random chunking, decode at random
// chunking, the reference decoder agreeing; never more than the v=1 delta
// plus what its checkpoints and pieces cost; the decoder's guards never
// tripped by an honest delta.

import { ExtDeltaEncoder, pakoDictionaryCompressor } from '../../src/protocol/ext-encoder';
import { dictionaryAllowance, inflateAllowance } from '../../src/protocol/delta-decoder';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock, parseIfBlock } from '../../src/protocol/if-block';
import { decodeTracked, nodePrefixSha1 } from '../helpers/ext-codec';
import { referenceDecode } from '../helpers/ext-reference-decoder';
import { randomSplit, seededRandom } from '../helpers/random';
import { loadCorpus, reportSharedMissing } from '../helpers/shared-data';
import { encodeDelta } from '../unit/protocol/codec-helpers';

const pairs = loadCorpus().filter((pair) => pair.old.length >= 200 && pair.old.length <= 4 * 1024 * 1024);

describe('extension corpus round trip', () => {
  if (pairs.length === 0) {
    reportSharedMissing('extension corpus round trip');
    return;
  }

  it.each(pairs.map((pair) => [pair.name, pair] as const))('%s', (_name, pair) => {
    const random = seededRandom(pair.new.length);
    const engine = getDefaultEngine();
    const out: Uint8Array[] = [];
    const encoder = new ExtDeltaEncoder(parseIfBlock(formatIfBlock(pair.old, engine)!), { engine, compressor: pakoDictionaryCompressor, sha1: nodePrefixSha1 }, (chunk) => out.push(chunk));
    const pieces = randomSplit(random, pair.new, 20);
    pieces.forEach((piece, i) => encoder.push(piece, i === pieces.length - 1));
    if (pieces.length === 0) encoder.push(new Uint8Array(0), true);
    const delta = Buffer.concat(out);

    const result = decodeTracked(pair.old, randomSplit(random, delta, 20));
    expect(result.body!.equals(pair.new)).toBe(true);
    const reference = referenceDecode(pair.old, delta, { acceptExtension: true });
    expect(reference.ok && reference.body.equals(pair.new)).toBe(true);

    // What the extension costs beyond v=1 at most: the marker, 21 bytes per checkpoint and ~16 per extra literal piece (a dictionary usually saves much more).
    const stats = encoder.stats;
    const v1 = encodeDelta(pair.old, pair.new, [pair.new], { compressor: undefined });
    expect(delta.length).toBeLessThanOrEqual(v1.length + 2 + 21 * stats.checkpoints + 16 * (stats.dictionaryPieces + stats.plainPieces));
    // The guards have room to spare on honest deltas.
    expect(stats.dictionaryBytes).toBeLessThan(dictionaryAllowance(delta.length) / 4);
    expect(stats.literalBytes).toBeLessThan(inflateAllowance(delta.length));
  });
});
