// Base64 as http-crcsync uses it (PROTOCOL.md §1): standard alphabet, the
// client drops the '=' padding, and a server decodes leniently, stopping at
// the first character outside the alphabet. The platform's btoa/atob do the
// work (available in Node >= 16 and every browser).

const ALPHABET = /^[A-Za-z0-9+/]*/;

export function encodeBase64Unpadded(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/=+$/, '');
}

/** Decodes the longest prefix in the alphabet; a dangling 6-bit group that makes no byte is ignored. */
export function decodeBase64Lenient(text: string): Uint8Array {
  let valid = ALPHABET.exec(text)![0];
  if (valid.length % 4 === 1) valid = valid.slice(0, -1);
  const binary = atob(valid);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
