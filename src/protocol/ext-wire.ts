// Exact wire names and numbers of the crcsync extension x=1: verified
// prefixes and dictionary literals on top of http-crcsync v=1
// (docs/extensions.md). Nothing here changes a v=1 exchange.

/** The If-Block field a client adds to offer the extension (`...; x=1`); v=1 parsers ignore it (PROTOCOL.md §1). */
export const EXT_OFFER_FIELD = 'x';
/** The extension version this document defines; the body marker carries it too. */
export const EXT_VERSION = 1;
/** What the client appends to its v=1 If-Block value to offer the extension. */
export const EXT_OFFER = `; ${EXT_OFFER_FIELD}=${EXT_VERSION}`;
/** Capability on responses to requests that offered the extension, from a server that speaks it. */
export const EXT_CAPABILITY_VALUE = `crcsync; m=1; ${EXT_OFFER_FIELD}=${EXT_VERSION}`;

/** Section tags of an extension body (v=1 tags B, Z, L, S keep their meaning). */
export const TAG_EXT_MARKER = 0x58; // 'X' + version byte: first two bytes of every extension body
export const TAG_CHECKPOINT = 0x43; // 'C' + 20-byte SHA-1 of the rebuilt body so far
export const TAG_DICTIONARY_ZLIB = 0x44; // 'D' + one zlib stream with a preset dictionary (FDICT)

/** A D section's dictionary: the last min(this, rebuilt) bytes of the body before it (deflate's window). */
export const DICTIONARY_WINDOW_BYTES = 32 * 1024;
/**
 * A checkpoint must cover at least this many body bytes beyond the previous
 * one (or the body start): bounds what checkpoint spam costs a client.
 */
export const MIN_CHECKPOINT_SPACING_BYTES = 1024;
