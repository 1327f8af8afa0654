// Seeded pseudo-random data for reproducible tests (mulberry32, shared with the demo site).

import { seededRandom } from '../../src/server/demo-site';

export { seededRandom };

export function randomBytes(random: () => number, length: number, alphabet = 256): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * alphabet);
  return out;
}

/** Splits data at random points into pieces (some empty). */
export function randomSplit(random: () => number, data: Uint8Array, maxPieces = 12): Uint8Array[] {
  const cuts = new Set<number>();
  const count = Math.floor(random() * maxPieces);
  for (let i = 0; i < count; i++) cuts.add(Math.floor(random() * (data.length + 1)));
  const points = [0, ...[...cuts].sort((a, b) => a - b), data.length];
  const pieces: Uint8Array[] = [];
  for (let i = 1; i < points.length; i++) pieces.push(data.subarray(points[i - 1], points[i]));
  return pieces;
}

/** A text-like edit of `base`: random insertions, deletions and replacements. */
export function mutate(random: () => number, base: Uint8Array, edits: number): Uint8Array {
  let out = Array.from(base);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (out.length + 1));
    const kind = random();
    const piece = Array.from(randomBytes(random, 1 + Math.floor(random() * 40), 256));
    if (kind < 0.4) out.splice(at, 0, ...piece);
    else if (kind < 0.7) out.splice(at, Math.floor(random() * 60));
    else out.splice(at, piece.length, ...piece);
  }
  return Uint8Array.from(out);
}

const NEWS_WORDS = ['<div class="story">', 'crcsync', 'delta', '</div>\n', 'news', 'the', 'browser', '<a href="/item?id=', '">', 'cache', 'page'];

/**
 * A news-page-like text of exactly `bytes` bytes for a seed: few distinct
 * words, a third of them followed by a number, so its common n-grams are
 * very common (what a hostile If-Block picks its blocks from).
 */
export function newsText(seed: number, bytes: number): Buffer {
  const random = seededRandom(seed);
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const word = NEWS_WORDS[Math.floor(random() * NEWS_WORDS.length)] + (random() < 0.3 ? String(Math.floor(random() * 100000)) : '') + ' ';
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}
