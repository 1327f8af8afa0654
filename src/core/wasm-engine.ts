// Typed wrapper over core-wasm (see core-wasm/README.md for the ABI). The
// module is compiled once; each matcher gets its own instance because the
// core keeps one streaming match per instance in module globals.

import { BlockMatcher, CrcEngine, MatchListener, MAX_MATCH_BLOCKS } from './crc-engine';

/** The core's exports (core-wasm/README.md ABI). */
export interface CoreExports {
  memory: WebAssembly.Memory;
  hashInput: WebAssembly.Global;
  matcherReset(blockCount: number, fileSize: number): number;
  reserveInput(length: number): number;
  scan(): number;
  matchedBlock(): number;
  matchedLength(): number;
  scratch(length: number): number;
  blockHashes(ptr: number, length: number, blockCount: number, out: number): void;
  crc64Update(crc: bigint, ptr: number, length: number): bigint;
}

/**
 * Input is copied into WASM memory in slices of this size, so a huge chunk
 * never needs a huge buffer: an instance grows to at most twice (window +
 * slice), and one fed by any caller stays small enough to be pooled.
 */
const SLICE_BYTES = 64 * 1024;

/** A fresh instance of the core (its own linear memory and match state). */
export function instantiate(module: WebAssembly.Module): CoreExports {
  return new WebAssembly.Instance(module, {}).exports as unknown as CoreExports;
}

/** Idle instances kept for reuse: creating one costs more than matching a small page. */
const IDLE_INSTANCES_KEPT = 32;
/**
 * An instance whose memory grew past this is dropped rather than kept idle
 * (WebAssembly memory never shrinks): a reused instance then brings at most
 * this much to its next matcher, and the idle pool holds at most 8 MiB. It
 * fits windows up to ~46 KiB (bodies up to ~1.8 MB with 40 blocks).
 */
const IDLE_MEMORY_LIMIT = 256 * 1024;
/** The core's static data (CRC tables, block lookup, hash input) ends below this; the input window starts after it (core-wasm/README.md). */
const STATIC_DATA_BYTES = 64 * 1024;
const PAGE_BYTES = 64 * 1024;

/**
 * Most memory one WASM matcher can hold for a widest window (tail block) of
 * `windowBytes`, whatever the chunk sizes: the core keeps up to one window of
 * scanned bytes plus the slice being scanned, and grows to twice what it
 * needs (core-wasm matcher.ts reserveInput); a pooled instance may bring
 * IDLE_MEMORY_LIMIT. The server counts this against its delta memory budget
 * (PROTOCOL.md §5).
 */
export function matcherMemoryBound(windowBytes: number): number {
  const grown = Math.ceil((STATIC_DATA_BYTES + 2 * (windowBytes + SLICE_BYTES)) / PAGE_BYTES) * PAGE_BYTES;
  return Math.max(IDLE_MEMORY_LIMIT, grown);
}

/** The engine's matcher instances, for tests and memory accounting. */
export interface WasmMemoryStats {
  /** Matchers created and not yet disposed. */
  liveMatchers: number;
  idleInstances: number;
  idleBytes: number;
}

export interface WasmBlockMatcher extends BlockMatcher {
  /** The linear memory of this matcher's instance now (0 once disposed). */
  readonly memoryBytes: number;
}

export interface WasmCrcEngine extends CrcEngine {
  readonly kind: 'wasm';
  createMatcher(hashes: Uint8Array, fileSize: number): WasmBlockMatcher;
  memoryStats(): WasmMemoryStats;
}

function outOfMemory(): Error {
  return new RangeError('crcsync WASM core: memory could not grow');
}

class WasmMatcher implements WasmBlockMatcher {
  private core: CoreExports | null;
  private position = 0;

  constructor(
    core: CoreExports,
    hashes: Uint8Array,
    fileSize: number,
    private readonly release: (core: CoreExports) => void,
  ) {
    const blockCount = hashes.length >> 3;
    new Uint8Array(core.memory.buffer, core.hashInput.value as number, hashes.length).set(hashes);
    if (core.matcherReset(blockCount, fileSize) !== 0) {
      release(core);
      throw new RangeError(`crcsync WASM core: unusable block layout (n=${blockCount}, fs=${fileSize})`);
    }
    this.core = core;
  }

  scan(chunk: Uint8Array, onMatch: MatchListener): void {
    const core = this.core;
    if (!core) throw new Error('crcsync WASM core: matcher used after dispose');
    for (let offset = 0; offset < chunk.length; offset += SLICE_BYTES) {
      const slice = chunk.subarray(offset, offset + SLICE_BYTES);
      const at = core.reserveInput(slice.length);
      if (at === 0) throw outOfMemory();
      // memory.buffer is replaced when memory grows: take a fresh view each time.
      new Uint8Array(core.memory.buffer, at, slice.length).set(slice);
      let remaining = slice.length;
      while (remaining > 0) {
        const consumed = core.scan();
        remaining -= consumed;
        this.position += consumed;
        const block = core.matchedBlock();
        if (block >= 0) onMatch(this.position, block, core.matchedLength());
      }
    }
  }

  get memoryBytes(): number {
    return this.core ? this.core.memory.buffer.byteLength : 0;
  }

  dispose(): void {
    if (this.core) this.release(this.core);
    this.core = null;
  }
}

export function createWasmEngine(module: WebAssembly.Module): WasmCrcEngine {
  const hashing = instantiate(module);
  const idle: CoreExports[] = [];
  // A count, not a set of instances: a matcher that is never disposed must stay collectable.
  let liveMatchers = 0;
  const release = (core: CoreExports) => {
    liveMatchers--;
    if (idle.length < IDLE_INSTANCES_KEPT && core.memory.buffer.byteLength <= IDLE_MEMORY_LIMIT) idle.push(core);
  };
  function copyIn(data: Uint8Array): number {
    const at = hashing.scratch(data.length + 8 * MAX_MATCH_BLOCKS);
    if (at === 0) throw outOfMemory();
    new Uint8Array(hashing.memory.buffer, at, data.length).set(data);
    return at;
  }
  return {
    kind: 'wasm',
    crc64(data: Uint8Array, crc = 0n): bigint {
      const at = copyIn(data);
      return BigInt.asUintN(64, hashing.crc64Update(crc, at, data.length));
    },
    blockHashes(body: Uint8Array, blockCount: number): Uint8Array {
      const at = copyIn(body);
      const out = at + body.length;
      hashing.blockHashes(at, body.length, blockCount, out);
      return new Uint8Array(hashing.memory.buffer, out, blockCount * 8).slice();
    },
    createMatcher(hashes: Uint8Array, fileSize: number): WasmBlockMatcher {
      liveMatchers++;
      return new WasmMatcher(idle.pop() ?? instantiate(module), hashes, fileSize, release);
    },
    memoryStats(): WasmMemoryStats {
      const idleBytes = idle.reduce((sum, core) => sum + core.memory.buffer.byteLength, 0);
      return { liveMatchers, idleInstances: idle.length, idleBytes };
    },
  };
}

/** Compiles the core once; synchronous, for Node, workers and service workers. */
export function compileCore(wasmBytes: Uint8Array): WebAssembly.Module {
  return new WebAssembly.Module(wasmBytes as Uint8Array<ArrayBuffer>);
}
