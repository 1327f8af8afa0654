// Node-native codecs for the server and CLI: node:crypto SHA-1 and node:zlib
// deflate, several times faster than the portable defaults in src/protocol.

import { createHash } from 'node:crypto';
import { constants, deflateRawSync } from 'node:zlib';
import adler32 from 'pako/lib/zlib/adler32.js';
import type { CompressorFactory } from '../protocol/deflaters';
import type { Sha1Factory } from '../protocol/sha1';

export const nodeSha1: Sha1Factory = () => {
  const hash = createHash('sha1');
  return {
    update(bytes) {
      hash.update(bytes);
    },
    digest() {
      return new Uint8Array(hash.digest());
    },
  };
};

/** Literal bytes are deflated in segments of about this size: bounded memory, little ratio lost. */
const SEGMENT_BYTES = 64 * 1024;
/** zlib header for deflate with a 32 KiB window at the default level (RFC 1950 §2.2). */
const ZLIB_HEADER = Uint8Array.of(0x78, 0x9c);
/** A final, empty fixed-Huffman block (BFINAL=1, BTYPE=01, end-of-block): ends the deflate data. */
const FINAL_EMPTY_BLOCK = Uint8Array.of(0x03, 0x00);

/**
 * One zlib stream per literal run (PROTOCOL.md §3) made with native zlib.
 * node:zlib has no synchronous streaming API, and the encoder's compressor
 * is synchronous, so each segment is deflated on its own with
 * `deflateRawSync(..., finishFlush: Z_SYNC_FLUSH)`: that leaves a byte-
 * aligned run of non-final blocks, and such runs concatenate into one valid
 * deflate stream (RFC 1951 §3.2.3). The stream is closed with an empty final
 * block and the Adler-32 of the whole run, computed here. The only cost
 * against a single zlib stream is that matches do not reach back across a
 * segment boundary. Decoders never depend on the exact Z bytes (§3).
 */
export const nodeZlibCompressor: CompressorFactory = (ondata) => {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let started = false;

  let checksum = 1; // Adler-32 of the run so far (RFC 1950 §8.2), pako's zlib port computes it

  function deflateSegment(): void {
    if (pendingBytes === 0) return;
    const input = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    ondata(deflateRawSync(input, { level: 6, finishFlush: constants.Z_SYNC_FLUSH }));
  }

  return {
    push(bytes, final) {
      if (!started) {
        ondata(ZLIB_HEADER);
        started = true;
      }
      if (bytes.length) {
        checksum = adler32(checksum, bytes, bytes.length, 0);
        // The encoder's view is only valid until its next append: keep a copy.
        pending.push(Buffer.from(bytes));
        pendingBytes += bytes.length;
        if (pendingBytes >= SEGMENT_BYTES) deflateSegment();
      }
      if (final) {
        deflateSegment();
        ondata(FINAL_EMPTY_BLOCK);
        ondata(Uint8Array.of(checksum >>> 24, (checksum >>> 16) & 0xff, (checksum >>> 8) & 0xff, checksum & 0xff));
      }
    },
  };
};
