// Properties of the extension codec (docs/extensions.md) over random inputs
// (fast-check, fixed seed), checked against the independent reference
// decoder (test/helpers/ext-reference-decoder.ts: node:zlib, node:crypto):
//   - encode -> decode gives the new body back, at any chunking on both sides,
//     and the reference decoder agrees on the body and on every checkpoint;
//   - every release is a prefix of the final body, in order, and comes only
//     once its checkpoint verified (in the push that completed the C);
//   - one damaged byte anywhere never releases an unverified byte: the
//     decoder fails when the reference fails, and what it released is the
//     new body's prefix up to a checkpoint the reference verified too.

import fc from 'fast-check';
import { fflateDictionaryCompressor, pakoDictionaryCompressor } from '../../../src/protocol/ext-encoder';
import { referenceDecode, referenceSections } from '../../helpers/ext-reference-decoder';
import { decodeTracked, extEncode, nodeDictionaryCompressor, splitEvery } from '../../helpers/ext-codec';
import { newsText, randomSplit, seededRandom } from '../../helpers/random';

const SEED = 20_261_202;
const params = (numRuns: number) => ({ seed: SEED, numRuns });

type Edit = { at: number; remove: number; insert: number; seed: number };

const editArbitrary = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  remove: fc.integer({ min: 0, max: 3000 }),
  insert: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 12000 })),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

const caseArbitrary = fc.record({
  oldSeed: fc.integer({ min: 1, max: 1_000_000 }),
  oldSize: fc.oneof(fc.integer({ min: 200, max: 3000 }), fc.integer({ min: 3000, max: 60000 })),
  edits: fc.array(editArbitrary, { minLength: 0, maxLength: 6 }),
  compressor: fc.constantFrom(pakoDictionaryCompressor, fflateDictionaryCompressor, nodeDictionaryCompressor),
  splitSeed: fc.integer({ min: 1, max: 1_000_000 }),
});

function applyEdits(old: Buffer, edits: Array<Omit<Edit, 'at'> & { at: number }>): Buffer {
  let body = old;
  for (const edit of edits) {
    const at = Math.floor(edit.at * body.length);
    body = Buffer.concat([body.subarray(0, at), newsText(edit.seed, edit.insert), body.subarray(Math.min(body.length, at + edit.remove))]);
  }
  return body;
}

type CaseInput = typeof caseArbitrary extends fc.Arbitrary<infer T> ? T : never;

function build(input: CaseInput) {
  const old = newsText(input.oldSeed, input.oldSize);
  const body = applyEdits(old, input.edits);
  const random = seededRandom(input.splitSeed);
  const delta = extEncode(old, body, randomSplit(random, body, 20), { compressor: input.compressor });
  return { old, body, delta, random };
}

describe('extension codec properties (fast-check, against the reference decoder)', () => {
  it('round trip at any chunking; releases are prefixes, in order, each in the push that completed its checkpoint', () => {
    fc.assert(
      fc.property(caseArbitrary, (input) => {
        const { old, body, delta, random } = build(input);
        const reference = referenceDecode(old, delta, { acceptExtension: true });
        if (!reference.ok) throw new Error(`reference refused our delta: ${reference.code}`);
        expect(reference.body.equals(body)).toBe(true);
        expect(reference.extension).toBe(true);

        // Byte by byte: a release exactly at each checkpoint, in the push of the C's last byte, then the rest at the end.
        const bytewise = decodeTracked(old, splitEvery(delta, 1));
        expect(bytewise.body!.equals(body)).toBe(true);
        const expectedEnds = body.length > (reference.checkpoints.at(-1) ?? 0) ? [...reference.checkpoints, body.length] : reference.checkpoints;
        expect(bytewise.releaseEnds).toEqual(expectedEnds);
        const checkpointSections = referenceSections(old, delta).filter((section) => section.tag === 'C');
        expect(bytewise.releasePushes.slice(0, checkpointSections.length)).toEqual(checkpointSections.map((section) => section.at + section.size - 1));

        // Random chunking: the same body; releases end at checkpoints (several may merge into one push) or at the end.
        const chunked = decodeTracked(old, randomSplit(random, delta, 30));
        expect(chunked.body!.equals(body)).toBe(true);
        for (const end of chunked.releaseEnds) expect(expectedEnds).toContain(end);
        expect(chunked.releaseEnds.at(-1) ?? 0).toBe(body.length);
      }),
      params(60),
    );
  });

  it('a damaged byte anywhere never releases an unverified byte', () => {
    const damageArbitrary = fc.record({
      input: caseArbitrary,
      where: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
      kind: fc.constantFrom('replace', 'flip-bit', 'insert', 'delete', 'truncate'),
      value: fc.integer({ min: 0, max: 255 }),
    });
    let failures = 0;
    fc.assert(
      fc.property(damageArbitrary, ({ input, where, kind, value }) => {
        const { old, body, delta, random } = build(input);
        const at = Math.floor(where * delta.length);
        const damaged = Buffer.from(delta);
        let bytes: Buffer;
        if (kind === 'replace') {
          damaged[at] = value === damaged[at] ? value ^ 0xff : value;
          bytes = damaged;
        } else if (kind === 'flip-bit') {
          damaged[at] ^= 1 << (value & 7);
          bytes = damaged;
        } else if (kind === 'insert') {
          bytes = Buffer.concat([delta.subarray(0, at), Buffer.from([value]), delta.subarray(at)]);
        } else if (kind === 'delete') {
          bytes = Buffer.concat([delta.subarray(0, at), delta.subarray(at + 1)]);
        } else {
          bytes = delta.subarray(0, at);
        }
        const reference = referenceDecode(old, bytes, { acceptExtension: true });
        for (const pieces of [splitEvery(bytes, 1), randomSplit(random, bytes, 30)]) {
          const result = decodeTracked(old, pieces);
          // Whatever happened, the released bytes are the new body's prefix (the checkpoints are its digests).
          expect(body.subarray(0, result.released.length).equals(result.released)).toBe(true);
          if (result.body) {
            // A damage that does not change the rebuilt body (e.g. a B index naming an identical block).
            expect(result.body.equals(body)).toBe(true);
            expect(reference.ok).toBe(true);
          } else {
            failures++;
            expect(reference.ok).toBe(false);
            if (reference.ok) continue;
            // Never past what the reference verified before it failed, and only at its checkpoints.
            expect(result.released.length).toBeLessThanOrEqual(reference.verified);
            for (const end of result.releaseEnds) expect(reference.checkpoints).toContain(end);
          }
        }
      }),
      params(250),
    );
    expect(failures).toBeGreaterThan(250);
  });

  it('the streaming decoder and the reference give the same error code on damaged section framing', () => {
    // Codes for damage the spec names one by one (each vector in test/vectors-ext has its own); here at random places.
    fc.assert(
      fc.property(caseArbitrary, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (input, where) => {
        const { old, delta } = build(input);
        const sections = referenceSections(old, delta).filter((section) => section.tag === 'C' || section.tag === 'S');
        const target = sections[Math.floor(where * sections.length)];
        const damaged = Buffer.from(delta);
        damaged[target.at + 1 + Math.floor(where * 20)] ^= 0x40;
        const reference = referenceDecode(old, damaged, { acceptExtension: true });
        const result = decodeTracked(old, splitEvery(damaged, 3));
        expect(reference.ok).toBe(false);
        if (!reference.ok) expect(result.code).toBe(reference.code);
        expect(result.code).toBe(target.tag === 'C' ? 'DELTA_CHECKPOINT_MISMATCH' : 'DELTA_DIGEST_MISMATCH');
      }),
      params(60),
    );
  });
});
