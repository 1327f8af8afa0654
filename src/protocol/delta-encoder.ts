// Streaming delta encoder (PROTOCOL.md §3, §4): the new body arrives in
// chunks of any size; out come sections `B i` for blocks the client has and
// `Z` + one zlib stream per maximal literal run, then `S` + SHA-1.

import { BlockMatcher, CrcEngine } from '../core/crc-engine';
import { ByteWindow, OutputCollector } from './byte-buffers';
import { CompressorFactory, LiteralCompressor, fflateCompressor } from './deflaters';
import { CrcsyncError } from './errors';
import { IfBlock } from './if-block';
import { Sha1Factory, Sha1Hasher, nobleSha1 } from './sha1';
import { TAG_BLOCK, TAG_DIGEST, TAG_ZLIB } from './wire';

export interface DeltaEncoderOptions {
  engine: CrcEngine;
  compressor?: CompressorFactory;
  sha1?: Sha1Factory;
}

/** Literal bytes known to be final are handed to the compressor in pieces of at least this size. */
const COMPRESS_BATCH_BYTES = 16 * 1024;

export type DeltaListener = (chunk: Uint8Array, final: boolean) => void;

export class DeltaEncoder {
  ondata: DeltaListener;
  /** Sections written so far, for logs and tests. */
  readonly stats = { blocks: 0, literalRuns: 0, literalBytes: 0, inputBytes: 0, outputBytes: 0 };

  private readonly matcher: BlockMatcher;
  private readonly compressorFactory: CompressorFactory;
  private readonly hasher: Sha1Hasher;
  private readonly widestWindow: number;
  private readonly pending = new ByteWindow();
  private readonly output = new OutputCollector();
  private compressor: LiteralCompressor | null = null;
  /** Bytes before this offset are compressed or covered by a match. */
  private settled = 0;
  private finished = false;

  constructor(ifBlock: IfBlock, options: DeltaEncoderOptions, ondata?: DeltaListener) {
    this.ondata = ondata ?? (() => undefined);
    this.matcher = options.engine.createMatcher(ifBlock.hashes, ifBlock.fileSize);
    this.compressorFactory = options.compressor ?? fflateCompressor;
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
      this.compressLiterals(this.pending.end, true);
      this.output.addByte(TAG_DIGEST);
      this.output.add(this.hasher.digest());
      this.finished = true;
      this.matcher.dispose();
    } else {
      // A window not yet complete can reach back at most widestWindow - 1 bytes.
      const certain = this.pending.end + 1 - this.widestWindow;
      if (certain - this.settled >= COMPRESS_BATCH_BYTES) this.compressLiterals(certain, false);
    }
    const out = this.output.take();
    this.stats.outputBytes += out.length;
    if (out.length || final) this.ondata(out, final);
  }

  /** Releases the matcher (and its WASM instance) when the body will not be finished, e.g. the client went away. */
  dispose(): void {
    if (this.finished) return;
    this.finished = true;
    this.compressor = null;
    this.matcher.dispose();
  }

  private onMatch(end: number, blockIndex: number, blockLength: number): void {
    this.compressLiterals(end - blockLength, true);
    this.output.addByte(TAG_BLOCK);
    this.output.addByte(blockIndex);
    this.stats.blocks++;
    this.settled = end;
    this.pending.discardBefore(end);
  }

  /** Compresses literal bytes up to `to`; `closeRun` ends the current Z section. */
  private compressLiterals(to: number, closeRun: boolean): void {
    if (to > this.settled) {
      if (!this.compressor) {
        this.output.addByte(TAG_ZLIB);
        this.compressor = this.compressorFactory((bytes) => this.output.add(bytes));
        this.stats.literalRuns++;
      }
      this.compressor.push(this.pending.view(this.settled, to), false);
      this.stats.literalBytes += to - this.settled;
      this.settled = to;
      this.pending.discardBefore(to);
    }
    if (closeRun && this.compressor) {
      this.compressor.push(new Uint8Array(0), true);
      this.compressor = null;
    }
  }
}
