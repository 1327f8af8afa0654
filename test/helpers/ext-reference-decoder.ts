// An independent reading of docs/extensions.md (and PROTOCOL.md §3) for
// tests: a whole-buffer decoder written plainly from the spec with node:zlib
// (preset dictionaries) and node:crypto, sharing no code with
// src/protocol. It returns the body and where each checkpoint verified, or
// the error and how much of the body had been verified before it.

import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';

export type ReferenceResult =
  | { ok: true; body: Buffer; checkpoints: number[]; extension: boolean }
  | { ok: false; code: string; verified: number; checkpoints: number[]; extension: boolean };

export interface ReferenceSection {
  tag: string;
  /** Offset of the tag byte and the section's size in bytes, tag included. */
  at: number;
  size: number;
  /** Body bytes the section adds (B, Z, D, L), and the body length after it. */
  added: number;
  bodyEnd: number;
}

class ReferenceError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

const sha1 = (bytes: Uint8Array) => createHash('sha1').update(bytes).digest();

/** Adler-32 (RFC 1950 §8.2), written out rather than borrowed from a zlib port. */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const byte of bytes) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** One zlib stream at `at`: its output and its length in bytes (node's engine reports what it consumed). */
function inflateStream(delta: Buffer, at: number, dictionary?: Buffer): { output: Buffer; length: number } {
  try {
    const result = inflateSync(delta.subarray(at), { info: true, ...(dictionary ? { dictionary } : {}) }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    return { output: result.buffer, length: result.engine.bytesWritten };
  } catch (error) {
    // Input ending inside the stream is a truncated delta; anything else is a broken stream.
    throw new ReferenceError((error as { code?: string }).code === 'Z_BUF_ERROR' ? 'DELTA_TRUNCATED' : 'DELTA_ZLIB');
  }
}

export function referenceDecode(
  base: Uint8Array,
  delta: Uint8Array,
  options: { blockCount?: number; acceptExtension?: boolean; sections?: ReferenceSection[] } = {},
): ReferenceResult {
  const input = Buffer.from(delta);
  const blockCount = options.blockCount ?? 40;
  const blockSize = Math.floor(base.length / blockCount);
  let pieces: Buffer[] = [];
  let bodyLength = 0;
  const body = () => {
    if (pieces.length !== 1) pieces = [Buffer.concat(pieces, bodyLength)];
    return pieces[0];
  };
  const add = (bytes: Uint8Array) => {
    pieces.push(Buffer.from(bytes));
    bodyLength += bytes.length;
  };
  const checkpoints: number[] = [];
  let verified = 0;
  let extension = false;
  let at = 0;
  const need = (count: number) => {
    if (at + count > input.length) throw new ReferenceError('DELTA_TRUNCATED');
  };
  try {
    if (options.acceptExtension && input[0] === 0x58) {
      at = 1;
      need(1);
      if (input[1] !== 1) throw new ReferenceError('DELTA_EXTENSION_VERSION');
      extension = true;
      at = 2;
    }
    for (;;) {
      if (at >= input.length) throw new ReferenceError('DELTA_MISSING_DIGEST');
      const start = at;
      const bodyBefore = bodyLength;
      const tag = String.fromCharCode(input[at++]);
      if (tag === 'B') {
        need(1);
        const index = input[at++];
        if (index >= blockCount) throw new ReferenceError('DELTA_BLOCK_OUT_OF_RANGE');
        const from = index * blockSize;
        add(base.subarray(from, index === blockCount - 1 ? base.length : from + blockSize));
      } else if (tag === 'Z') {
        const stream = inflateStream(input, at);
        add(stream.output);
        at += stream.length;
      } else if (tag === 'L') {
        need(4);
        const length = input.readUInt32BE(at);
        at += 4;
        need(length);
        add(input.subarray(at, at + length));
        at += length;
      } else if (tag === 'S') {
        need(20);
        if (!sha1(body()).equals(input.subarray(at, at + 20))) throw new ReferenceError('DELTA_DIGEST_MISMATCH');
        at += 20;
        options.sections?.push({ tag, at: start, size: at - start, added: 0, bodyEnd: bodyLength });
        if (at !== input.length) throw new ReferenceError('DELTA_TRAILING_DATA');
        return { ok: true, body: body(), checkpoints, extension };
      } else if (tag === 'C' && extension) {
        need(20);
        if (bodyLength - verified < 1024) throw new ReferenceError('DELTA_CHECKPOINT_SPACING');
        if (!sha1(body()).equals(input.subarray(at, at + 20))) throw new ReferenceError('DELTA_CHECKPOINT_MISMATCH');
        at += 20;
        verified = bodyLength;
        checkpoints.push(verified);
      } else if (tag === 'D' && extension) {
        if (bodyLength === 0) throw new ReferenceError('DELTA_DICTIONARY');
        need(2);
        const [cmf, flags] = [input[at], input[at + 1]];
        if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flags) % 31 !== 0) throw new ReferenceError('DELTA_ZLIB');
        if (!(flags & 0x20)) throw new ReferenceError('DELTA_DICTIONARY');
        need(6);
        const dictionary = body().subarray(Math.max(0, bodyLength - 32768));
        if (input.readUInt32BE(at + 2) !== adler32(dictionary)) throw new ReferenceError('DELTA_DICTIONARY');
        const stream = inflateStream(input, at, dictionary);
        add(stream.output);
        at += stream.length;
      } else {
        throw new ReferenceError('DELTA_UNKNOWN_SECTION');
      }
      options.sections?.push({ tag, at: start, size: at - start, added: bodyLength - bodyBefore, bodyEnd: bodyLength });
    }
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    return { ok: false, code: error.code, verified, checkpoints, extension };
  }
}

/** The sections of a valid delta (v=1 or extension), as the reference reads them. */
export function referenceSections(base: Uint8Array, delta: Uint8Array, blockCount = 40): ReferenceSection[] {
  const sections: ReferenceSection[] = [];
  const result = referenceDecode(base, delta, { blockCount, acceptExtension: true, sections });
  if (!result.ok) throw new Error(`not a valid delta: ${result.code}`);
  return sections;
}

/** Split points at every section boundary ±1 (the marker counts as a section), for chunking tests. */
export function referenceBoundaries(base: Uint8Array, delta: Uint8Array): number[] {
  const points = new Set<number>([1, 2, 3]);
  for (const section of referenceSections(base, delta)) {
    const end = section.at + section.size;
    for (const point of [section.at - 1, section.at, section.at + 1, end - 1, end, end + 1]) points.add(point);
  }
  return [...points].filter((point) => point > 0 && point < delta.length).sort((a, b) => a - b);
}
