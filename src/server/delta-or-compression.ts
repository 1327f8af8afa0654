// Whether a client that sent If-Block gets the delta or the response it
// would get without If-Block (issue 9): a client never pays more bytes for
// offering its cached copy. The plain answer is what this server sends any
// client: br / gzip per Accept-Encoding and the compression budget, an
// upstream's own coding, or the identity body. Sizes compared are body bytes
// only (see README "Delta or plain").
//
// Pure arithmetic on sizes and scanner counters; delta-response.ts does the
// I/O and calls these in order: tiny bodies, mostly-new bodies, then the
// delta against the plain body, made prefix by prefix until one settles it.

import { B_SECTION_BYTES, SCAN_SLICE_BYTES } from '../protocol/delta-sections';
import { SHA1_BYTES } from '../protocol/wire';

// The margin itself is protocol policy, shared with the edge handler (src/edge/).
export { DELTA_GAIN_DIVISOR, DELTA_MIN_GAIN_BYTES, deltaBeats, requiredGainBytes } from '../protocol/response-policy';
import { DELTA_GAIN_DIVISOR, DELTA_MIN_GAIN_BYTES } from '../protocol/response-policy';

/**
 * The delta is decided on at most this many body bytes: the whole body when
 * it ends within them (the same size up to which gzip / br are made whole),
 * else its first MiB, after which the response streams.
 */
export const DECISION_WINDOW_BYTES = 1024 * 1024;
/** A body at least this new (literal bytes / body bytes) goes plain without deflating its literals. */
export const MOSTLY_NEW_FRACTION = 3 / 4;

/** What the scanner found in a body (or in the prefix seen so far). */
export interface DeltaShape {
  /** Body bytes scanned. */
  bodyBytes: number;
  /** Of these, bytes that go out as literal runs (not matched in the client's copy). */
  literalBytes: number;
  /** `B` sections. */
  blocks: number;
}

/**
 * Most of the body is new: the literal runs are deflated each on its own,
 * with no reference into the matched blocks, so a delta made of them is no
 * smaller than gzip-6 of those bytes, and br-5 of the whole body is 5-15%
 * below gzip-6. With three quarters of the body new, the delta would need
 * its literal bytes to compress far better than the body as a whole to beat
 * a compressed plain body by the margin. Used only when the plain body is
 * compressed; going plain is never worse for the client, so an error here
 * can only cost a delta that would have won narrowly. Not a single corpus
 * delta that wins is this new (the newest is 65%).
 */
export function isMostlyNew(shape: DeltaShape): boolean {
  return shape.bodyBytes > 0 && shape.literalBytes >= MOSTLY_NEW_FRACTION * shape.bodyBytes;
}

/** The smallest prefix compressed to compare: below it the whole body is about as cheap. */
export const MIN_RACE_BYTES = 16 * 1024;
/** Text pages compress to 0.07 .. 0.35 with br-5 or gzip-6: before anything is compressed, a guess at the low end. */
const MAX_GUESSED_RATIO = 0.2;

/**
 * The guess of what the body compresses to before any of it was: half what
 * the delta's literal runs deflated to (each run on its own compresses 1 to
 * 3.3 times worse than br does the whole body on the corpus), at most 0.2.
 * Too low a guess compresses more of the body than needed in one go; too
 * high a guess costs a second, longer prefix.
 */
export function guessedRatio(shape: DeltaShape, deltaBytes: number): number {
  if (shape.literalBytes < MIN_RACE_BYTES) return MAX_GUESSED_RATIO;
  // The delta's bytes that are not literal runs: its B sections and the S section.
  const literalOutput = Math.max(1, deltaBytes - B_SECTION_BYTES * shape.blocks - (1 + SHA1_BYTES));
  return Math.min(MAX_GUESSED_RATIO, literalOutput / shape.literalBytes / 2);
}

/**
 * The plain body a delta must outgrow (by the margin) is made prefix by
 * prefix, each compressed on its own: a compressed prefix is never bigger
 * than the whole compressed body (checked on every corpus page at 661
 * prefix lengths, br-5 and gzip-6: at most 0.99 of it), so once a prefix's
 * plain bytes beat the delta by the margin, the whole body's do. A small
 * delta is settled by compressing a small part of the body; a delta near
 * the plain size ends with the whole body compressed, which is the plain
 * response if it wins. This returns how many body bytes to compress next:
 * enough, at the ratio seen so far (`compressed` of `input`, else `guess`),
 * for the margin with a quarter to spare, half as much again as the last
 * prefix at least, and the whole body once that is more than half of it.
 */
export function nextRaceBytes(deltaBytes: number, bodyBytes: number, last: { input: number; compressed: number } | null, guess = MAX_GUESSED_RATIO): number {
  const ratio = last ? Math.max(last.compressed, 1) / last.input : guess;
  const plainNeeded = Math.max(deltaBytes + DELTA_MIN_GAIN_BYTES, (deltaBytes * DELTA_GAIN_DIVISOR) / (DELTA_GAIN_DIVISOR - 1));
  const next = Math.max(last ? Math.ceil(1.5 * last.input) : MIN_RACE_BYTES, Math.ceil((1.25 * plainNeeded) / ratio));
  return next * 2 > bodyBytes ? bodyBytes : next;
}

/**
 * What one delta holds while the server decides (charged to the delta
 * memory budget on top of deltaMemoryEstimate): up to the decision window
 * of the body, the literal bytes the held scan copied, and the delta or
 * plain body made whole, plus the raw bytes of an upstream-encoded body
 * (kept to pass them on as they are). `identityLength` is the body's size
 * when the origin states it; otherwise the whole window is charged.
 */
export function heldDeltaMemoryBytes(identityLength: number | undefined, originEncoded: boolean): number {
  const window = Math.min(identityLength ?? DECISION_WINDOW_BYTES, DECISION_WINDOW_BYTES);
  return (originEncoded ? 4 : 3) * window + SCAN_SLICE_BYTES;
}
