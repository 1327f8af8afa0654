// The origin the edge handler's tests put it in front of: a plain Node HTTP
// server on 127.0.0.1 (no crcsync in it), serving named bodies with a strong
// ETag, plus a few answers that must pass through unchanged.

import { createHash } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export interface SeenOriginRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface EdgeOrigin {
  url: string;
  /** Bodies served at /pages/<name> (200, text/html, strong ETag, Cache-Control: max-age=60). */
  pages: Map<string, Uint8Array>;
  seen: SeenOriginRequest[];
  close(): Promise<void>;
}

/**
 * Also: /no-store/<name> (the page with Cache-Control: no-store), /gzipped/<name>
 * (the page gzip-encoded by the origin), /missing (404), /echo (any method:
 * 200 with the request body and method echoed).
 */
export async function startEdgeOrigin(): Promise<EdgeOrigin> {
  const pages = new Map<string, Uint8Array>();
  const seen: SeenOriginRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      seen.push({ method: req.method ?? '', path, headers: req.headers, body });
      if (path === '/echo') {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-origin-method': req.method ?? '' });
        res.end(body);
        return;
      }
      const match = /^\/(pages|no-store|gzipped)\/(.+)$/.exec(path);
      const page = match ? pages.get(decodeURIComponent(match[2])) : undefined;
      if (!match || !page) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not here\n');
        return;
      }
      const etag = `"${createHash('sha1').update(page).digest('hex').slice(0, 16)}"`;
      const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8', etag, 'set-cookie': 'seen=1; Path=/' };
      headers['cache-control'] = match[1] === 'no-store' ? 'no-store' : 'max-age=60';
      if (match[1] === 'gzipped') {
        const gz = gzipSync(page);
        res.writeHead(200, { ...headers, 'content-encoding': 'gzip', 'content-length': String(gz.length) });
        res.end(gz);
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': String(page.length) });
      res.end(page);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    pages,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
