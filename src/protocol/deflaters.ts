// Compressors for the literal runs of a delta: each run is exactly one
// complete zlib (RFC 1950) stream (PROTOCOL.md §3). fflate is the default;
// pako 2.x reproduces vanilla zlib level 6 byte for byte, which is what the
// reference vectors hold; adapters may inject another (e.g. node:zlib).

import { Zlib } from 'fflate';
import { Deflate, constants as pakoConstants } from 'pako';

/** One zlib stream: push the run's bytes, the last push with final = true. */
export interface LiteralCompressor {
  push(bytes: Uint8Array, final: boolean): void;
}

/** Makes a compressor that hands its output (in order) to `ondata`. */
export type CompressorFactory = (ondata: (bytes: Uint8Array) => void) => LiteralCompressor;

export const fflateCompressor: CompressorFactory = (ondata) => {
  const stream = new Zlib({ level: 6 }, (bytes) => {
    if (bytes.length) ondata(bytes);
  });
  return {
    push(bytes, final) {
      stream.push(bytes, final);
    },
  };
};

/** Byte-identical to zlib's deflate at level 6 (the reference implementation's output). */
export const pakoCompressor: CompressorFactory = (ondata) => {
  const stream = new Deflate({ level: 6 });
  stream.onData = (bytes: Uint8Array) => {
    if (bytes.length) ondata(bytes);
  };
  return {
    push(bytes, final) {
      if (bytes.length || final) {
        stream.push(bytes, final ? pakoConstants.Z_FINISH : pakoConstants.Z_NO_FLUSH);
      }
      if (stream.err) throw new Error(`pako deflate failed: ${stream.msg}`);
    },
  };
};
