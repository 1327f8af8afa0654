// The WASM core's bytes, embedded by esbuild's binary loader (and by a jest
// transform in tests), and the engine every adapter uses by default.

import coreWasm from '../../core-wasm/build/crcsync.wasm';
import { CrcEngine } from './crc-engine';
import { createTwinEngine } from './crc64-twin';
import { compileCore, createWasmEngine } from './wasm-engine';

let defaultEngine: CrcEngine | null = null;

export function wasmCoreBytes(): Uint8Array {
  return coreWasm;
}

/** The WASM engine, or the TypeScript twin where WebAssembly is unavailable (e.g. disabled by policy). */
export function getDefaultEngine(): CrcEngine {
  if (!defaultEngine) {
    try {
      defaultEngine = createWasmEngine(compileCore(coreWasm));
    } catch {
      defaultEngine = createTwinEngine();
    }
  }
  return defaultEngine;
}
