// An independent, non-streaming reading of PROTOCOL.md §3 for the decoder
// fuzz: the whole delta in one buffer, Z sections inflated by node:zlib (real
// zlib, not the pako port the decoder uses), SHA-1 by node:crypto. It says
// what a correct decoder must do with a delta: the rebuilt body, or which
// error comes first when the sections are read in order, including the
// decoder's two size limits: the rebuilt-size cap (§5) and its bomb guard
// (DELTA_INFLATE_RATIO: Z sections may inflate to at most INFLATE_FREE_BYTES
// + MAX_INFLATE_RATIO x the delta bytes read so far).
//
// One order cannot be known from outside a streaming inflater, so there the
// oracle allows both codes (and the fuzz separately demands the same code for
// every chunking): the bomb guard inside a section is checked against the
// delta bytes the inflater has taken so far, which node:zlib does not report;
// the guard is required when a section ends over the allowance and allowed
// when the section's output passes the allowance of the section's first byte.

import { createHash } from 'node:crypto';
import { constants, inflateSync } from 'node:zlib';
import { Inflate } from 'pako';
import { INFLATE_FREE_BYTES, MAX_INFLATE_RATIO } from '../../src/protocol/delta-decoder';
import type { CrcsyncErrorCode } from '../../src/protocol/errors';

export interface OracleOptions {
  base: Uint8Array;
  blockCount: number;
  maxRebuiltBytes: number;
}

export type OracleOutcome =
  /** `mayRefuseWith`: the bomb guard may refuse this delta instead (see above). */
  | { kind: 'body'; body: Buffer; mayRefuseWith: CrcsyncErrorCode[] }
  /** `codes` holds more than one code only in the ties described above. */
  | { kind: 'error'; codes: CrcsyncErrorCode[] };

/** What rebuilding gives if the S digest is not checked: where S starts, and the body up to there. */
export interface UnsignedRebuild {
  body: Buffer;
  digestAt: number;
}

const TAG_BLOCK = 0x42;
const TAG_ZLIB = 0x5a;
const TAG_LITERAL = 0x4c;
const TAG_DIGEST = 0x53;
const DIGEST_BYTES = 20;
const RATIO: CrcsyncErrorCode = 'DELTA_INFLATE_RATIO';

class OracleError {
  readonly codes: CrcsyncErrorCode[];
  constructor(codes: CrcsyncErrorCode[]) {
    this.codes = [...new Set(codes)];
  }
}

function blockBounds(options: OracleOptions, index: number): [number, number] {
  const size = Math.floor(options.base.length / options.blockCount);
  const start = index * size;
  return [start, index === options.blockCount - 1 ? options.base.length : start + size];
}

/** Literal bytes Z sections may have inflated once `deltaBytes` bytes of the delta were read (the decoder's bomb guard). */
function inflateAllowance(deltaBytes: number): number {
  return INFLATE_FREE_BYTES + MAX_INFLATE_RATIO * deltaBytes;
}

type Inflated =
  | { kind: 'stream'; output: Buffer; consumed: number } // one complete stream
  | { kind: 'over'; limit: number } // more than `limit` bytes came out before any error or end
  | { kind: 'broken'; message: string } // not a valid zlib stream (data error, preset dictionary, ...)
  | { kind: 'cut' }; // the input ends inside the stream

/**
 * Output step of node:zlib's sync inflate. A sync inflate that ends in an
 * error keeps its engine and one output step (chunkSize bytes) until the
 * event loop turns (the fuzz yields now and then), and the fuzz makes many:
 * small steps where errors are expected (prefix searches), about the input's
 * size otherwise (a few calls for ordinary streams).
 */
const SEARCH_STEP_BYTES = 64;
const stepFor = (input: Uint8Array) => Math.min(2048, Math.max(SEARCH_STEP_BYTES, input.length));

function inflateOnce(input: Uint8Array, limit: number, flush?: number, step = stepFor(input)): Inflated {
  try {
    const { buffer, engine } = inflateSync(input, { info: true, chunkSize: step, maxOutputLength: limit + 1, ...(flush === undefined ? {} : { finishFlush: flush }) }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    if (buffer.length > limit) return { kind: 'over', limit };
    return { kind: 'stream', output: buffer, consumed: engine.bytesWritten };
  } catch (error) {
    const code = (error as { code?: string }).code;
    // node:zlib checks the size after each output step, so no data error came before it.
    if (code === 'ERR_BUFFER_TOO_LARGE') return { kind: 'over', limit };
    if (code === 'Z_BUF_ERROR') return { kind: 'cut' };
    return { kind: 'broken', message: (error as Error).message };
  }
}

/**
 * For a broken stream: the output (capped at limit + 1) and the input length
 * of its longest prefix that zlib reads without error. Prefixes that err form
 * a suffix range, so a binary search finds it.
 */
function beforeBreak(input: Uint8Array, limit: number): { output: number; prefix: number } {
  let good = 0;
  let bad = input.length;
  let output = 0;
  while (bad - good > 1) {
    const middle = (good + bad) >>> 1;
    const result = inflateOnce(input.subarray(0, middle), limit, constants.Z_SYNC_FLUSH, SEARCH_STEP_BYTES);
    if (result.kind === 'over') return { output: limit + 1, prefix: middle };
    if (result.kind === 'broken') bad = middle;
    else {
      good = middle;
      output = result.kind === 'stream' ? result.output.length : 0;
    }
  }
  return { output, prefix: good };
}

/** How far below a limit pako's count must be to be trusted as a mere hint (it is a port of zlib: they agree exactly). */
const HINT_MARGIN_BYTES = 4096;

/**
 * How many bytes a broken stream gives before its error, by pako (which
 * keeps nothing after an error, unlike node:zlib's sync API): only to skip
 * node:zlib's prefix search when the answer cannot be near a limit. null if
 * pako does not see an error (then node:zlib's search decides).
 */
function outputBeforeBreakHint(input: Uint8Array): number | null {
  const inflater = new Inflate({ windowBits: 15 }) as Inflate & { strm: { total_out: number } };
  inflater.push(input, false);
  return inflater.err ? inflater.strm.total_out : null;
}

interface SectionContext {
  /** Delta offset of the stream's first byte. */
  start: number;
  /** Room left under the rebuilt-size cap. */
  room: number;
  /** Literal bytes inflated by earlier Z sections. */
  inflatedBefore: number;
  deltaLength: number;
}

/** The one zlib stream at the start of `input`, or the error(s) it must end with. */
function inflateSection(input: Uint8Array, context: SectionContext): { output: Buffer; consumed: number; ratioPossible: boolean } {
  const { start, room, inflatedBefore, deltaLength } = context;
  if (input.length === 0) throw new OracleError(['DELTA_TRUNCATED']);
  // Inflating past the allowance of the whole delta tells nothing more.
  const ratioRoom = inflateAllowance(deltaLength) - inflatedBefore;
  const limit = Math.min(room, ratioRoom);
  /** The guard may stop a section whose first `output` bytes pass the allowance of its first byte... */
  const ratioMay = (output: number): CrcsyncErrorCode[] => (inflatedBefore + output > inflateAllowance(start) ? [RATIO] : []);
  /** ...and must stop one that passes it with `consumed` bytes of its input read. */
  const ratioMust = (output: number, consumed: number) => inflatedBefore + output > inflateAllowance(start + consumed);

  const result = inflateOnce(input, limit);
  switch (result.kind) {
    case 'stream': {
      const size = result.output.length;
      if (ratioMust(size, result.consumed)) throw new OracleError([RATIO]);
      return { output: result.output, consumed: result.consumed, ratioPossible: ratioMay(size).length > 0 };
    }
    case 'over':
      if (ratioRoom < room) throw new OracleError([RATIO]);
      throw new OracleError([overCap(input, room), ...ratioMay(room + 1)]);
    case 'broken': {
      // Output before the break far below every limit: DELTA_ZLIB, no prefix search needed (pako counts, zlib decides).
      const hint = outputBeforeBreakHint(input);
      if (hint !== null && hint + HINT_MARGIN_BYTES < Math.min(limit, inflateAllowance(start) - inflatedBefore)) throw new OracleError(['DELTA_ZLIB']);
      const { output, prefix } = beforeBreak(input, limit);
      if (output > limit) throw new OracleError(ratioRoom < room ? [RATIO] : [overCap(input, room), ...ratioMay(room + 1)]);
      // zlib checks a match's distance only once it has room to copy (inflate.c, MATCH state):
      // with the buffer exactly full at the cap, the decoder stops for room first.
      if (output === room && result.message === 'invalid distance too far back') throw new OracleError([overCap(input, room), ...ratioMay(output)]);
      if (ratioMust(output, prefix + 8)) throw new OracleError([RATIO]);
      throw new OracleError(['DELTA_ZLIB', ...ratioMay(output)]);
    }
    case 'cut': {
      const available = inflateOnce(input, limit, constants.Z_SYNC_FLUSH);
      if (available.kind === 'over') throw new OracleError(ratioRoom < room ? [RATIO] : [overCap(input, room), ...ratioMay(room + 1)]);
      const output = available.kind === 'stream' ? available.output.length : 0;
      if (ratioMust(output, input.length)) throw new OracleError([RATIO]);
      throw new OracleError(['DELTA_TRUNCATED', ...ratioMay(output)]);
    }
  }
}

/**
 * A stream whose output passes the cap: the decoder fills its buffer to the
 * cap and stops. TOO_LARGE if delta bytes are left then; TRUNCATED if the
 * bytes that passed the cap were the delta's last (all taken, a literal or
 * match copy pending, and the stream unended). The bytes taken then are the
 * shortest prefix whose output passes the cap: zlib reads a code's bits only
 * when it decodes it, and gives back whole unused bytes (inflate_fast).
 */
function overCap(input: Uint8Array, room: number): CrcsyncErrorCode {
  let under = 0;
  let over = input.length;
  while (over - under > 1) {
    const middle = (under + over) >>> 1;
    // A prefix that reaches a data error passed the cap before it (the callers know the output before any error does).
    const kind = inflateOnce(input.subarray(0, middle), room, constants.Z_SYNC_FLUSH, SEARCH_STEP_BYTES).kind;
    if (kind === 'over' || kind === 'broken') over = middle;
    else under = middle;
  }
  return over < input.length ? 'DELTA_TOO_LARGE' : 'DELTA_TRUNCATED';
}

/** Reads sections up to S; throws OracleError for the first problem. */
function rebuildUpToDigest(delta: Uint8Array, options: OracleOptions): UnsignedRebuild & { ratioPossible: boolean } {
  const { base, blockCount, maxRebuiltBytes } = options;
  const parts: Uint8Array[] = [];
  let length = 0;
  let inflated = 0;
  let ratioPossible = false;
  const append = (bytes: Uint8Array) => {
    if (length + bytes.length > maxRebuiltBytes) throw new OracleError(['DELTA_TOO_LARGE']);
    parts.push(bytes);
    length += bytes.length;
  };
  let at = 0;
  try {
    for (;;) {
      if (at >= delta.length) throw new OracleError(['DELTA_MISSING_DIGEST']);
      const tag = delta[at++];
      if (tag === TAG_BLOCK) {
        if (at >= delta.length) throw new OracleError(['DELTA_TRUNCATED']);
        const index = delta[at++];
        if (index >= blockCount) throw new OracleError(['DELTA_BLOCK_OUT_OF_RANGE']);
        const [start, end] = blockBounds(options, index);
        append(base.subarray(start, end));
      } else if (tag === TAG_ZLIB) {
        const section = inflateSection(delta.subarray(at), { start: at, room: maxRebuiltBytes - length, inflatedBefore: inflated, deltaLength: delta.length });
        append(section.output);
        inflated += section.output.length;
        ratioPossible ||= section.ratioPossible;
        at += section.consumed;
      } else if (tag === TAG_LITERAL) {
        if (delta.length - at < 4) throw new OracleError(['DELTA_TRUNCATED']);
        const size = Buffer.from(delta.buffer, delta.byteOffset + at, 4).readUInt32BE(0);
        at += 4;
        // The declared size counts against the cap before its bytes arrive.
        if (length + size > maxRebuiltBytes) throw new OracleError(['DELTA_TOO_LARGE']);
        if (delta.length - at < size) throw new OracleError(['DELTA_TRUNCATED']);
        append(delta.subarray(at, at + size));
        at += size;
      } else if (tag === TAG_DIGEST) {
        return { body: Buffer.concat(parts, length), digestAt: at - 1, ratioPossible };
      } else {
        throw new OracleError(['DELTA_UNKNOWN_SECTION']);
      }
    }
  } catch (error) {
    // A guard stop that may have happened in an earlier section comes before anything later.
    if (error instanceof OracleError && ratioPossible) throw new OracleError([...error.codes, RATIO]);
    throw error;
  }
}

/** The outcome a correct decoder must reach for `delta` against `base`. */
export function oracleDecode(delta: Uint8Array, options: OracleOptions): OracleOutcome {
  try {
    const { body, digestAt, ratioPossible } = rebuildUpToDigest(delta, options);
    const digestStart = digestAt + 1;
    const fail = (code: CrcsyncErrorCode) => new OracleError(ratioPossible ? [code, RATIO] : [code]);
    if (delta.length - digestStart < DIGEST_BYTES) throw fail('DELTA_TRUNCATED');
    const digest = createHash('sha1').update(body).digest();
    if (!digest.equals(delta.subarray(digestStart, digestStart + DIGEST_BYTES))) throw fail('DELTA_DIGEST_MISMATCH');
    if (delta.length > digestStart + DIGEST_BYTES) throw fail('DELTA_TRAILING_DATA');
    return { kind: 'body', body, mayRefuseWith: ratioPossible ? [RATIO] : [] };
  } catch (error) {
    if (error instanceof OracleError) return { kind: 'error', codes: error.codes };
    throw error;
  }
}

/** The body the sections before S rebuild, or null if they do not: for re-signing a mutated delta. */
export function oracleRebuildUnsigned(delta: Uint8Array, options: OracleOptions): UnsignedRebuild | null {
  try {
    return rebuildUpToDigest(delta, options);
  } catch (error) {
    if (error instanceof OracleError) return null;
    throw error;
  }
}
