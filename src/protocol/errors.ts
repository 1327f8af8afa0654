// One error type with stable codes (STYLE.md habit 2): src/ reports, adapters
// decide the fallback (the extension refetches, the server passes through).

export const ERROR_CODES = {
  IF_BLOCK_TOO_LONG: 'If-Block header is longer than the 4 KiB limit (PROTOCOL.md §5)',
  IF_BLOCK_MALFORMED: 'If-Block header is malformed (PROTOCOL.md §1)',
  IF_BLOCK_VERSION: 'If-Block names a version other than v=1',
  IF_BLOCK_FILE_SIZE: 'If-Block fs is missing, not a positive decimal or over the limit',
  IF_BLOCK_HASHES: 'If-Block h is missing or does not hold 1..256 hashes, or more hashes than bytes',
  DELTA_UNKNOWN_SECTION: 'delta has a byte that is not a section tag (B, Z, L, S)',
  DELTA_BLOCK_OUT_OF_RANGE: 'delta references a block the cached body does not have',
  DELTA_ZLIB: 'delta has a Z section that is not one valid zlib stream',
  DELTA_TRUNCATED: 'delta ends in the middle of a section',
  DELTA_MISSING_DIGEST: 'delta has no S (SHA-1) section at its end',
  DELTA_TRAILING_DATA: 'delta has bytes after its S section',
  DELTA_DIGEST_MISMATCH: 'rebuilt body does not match the SHA-1 digest of the delta',
  DELTA_TOO_LARGE: 'rebuilt body would exceed the configured size cap',
  DELTA_INFLATE_RATIO: 'delta Z sections inflate to more than a sane ratio to the delta bytes received allows (decompression bomb)',
  DELTA_EXTENSION_VERSION: 'delta starts with the extension marker X but names a version this client did not offer (docs/extensions.md)',
  DELTA_CHECKPOINT_MISMATCH: 'rebuilt prefix does not match the SHA-1 of a C (checkpoint) section (docs/extensions.md)',
  DELTA_CHECKPOINT_SPACING: 'delta has a C (checkpoint) section less than the minimum spacing after the previous one (docs/extensions.md)',
  DELTA_DICTIONARY: 'delta has a D section that is not one zlib stream with the preset dictionary the rebuilt body gives (docs/extensions.md)',
  DELTA_DICTIONARY_WORK: 'delta D sections load more dictionary bytes than the delta bytes received allow (docs/extensions.md)',
  BASE_UNUSABLE: 'cached body cannot serve as a delta base (size outside 200 bytes .. 4 MiB for 40 blocks)',
  DECODER_INTERNAL: 'the decoder failed for a reason of its own (a bug or an allocation failure), not a fault of the delta as far as it can tell',
  STREAM_STATE: 'push() called after the final chunk',
} as const;

export type CrcsyncErrorCode = keyof typeof ERROR_CODES;

export class CrcsyncError extends Error {
  readonly code: CrcsyncErrorCode;

  constructor(code: CrcsyncErrorCode, detail?: string) {
    super(detail ? `${ERROR_CODES[code]}: ${detail}` : ERROR_CODES[code]);
    this.name = 'CrcsyncError';
    this.code = code;
  }
}

export function isCrcsyncError(error: unknown): error is CrcsyncError {
  return error instanceof CrcsyncError;
}
