// The inputs `npm run bench:native` times on, the same for WASM and C:
// a corpus-like page with its old version, the whole corpus, and the
// matcher's worst case as bench/core.md defines it (2 MiB of random bytes
// against 40 blocks of an unrelated 80,013-byte body: no window ever
// matches, bs = 2000 and a tail of 2013, so both windows roll on every byte).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorpusPair } from '../bench-wire/corpus';

/** scripts/bench.ts's generator (a 32-bit LCG), so the worst case is byte for byte the one bench/core.md measures. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

export function randomBytes(length: number, seed: number): Uint8Array {
  const random = seeded(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (random() * 256) | 0;
  return out;
}

export interface MatchInput {
  label: string;
  blockCount: number;
  pairs: ReadonlyArray<{ old: Uint8Array; new: Uint8Array; oldFile: string; newFile: string }>;
  /** Bytes matched per run: the new bodies. */
  bytes: number;
}

export interface HashInput {
  label: string;
  blockCount: number;
  body: Uint8Array;
  file: string;
}

/** The typical page: the html-docs pair (else any pair) whose new body is closest to 256 KB, within 100..500 KB when one is. */
export function typicalPair(pairs: readonly CorpusPair[]): CorpusPair | null {
  const sized = pairs.filter((pair) => pair.new.length >= 100_000 && pair.new.length <= 500_000);
  const pool = sized.filter((pair) => pair.category.startsWith('html')).length ? sized.filter((pair) => pair.category.startsWith('html')) : sized.length ? sized : pairs;
  return [...pool].sort((a, b) => Math.abs(a.new.length - 256_000) - Math.abs(b.new.length - 256_000))[0] ?? null;
}

/** A stand-in when there is no corpus: seeded HTML-like text and a copy with a few edits. */
export function syntheticPair(): { name: string; old: Uint8Array; new: Uint8Array } {
  const random = seeded(11);
  const words = ['<div class="story">', 'news', 'crcsync', '</div>\n', 'the', 'page', 'delta', '<a href="/item?id=', '">', 'browser', 'cache'];
  let text = '';
  while (text.length < 250_000) text += words[(random() * words.length) | 0] + (random() < 0.3 ? String((random() * 100000) | 0) : '') + ' ';
  const edited = `${text.slice(0, 1000)}EDIT ${text.slice(1000, 120_000)}${text.slice(120_100, 240_000)} a new paragraph ${text.slice(240_000)}`;
  return { name: 'synthetic 250 KB page, 3 edits', old: new TextEncoder().encode(text), new: new TextEncoder().encode(edited) };
}

/** Writes `bytes` to `dir/name` for the C side and returns the path. */
export function writeInput(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}
