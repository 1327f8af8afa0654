// What the reverse proxy checks about a request before it goes upstream:
// how its body is framed (so the upstream reads the same body, never the
// start of another request) and where its path lands under the upstream's
// prefix (so `/../x` in any spelling cannot leave it). Pure functions of the
// request line and headers, no I/O.

import type { IncomingHttpHeaders } from 'node:http';

/**
 * The body framing the client used, as Node's parser read it (RFC 9112 §6):
 * none (no Content-Length, no Transfer-Encoding: the request ends at its
 * header), a Content-Length, or chunked. Another transfer coding would have
 * to be undone before forwarding, and this proxy does not: refuse it
 * (RFC 9112 §6.1: 501).
 */
export type RequestFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: string }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'unsupported'; readonly codings: string };

export function requestFraming(headers: IncomingHttpHeaders): RequestFraming {
  const transferEncoding = headers['transfer-encoding'];
  if (transferEncoding !== undefined) {
    // Node refuses a request with both Transfer-Encoding and Content-Length (RFC 9112 §6.3 item 3).
    const codings = transferEncoding
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== '');
    return codings.length === 1 && codings[0] === 'chunked' ? { kind: 'chunked' } : { kind: 'unsupported', codings: transferEncoding };
  }
  const contentLength = headers['content-length'];
  if (contentLength !== undefined) return { kind: 'length', length: contentLength };
  return { kind: 'none' };
}

/**
 * The framing of an HTTP/2 request, as the upstream (HTTP/1.1) must get it
 * (RFC 9113 §8.1: an HTTP/2 message is framed by its DATA frames, and
 * Transfer-Encoding is a malformed request, which Node refuses before this
 * runs): a Content-Length, which nghttp2 has checked against the DATA it
 * received (a mismatch resets the stream, so the request never completes
 * with other bytes: the H2.CL downgrade cannot smuggle); no body when the
 * HEADERS frame ended the stream; otherwise chunked, so the upstream reads
 * exactly the DATA the client sent and nothing after it.
 */
export function http2RequestFraming(headers: IncomingHttpHeaders, endedWithHeaders: boolean): RequestFraming {
  if (headers['transfer-encoding'] !== undefined) return { kind: 'unsupported', codings: String(headers['transfer-encoding']) };
  const contentLength = headers['content-length'];
  if (contentLength !== undefined) return { kind: 'length', length: contentLength };
  return endedWithHeaders ? { kind: 'none' } : { kind: 'chunked' };
}

/**
 * Percent-decodes byte by byte until nothing changes: `%252e` is `%2e` to a
 * server that decodes twice. Lenient: a malformed escape stays as it is and
 * does not stop the rest from being decoded (decodeURIComponent would give
 * up on the whole string, hiding a `%2e%2e` beside a `%zz`). Null when it
 * still changes after a few rounds: nobody encodes a path that deep.
 */
function fullyDecoded(text: string): string | null {
  let current = text;
  for (let round = 0; round < 4; round++) {
    const next = current.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === current) return current;
    current = next;
  }
  return null;
}

/**
 * Whether a path could name something outside the directory it starts in,
 * for some server: a `.` or `..` segment in any spelling (`%2e`, double
 * encoding), with `/`, `\` or their encodings (`%2f`, `%5c`) as separators,
 * since some upstreams split on those too. Browsers resolve dot segments
 * before sending (WHATWG URL), so no honest request has one.
 */
function mayLeaveItsDirectory(path: string): boolean {
  const decoded = fullyDecoded(path);
  return decoded === null || decoded.split(/[/\\]/).some((segment) => segment === '.' || segment === '..');
}

/**
 * The request target to send upstream: the client's path and query, byte
 * for byte, after the upstream URL's own path (its prefix). Null when the
 * target is not in origin-form (RFC 9112 §3.2.1: absolute-form and `*` are
 * not for this server) or has a dot segment or a backslash in its path.
 */
export function upstreamPath(prefix: string, requestTarget: string): string | null {
  if (!requestTarget.startsWith('/')) return null;
  const queryAt = requestTarget.indexOf('?');
  const path = queryAt < 0 ? requestTarget : requestTarget.slice(0, queryAt);
  if (path.includes('\\') || mayLeaveItsDirectory(path)) return null;
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return base + requestTarget;
}
