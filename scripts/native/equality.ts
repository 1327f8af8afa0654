// The C port must compute what the WASM core computes before its speed means
// anything: the same block hashes, and the same blocks found at the same
// offsets (PROTOCOL.md §4). Checked against the engine every adapter uses
// (src/core/wasm-engine.ts, which feeds the core in 64 KiB slices).

import { CrcEngine } from '../../src/core/crc-engine';
import { FoundBlock, nativeBlockHashes, nativeMatches } from './native-core';

export class NativeMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NativeMismatchError';
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Throws unless C and WASM give the same n block hashes of the file's bytes. */
export function checkHashes(binary: string, engine: CrcEngine, body: Uint8Array, file: string, blockCount: number, label: string): void {
  const wasm = engine.blockHashes(body, blockCount);
  const native = nativeBlockHashes(binary, file, blockCount);
  if (hex(wasm) !== hex(native)) throw new NativeMismatchError(`${label}, n=${blockCount}: block hashes differ (WASM ${hex(wasm).slice(0, 32)}…, C ${hex(native).slice(0, 32)}…)`);
}

export function wasmMatches(engine: CrcEngine, old: Uint8Array, body: Uint8Array, blockCount: number): FoundBlock[] {
  const found: FoundBlock[] = [];
  const matcher = engine.createMatcher(engine.blockHashes(old, blockCount), old.length);
  try {
    matcher.scan(body, (end, block, length) => found.push({ end, block, length }));
  } finally {
    matcher.dispose();
  }
  return found;
}

/** Throws unless C and WASM find the same blocks at the same offsets; returns how many. */
export function checkMatches(binary: string, engine: CrcEngine, pair: { old: Uint8Array; new: Uint8Array; oldFile: string; newFile: string }, blockCount: number, label: string): number {
  const wasm = wasmMatches(engine, pair.old, pair.new, blockCount);
  const native = nativeMatches(binary, blockCount, pair.oldFile, pair.newFile);
  const first = wasm.findIndex((found, index) => native[index]?.end !== found.end || native[index]?.block !== found.block || native[index]?.length !== found.length);
  if (wasm.length !== native.length || first >= 0) {
    const at = first >= 0 ? first : Math.min(wasm.length, native.length);
    throw new NativeMismatchError(`${label}, n=${blockCount}: matches differ (WASM ${wasm.length}, C ${native.length}; first difference at #${at}: WASM ${JSON.stringify(wasm[at])}, C ${JSON.stringify(native[at])})`);
  }
  return wasm.length;
}
