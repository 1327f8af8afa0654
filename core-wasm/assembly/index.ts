// The ABI of crcsync's WASM core. Exports only, one line each; see ../README.md.
// One instance serves either one streaming match (matcher*, reserveInput, scan)
// or hashing (scratch, blockHashes, crc64Update): both use the heap buffer.

export { HASH_INPUT as hashInput } from "./matcher";     // where the host writes n block hashes (u64 LE) before matcherReset
export { MAX_BLOCKS as maxBlocks } from "./matcher";     // 256
export { matcherReset } from "./matcher";                // (n, fileSize) -> 0 | -1: start matching against HASH_INPUT
export { reserveInput } from "./matcher";                // (length) -> ptr: where to write the next input bytes (0: out of memory)
export { scan } from "./matcher";                        // () -> bytes consumed up to the first match or the end of input
export { matchedBlock } from "./matcher";                // () -> block index of the match that ended the last scan, or -1
export { matchedLength } from "./matcher";               // () -> length of that block (bs, or tail for block n-1)
export { scratch } from "./matcher";                     // (length) -> ptr of a scratch area for hashing (0: out of memory)
export { blockHashes } from "./matcher";                 // (ptr, len, n, out): n block hashes of [ptr, ptr+len) to out
export { crc64Update } from "./matcher";                 // (crc, ptr, len) -> crc continued over [ptr, ptr+len)
