// `bench:load --warm-assets`: the origin behind `crcsync serve --upstream`,
// serving the bench's site folder the way a real site serves a changing
// page and its static assets. Pages (.html) are `Cache-Control: no-cache`
// with no validator, so every visit fetches them whole; scripts, stylesheets
// and everything else are cacheable for a day, so the second visit of a page
// finds them in the browser's HTTP cache, as a real revisit mostly does.
// Then the document is what the measured load waits for, in both conditions.

import { createReadStream, statSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface AssetOrigin {
  url: string;
  close(): Promise<void>;
}

/** The response headers for a file at `path` (exported for its unit test). */
export function assetHeaders(path: string, size: number): Record<string, string> {
  const type = extname(path);
  return {
    'content-type': CONTENT_TYPES[type] ?? 'application/octet-stream',
    'content-length': String(size),
    'cache-control': type === '.html' ? 'no-cache' : 'public, max-age=86400',
  };
}

export function startAssetOrigin(root: string): Promise<AssetOrigin> {
  const server: Server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://origin.invalid').pathname));
    const file = join(root, path);
    let size = -1;
    try {
      const info = statSync(file);
      if (file.startsWith(root) && info.isFile()) size = info.size;
    } catch {
      size = -1;
    }
    if (size < 0 || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('not found\n');
      return;
    }
    response.writeHead(200, assetHeaders(path, size));
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
