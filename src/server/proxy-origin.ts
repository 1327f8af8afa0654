// An upstream HTTP/HTTPS server as the origin (`crcsync serve --upstream URL`):
// the reverse proxy. The upstream sees exactly the requests clients sent:
// the same method, the path under the upstream's prefix byte for byte, the
// same body with the same framing (request-framing.ts), hop-by-hop headers
// removed. The upstream's response comes back as is (hop-by-hop headers
// removed) and the handler decides what to do with it. The upstream request
// is aborted as soon as the client goes away.

import * as http from 'node:http';
import * as https from 'node:https';
import { ForwardingPolicy, stripHopByHop, upstreamRequestHeaders } from './header-passes';
import { headersFromIncoming } from './headers';
import { Origin, OriginError } from './origin';
import { RequestFraming, http2RequestFraming, requestFraming, upstreamPath } from './request-framing';

export interface ProxyOriginOptions {
  /** Extra CA certificates (PEM) to trust for an HTTPS upstream. */
  ca?: string | Buffer;
  /** No byte from the upstream for this long: 504 (default 30 s). */
  timeoutMs?: number;
  /**
   * The clients are other proxies you run (a load balancer): extend their
   * X-Forwarded-* / Forwarded chain instead of replacing it. Off by default:
   * a client's own X-Forwarded-For is a claim, not a fact.
   */
  trustForwarded?: boolean;
}

/**
 * Errors of a pooled keep-alive connection the upstream had already closed
 * (it restarted, or its idle timeout won the race with our request): the
 * request never reached it, so an idempotent one may be sent again.
 */
const STALE_CONNECTION_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * Sent again once on a fresh connection: methods that are idempotent and
 * safe (RFC 9110 §9.2) and carry no body, so nothing the client sent is
 * consumed by the first try.
 */
function isRetryable(method: string, framing: RequestFraming): boolean {
  return (method === 'GET' || method === 'HEAD') && framing.kind === 'none';
}

/**
 * Whether a response's body is delimited by the close of the connection
 * (RFC 9112 §6.3 item 8): it has a body, but neither a Content-Length nor a
 * chunked transfer coding. Read before the hop-by-hop headers are removed.
 */
function endsAtClose(method: string, response: http.IncomingMessage): boolean {
  const status = response.statusCode ?? 0;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return false;
  if (response.headers['content-length'] !== undefined) return false;
  return !/(^|,)\s*chunked\s*$/i.test(response.headers['transfer-encoding'] ?? '');
}

export function proxyOrigin(upstreamUrl: string | URL, options: ProxyOriginOptions = {}): Origin {
  const upstream = new URL(upstreamUrl);
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') {
    throw new RangeError(`upstream must be an http: or https: URL, got ${upstream.protocol}`);
  }
  const secure = upstream.protocol === 'https:';
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets: 256, ca: options.ca })
    : new http.Agent({ keepAlive: true, maxSockets: 256 });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const forwarding: ForwardingPolicy = options.trustForwarded ? 'extend' : 'replace';

  return (req, signal) => {
    const method = req.method ?? 'GET';
    const path = upstreamPath(upstream.pathname, req.url ?? '');
    if (path === null) return Promise.reject(new OriginError(400, 'Bad Request: the path must stay under the upstream'));
    // An HTTP/2 stream (Http2ServerRequest: httpVersionMajor 2) is framed by DATA frames, not by its headers.
    const stream = (req as { stream?: { endAfterHeaders?: boolean } }).stream;
    const framing = req.httpVersionMajor === 2 ? http2RequestFraming(req.headers, stream?.endAfterHeaders === true) : requestFraming(req.headers);
    if (framing.kind === 'unsupported') return Promise.reject(new OriginError(501, `Not Implemented: transfer coding "${framing.codings}"`));
    const headers = upstreamRequestHeaders(req, upstream, framing, forwarding);

    const attempt = (mayRetry: boolean) =>
      new Promise<Awaited<ReturnType<Origin>>>((resolve, reject) => {
        const request = (secure ? https : http).request({
          protocol: upstream.protocol,
          hostname: upstream.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: upstream.port,
          path,
          method,
          headers,
          agent,
          signal,
          timeout: timeoutMs,
        });
        let responded = false;
        request.on('response', (response) => {
          responded = true;
          const responseHeaders = headersFromIncoming(response.headers);
          stripHopByHop(responseHeaders);
          resolve({ status: response.statusCode ?? 502, headers: responseHeaders, body: response, bodyEndsAtClose: endsAtClose(method, response) });
        });
        request.on('timeout', () => request.destroy(new OriginError(504, `upstream ${upstream.host} timed out`)));
        request.on('error', (error: NodeJS.ErrnoException) => {
          // Only before any response: a reset mid-body is the body's error (the pipeline's), not a stale socket.
          if (mayRetry && !responded && request.reusedSocket && !signal.aborted && STALE_CONNECTION_ERRORS.has(error.code ?? '')) {
            resolve(attempt(false));
            return;
          }
          reject(error instanceof OriginError || signal.aborted ? error : new OriginError(502, `upstream ${upstream.host}: ${error.message}`));
        });
        // A request without a body (no Content-Length, no Transfer-Encoding) ends
        // here; anything after it on the client's connection is its next request.
        if (framing.kind === 'none') request.end();
        else req.pipe(request);
      });
    return attempt(isRetryable(method, framing));
  };
}
