// Memory of delta encodings in flight (PROTOCOL.md §5: "bounded memory per
// request regardless of body size", and a server "bounds the bytes that all
// delta encodings in flight buffer together (beyond it: answer normally)").
// Each delta is charged this estimate against the handler's delta budget
// (memory-budget.ts) before it starts; the charge is returned when its
// response ends, however it ends.

import { matcherMemoryBound } from '../core/wasm-engine';
import type { BlockLayout } from '../protocol/index';
import { SCAN_SLICE_BYTES, scannerMemoryBound } from '../protocol/delta-sections';
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
