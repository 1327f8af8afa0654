// An independent reading of a delta body for tests: the list of sections,
// with Z sections inflated (node:zlib on the exact stream bytes, located by
// pako's end-of-stream position).

import { inflateSync } from 'node:zlib';
import { Inflate } from 'pako';

export type Section =
  | { kind: 'B'; index: number }
  | { kind: 'Z'; literal: Buffer; raw: Buffer }
  | { kind: 'L'; literal: Buffer }
  | { kind: 'S'; digest: Buffer };

export function readSections(delta: Uint8Array): Section[] {
  const sections: Section[] = [];
  let at = 0;
  while (at < delta.length) {
    const tag = delta[at++];
    if (tag === 0x42) {
      sections.push({ kind: 'B', index: delta[at++] });
    } else if (tag === 0x5a) {
      const inflater = new Inflate({ windowBits: 15 }) as Inflate & { ended: boolean; strm: { next_in: number } };
      inflater.push(delta.subarray(at), false);
      if (!inflater.ended || inflater.err) throw new Error(`bad Z section at ${at}`);
      const raw = Buffer.from(delta.subarray(at, at + inflater.strm.next_in));
      sections.push({ kind: 'Z', literal: inflateSync(raw), raw });
      at += raw.length;
    } else if (tag === 0x4c) {
      const length = Buffer.from(delta.subarray(at, at + 4)).readUInt32BE(0);
      sections.push({ kind: 'L', literal: Buffer.from(delta.subarray(at + 4, at + 4 + length)) });
      at += 4 + length;
    } else if (tag === 0x53) {
      sections.push({ kind: 'S', digest: Buffer.from(delta.subarray(at, at + 20)) });
      at += 20;
    } else {
      throw new Error(`unknown tag 0x${tag.toString(16)} at ${at - 1}`);
    }
  }
  return sections;
}

/** Block indices and literal runs, adjacent literal sections merged: what must match across deflaters. */
export function sectionRuns(delta: Uint8Array): Array<number | string> {
  const runs: Array<number | Buffer> = [];
  for (const section of readSections(delta)) {
    if (section.kind === 'B') runs.push(section.index);
    else if (section.kind === 'Z' || section.kind === 'L') {
      const last = runs[runs.length - 1];
      if (Buffer.isBuffer(last)) runs[runs.length - 1] = Buffer.concat([last, section.literal]);
      else runs.push(section.literal);
    }
  }
  return runs.map((run) => (typeof run === 'number' ? run : `literal[${run.length}]:${run.toString('hex')}`));
}

/** Splits points at every section boundary ±1, for chunking tests. */
export function sectionBoundaries(delta: Uint8Array): number[] {
  const points = new Set<number>();
  let at = 0;
  for (const section of readSections(delta)) {
    const size =
      section.kind === 'B' ? 2 : section.kind === 'Z' ? 1 + section.raw.length : section.kind === 'L' ? 5 + section.literal.length : 21;
    at += size;
    for (const point of [at - 1, at, at + 1]) if (point > 0 && point < delta.length) points.add(point);
  }
  return [...points].sort((a, b) => a - b);
}
