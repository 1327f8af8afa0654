// An upstream HTTP/HTTPS server as the origin (`crcsync serve --upstream URL`):
// the reverse proxy. Requests are forwarded with their method and body; the
// upstream's response comes back as is (hop-by-hop headers removed), and the
// handler decides what to do with it. The upstream request is aborted as soon
// as the client goes away.

import * as http from 'node:http';
import * as https from 'node:https';
import { stripHopByHop, upstreamRequestHeaders } from './header-passes';
import { headersFromIncoming } from './headers';
import { Origin, OriginError } from './origin';

export interface ProxyOriginOptions {
  /** Extra CA certificates (PEM) to trust for an HTTPS upstream. */
  ca?: string | Buffer;
  /** No byte from the upstream for this long: 504 (default 30 s). */
  timeoutMs?: number;
}

/** The upstream URL for a request path: the upstream's own path is a prefix. */
export function upstreamTarget(upstream: URL, requestUrl: string): URL {
  const prefix = upstream.pathname.endsWith('/') ? upstream.pathname.slice(0, -1) : upstream.pathname;
  const path = requestUrl.startsWith('/') ? requestUrl : `/${requestUrl}`;
  const target = new URL(upstream.href);
  const query = path.indexOf('?');
  target.pathname = prefix + (query < 0 ? path : path.slice(0, query));
  target.search = query < 0 ? '' : path.slice(query);
  return target;
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

  return (req, signal) =>
    new Promise((resolve, reject) => {
      const target = upstreamTarget(upstream, req.url ?? '/');
      const request = (secure ? https : http).request(target, {
        method: req.method,
        headers: upstreamRequestHeaders(req, upstream),
        agent,
        signal,
        timeout: timeoutMs,
      });
      request.on('response', (response) => {
        const headers = headersFromIncoming(response.headers);
        stripHopByHop(headers);
        resolve({ status: response.statusCode ?? 502, headers, body: response });
      });
      request.on('timeout', () => request.destroy(new OriginError(504, `upstream ${upstream.host} timed out`)));
      request.on('error', (error) => {
        reject(error instanceof OriginError || signal.aborted ? error : new OriginError(502, `upstream ${upstream.host}: ${error.message}`));
      });
      // Forward the request body (POST, PUT...); a GET's is empty and ends at once.
      req.pipe(request);
    });
}
