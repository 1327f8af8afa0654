// The matching half of the delta encoder (PROTOCOL.md §4): the new body in
// chunks of any size in, the sections of the delta out as events, in order,
// before any serialization or compression. DeltaEncoder turns them into
// bytes with a synchronous compressor; an adapter may compress literal runs
// asynchronously (the server hands them to zlib's thread pool).
//
// The economy guard lives here too, so every encoder (server, DeltaEncoder,
// CLI) has it: PROTOCOL.md §5 "encoding must pay, whatever the client sent".

import { BlockMatcher, CrcEngine } from '../core/crc-engine';
import { ByteWindow } from './byte-buffers';
import { CrcsyncError } from './errors';
import { IfBlock } from './if-block';
import { Sha1Factory, Sha1Hasher, nobleSha1 } from './sha1';
import { SHA1_BYTES } from './wire';

export interface DeltaSectionListener {
  /**
   * `B index`: a block of the client's cached body. `bytes` are the block's
   * bytes as they stand in the new body (the extension's dictionary and
   * checkpoints need them); the view is valid only during the call.
   */
  onBlock(index: number, bytes: Uint8Array): void;
  /**
   * Bytes of the current literal run (a maximal run between matches is one
   * `Z` section). `runEnds` closes the run (bytes may then be empty). The
   * view is valid only during the call: copy what you keep.
   */
  onLiteral(bytes: Uint8Array, runEnds: boolean): void;
  /** `S`: SHA-1 of the whole new body; the last event. */
  onDigest(digest: Uint8Array): void;
}

export interface DeltaSectionOptions {
  engine: CrcEngine;
  sha1?: Sha1Factory;
  /**
   * The economy guard (default on). Off gives the plain greedy §4 sections
   * whatever they cost; only benchmarks and tests that show what the guard
   * prevents turn it off.
   */
  economyGuard?: boolean;
}

export interface DeltaSectionStats {
  blocks: number;
  literalRuns: number;
  literalBytes: number;
  inputBytes: number;
  /** Upper bound of the delta bytes described so far (economyBound), the digest included once it is out. */
  boundBytes: number;
  /** Body offset where the economy guard stopped matching (the rest went out as literal bytes), or null. */
  economyStopAt: number | null;
}

/** Literal bytes known to be final are released in pieces of at least this size. */
const LITERAL_BATCH_BYTES = 16 * 1024;
/**
 * Input is matched in slices of at most this size, so the window held here
 * (and in the matcher) is bounded whatever the chunk size, and a stop by the
 * economy guard takes effect within one slice.
 */
export const SCAN_SLICE_BYTES = 64 * 1024;

/**
 * What a Z section adds on the wire beyond its literal bytes, at most, for
 * every deflater crcsync uses (tag, zlib header, flush and final blocks,
 * Adler-32). Measured worst cases over incompressible runs of 1 B .. 4 MiB
 * (test/unit/protocol/delta-economy.test.ts checks them): server thread-pool
 * zlib 18 B for runs up to 32 KiB; pako 11; fflate 58 (it picks a fixed
 * Huffman block for ~900 random bytes instead of a stored one).
 */
export const Z_SECTION_OVERHEAD_BYTES = 64;
/**
 * Stored-block growth of long incompressible runs, one byte per this many
 * literal bytes at most: zlib adds 5 bytes per stored block of ~16 KiB and
 * per 128 KiB flush (0.035%); fflate fed 16 KiB batches about 0.27%.
 */
export const Z_SECTION_GROWTH_DIVISOR = 256;
/** A `B` section: tag and index. */
export const B_SECTION_BYTES = 2;
/**
 * How far the delta may run ahead of the body consumed before the guard
 * stops matching. Honest deltas are at most 78 B ahead at any match (the
 * reference vectors and the corpus: vector 12, short Z runs between 26-byte
 * blocks); hostile ones add ~65 B per short run and stop within a few dozen
 * sections.
 */
export const ECONOMY_SLACK_BYTES = 512;
/**
 * Block sections allowed: 2 per hash the client sent plus one per this many
 * body bytes. Honest deltas reach at most ~1.0 × (n + body/256) (vector 09:
 * 40 blocks of 5 bytes in a 201-byte body); every byte a match (bs = 5) would
 * be 1 per 5 bytes. Each B costs a matcher return and an event (~1 µs).
 */
export const ECONOMY_BYTES_PER_BLOCK = 256;
/**
 * Z sections allowed: ECONOMY_FREE_RUNS plus one per this many body bytes. A
 * Z run is the costly section (on the server a zlib thread-pool job, 25-60 µs
 * of CPU, about what gzip-6 spends on 2-4 KiB of text), so runs get their own
 * allowance, proportional to the body and not to n: 256 hashes must not buy
 * 256 jobs for a 40 KB page. Honest deltas: at most 10 runs in 80 KB (the
 * corpus), 4 in 1 KB (vector 12); 4 MiB allows 1032 runs (~40 ms of jobs).
 */
export const ECONOMY_BYTES_PER_RUN = 4 * 1024;
export const ECONOMY_FREE_RUNS = 8;

/**
 * Most bytes the scanner's pending window holds for a widest window (tail
 * block) of `windowBytes`: less than one window plus a literal batch not yet
 * released plus the slice being scanned, in storage grown to twice that.
 */
export function scannerMemoryBound(windowBytes: number): number {
  return Math.max(64 * 1024, 2 * (windowBytes + LITERAL_BATCH_BYTES + SCAN_SLICE_BYTES));
}

/** Upper bound of the wire bytes of one Z section holding `literalBytes` literal bytes. */
export function zSectionBound(literalBytes: number): number {
  return 1 + literalBytes + Z_SECTION_OVERHEAD_BYTES + Math.ceil(literalBytes / Z_SECTION_GROWTH_DIVISOR);
}

export class DeltaSectionScanner {
  /** What was found so far, for logs and tests. */
  readonly stats: DeltaSectionStats = { blocks: 0, literalRuns: 0, literalBytes: 0, inputBytes: 0, boundBytes: 0, economyStopAt: null };

  private matcher: BlockMatcher | null;
  private readonly hasher: Sha1Hasher;
  private readonly widestWindow: number;
  private readonly blockCount: number;
  private readonly guarded: boolean;
  private readonly pending = new ByteWindow();
  private runOpen = false;
  /** Literal bytes of the open run released so far. */
  private runBytes = 0;
  /** Set by the guard during a scan: later matches of that slice are ignored, then the matcher goes. */
  private stopping = false;
  /** Bytes before this offset are released as literals or covered by a match. */
  private settled = 0;
  private finished = false;
  private readonly onMatch = (end: number, blockIndex: number, blockLength: number) => this.match(end, blockIndex, blockLength);

  constructor(
    ifBlock: IfBlock,
    options: DeltaSectionOptions,
    private readonly listener: DeltaSectionListener,
  ) {
    this.matcher = options.engine.createMatcher(ifBlock.hashes, ifBlock.fileSize);
    this.hasher = (options.sha1 ?? nobleSha1)();
    this.widestWindow = ifBlock.layout.tailSize;
    this.blockCount = ifBlock.layout.blockCount;
    this.guarded = options.economyGuard ?? true;
  }

  push(chunk: Uint8Array, final = false): void {
    if (this.finished) throw new CrcsyncError('STREAM_STATE');
    this.stats.inputBytes += chunk.length;
    this.hasher.update(chunk);
    for (let at = 0; at < chunk.length; at += SCAN_SLICE_BYTES) this.scanSlice(chunk.subarray(at, at + SCAN_SLICE_BYTES));
    if (final) {
      this.releaseLiterals(this.pending.end, true);
      this.finished = true;
      this.releaseMatcher();
      this.pending.release(); // the listener had its last view in releaseLiterals
      this.stats.boundBytes += 1 + SHA1_BYTES;
      this.listener.onDigest(this.hasher.digest());
    }
  }

  /** Releases the matcher (and its WASM instance) when the body will not be finished, e.g. the client went away. */
  dispose(): void {
    if (this.finished) return;
    this.finished = true;
    this.releaseMatcher();
    this.pending.release();
  }

  private scanSlice(slice: Uint8Array): void {
    this.pending.append(slice);
    if (this.matcher) this.matcher.scan(slice, this.onMatch);
    if (this.stopping && this.matcher) this.releaseMatcher();
    if (!this.matcher) {
      // Stopped by the guard: everything from here on is one literal run.
      this.releaseLiterals(this.pending.end, false);
      return;
    }
    // A window not yet complete can reach back at most widestWindow - 1 bytes.
    const certain = this.pending.end + 1 - this.widestWindow;
    if (certain - this.settled >= LITERAL_BATCH_BYTES) this.releaseLiterals(certain, false);
  }

  private releaseMatcher(): void {
    this.matcher?.dispose();
    this.matcher = null;
  }

  private match(end: number, blockIndex: number, blockLength: number): void {
    if (this.stopping) return;
    const literalEnd = end - blockLength;
    if (this.guarded && !this.pays(end, literalEnd)) {
      // The match stays literal, and so does the rest of the body: a valid
      // delta no bigger than the body plus one Z section's overhead.
      this.stopping = true;
      this.stats.economyStopAt = literalEnd;
      return;
    }
    this.releaseLiterals(literalEnd, true);
    this.stats.blocks++;
    this.stats.boundBytes += B_SECTION_BYTES;
    this.listener.onBlock(blockIndex, this.pending.view(literalEnd, end));
    this.settled = end;
    this.pending.discardBefore(end);
  }

  /**
   * The economy guard (PROTOCOL.md §5): taking this match keeps the delta's
   * upper bound within ECONOMY_SLACK_BYTES of the body consumed, and the
   * section counts within what honest deltas use. Otherwise matching stops.
   */
  private pays(end: number, literalEnd: number): boolean {
    const runLength = this.runBytes + (literalEnd - this.settled);
    const bound = this.stats.boundBytes + (runLength > 0 ? zSectionBound(runLength) : 0) + B_SECTION_BYTES;
    if (bound > end + ECONOMY_SLACK_BYTES) return false;
    if (this.stats.blocks + 1 > 2 * this.blockCount + end / ECONOMY_BYTES_PER_BLOCK) return false;
    const runs = this.stats.literalRuns + (!this.runOpen && runLength > 0 ? 1 : 0);
    return runs <= ECONOMY_FREE_RUNS + end / ECONOMY_BYTES_PER_RUN;
  }

  /** Releases literal bytes up to `to`; `closeRun` ends the current run. */
  private releaseLiterals(to: number, closeRun: boolean): void {
    if (to > this.settled) {
      if (!this.runOpen) {
        this.runOpen = true;
        this.stats.literalRuns++;
      }
      const bytes = this.pending.view(this.settled, to);
      this.stats.literalBytes += to - this.settled;
      this.runBytes += to - this.settled;
      this.settled = to;
      if (closeRun) this.closeRun();
      this.listener.onLiteral(bytes, closeRun);
      this.pending.discardBefore(to);
    } else if (closeRun && this.runOpen) {
      this.closeRun();
      this.listener.onLiteral(new Uint8Array(0), true);
    }
  }

  private closeRun(): void {
    this.stats.boundBytes += zSectionBound(this.runBytes);
    this.runOpen = false;
    this.runBytes = 0;
  }
}
