// Exact wire names and numbers of http-crcsync v=1 (PROTOCOL.md).

export const IF_BLOCK_HEADER = 'If-Block';
export const CAPABILITY_HEADER = 'Capability';
export const CAPABILITY_VALUE = 'crcsync; m=1';
export const CRCSYNC_ENCODING = 'crcsync';
export const ETAG_SUFFIX = '-crcsync-';

/** Blocks the client hashes (§1). */
export const CLIENT_BLOCK_COUNT = 40;
/** No If-Block below this size: bs would be <= 4 (§1). */
export const MIN_BASE_BYTES = 200;
/** No If-Block above this size (exactly 4 MiB still gets one) (§1). */
export const MAX_BASE_BYTES = 4 * 1024 * 1024;

/** Server limits (§5). */
export const MAX_IF_BLOCK_HEADER_BYTES = 4096;
export const MAX_SERVER_BLOCKS = 256;
export const MAX_SERVER_FILE_SIZE = 64 * 1024 * 1024;
/**
 * Block sizes (bs = floor(fs / n)) a server encodes against (§5). Honest
 * clients send n = 40 hashes of a 200 B .. 4 MiB base: 5 <= bs <= 104,858.
 * Outside, If-Block is valid but gets the normal response: bs < 5 makes
 * nearly every byte a match, a huge bs a huge window per request.
 */
export const MIN_SERVER_BLOCK_BYTES = 5;
export const MAX_SERVER_BLOCK_BYTES = 128 * 1024;

/** Client cap on a rebuilt body (§5). */
export const DEFAULT_MAX_REBUILT_BYTES = 32 * 1024 * 1024;

/** Section tags (§3). */
export const TAG_BLOCK = 0x42; // 'B' + 1-byte block index
export const TAG_ZLIB = 0x5a; // 'Z' + one complete zlib stream
export const TAG_LITERAL = 0x4c; // 'L' + u32 BE length + raw bytes (accepted, never sent)
export const TAG_DIGEST = 0x53; // 'S' + 20-byte SHA-1 of the rebuilt body
export const SHA1_BYTES = 20;
