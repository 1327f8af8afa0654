// pako 2.x exports its zlib port (package.json "exports": "./lib/zlib/*"):
// the C API of zlib's inflate, which lets the decoder inflate straight into
// its own body buffer and find where a zlib stream ends. Only what we use.
declare module 'pako/lib/zlib/zstream.js' {
  class ZStream {
    input: Uint8Array | null;
    next_in: number;
    avail_in: number;
    output: Uint8Array | null;
    next_out: number;
    avail_out: number;
    msg: string;
  }
  export = ZStream;
}

declare module 'pako/lib/zlib/inflate.js' {
  import ZStream = require('pako/lib/zlib/zstream.js');
  export function inflateInit2(strm: ZStream, windowBits: number): number;
  export function inflate(strm: ZStream, flush: number): number;
  export function inflateEnd(strm: ZStream): number;
  export function inflateSetDictionary(strm: ZStream, dictionary: Uint8Array): number;
}

declare module 'pako/lib/zlib/adler32.js' {
  function adler32(adler: number, buf: Uint8Array, len: number, pos: number): number;
  export = adler32;
}
