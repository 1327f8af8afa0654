// The WASM core's kernels driven through its raw exports (core-wasm/README.md
// ABI), with the input already in linear memory: what the C port (crc64.c)
// does on its side, so the two time the same work — the reset, the scan or
// the hashing — and not the host's copying. src/core/wasm-engine.ts (the
// engine every adapter uses) is timed separately, as the figure users get.

import { CoreExports, instantiate } from '../../src/core/wasm-engine';
import { FoundBlock } from './native-core';


export class WasmKernelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WasmKernelError';
  }
}


/** Block hashing of one body held in its own instance's memory. */
export class WasmHashKernel {
  private readonly core: CoreExports;
  private readonly at: number;

  constructor(module: WebAssembly.Module, readonly body: Uint8Array) {
    this.core = instantiate(module);
    this.at = this.core.scratch(body.length + 8 * 256);
    if (this.at === 0) throw new WasmKernelError('memory could not grow');
    new Uint8Array(this.core.memory.buffer, this.at, body.length).set(body);
  }

  /** n hashes, 8 bytes LE each. */
  hash(blockCount: number): Uint8Array {
    const out = this.at + this.body.length;
    this.core.blockHashes(this.at, this.body.length, blockCount, out);
    return new Uint8Array(this.core.memory.buffer, out, blockCount * 8);
  }
}

/**
 * One streaming match of one body against fixed hashes, in its own instance.
 * The body is copied in once; after matcherReset the input window starts
 * empty at the same address, so reserving the same length again finds the
 * body's bytes already there (matcher.ts keeps the buffer where it was).
 */
export class WasmMatchKernel {
  private readonly core: CoreExports;
  private readonly blockCount: number;

  constructor(
    module: WebAssembly.Module,
    hashes: Uint8Array,
    private readonly fileSize: number,
    readonly body: Uint8Array,
  ) {
    this.core = instantiate(module);
    this.blockCount = hashes.length >> 3;
    new Uint8Array(this.core.memory.buffer, this.core.hashInput.value as number, hashes.length).set(hashes);
    const at = this.reset();
    new Uint8Array(this.core.memory.buffer, at, body.length).set(body);
  }

  private reset(): number {
    if (this.core.matcherReset(this.blockCount, this.fileSize) !== 0) throw new WasmKernelError(`unusable layout n=${this.blockCount} fs=${this.fileSize}`);
    const at = this.core.reserveInput(this.body.length);
    if (at === 0) throw new WasmKernelError('memory could not grow');
    return at;
  }

  /** Resets and scans the whole body; calls onMatch per block (null: count only). Returns the number of matches. */
  match(onMatch: ((found: FoundBlock) => void) | null = null): number {
    this.reset();
    let position = 0;
    let matches = 0;
    while (position < this.body.length) {
      position += this.core.scan();
      const block = this.core.matchedBlock();
      if (block >= 0) {
        matches++;
        onMatch?.({ end: position, block, length: this.core.matchedLength() });
      }
    }
    return matches;
  }
}
