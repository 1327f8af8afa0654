// Bodies and If-Block values shared by the worst-case benchmarks
// (scripts/bench.ts: CPU and size; scripts/bench-memory.ts: memory per slow
// client): a 4 MiB realistic text body and the hostile If-Blocks of
// PROTOCOL.md §5 built against it.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CrcEngine } from '../src/core/crc-engine';
import { formatIfBlock, formatIfBlockFromHashes } from '../src/protocol/if-block';

export const CORPUS = resolve(__dirname, '../../shared/corpus');
export const WORST_CASE_BODY_BYTES = 4 * 1024 * 1024;

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/**
 * A realistic text body of `bytes` bytes: the corpus's `new` pages one after
 * another (repeated as needed) when ../shared/corpus is there, else seeded
 * HTML-like text. Returns where it came from too.
 */
export function realisticBody(bytes = WORST_CASE_BODY_BYTES): { body: Buffer; source: string } {
  const pages: Buffer[] = [];
  if (existsSync(CORPUS)) {
    for (const name of readdirSync(CORPUS).sort()) {
      if (existsSync(join(CORPUS, name, 'new'))) pages.push(readFileSync(join(CORPUS, name, 'new')));
    }
  }
  if (pages.length) return { body: repeatTo(pages, bytes), source: `../shared/corpus new pages (${pages.length}), concatenated` };
  const random = seeded(11);
  const words = ['<div class="story">', 'news', 'crcsync', '</div>\n', 'the', 'page', 'delta', '<a href="/item?id=', '">', 'browser', 'cache'];
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const word = words[(random() * words.length) | 0] + (random() < 0.3 ? String((random() * 100000) | 0) : '') + ' ';
    parts.push(word);
    length += word.length;
  }
  return { body: Buffer.from(parts.join('')).subarray(0, bytes), source: 'seeded HTML-like text (../shared/corpus absent)' };
}

function repeatTo(pages: Buffer[], bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let at = 0;
  while (at < bytes) {
    for (const page of pages) {
      if (at >= bytes) break;
      at += page.copy(out, at, 0, Math.min(page.length, bytes - at));
    }
  }
  return out;
}

/** The body with a few scattered edits: a realistic older version (what an honest client holds). */
export function olderVersion(body: Buffer, edits = 8): Buffer {
  const random = seeded(5);
  const pieces: Buffer[] = [];
  let at = 0;
  const points = Array.from({ length: edits }, () => Math.floor(random() * body.length)).sort((a, b) => a - b);
  for (const point of points) {
    pieces.push(body.subarray(at, point), Buffer.from(`<ins>${Math.floor(random() * 1e9)}</ins>`));
    at = Math.min(body.length, point + Math.floor(random() * 200));
  }
  pieces.push(body.subarray(at));
  return Buffer.concat(pieces);
}

function hashesOf(engine: CrcEngine, blocks: Uint8Array[]): Uint8Array {
  const hashes = new Uint8Array(blocks.length * 8);
  blocks.forEach((block, i) => hashes.set(engine.blockHashes(block, 1), i * 8));
  return hashes;
}

/** The `count` most frequent `width`-byte strings of the first MiB of `body`. */
export function frequentGrams(body: Uint8Array, width: number, count = 256): Buffer[] {
  const seen = new Map<string, number>();
  const text = Buffer.from(body.buffer, body.byteOffset, Math.min(body.length, 1 << 20)).toString('latin1');
  for (let i = 0; i + width <= text.length; i++) {
    const gram = text.slice(i, i + width);
    seen.set(gram, (seen.get(gram) ?? 0) + 1);
  }
  return [...seen.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([gram]) => Buffer.from(gram, 'latin1'));
}

/**
 * A body where matches alternate with 1-byte literal runs: 256 distinct
 * `width`-byte pieces of `text`, each followed by '~', in a scrambled order;
 * the If-Block holds the pieces' hashes. Each pair costs a B and a Z section.
 */
function alternatingBody(engine: CrcEngine, text: Buffer, width: number, bytes: number): { body: Buffer; ifBlock: string } {
  const pieces: Buffer[] = [];
  const seen = new Set<string>();
  for (let at = 0; pieces.length < 256 && at + width <= text.length; at += width + 13) {
    const piece = text.subarray(at, at + width);
    const key = piece.toString('latin1');
    if (key.includes('~') || seen.has(key)) continue;
    seen.add(key);
    pieces.push(piece);
  }
  const out = Buffer.alloc(bytes);
  let at = 0;
  for (let i = 0; at < bytes; i++) {
    at += pieces[(i * 97) % pieces.length].copy(out, at, 0, Math.min(width, bytes - at));
    if (at < bytes) out[at++] = 0x7e;
  }
  return { body: out, ifBlock: formatIfBlockFromHashes(width * pieces.length, hashesOf(engine, pieces)) };
}

export interface WorstCase {
  name: string;
  body: Buffer;
  ifBlock: string;
  /** An honest client's If-Block, for comparison. */
  honest?: boolean;
}

/** The hostile If-Blocks of PROTOCOL.md §5 (plus one honest one) against a realistic 4 MiB body. */
export function worstCases(engine: CrcEngine, body: Buffer): WorstCase[] {
  const oneByte = Array.from({ length: 256 }, (_, value) => Uint8Array.of(value));
  const grams5 = frequentGrams(body, 5);
  const random = seeded(3);
  const randomHashes = (count: number) => Uint8Array.from({ length: count * 8 }, () => (random() * 256) | 0);
  return [
    { name: 'honest: 40 hashes of an older version (bs 105 KB)', body, ifBlock: formatIfBlock(olderVersion(body).subarray(0, WORST_CASE_BODY_BYTES), engine)!, honest: true },
    { name: 'bs=1: fs=256, CRCs of the 256 one-byte values', body, ifBlock: formatIfBlockFromHashes(256, hashesOf(engine, oneByte)) },
    { name: 'bs=5: the 256 most frequent 5-grams', body, ifBlock: formatIfBlockFromHashes(5 * 256, hashesOf(engine, grams5)) },
    { name: '256 equal hashes (the most frequent 5-gram)', body, ifBlock: formatIfBlockFromHashes(5 * 256, hashesOf(engine, Array(256).fill(grams5[0]))) },
    { name: 'alternating: 16-byte blocks / 1-byte literals', ...alternatingBody(engine, body, 16, body.length) },
    { name: 'alternating: 128-byte blocks / 1-byte literals', ...alternatingBody(engine, body, 128, body.length) },
    { name: 'n=1: one 4 MiB block (the whole body)', body, ifBlock: formatIfBlockFromHashes(body.length, engine.blockHashes(body, 1)) },
    { name: 'n=1: fs=128 KiB (largest accepted bs), no match', body, ifBlock: formatIfBlockFromHashes(128 * 1024, randomHashes(1)) },
    { name: 'huge fs: 64 MiB, 256 hashes (bs 256 KiB)', body, ifBlock: formatIfBlockFromHashes(64 * 1024 * 1024, randomHashes(256)) },
  ];
}
