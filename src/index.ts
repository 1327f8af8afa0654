// Public surface of the crcsync library (named exports only).
export * from './protocol/index';
export type { BlockMatcher, CrcEngine, MatchListener } from './core/crc-engine';
export { createTwinEngine } from './core/crc64-twin';
export { compileCore, createWasmEngine } from './core/wasm-engine';
export { getDefaultEngine, wasmCoreBytes } from './core/embedded-core';
