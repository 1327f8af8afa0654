// The server's header passes (the http-proxy `passes/` idea): each takes the
// headers and changes one concern. The crcsync rules themselves live in
// src/protocol/response-policy.ts; these apply them to a HeaderMap.

import type { IncomingMessage } from 'node:http';
import {
  CAPABILITY_HEADER,
  ENCODED_RESPONSE,
  HEADERS_DROPPED_WHEN_ENCODED,
  IF_BLOCK_HEADER,
  capabilityFor,
  crcsyncEtag,
  mergeVary,
} from '../protocol/index';
import type { CompressionCoding } from './content-coding';
import type { RequestFraming } from './request-framing';
import { HeaderMap, headerText } from './headers';

/** RFC 9110 §7.6.1: meaningful for one connection only, never forwarded. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** Removes hop-by-hop headers, including those the Connection header names. */
export function stripHopByHop(headers: HeaderMap): void {
  const listed = (headerText(headers, 'connection') ?? '').split(',').map((name) => name.trim().toLowerCase());
  for (const name of [...HOP_BY_HOP, ...listed]) if (name) headers.delete(name);
}

/**
 * `Capability: crcsync; m=1` on every response the server handles
 * (PROTOCOL.md §2); `crcsync; m=1; x=1` on every response to a request that
 * offered the extension (`offeredExtension` its version: docs/extensions.md
 * §1.3), whatever its body.
 */
export function addCapability(headers: HeaderMap, offeredExtension = 0): void {
  headers.set(CAPABILITY_HEADER.toLowerCase(), capabilityFor(offeredExtension));
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
 * What to do with the forwarding headers a client sent: 'replace' them with
 * what this proxy knows (the default: a client's X-Forwarded-For is a claim,
 * and upstreams use it for rate limits, logs and access rules), or 'extend'
 * the chain when the clients are proxies the operator runs (a load balancer).
 */
export type ForwardingPolicy = 'replace' | 'extend';

/** Headers that carry claims about earlier hops (RFC 7239 and the de facto X-Forwarded-* family). */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip'];

/** A Forwarded parameter value: a token as is, anything else quoted (RFC 7239 §4; IPv6 in brackets, §6). */
function forwardedValue(value: string, isAddress = false): string {
  const shown = isAddress && value.includes(':') ? `[${value}]` : value;
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(shown) ? shown : `"${shown.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Request headers for the upstream: hop-by-hop removed; If-Block removed
 * because this server answers it (forwarding it to a crcsync upstream would
 * get back a delta against a base only the client holds); Host set to the
 * upstream's; forwarding headers per `forwarding`; and the body framing the
 * client used set explicitly, whatever its Connection header listed, so the
 * upstream reads the same body and nothing after it (RFC 9112 §6.3; Node
 * would otherwise write a GET's body unframed onto a pooled connection).
 */
export function upstreamRequestHeaders(
  req: IncomingMessage,
  upstream: URL,
  framing: RequestFraming = { kind: 'none' },
  forwarding: ForwardingPolicy = 'replace',
): Record<string, string | string[]> {
  const headers: HeaderMap = new Map();
  // HTTP/2 pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`) are the request line, not headers:
  // an HTTP/1.1 upstream gets `Host` from `:authority` instead (RFC 9113 §8.3.1).
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !name.startsWith(':')) headers.set(name, value);
  stripHopByHop(headers);
  headers.delete(IF_BLOCK_HEADER.toLowerCase());
  headers.delete('content-length');
  if (framing.kind === 'length') headers.set('content-length', framing.length);
  if (framing.kind === 'chunked') headers.set('transfer-encoding', 'chunked');

  const clientAddress = req.socket.remoteAddress ?? '';
  const authority = req.headers[':authority'];
  const host = req.headers.host ?? (typeof authority === 'string' ? authority : undefined);
  const proto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const claimed = new Map(FORWARDING_HEADERS.map((name) => [name, headerText(headers, name)]));
  for (const name of FORWARDING_HEADERS) headers.delete(name);
  const extend = forwarding === 'extend';
  const chain = (name: string, value: string) => {
    const earlier = extend ? claimed.get(name) : undefined;
    return earlier ? `${earlier}, ${value}` : value;
  };
  headers.set('x-forwarded-for', chain('x-forwarded-for', clientAddress));
  const hostClaim = extend ? claimed.get('x-forwarded-host') : undefined;
  if (hostClaim ?? host) headers.set('x-forwarded-host', (hostClaim ?? host)!);
  headers.set('x-forwarded-proto', (extend ? claimed.get('x-forwarded-proto') : undefined) ?? proto);
  const hop = [`for=${forwardedValue(clientAddress, true)}`, ...(host ? [`host=${forwardedValue(host)}`] : []), `proto=${proto}`].join(';');
  headers.set('forwarded', chain('forwarded', hop));
  for (const name of ['x-forwarded-port', 'x-real-ip']) {
    const value = extend ? claimed.get(name) : undefined;
    if (value !== undefined) headers.set(name, value);
  }
  headers.set('host', upstream.host);
  return Object.fromEntries(headers);
}
