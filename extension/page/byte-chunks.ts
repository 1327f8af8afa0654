// Bytes over Chrome's runtime messaging (relay <-> background), which
// serializes every message as JSON: a Uint8Array would arrive as an object
// with one key per byte. Bytes go as base64 strings, at most
// MESSAGE_CHUNK_BYTES per message (test/e2e/chromium-page-fetch-messaging.test.ts
// measured the choice; the figures are at the top of
// extension/background/chromium/page-fetch.ts).

/** Bytes per runtime message. */
export const MESSAGE_CHUNK_BYTES = 64 * 1024;

/** Base64 (standard, padded) of `bytes`. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  // fromCharCode's argument list is bounded: 32 Ki codes per call.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The bytes of a base64 string; throws (DOMException InvalidCharacterError) on anything else. */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** `bytes` cut into base64 strings of at most MESSAGE_CHUNK_BYTES bytes each. */
export function base64Chunks(bytes: Uint8Array, chunkBytes = MESSAGE_CHUNK_BYTES): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < bytes.length; i += chunkBytes) chunks.push(bytesToBase64(bytes.subarray(i, i + chunkBytes)));
  return chunks;
}
