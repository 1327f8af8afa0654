// Seeded pseudo-random data for reproducible tests (mulberry32, shared with the demo site).

export { seededRandom } from '../../src/server/demo-site';

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
