// The server's header passes (the http-proxy `passes/` idea): each takes the
// headers and changes one concern. The crcsync rules themselves live in
// src/protocol/response-policy.ts; these apply them to a HeaderMap.

import type { IncomingMessage } from 'node:http';
import {
  CAPABILITY_HEADER,
  CAPABILITY_VALUE,
  ENCODED_RESPONSE,
  HEADERS_DROPPED_WHEN_ENCODED,
  IF_BLOCK_HEADER,
  crcsyncEtag,
  mergeVary,
} from '../protocol/index';
import type { CompressionCoding } from './content-coding';
import { HeaderMap, headerText } from './headers';

/** RFC 9110 §7.6.1: meaningful for one connection only, never forwarded. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** Removes hop-by-hop headers, including those the Connection header names. */
export function stripHopByHop(headers: HeaderMap): void {
  const listed = (headerText(headers, 'connection') ?? '').split(',').map((name) => name.trim().toLowerCase());
  for (const name of [...HOP_BY_HOP, ...listed]) if (name) headers.delete(name);
}

/** `Capability: crcsync; m=1` on every response the server handles (PROTOCOL.md §2). */
export function addCapability(headers: HeaderMap): void {
  headers.set(CAPABILITY_HEADER.toLowerCase(), CAPABILITY_VALUE);
}

/**
 * The headers of a crcsync-encoded response (PROTOCOL.md §2): the coding,
 * `Vary: If-Block` merged in, the ETag suffixed with the origin's coding,
 * no Content-Length / Content-MD5. Accept-Ranges goes too: byte ranges of a
 * delta mean nothing to the client.
 */
export function applyDeltaHeaders(headers: HeaderMap, originEncoding: string): void {
  headers.set('content-encoding', ENCODED_RESPONSE.contentEncoding);
  headers.set('vary', mergeVary(headers.get('vary'), ENCODED_RESPONSE.vary));
  const etag = headerText(headers, 'etag');
  if (etag !== undefined) headers.set('etag', crcsyncEtag(etag, originEncoding));
  for (const name of HEADERS_DROPPED_WHEN_ENCODED) headers.delete(name);
  headers.delete('accept-ranges');
}

/**
 * The headers of a gzip / br response made here. The ETag is weakened, as
 * nginx does: the compressed bytes are not the origin's bytes (RFC 9110
 * §8.8.1), but they are semantically the same representation.
 */
export function applyCompressionHeaders(headers: HeaderMap, coding: CompressionCoding): void {
  headers.set('content-encoding', coding);
  headers.set('vary', mergeVary(headers.get('vary'), 'Accept-Encoding'));
  const etag = headerText(headers, 'etag');
  if (etag !== undefined && !etag.startsWith('W/')) headers.set('etag', `W/${etag}`);
  headers.delete('content-length');
  headers.delete('content-md5');
  headers.delete('accept-ranges');
}

/** After an upstream gzip/br body is decoded, its length and digest no longer apply. */
export function applyDecodedHeaders(headers: HeaderMap): void {
  headers.delete('content-encoding');
  headers.delete('content-length');
  headers.delete('content-md5');
}

/**
 * Request headers for the upstream: hop-by-hop removed; If-Block removed
 * because this server answers it (forwarding it to a crcsync upstream would
 * get back a delta against a base only the client holds); Host set to the
 * upstream's; X-Forwarded-* added so the origin sees the real client.
 */
export function upstreamRequestHeaders(req: IncomingMessage, upstream: URL): Record<string, string | string[]> {
  const headers: HeaderMap = new Map();
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name, value);
  stripHopByHop(headers);
  headers.delete(IF_BLOCK_HEADER.toLowerCase());
  const forwardedFor = headerText(headers, 'x-forwarded-for');
  const clientAddress = req.socket.remoteAddress ?? '';
  headers.set('x-forwarded-for', forwardedFor ? `${forwardedFor}, ${clientAddress}` : clientAddress);
  if (req.headers.host) headers.set('x-forwarded-host', req.headers.host);
  headers.set('x-forwarded-proto', (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  headers.set('host', upstream.host);
  return Object.fromEntries(headers);
}
