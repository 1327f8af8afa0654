// Streaming delta encoder (PROTOCOL.md §3, §4): the new body arrives in
// chunks of any size; out come sections `B i` for blocks the client has and
// `Z` + one zlib stream per maximal literal run, then `S` + SHA-1. The
// matching is DeltaSectionScanner's; this class writes the bytes.

import { OutputCollector } from './byte-buffers';
import { CompressorFactory, LiteralCompressor, fflateCompressor } from './deflaters';
import { DeltaSectionOptions, DeltaSectionScanner, DeltaSectionStats } from './delta-sections';
import { IfBlock } from './if-block';
import { TAG_BLOCK, TAG_DIGEST, TAG_ZLIB } from './wire';

export interface DeltaEncoderOptions extends DeltaSectionOptions {
  compressor?: CompressorFactory;
}

export type DeltaListener = (chunk: Uint8Array, final: boolean) => void;

export class DeltaEncoder {
  ondata: DeltaListener;
  /** Sections written so far, for logs and tests. */
  readonly stats: DeltaSectionStats & { outputBytes: number } = {
    blocks: 0,
    literalRuns: 0,
    literalBytes: 0,
    inputBytes: 0,
    boundBytes: 0,
    economyStopAt: null,
    outputBytes: 0,
  };

  private readonly scanner: DeltaSectionScanner;
  private readonly compressorFactory: CompressorFactory;
  private readonly output = new OutputCollector();
  private compressor: LiteralCompressor | null = null;

  constructor(ifBlock: IfBlock, options: DeltaEncoderOptions, ondata?: DeltaListener) {
    this.ondata = ondata ?? (() => undefined);
    this.compressorFactory = options.compressor ?? fflateCompressor;
    this.scanner = new DeltaSectionScanner(ifBlock, options, {
      onBlock: (index) => {
        this.output.addByte(TAG_BLOCK);
        this.output.addByte(index);
      },
      onLiteral: (bytes, runEnds) => {
        if (!this.compressor) {
          this.output.addByte(TAG_ZLIB);
          this.compressor = this.compressorFactory((compressed) => this.output.add(compressed));
        }
        this.compressor.push(bytes, runEnds);
        if (runEnds) this.compressor = null;
      },
      onDigest: (digest) => {
        this.output.addByte(TAG_DIGEST);
        this.output.add(digest);
      },
    });
  }

  push(chunk: Uint8Array, final = false): void {
    this.scanner.push(chunk, final);
    Object.assign(this.stats, this.scanner.stats);
    const out = this.output.take();
    this.stats.outputBytes += out.length;
    if (out.length || final) this.ondata(out, final);
  }

  /** Releases the matcher (and its WASM instance) when the body will not be finished, e.g. the client went away. */
  dispose(): void {
    this.scanner.dispose();
    this.compressor = null;
  }
}
