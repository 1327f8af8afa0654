// The matching half of the delta encoder (PROTOCOL.md §4): the new body in
// chunks of any size in, the sections of the delta out as events, in order,
// before any serialization or compression. DeltaEncoder turns them into
// bytes with a synchronous compressor; an adapter may compress literal runs
// asynchronously (the server hands them to zlib's thread pool).

import { BlockMatcher, CrcEngine } from '../core/crc-engine';
import { ByteWindow } from './byte-buffers';
import { CrcsyncError } from './errors';
import { IfBlock } from './if-block';
import { Sha1Factory, Sha1Hasher, nobleSha1 } from './sha1';

export interface DeltaSectionListener {
  /** `B index`: a block of the client's cached body. */
  onBlock(index: number): void;
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
}

/** Literal bytes known to be final are released in pieces of at least this size. */
const LITERAL_BATCH_BYTES = 16 * 1024;

export class DeltaSectionScanner {
  /** What was found so far, for logs and tests. */
  readonly stats = { blocks: 0, literalRuns: 0, literalBytes: 0, inputBytes: 0 };

  private readonly matcher: BlockMatcher;
  private readonly hasher: Sha1Hasher;
  private readonly widestWindow: number;
  private readonly pending = new ByteWindow();
  private runOpen = false;
  /** Bytes before this offset are released as literals or covered by a match. */
  private settled = 0;
  private finished = false;

  constructor(
    ifBlock: IfBlock,
    options: DeltaSectionOptions,
    private readonly listener: DeltaSectionListener,
  ) {
    this.matcher = options.engine.createMatcher(ifBlock.hashes, ifBlock.fileSize);
    this.hasher = (options.sha1 ?? nobleSha1)();
    this.widestWindow = ifBlock.layout.tailSize;
  }

  push(chunk: Uint8Array, final = false): void {
    if (this.finished) throw new CrcsyncError('STREAM_STATE');
    this.stats.inputBytes += chunk.length;
    this.hasher.update(chunk);
    this.pending.append(chunk);
    this.matcher.scan(chunk, (end, blockIndex, blockLength) => this.onMatch(end, blockIndex, blockLength));
    if (final) {
      this.releaseLiterals(this.pending.end, true);
      this.finished = true;
      this.matcher.dispose();
      this.listener.onDigest(this.hasher.digest());
    } else {
      // A window not yet complete can reach back at most widestWindow - 1 bytes.
      const certain = this.pending.end + 1 - this.widestWindow;
      if (certain - this.settled >= LITERAL_BATCH_BYTES) this.releaseLiterals(certain, false);
    }
  }

  /** Releases the matcher (and its WASM instance) when the body will not be finished, e.g. the client went away. */
  dispose(): void {
    if (this.finished) return;
    this.finished = true;
    this.matcher.dispose();
  }

  private onMatch(end: number, blockIndex: number, blockLength: number): void {
    this.releaseLiterals(end - blockLength, true);
    this.stats.blocks++;
    this.listener.onBlock(blockIndex);
    this.settled = end;
    this.pending.discardBefore(end);
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
      this.settled = to;
      this.listener.onLiteral(bytes, closeRun);
      this.pending.discardBefore(to);
      if (closeRun) this.runOpen = false;
    } else if (closeRun && this.runOpen) {
      this.runOpen = false;
      this.listener.onLiteral(new Uint8Array(0), true);
    }
  }
}
