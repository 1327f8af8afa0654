// Short and long fuzz runs. `npm test` runs the short one with a fixed seed
// (reproducible in CI); `npm run fuzz` sets CRCSYNC_FUZZ=long: many more
// inputs, a fresh random seed, printed. A failure prints fast-check's seed and
// path; CRCSYNC_FUZZ_SEED and CRCSYNC_FUZZ_PATH replay it (the input pools are
// derived from the seed too, so the same seed rebuilds the same inputs).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Parameters } from 'fast-check';

export const FUZZ_LONG = process.env.CRCSYNC_FUZZ === 'long';

/** The fixed seed of the short run. */
const SHORT_RUN_SEED = 20_260_801;

function chosenSeed(): number {
  const given = process.env.CRCSYNC_FUZZ_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed)) throw new Error(`CRCSYNC_FUZZ_SEED must be an integer, got "${given}"`);
    return seed;
  }
  return FUZZ_LONG ? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0 : SHORT_RUN_SEED;
}

export const FUZZ_SEED = chosenSeed();

/** Runs for short / long mode. */
export function fuzzRuns(short: number, long: number): number {
  return FUZZ_LONG ? long : short;
}

/** fast-check parameters: the run's seed, and a replay path when one is given. */
export function fuzzParameters(numRuns: number): Parameters<unknown> {
  const path = process.env.CRCSYNC_FUZZ_PATH;
  return { seed: FUZZ_SEED, numRuns, ...(path ? { path } : {}), endOnFailure: false };
}

/** How long one test may take: the long run takes many minutes. */
export function fuzzTimeoutMs(shortMs: number): number {
  return FUZZ_LONG ? 4 * 60 * 60 * 1000 : shortMs;
}

export function describeSeed(): string {
  return `seed ${FUZZ_SEED} (${FUZZ_LONG ? 'long mode' : 'short mode'}; replay with CRCSYNC_FUZZ_SEED=${FUZZ_SEED}${FUZZ_LONG ? ' CRCSYNC_FUZZ=long' : ''})`;
}

const RESULTS_FILE = resolve(__dirname, '../../bench/fuzz.md');

const RESULTS_HEADER = `# Fuzz results (long mode)

\`npm run fuzz\` (CRCSYNC_FUZZ=long jest --runInBand test/fuzz) writes each section below from its own run.
\`npm test\` runs the same properties briefly with a fixed seed and writes nothing here.
`;

/**
 * Replaces one section of bench/fuzz.md with the long run's results (the
 * short run writes nothing). Sections sit between marker comments so each
 * fuzz file rewrites only its own.
 */
export function recordLongRun(section: string, markdown: string): void {
  if (!FUZZ_LONG) return;
  const begin = `<!-- ${section}: begin -->`;
  const end = `<!-- ${section}: end -->`;
  let text = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : RESULTS_HEADER;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  text = from >= 0 && to > from ? text.slice(0, from) + block + text.slice(to + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(RESULTS_FILE, text);
}
