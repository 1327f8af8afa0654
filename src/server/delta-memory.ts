// Memory of delta encodings in flight (PROTOCOL.md §5: "bounded memory per
// request regardless of body size", and a server "bounds the bytes that all
// delta encodings in flight buffer together (beyond it: answer normally)").
// Each delta is charged this estimate against the handler's delta budget
// (memory-budget.ts) before it starts; the charge is returned when its
// response ends, however it ends.

import { matcherMemoryBound } from '../core/wasm-engine';
import type { BlockLayout } from '../protocol/index';
import { SCAN_SLICE_BYTES, scannerMemoryBound } from '../protocol/delta-sections';
import { DECISION_WINDOW_BYTES } from './delta-or-compression';
import { LITERAL_PATH_MEMORY_BYTES } from './delta-transform';
import { extLiteralPathMemoryBytes } from './ext-delta-transform';

/**
 * Default for all delta encodings of one handler together: room for 170
 * deltas with small blocks (estimate ~1.5 MiB each) or 130 with the largest
 * window accepted (128 KiB blocks, ~1.9 MiB); measured, such a delta held by
 * a stalled client costs ~1.3 MiB of RSS (bench/memory.md); x=1 answers are
 * charged more (1.75 .. 2.6 MiB: 146 .. 97 of them). Beyond it the normal
 * response.
 */
export const DEFAULT_MAX_DELTA_BUFFER_BYTES = 256 * 1024 * 1024;

/** A stream's default high-water mark (Node: 16 KiB), which a stage may pass by one chunk. */
const STREAM_HIGH_WATER_BYTES = 16 * 1024;
/** The delta's stream buffers: the DeltaTransform's writable and readable sides and the response's. */
const STREAM_BUFFERS = 3;

/**
 * Upper bound of the bytes one delta encoding holds (the adapter's own
 * buffers; the origin's stream and the socket are the same for any
 * response): the scanner's pending window, the WASM matcher's memory (a
 * pooled instance included), the literal path (bytes waiting for zlib, the
 * deflate state, its output) and the stream buffers, each a high-water mark
 * plus one chunk of at most a scan slice. Block sizes are at most 128 KiB
 * (decideDeltaEncoding), so this is 1.5 MiB (5-byte blocks) .. 1.9 MiB.
 * An x=1 answer (`extension` 1) has its own literal path: a deflate state
 * per running piece job and the recent body its pieces and dictionaries are
 * taken from (extLiteralPathMemoryBytes): 1.75 MiB .. 2.6 MiB.
 */
export function deltaMemoryEstimate(layout: BlockLayout, extension = 0): number {
  const window = layout.tailSize;
  return (
    scannerMemoryBound(window) +
    matcherMemoryBound(window) +
    (extension ? extLiteralPathMemoryBytes(window) : LITERAL_PATH_MEMORY_BYTES) +
    STREAM_BUFFERS * (STREAM_HIGH_WATER_BYTES + SCAN_SLICE_BYTES)
  );
}

/**
 * The body size when a v=1 delta of it is made whole: an identity body whose
 * length the origin states, up to the decision window (delta-response.ts).
 * Such a delta is charged wholeBodyDeltaMemoryBytes rather than
 * deltaMemoryEstimate; undefined otherwise.
 */
export function wholeBodyBytes(identityLength: number | undefined, extension: number): number | undefined {
  return extension === 0 && identityLength !== undefined && identityLength <= DECISION_WINDOW_BYTES ? identityLength : undefined;
}

/**
 * What a v=1 delta of a body of known size made whole is charged: the body
 * it holds while it is read and while it waits for its turn in the
 * whole-body queue (whole-body-jobs.ts), plus one scan slice. The flat
 * deltaMemoryEstimate (1.5-1.9 MiB) bounds a delta that streams: its scanner
 * and matcher live as long as the body, its literal runs may stream through
 * a deflate state, its stream buffers fill. A delta made whole needs its
 * scanner, matcher, literal copies, deflate state and output only during its
 * turn, and at most `limit` turns run at once: like the encoders of the
 * compressions running, that is a fixed cost of the queue, not of the
 * requests waiting (each turn at most three times the body, which is at
 * most DECISION_WINDOW_BYTES, plus its scanner, matcher and literal path:
 * about 4 MiB; src/server/README.md "Scale"). When its
 * turn ends, what it still holds is charged instead (its output, written
 * ahead of the client). So a 90 KiB page is charged 154 KiB, where 1.8 MiB
 * was; at 500 connections the flat charge had sent most crcsync clients the
 * normal response (issue 11).
 */
export function wholeBodyDeltaMemoryBytes(bodyBytes: number): number {
  return bodyBytes + SCAN_SLICE_BYTES;
}
