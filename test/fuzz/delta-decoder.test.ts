// Decoder fuzz (security issue item 10; PROTOCOL.md §3, §5): valid deltas
// from our encoder and the reference vectors, damaged in every way
// delta-inputs.ts knows, plus random byte strings, through the streaming
// DeltaDecoder at three chunkings each (whole, random cuts, tiny fixed-size
// pieces). Properties, for every input:
//   - no unverified byte is released: ondata fires at most once, only with a
//     body whose SHA-1 is the S digest and which equals the oracle's rebuild
//     (delta-oracle.ts: node:zlib + node:crypto), and never before an error;
//     an unedited delta gives exactly the new body;
//   - every failure is a CrcsyncError whose code is the one the oracle
//     expects, and the decoder stays failed with it;
//   - bounded: the rebuilt body and the decoder's buffer never exceed
//     maxRebuiltBytes, and no input takes more than a generous hang guard;
//   - chunking does not matter: the same body or the same code for every split.

import { createHash } from 'node:crypto';
import * as os from 'node:os';
import fc from 'fast-check';
import { DeltaDecoder } from '../../src/protocol/delta-decoder';
import { CrcsyncError, ERROR_CODES } from '../../src/protocol/errors';
import { nobleSha1 } from '../../src/protocol/sha1';
import { nodeSha1 } from '../../src/server/node-codecs';
import { loadVectors, VECTORS_DIR } from '../helpers/shared-data';
import { buildInput, buildPool, BuiltInput, DecodeSpec, decodeSpec, PoolDelta, uneditedExamples } from './delta-inputs';
import { oracleDecode } from './delta-oracle';
import { describeSeed, FUZZ_LONG, FUZZ_SEED, fuzzParameters, fuzzRuns, fuzzTimeoutMs, recordLongRun } from './fuzz-settings';

/**
 * Not a speed assertion: only catches a hang or runaway work on one input. A
 * decode over it is timed again, and fails only if it is that slow twice: on
 * a shared machine a process can stall for seconds (descheduled, a major GC),
 * a hang or quadratic work does not go away on a second try.
 */
const HANG_GUARD_MS = 2000;
const INPUTS = fuzzRuns(2_000, 1_000_000);
const POOL_SIZE = fuzzRuns(60, 600);
const YIELD_EVERY_INPUTS = 100;

type RunOutcome = { kind: 'body'; body: Uint8Array } | { kind: 'error'; code: string };

interface DecodeRun {
  outcome: RunOutcome;
  milliseconds: number;
}

/** Peeks at the decoder's body buffer: what it holds in memory at most (checked against the cap). */
function bufferedBytes(decoder: DeltaDecoder): number {
  return (decoder as unknown as { body: Uint8Array }).body.length;
}

function fail(message: string): never {
  throw new Error(message);
}

/** Pushes `pieces` (the last one final, or an empty final push after them) and checks what the decoder does on the way. */
function decodeInPieces(input: BuiltInput, spec: DecodeSpec, pieces: Uint8Array[], label: string): DecodeRun {
  const started = performance.now();
  const releases: Uint8Array[] = [];
  const decoder = new DeltaDecoder(
    input.source.base,
    { blockCount: input.source.blockCount, maxRebuiltBytes: input.maxRebuiltBytes, sha1: spec.sha1 === 'node' ? nodeSha1 : nobleSha1 },
    (body, final) => {
      if (final !== true) fail(`${label}: ondata without final`);
      releases.push(body);
    },
  );
  const cap = input.maxRebuiltBytes;
  let outcome: RunOutcome | null = null;
  const all = spec.emptyFinal ? [...pieces, new Uint8Array(0)] : pieces.length ? pieces : [new Uint8Array(0)];
  for (let i = 0; i < all.length && !outcome; i++) {
    try {
      decoder.push(all[i], i === all.length - 1);
    } catch (error) {
      if (!(error instanceof CrcsyncError)) fail(`${label}: threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
      if (!Object.hasOwn(ERROR_CODES, error.code)) fail(`${label}: unknown error code ${error.code}`);
      outcome = { kind: 'error', code: error.code };
      // Failed for good: the next push reports the same error.
      let again: unknown = null;
      try {
        decoder.push(new Uint8Array(0), true);
      } catch (next) {
        again = next;
      }
      if (!(again instanceof CrcsyncError) || again.code !== error.code) fail(`${label}: after ${error.code} the decoder did not stay failed`);
    }
    if (bufferedBytes(decoder) > cap) fail(`${label}: decoder buffers ${bufferedBytes(decoder)} bytes, over its cap of ${cap}`);
    if (releases.length && !(outcome === null && i === all.length - 1)) fail(`${label}: ondata fired before the final push completed`);
  }
  const milliseconds = performance.now() - started;
  if (outcome) {
    if (releases.length) fail(`${label}: ${releases.length} release(s) and then ${outcome.code}`);
    return { outcome, milliseconds };
  }
  if (releases.length !== 1) fail(`${label}: ${releases.length} releases for one successful decode`);
  if (decoder.verifiedBody !== releases[0]) fail(`${label}: verifiedBody is not the released body`);
  if (releases[0].length > cap) fail(`${label}: released ${releases[0].length} bytes, over the cap of ${cap}`);
  return { outcome: { kind: 'body', body: releases[0] }, milliseconds };
}

function chunkings(delta: Buffer, spec: DecodeSpec): Array<[string, Uint8Array[]]> {
  const cuts = [...new Set(spec.cuts.map((cut) => cut % (delta.length + 1)))].sort((a, b) => a - b);
  const points = [0, ...cuts, delta.length];
  const random = points.slice(1).map((end, i) => delta.subarray(points[i], end));
  // Tiny pieces everywhere for short deltas; for long ones, pieces that still cut every section many times.
  const size = delta.length <= 4096 ? spec.smallChunk : spec.smallChunk * 97;
  const small: Uint8Array[] = [];
  for (let at = 0; at < delta.length; at += size) small.push(delta.subarray(at, at + size));
  return [
    ['whole', [delta]],
    [`cut at ${cuts.join(',')}`, random],
    [`${size}-byte pieces`, small],
  ];
}

const stats = {
  inputs: 0,
  byKind: { mutated: 0, random: 0, 'tag-soup': 0 } as Record<string, number>,
  resigned: 0,
  decodes: 0,
  verified: 0,
  verifiedUnedited: 0,
  verifiedEdited: 0,
  rejected: new Map<string, number>(),
  oracleTies: 0,
  maxMilliseconds: 0,
  maxMillisecondsInput: '',
  /** Decodes over the hang guard that were fast the second time (a stalled process, not a hang). */
  retimed: 0,
  totalMilliseconds: 0,
  largestBody: 0,
};

function checkInput(spec: DecodeSpec, pool: PoolDelta[]): void {
  const input = buildInput(spec, pool);
  const { delta, source } = input;
  const expected = oracleDecode(delta, { base: source.base, blockCount: source.blockCount, maxRebuiltBytes: input.maxRebuiltBytes });
  const runs = chunkings(delta, spec).map(([label, pieces]) => {
    let run = decodeInPieces(input, spec, pieces, `${source.label}, ${label}`);
    if (run.milliseconds > HANG_GUARD_MS) {
      stats.retimed++;
      const again = decodeInPieces(input, spec, pieces, `${source.label}, ${label}`);
      if (again.milliseconds > HANG_GUARD_MS) fail(`${source.label}, ${label}: decoding took ${run.milliseconds.toFixed(0)} ms, then ${again.milliseconds.toFixed(0)} ms (hang guard ${HANG_GUARD_MS} ms)`);
      run = again;
    }
    return [label, run] as const;
  });

  stats.inputs++;
  stats.byKind[spec.delta.kind]++;
  if (input.resigned) stats.resigned++;
  for (const [label, run] of runs) {
    stats.decodes++;
    stats.totalMilliseconds += run.milliseconds;
    if (run.milliseconds > stats.maxMilliseconds) {
      stats.maxMilliseconds = run.milliseconds;
      stats.maxMillisecondsInput = `${delta.length}-byte delta (${source.label}, ${label})`;
    }
  }

  const [first] = runs;
  for (const [label, run] of runs) {
    if (run.outcome.kind !== first[1].outcome.kind) fail(`chunking changed the outcome: ${first[0]} gave ${describeOutcome(first[1].outcome)}, ${label} gave ${describeOutcome(run.outcome)}`);
    if (run.outcome.kind === 'error' && first[1].outcome.kind === 'error' && run.outcome.code !== first[1].outcome.code) {
      fail(`chunking changed the error: ${first[0]} gave ${first[1].outcome.code}, ${label} gave ${run.outcome.code}`);
    }
    if (run.outcome.kind === 'body' && first[1].outcome.kind === 'body' && !Buffer.from(run.outcome.body).equals(Buffer.from(first[1].outcome.body))) {
      fail(`chunking changed the rebuilt body: ${first[0]} vs ${label}`);
    }
  }

  const outcome = first[1].outcome;
  if (expected.kind === 'error') {
    if (expected.codes.length > 1) stats.oracleTies++;
    if (outcome.kind === 'body') fail(`released a ${outcome.body.length}-byte body the oracle rejects with ${expected.codes.join(' or ')}`);
    if (!(expected.codes as string[]).includes(outcome.code)) fail(`error ${outcome.code}, but the oracle expects ${expected.codes.join(' or ')}`);
    stats.rejected.set(outcome.code, (stats.rejected.get(outcome.code) ?? 0) + 1);
    if (input.expectedBody) fail(`an unedited valid delta was refused with ${outcome.code}`);
    return;
  }
  if (outcome.kind === 'error') {
    if (!(expected.mayRefuseWith as string[]).includes(outcome.code)) fail(`refused with ${outcome.code} a delta the oracle rebuilds (${expected.body.length} bytes)`);
    if (input.expectedBody) fail(`an unedited valid delta was refused with ${outcome.code}`);
    stats.oracleTies++;
    stats.rejected.set(outcome.code, (stats.rejected.get(outcome.code) ?? 0) + 1);
    return;
  }
  const body = Buffer.from(outcome.body);
  const digest = delta.subarray(delta.length - 20);
  if (!createHash('sha1').update(body).digest().equals(digest)) fail('released a body whose SHA-1 is not the S digest');
  if (!body.equals(expected.body)) fail(`released a body (${body.length} bytes) that differs from the oracle's rebuild (${expected.body.length} bytes)`);
  if (input.expectedBody && !body.equals(input.expectedBody)) fail('an unedited delta did not rebuild its new body exactly');
  stats.verified++;
  if (input.expectedBody) stats.verifiedUnedited++;
  else stats.verifiedEdited++;
  stats.largestBody = Math.max(stats.largestBody, body.length);
}

function describeOutcome(outcome: RunOutcome): string {
  return outcome.kind === 'body' ? `a ${outcome.body.length}-byte body` : outcome.code;
}

function summary(poolSize: number, vectorCount: number): string {
  (globalThis as { gc?: () => void }).gc?.();
  const rejected = [...stats.rejected.entries()].sort((a, b) => b[1] - a[1]);
  const decodes = Math.max(stats.decodes, 1);
  return [
    `Decoder fuzz, ${describeSeed()}`,
    `pool: ${poolSize} valid deltas (${vectorCount ? `incl. ${vectorCount} reference vectors` : `no reference vectors: ${VECTORS_DIR} not present`})`,
    `inputs tried: ${stats.inputs} (mutated ${stats.byKind.mutated}, of them re-signed ${stats.resigned}; random ${stats.byKind.random}; tag soup ${stats.byKind['tag-soup']}), ${stats.decodes} decodes at 3 chunkings each`,
    `verified: ${stats.verified} (unedited ${stats.verifiedUnedited}, edited but valid ${stats.verifiedEdited}); largest rebuilt body ${stats.largestBody} bytes`,
    `rejected: ${stats.inputs - stats.verified}: ${rejected.map(([code, count]) => `${code} ${count}`).join(', ')}`,
    `oracle ties (the bomb guard may or may not stop a section mid-stream: either outcome accepted): ${stats.oracleTies}`,
    `time per decode: mean ${(stats.totalMilliseconds / decodes).toFixed(3)} ms, max ${stats.maxMilliseconds.toFixed(1)} ms (${stats.maxMillisecondsInput}); hang guard ${HANG_GUARD_MS} ms, ${stats.retimed} decode(s) over it timed again and under it`,
    `memory at the end: heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB, array buffers ${(process.memoryUsage().arrayBuffers / 2 ** 20).toFixed(0)} MiB, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
  ].join('\n');
}

describe('DeltaDecoder fuzz (PROTOCOL.md §3, §5)', () => {
  const vectors = loadVectors().filter((vector) => vector.delta);
  if (vectors.length === 0) console.warn(`decoder fuzz: ${VECTORS_DIR} is not present, so the reference vectors' delta.bin are not among the inputs`);
  const pool = buildPool(FUZZ_SEED, POOL_SIZE);

  it(
    `releases only verified bodies, fails only with CrcsyncError codes, stays bounded and ignores chunking (${INPUTS} inputs)`,
    async () => {
      const started = performance.now();
      let result = 'FAILED (see the test output)';
      try {
        let sinceYield = 0;
        await fc.assert(
          fc.asyncProperty(decodeSpec(POOL_SIZE, pool.length), async (spec) => {
            checkInput(spec, pool);
            // node:zlib's sync API frees an engine that ended in an error (the
            // oracle makes many) only once the event loop turns: let it, now and then.
            if (++sinceYield >= YIELD_EVERY_INPUTS) {
              sinceYield = 0;
              await new Promise((resolve) => setImmediate(resolve));
            }
          }),
          { ...fuzzParameters(INPUTS), examples: uneditedExamples(pool.length).map((spec) => [spec] as [DecodeSpec]) },
        );
        result = 'passed';
      } finally {
        const text = summary(pool.length, vectors.length);
        const wall = (performance.now() - started) / 1000;
        console.log(`${text}\nresult: ${result}, wall time ${wall.toFixed(1)} s`);
        if (FUZZ_LONG) recordLongRun('decoder', `## Decoder fuzz\n\nRun ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model.trim()}; result: ${result}; wall time ${wall.toFixed(0)} s.\n\n\`\`\`\n${text}\n\`\`\``);
      }
      // (A replay, CRCSYNC_FUZZ_PATH, runs just the one case.)
      if (!process.env.CRCSYNC_FUZZ_PATH) {
        expect(stats.inputs).toBeGreaterThanOrEqual(INPUTS);
        // The mix must really exercise both sides: many bodies released and many refusals.
        expect(stats.verified).toBeGreaterThan(INPUTS / 20);
        expect(stats.inputs - stats.verified).toBeGreaterThan(INPUTS / 4);
      }
    },
    fuzzTimeoutMs(120_000),
  );
});
