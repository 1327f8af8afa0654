// The If-Block request header (PROTOCOL.md §1, limits §5).

import { CrcEngine } from '../core/crc-engine';
import { decodeBase64Lenient, encodeBase64Unpadded } from './base64';
import { BlockLayout, blockLayout } from './block-layout';
import { CrcsyncError } from './errors';
import {
  CLIENT_BLOCK_COUNT,
  MAX_BASE_BYTES,
  MAX_IF_BLOCK_HEADER_BYTES,
  MAX_SERVER_BLOCKS,
  MAX_SERVER_FILE_SIZE,
  MIN_BASE_BYTES,
} from './wire';

export interface IfBlock {
  /** Size of the client's cached body (fs). */
  readonly fileSize: number;
  /** The block hashes, blockCount × 8 bytes little-endian. */
  readonly hashes: Uint8Array;
  readonly layout: BlockLayout;
}

/** Whether a client holding a body of this size sends If-Block at all (§1). */
export function canSendIfBlock(baseSize: number): boolean {
  return baseSize >= MIN_BASE_BYTES && baseSize <= MAX_BASE_BYTES;
}

/** The If-Block value for a cached body, or null when none should be sent (§1). */
export function formatIfBlock(base: Uint8Array, engine: CrcEngine): string | null {
  if (!canSendIfBlock(base.length)) return null;
  return formatIfBlockFromHashes(base.length, engine.blockHashes(base, CLIENT_BLOCK_COUNT));
}

/** `v=1; fs=N; h=...` exactly as the reference client writes it. */
export function formatIfBlockFromHashes(fileSize: number, hashes: Uint8Array): string {
  return `v=1; fs=${fileSize}; h=${encodeBase64Unpadded(hashes)}`;
}

const DECIMAL = /^[0-9]+$/;

/**
 * Strips optional whitespace as HTTP defines it (RFC 9110 §5.6.3 OWS: SP and
 * HTAB only). String.prototype.trim would also strip NBSP and other Unicode
 * spaces, which arrive as obs-text bytes and which the original parser
 * (C isspace in the "C" locale) never skipped.
 */
function trimOws(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/**
 * The fields of an If-Block value by lower-case name, split as the original
 * server splits them: on ';', optional whitespace, any order. Unknown fields
 * are kept (and ignored by parseIfBlock; the extension reads `x`).
 */
export function ifBlockFields(value: string): Map<string, string> {
  if (value.length > MAX_IF_BLOCK_HEADER_BYTES) {
    throw new CrcsyncError('IF_BLOCK_TOO_LONG', `${value.length} bytes`);
  }
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    const field = trimOws(part);
    if (field === '') continue;
    const equals = field.indexOf('=');
    if (equals <= 0) throw new CrcsyncError('IF_BLOCK_MALFORMED', `field without name=value: "${field.slice(0, 40)}"`);
    const name = trimOws(field.slice(0, equals)).toLowerCase();
    if (fields.has(name)) throw new CrcsyncError('IF_BLOCK_MALFORMED', `duplicate field "${name}"`);
    fields.set(name, trimOws(field.slice(equals + 1)));
  }
  return fields;
}

/**
 * Parses an If-Block value leniently, as the original server does: fields
 * split on ';', optional whitespace, any order, v defaults to 1. Throws a
 * CrcsyncError for anything the server must not encode against.
 */
export function parseIfBlock(value: string): IfBlock {
  const fields = ifBlockFields(value);
  const version = fields.get('v') ?? '1';
  if (version !== '1') throw new CrcsyncError('IF_BLOCK_VERSION', `v=${version.slice(0, 20)}`);

  const sizeText = fields.get('fs');
  if (sizeText === undefined || !DECIMAL.test(sizeText)) {
    throw new CrcsyncError('IF_BLOCK_FILE_SIZE', sizeText === undefined ? 'missing' : `"${sizeText.slice(0, 20)}"`);
  }
  const fileSize = Number(sizeText);
  if (fileSize <= 0 || fileSize > MAX_SERVER_FILE_SIZE) {
    throw new CrcsyncError('IF_BLOCK_FILE_SIZE', `fs=${sizeText.slice(0, 20)} outside 1..${MAX_SERVER_FILE_SIZE}`);
  }

  const hashText = fields.get('h');
  if (hashText === undefined) throw new CrcsyncError('IF_BLOCK_HASHES', 'missing');
  const decoded = decodeBase64Lenient(hashText);
  const blockCount = Math.floor(decoded.length / 8);
  if (blockCount < 1 || blockCount > MAX_SERVER_BLOCKS) {
    throw new CrcsyncError('IF_BLOCK_HASHES', `${blockCount} hashes, want 1..${MAX_SERVER_BLOCKS}`);
  }
  if (blockCount > fileSize) {
    throw new CrcsyncError('IF_BLOCK_HASHES', `${blockCount} blocks for ${fileSize} bytes`);
  }
  return { fileSize, hashes: decoded.slice(0, blockCount * 8), layout: blockLayout(fileSize, blockCount) };
}
