// Encode -> decode round trip over every old/new pair of ../shared/corpus,
// with the delta no larger than the model's estimate in baselines.csv allows.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fflateCompressor, pakoCompressor } from '../../src/protocol/deflaters';
import { readSections } from '../helpers/delta-sections';
import { randomSplit, seededRandom } from '../helpers/random';
import { CORPUS_DIR, loadCorpus, reportSharedMissing } from '../helpers/shared-data';
import { decodeDelta, encodeDelta } from '../unit/protocol/codec-helpers';

const pairs = loadCorpus();

function baselines(): Map<string, Record<string, string>> {
  const [header, ...rows] = readFileSync(join(CORPUS_DIR, 'baselines.csv'), 'utf8').trim().split('\n');
  const names = header.split(',');
  return new Map(rows.map((row) => {
    const cells = row.split(',');
    return [cells[0], Object.fromEntries(names.map((name, i) => [name, cells[i]]))];
  }));
}

describe('corpus round trip', () => {
  if (pairs.length === 0) {
    reportSharedMissing('corpus round trip');
    return;
  }
  const table = baselines();

  it.each(pairs.map((pair) => [pair.name, pair] as const))('%s', (name, pair) => {
    const random = seededRandom(pair.new.length);
    const delta = encodeDelta(pair.old, pair.new, randomSplit(random, pair.new, 20), { compressor: pakoCompressor });
    const rebuilt = decodeDelta(pair.old, randomSplit(random, delta, 20));
    expect(Buffer.from(rebuilt as Uint8Array).equals(pair.new)).toBe(true);
    const row = table.get(name);
    if (row) {
      // The corpus model confirms matches byte for byte; we trust the CRC as the reference does, so we can only match at least as often.
      const blocks = readSections(delta).filter((section) => section.kind === 'B').length;
      expect(blocks).toBeGreaterThanOrEqual(Number(row.crc_v1_40_matches));
      expect(delta.length).toBeLessThanOrEqual(Number(row.crc_v1_40_resp_bytes) + 64);
    }
    const fast = encodeDelta(pair.old, pair.new, [pair.new], { compressor: fflateCompressor });
    expect(Buffer.from(decodeDelta(pair.old, [fast]) as Uint8Array).equals(pair.new)).toBe(true);
  });
});
