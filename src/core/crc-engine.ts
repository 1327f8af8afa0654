// What src/protocol needs from a CRC-64 implementation (PROTOCOL.md §1, §4).
// Two implementations give identical results: the WASM core (fast) and the
// plain-TypeScript twin (test oracle, and fallback without WebAssembly).

/** Called for each block found in the new body, in order. `end` is the absolute offset just past the window. */
export type MatchListener = (end: number, blockIndex: number, blockLength: number) => void;

export interface BlockMatcher {
  /** Scans the next bytes of the new body; the result does not depend on how the body is split. */
  scan(chunk: Uint8Array, onMatch: MatchListener): void;
  /** Releases memory held by the matcher; scan must not be called afterwards. */
  dispose(): void;
}

export interface CrcEngine {
  readonly kind: 'wasm' | 'typescript';
  /** CRC-64 (reflected 0x1B, init 0, no final xor) continued from `crc`. */
  crc64(data: Uint8Array, crc?: bigint): bigint;
  /** Hashes of `blockCount` blocks of `body` (the last takes the remainder), each 8 bytes little-endian. */
  blockHashes(body: Uint8Array, blockCount: number): Uint8Array;
  /**
   * A matcher for the blocks of a body of `fileSize` bytes whose hashes are
   * `hashes` (blockCount × 8 bytes LE). Callers validate 1 <= blockCount <= 256 <= fileSize.
   */
  createMatcher(hashes: Uint8Array, fileSize: number): BlockMatcher;
}

export const MAX_MATCH_BLOCKS = 256;
