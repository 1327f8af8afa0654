// The body pass that makes a crcsync delta (PROTOCOL.md §3, §4): a Node
// Transform around the streaming DeltaSectionScanner. Chunks are matched as
// they arrive. Literal runs are deflated by node's zlib (NodeZlibRuns): a
// run that ends within OPEN_RUN_FLUSH_BYTES synchronously, in one call, and
// a longer one streamed through zlib's thread pool. The sections go out in
// order: each is a ready byte array or a pending thread-pool job.
//
// A DeltaTransform can also start *held* (delta-response.ts): scanHeld()
// matches a prefix of the body without deflating or emitting anything, so the
// server can see what the delta would look like (how many new bytes, whether
// the economy guard stopped) before it commits to Content-Encoding: crcsync.
// release() then replays what was held into the same sinks, in the same
// order, so the bytes are exactly those of a delta encoded live. The queue,
// the slicing and the held/released protocol are section-queue-transform.ts;
// the x=1 extension's pass is ext-delta-transform.ts.

import { DeflateRaw, constants, createDeflateRaw, deflateSync } from 'node:zlib';
import adler32 from 'pako/lib/zlib/adler32.js';
import { CompressorFactory, DeltaSectionOptions, DeltaSectionScanner, IfBlock, LiteralCompressor } from '../protocol/index';
import { DeltaSectionStats, SCAN_SLICE_BYTES } from '../protocol/delta-sections';
import { TAG_BLOCK, TAG_DIGEST, TAG_ZLIB } from '../protocol/wire';
import { DEFLATE_STATE_BYTES } from './content-coding';
import { QueuedSection, SectionQueueTransform } from './section-queue-transform';

export interface DeltaTransformOptions extends DeltaSectionOptions {
  /** A synchronous JS compressor (fflate, pako) instead of node's zlib, e.g. for byte-exact output. */
  compressor?: CompressorFactory;
  /** Start held: scanHeld() matches without deflating or emitting until release(). */
  held?: boolean;
  /** Whether a short literal run is deflated inline, now, rather than on zlib's thread pool (default: always); asked per run. */
  deflateInline?: () => boolean;
  /**
   * Where a short run that is not deflated inline goes instead of zlib's
   * thread pool: one complete zlib stream at level 6, the bytes `deflateSync`
   * makes (literal-deflate-worker.ts).
   */
  deflateElsewhere?: (bytes: Uint8Array) => Promise<Uint8Array>;
}

/** What the scanner said while held, replayed in order by release(). */
type HeldEvent =
  | { readonly kind: 'block'; readonly index: number }
  | { readonly kind: 'literal'; readonly bytes: Uint8Array; readonly runEnds: boolean }
  | { readonly kind: 'slice-end' }
  | { readonly kind: 'digest'; readonly digest: Uint8Array };

const SLICE_END: HeldEvent = { kind: 'slice-end' };

/** zlib header for deflate with a 32 KiB window at the default level (RFC 1950 §2.2), as the reference sends it. */
const ZLIB_HEADER = [0x78, 0x9c];
/** An open literal run is flushed at a chunk boundary once this much of it is unflushed. */
const OPEN_RUN_FLUSH_BYTES = 128 * 1024;
/** A final, empty fixed-Huffman block (BFINAL=1, BTYPE=01, end-of-block): ends the deflate data. */
const FINAL_EMPTY_BLOCK = [0x03, 0x00];

/**
 * Most bytes the literal path of one DeltaTransform holds: the deflate state,
 * plus the literal bytes waiting for zlib (under OPEN_RUN_FLUSH_BYTES, plus one
 * slice), their joined copy handed to zlib and zlib's output for them.
 * Counted against the server's delta memory budget (PROTOCOL.md §5).
 */
export const LITERAL_PATH_MEMORY_BYTES = DEFLATE_STATE_BYTES + 3 * (OPEN_RUN_FLUSH_BYTES + SCAN_SLICE_BYTES);

/** A whole literal run as one complete zlib stream: a Z section's payload as it stands. */
function deflateRun(run: Uint8Array): Uint8Array {
  return new Uint8Array(deflateSync(run, { level: 6 }));
}

/**
 * The literal runs of one response, deflated by node's zlib at level 6.
 *
 * A run that ends before OPEN_RUN_FLUSH_BYTES of it have waited (nearly
 * every run) is one `deflateSync` call: a complete zlib stream, the Z
 * section's payload as it stands. Synchronously, because a thread-pool job
 * per run costs more than the run: each job is a round trip the response
 * waits for (the 9 KiB corpus page 051 waited ~1 ms on them; over the
 * corpus at one connection gzip ÷ crcsync went from 1.12-1.17x to
 * 1.21-1.23x without them, and it did not drop at 50 connections:
 * scripts/profile/server-per-page.ts, src/server/README.md "Scale"). JS
 * deflaters on the event loop (pako, fflate) lost to the pool: this is
 * zlib's own C code.
 *
 * A longer run streams, so a page of new bytes is not held whole: it goes
 * to one raw deflate stream on zlib's thread pool every OPEN_RUN_FLUSH_BYTES
 * and at its end, each write ended with Z_FULL_FLUSH (byte-aligned, history
 * reset, so the next run never refers back into this one and each Z section
 * inflates on its own: RFC 1951 §3.2.3; zlib.h), framed here: zlib header,
 * the run's blocks, an empty final block, the Adler-32 of the run. That
 * stream's state is made only when a run first needs it.
 */
class NodeZlibRuns {
  /** Made on the first streamed run; every write is fully flushed, one thread-pool job each, its output complete when the write calls back. */
  private deflater: DeflateRaw | null = null;
  /** Output made since the last write called back; zlib emits a write's output before its callback. */
  private made: Buffer[] = [];
  /** Adler-32 of the open run's bytes: kept only once the run streams (zlib checksums a run deflated in one call itself). */
  private checksum = 1;
  private open = false;
  /** The open run went to the thread-pool stream: it is framed here. */
  private streamed = false;
  private destroyed = false;
  /** Literal bytes of the open run not yet handed to zlib. */
  private held: Uint8Array[] = [];
  private heldBytes = 0;

  constructor(
    private readonly emit: (piece: QueuedSection) => void,
    private readonly inline: () => boolean = () => true,
    private readonly elsewhere?: (bytes: Uint8Array) => Promise<Uint8Array>,
  ) {}

  /** `owned`: the bytes are a copy no one else writes to (a held run's), kept as they are. */
  push(bytes: Uint8Array, runEnds: boolean, owned = false): void {
    if (!this.open) {
      this.open = true;
      this.streamed = false;
    }
    if (bytes.length) {
      if (this.streamed) this.checksum = adler32(this.checksum, bytes, bytes.length, 0);
      this.held.push(owned ? bytes : bytes.slice()); // the scanner's view is valid only during the call
      this.heldBytes += bytes.length;
    }
    if (!runEnds) return;
    this.open = false;
    if (!this.streamed && this.inline()) {
      this.emit(deflateRun(this.takeHeld()));
      return;
    }
    if (!this.streamed && this.elsewhere) {
      const input = this.takeHeld();
      // Should the thread fail (it exits, say), the run is deflated here: the same bytes, a little later.
      const job = this.elsewhere(input).catch(() => deflateRun(input));
      job.catch(() => undefined); // a job still out when the response is destroyed is never awaited
      this.emit(job);
      return;
    }
    this.deflateHeld();
    const sum = this.checksum >>> 0;
    this.emit(Uint8Array.of(...FINAL_EMPTY_BLOCK, sum >>> 24, (sum >>> 16) & 0xff, (sum >>> 8) & 0xff, sum & 0xff));
  }

  /**
   * End of an input chunk: once an open run holds OPEN_RUN_FLUSH_BYTES, they
   * are deflated now, on the thread pool. That bounds what waits here for a
   * long run; a shorter run is deflated once, at its end.
   */
  flushOpenRun(): void {
    if (this.open && this.heldBytes >= OPEN_RUN_FLUSH_BYTES) this.deflateHeld();
  }

  destroy(): void {
    this.destroyed = true;
    this.deflater?.destroy();
  }

  /** Literal bytes of the open run not yet handed to zlib. */
  get heldLiteralBytes(): number {
    return this.heldBytes;
  }

  /** Deflates the open run's held bytes now, as flushOpenRun does past OPEN_RUN_FLUSH_BYTES. */
  deflateOpenRun(): void {
    if (this.open) this.deflateHeld();
  }

  private takeHeld(): Uint8Array {
    const input = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    return input;
  }

  /** Hands the open run's held bytes to the thread-pool stream (the run streams from now on). */
  private deflateHeld(): void {
    if (!this.streamed) {
      this.streamed = true;
      this.emit(Uint8Array.from(ZLIB_HEADER));
      this.checksum = 1;
      for (const bytes of this.held) this.checksum = adler32(this.checksum, bytes, bytes.length, 0);
    }
    if (this.heldBytes === 0 || this.destroyed) return;
    const deflater = this.streamDeflater();
    const input = this.takeHeld();
    const job = new Promise<Uint8Array>((resolve, reject) => {
      deflater.write(input, (error) => {
        if (error) return reject(error);
        const output = Buffer.concat(this.made);
        this.made = [];
        resolve(output);
      });
    });
    job.catch(() => undefined); // a job still running when the response is destroyed is never awaited
    this.emit(job);
  }

  private streamDeflater(): DeflateRaw {
    if (!this.deflater) {
      this.deflater = createDeflateRaw({ level: 6, flush: constants.Z_FULL_FLUSH });
      this.deflater.on('data', (output: Buffer) => this.made.push(output));
      // Errors surface through the write jobs; a late one after destroy must not be unhandled.
      this.deflater.on('error', () => undefined);
    }
    return this.deflater;
  }
}

export class DeltaTransform extends SectionQueueTransform {
  /** The scanner's counters (blocks, runs, economy stop), for the access log. */
  readonly stats: DeltaSectionStats;
  private scanner: DeltaSectionScanner | null;
  /** The synchronous compressor of the current run, when one was given. */
  private run: LiteralCompressor | null = null;
  private readonly zlibRuns: NodeZlibRuns | null;
  /** Scanner events kept while held (literal bytes copied), or null once live. */
  private held: HeldEvent[] | null;
  /** Body bytes covered by `B` sections so far. */
  private matched = 0;
  /** Literal bytes of the open run with a synchronous compressor (it may keep them all until the run ends). */
  private openRunBytes = 0;
  private readonly live: { onBlock(index: number): void; onLiteral(bytes: Uint8Array, runEnds: boolean, owned?: boolean): void; onDigest(digest: Uint8Array): void };

  constructor(ifBlock: IfBlock, options: DeltaTransformOptions) {
    super();
    const emit = (piece: QueuedSection) => this.enqueue(piece);
    const compressor = options.compressor;
    this.zlibRuns = compressor ? null : new NodeZlibRuns(emit, options.deflateInline, options.deflateElsewhere);
    this.held = options.held ? [] : null;
    const layout = ifBlock.layout;
    let runOpen = false;
    this.live = {
      onBlock: (index) => emit(Uint8Array.of(TAG_BLOCK, index)),
      onLiteral: (bytes, runEnds, owned = false) => {
        if (!runOpen) emit(Uint8Array.of(TAG_ZLIB));
        runOpen = !runEnds;
        if (this.zlibRuns) {
          this.zlibRuns.push(bytes, runEnds, owned);
          return;
        }
        this.openRunBytes = runEnds ? 0 : this.openRunBytes + bytes.length;
        this.run ??= compressor!((compressed) => emit(compressed));
        this.run.push(bytes, runEnds);
        if (runEnds) this.run = null;
      },
      onDigest: (digest) => emit(Uint8Array.of(TAG_DIGEST, ...digest)),
    };
    this.scanner = new DeltaSectionScanner(ifBlock, options, {
      onBlock: (index) => {
        this.matched += index === layout.blockCount - 1 ? layout.tailSize : layout.blockSize;
        if (this.held) this.held.push({ kind: 'block', index });
        else this.live.onBlock(index);
      },
      onLiteral: (bytes, runEnds) => {
        // The scanner's view is valid only during the call: a held run keeps a copy.
        if (this.held) this.held.push({ kind: 'literal', bytes: bytes.slice(), runEnds });
        else this.live.onLiteral(bytes, runEnds);
      },
      onDigest: (digest) => {
        if (this.held) this.held.push({ kind: 'digest', digest: digest.slice() });
        else this.live.onDigest(digest);
      },
    });
    this.stats = this.scanner.stats;
  }

  /** Held and not yet released. */
  get isHeld(): boolean {
    return this.held !== null;
  }

  /** The scanner has seen the end of the body (and sent its digest). */
  get isFinished(): boolean {
    return this.scanner === null;
  }

  /** Body bytes scanned but not yet settled as a match or a literal (the window a match may still end in). */
  get unsettledBytes(): number {
    return this.stats.inputBytes - this.matched - this.stats.literalBytes;
  }

  /** Held (scanHeld): matches without deflating; the scanner's events are kept for release(). */
  protected holdSlice(slice: Uint8Array, final: boolean): void {
    this.scanner!.push(slice, final);
    this.held!.push(SLICE_END);
    if (final) this.scanner = null;
  }

  /**
   * Goes live: what was held is encoded now (literal runs handed to zlib in
   * the order they would have been live), queued to go out before anything
   * written to the transform afterwards.
   */
  release(): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    for (const event of held) {
      if (event.kind === 'block') this.live.onBlock(event.index);
      else if (event.kind === 'literal') this.live.onLiteral(event.bytes, event.runEnds, true);
      else if (event.kind === 'digest') this.live.onDigest(event.digest);
      else this.zlibRuns?.flushOpenRun();
    }
  }

  /**
   * After release(): hands the open literal run's bytes to zlib now (one
   * more flush point in that run, a few bytes), so that everything but the
   * unsettled window is encoded and can be measured.
   */
  settleOpenRun(): void {
    if (this.held) throw new Error('settleOpenRun needs a released transform');
    this.zlibRuns?.deflateOpenRun();
  }

  /**
   * Body bytes whose sections are all queued: scanned, neither in the
   * unsettled window nor in an open literal run still waiting for its
   * compressor (a synchronous compressor may keep a run until it ends).
   */
  get encodedBodyBytes(): number {
    const waiting = this.zlibRuns ? this.zlibRuns.heldLiteralBytes : this.openRunBytes;
    return this.stats.inputBytes - this.unsettledBytes - waiting;
  }

  /** Literal bytes among encodedBodyBytes. */
  get encodedLiteralBytes(): number {
    return this.stats.literalBytes - (this.zlibRuns ? this.zlibRuns.heldLiteralBytes : this.openRunBytes);
  }

  protected encodeSlice(slice: Uint8Array, final: boolean): void {
    this.scanner!.push(slice, final);
    this.zlibRuns?.flushOpenRun();
    if (final) this.scanner = null;
  }

  protected endEncoding(): void {
    this.zlibRuns?.destroy();
  }

  protected releaseResources(): void {
    // Client gone or upstream failed: hand the WASM matcher back to its pool now.
    this.scanner?.dispose();
    this.scanner = null;
    this.zlibRuns?.destroy();
    this.held = null;
  }
}
