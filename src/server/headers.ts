// Response headers as the server passes see them: a Map keyed by lower-case
// name (HTTP names are case-insensitive, RFC 9110 §5.1), written out with the
// usual capitalisation so the wire looks like the vectors' response-headers.txt.

import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';

export type HeaderValue = string | string[];
export type HeaderMap = Map<string, HeaderValue>;

/** Names whose usual spelling is not plain Title-Case. */
const SPELLING: Record<string, string> = { etag: 'ETag', 'content-md5': 'Content-MD5', 'www-authenticate': 'WWW-Authenticate' };

export function headerName(lowerCase: string): string {
  return SPELLING[lowerCase] ?? lowerCase.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

export function headersFromIncoming(headers: IncomingHttpHeaders): HeaderMap {
  const map: HeaderMap = new Map();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) map.set(name.toLowerCase(), value);
  }
  return map;
}

export function headersFromObject(headers: Record<string, HeaderValue | number | undefined>): HeaderMap {
  const map: HeaderMap = new Map();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) map.set(name.toLowerCase(), typeof value === 'number' ? String(value) : value);
  }
  return map;
}

/** A single-valued header as one string (repeated lines joined with ", ", RFC 9110 §5.3). */
export function headerText(headers: HeaderMap, name: string): string | undefined {
  const value = headers.get(name);
  return Array.isArray(value) ? value.join(', ') : value;
}

export function toOutgoing(headers: HeaderMap): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of headers) out[headerName(name)] = value;
  return out;
}

export function writeHead(res: ServerResponse, status: number, headers: HeaderMap): void {
  res.writeHead(status, toOutgoing(headers));
}
