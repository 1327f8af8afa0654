// Streaming encoder of extension bodies (docs/extensions.md): `X 01`, then
// the sections ExtSectionPlanner plans (B, Z or D literal pieces, C
// checkpoints), then `S`. Literal pieces are compressed synchronously here;
// the server may instead deflate them on zlib's thread pool from the
// planner's events.

import { deflate as pakoDeflate } from 'pako';
import { zlibSync } from 'fflate';
import { OutputCollector } from './byte-buffers';
import { ExtSectionOptions, ExtSectionPlanner, ExtSectionStats } from './ext-sections';
import { EXT_VERSION, TAG_CHECKPOINT, TAG_DICTIONARY_ZLIB, TAG_EXT_MARKER } from './ext-wire';
import { IfBlock } from './if-block';
import { TAG_BLOCK, TAG_DIGEST, TAG_ZLIB } from './wire';

/**
 * One complete zlib (RFC 1950) stream of `piece`. With a non-empty
 * dictionary it is a preset-dictionary stream: FDICT set, DICTID the
 * Adler-32 of `dictionary` (what zlib's deflateSetDictionary writes).
 */
export type DictionaryCompressor = (piece: Uint8Array, dictionary: Uint8Array) => Uint8Array;

/** Byte-identical to zlib's deflate at level 6 with deflateSetDictionary (what the extension vectors hold). */
export const pakoDictionaryCompressor: DictionaryCompressor = (piece, dictionary) =>
  dictionary.length ? pakoDeflate(piece, { level: 6, dictionary }) : pakoDeflate(piece, { level: 6 });

/** fflate: faster, equally valid streams. */
export const fflateDictionaryCompressor: DictionaryCompressor = (piece, dictionary) =>
  dictionary.length ? zlibSync(piece, { level: 6, dictionary }) : zlibSync(piece, { level: 6 });

export interface ExtDeltaEncoderOptions extends ExtSectionOptions {
  compressor?: DictionaryCompressor;
}

export type ExtDeltaListener = (chunk: Uint8Array, final: boolean) => void;

export class ExtDeltaEncoder {
  ondata: ExtDeltaListener;
  /** Sections written so far, for logs and tests. */
  readonly stats: ExtSectionStats & { outputBytes: number };

  private readonly planner: ExtSectionPlanner;
  private readonly output = new OutputCollector();

  constructor(ifBlock: IfBlock, options: ExtDeltaEncoderOptions, ondata?: ExtDeltaListener) {
    this.ondata = ondata ?? (() => undefined);
    const compress = options.compressor ?? fflateDictionaryCompressor;
    this.output.add(Uint8Array.of(TAG_EXT_MARKER, EXT_VERSION));
    this.planner = new ExtSectionPlanner(ifBlock, options, {
      onBlock: (index) => this.output.add(Uint8Array.of(TAG_BLOCK, index)),
      onLiteralPiece: (piece, dictionary) => {
        this.output.addByte(dictionary.length ? TAG_DICTIONARY_ZLIB : TAG_ZLIB);
        this.output.add(compress(piece, dictionary));
      },
      onCheckpoint: (digest) => {
        this.output.addByte(TAG_CHECKPOINT);
        this.output.add(digest);
      },
      onDigest: (digest) => {
        this.output.addByte(TAG_DIGEST);
        this.output.add(digest);
      },
    });
    this.stats = { ...this.planner.stats, outputBytes: 0 };
  }

  push(chunk: Uint8Array, final = false): void {
    this.planner.push(chunk, final);
    Object.assign(this.stats, this.planner.stats);
    const out = this.output.take();
    this.stats.outputBytes += out.length;
    if (out.length || final) this.ondata(out, final);
  }

  /** Releases the matcher (and its WASM instance) when the body will not be finished, e.g. the client went away. */
  dispose(): void {
    this.planner.dispose();
  }
}
