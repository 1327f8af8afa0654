// Response headers as the server passes see them: a Map keyed by lower-case
// name (HTTP names are case-insensitive, RFC 9110 §5.1), written out with the
// usual capitalisation so the wire looks like the vectors' response-headers.txt.

import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';

export type HeaderValue = string | string[];
export type HeaderMap = Map<string, HeaderValue>;

/** Names whose usual spelling is not plain Title-Case. */
const SPELLING: Record<string, string> = { etag: 'ETag', 'content-md5': 'Content-MD5', 'www-authenticate': 'WWW-Authenticate' };

/** Spellings worked out so far: a response names the same few headers every time, and the regular expression was ~1% of the event loop under load (issue 11). */
const spelled = new Map<string, string>();
/** Bounded, since a proxied origin chooses its header names: past this, names are spelled afresh. */
const MAX_SPELLED_NAMES = 512;

export function headerName(lowerCase: string): string {
  const known = SPELLING[lowerCase] ?? spelled.get(lowerCase);
  if (known !== undefined) return known;
  const name = lowerCase.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
  if (spelled.size < MAX_SPELLED_NAMES) spelled.set(lowerCase, name);
  return name;
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
