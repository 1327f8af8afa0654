// The project's own old/new pairs, so the server suite means something
// without ../shared: text-like bodies with seeded random edits.

import { mutate, seededRandom } from '../helpers/random';

export interface FixturePair {
  name: string;
  old: Buffer;
  new: Buffer;
}

const WORDS = 'the server streams a delta of blocks the client already holds and deflates only what changed since its copy'.split(' ');

/** An HTML-like text body of `bytes` bytes, words drawn by `random`. */
export function textBody(random: () => number, bytes: number): Buffer {
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const line = `<p id="p${parts.length}">${Array.from({ length: 12 }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ')}</p>\n`;
    parts.push(line);
    length += line.length;
  }
  return Buffer.from(parts.join('').slice(0, bytes));
}

export function makeFixtures(): FixturePair[] {
  const random = seededRandom(4);
  const pairs: FixturePair[] = [];
  for (const [name, size, edits] of [
    ['small-page', 1_500, 3],
    ['page', 40_000, 12],
    ['big-page', 600_000, 40],
    ['unchanged', 20_000, 0],
  ] as const) {
    const old = textBody(random, size);
    pairs.push({ name, old, new: Buffer.from(mutate(random, old, edits)) });
  }
  const old = textBody(random, 10_000);
  pairs.push({ name: 'unrelated', old, new: textBody(seededRandom(99), 12_000) });
  pairs.push({ name: 'emptied', old, new: Buffer.alloc(0) });
  return pairs;
}
