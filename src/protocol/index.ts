// The protocol library: pure (no node:, no browser APIs), for every adapter.
export { CrcsyncError, ERROR_CODES, isCrcsyncError } from './errors';
export type { CrcsyncErrorCode } from './errors';
export * from './wire';
export { blockLayout, blockRange } from './block-layout';
export type { BlockLayout } from './block-layout';
export { canSendIfBlock, formatIfBlock, formatIfBlockFromHashes, ifBlockFields, parseIfBlock } from './if-block';
export type { IfBlock } from './if-block';
export { decodeBase64Lenient, encodeBase64Unpadded } from './base64';
export { nobleSha1 } from './sha1';
export type { Sha1Factory, Sha1Hasher } from './sha1';
export { fflateCompressor, pakoCompressor } from './deflaters';
export type { CompressorFactory, LiteralCompressor } from './deflaters';
export { DeltaSectionScanner } from './delta-sections';
export type { DeltaSectionListener, DeltaSectionOptions } from './delta-sections';
export { DeltaEncoder } from './delta-encoder';
export type { DeltaEncoderOptions, DeltaListener } from './delta-encoder';
export { DeltaDecoder } from './delta-decoder';
export type { DeltaDecoderOptions, VerifiedBodyListener, VerifiedRangeListener } from './delta-decoder';
// The extension x=1: verified prefixes and dictionary literals (docs/extensions.md).
export * from './ext-wire';
export { answerableExtensionVersion, capabilityFor, capabilityHasExtension, offerExtension } from './ext-offer';
export { DEFAULT_CHECKPOINT_POLICY, ExtSectionPlanner, MAX_PIECE_BYTES } from './ext-sections';
export type { CheckpointPolicy, ExtSectionListener, ExtSectionOptions, ExtSectionStats } from './ext-sections';
export { ExtDeltaEncoder, fflateDictionaryCompressor, pakoDictionaryCompressor } from './ext-encoder';
export type { DictionaryCompressor, ExtDeltaEncoderOptions, ExtDeltaListener } from './ext-encoder';
export {
  ENCODED_RESPONSE,
  HEADERS_DROPPED_WHEN_ENCODED,
  cacheControlDirectives,
  crcsyncEtag,
  decideDeltaEncoding,
  mergeVary,
  originContentEncoding,
} from './response-policy';
export type { DeltaEncodingDecision, DeltaEncodingInput, PassThroughReason } from './response-policy';
export { NO_DELTA_EXCLUSIONS, compileDeltaExclusions } from './delta-exclusions';
export type { DeltaExclusions } from './delta-exclusions';
export {
  advertisesCrcsync,
  classifyDeltaResponse,
  findHeader,
  forbidsStoring,
  isCrcsyncEligibleUrl,
  originOf,
  rebuiltResponseHeaders,
  refetchRefusal,
  shouldOfferIfBlock,
} from './client-policy';
export type { DeltaResponseKind, HeaderEntry, IfBlockDecision, IfBlockRefusal, IfBlockRequest, RefetchRefusal } from './client-policy';
// The client's delta rebuild, browser-neutral: a transport pushes chunks, a BodySink gets verified bytes only.
export { REBUILD_CANCELLED, startDeltaRebuild } from './delta-rebuild';
export type { BodySink, DeltaOutcome, DeltaRebuild, DeltaRebuildJob, RebuildMarks, RebuildTimers, RefetchResult } from './delta-rebuild';
