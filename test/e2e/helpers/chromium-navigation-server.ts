// The reference handler (src/server) over a temporary directory, like
// servers.ts startSiteServer, plus per-path response headers that the
// Chromium navigation test checks the rebuilt page still gets: a
// Set-Cookie whose value changes on every response (so a cookie seen
// after a delta can only come from the delta response), and a
// Content-Security-Policy. Every request is recorded (did it carry
// If-Block?) and every response (the access log: encoding, bytes sent).

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AccessLogEntry } from '../../../src/server/access-log';
import { createCrcsyncHandler } from '../../../src/server/handler';

export interface NavigationRequest {
  path: string;
  ifBlock: string | undefined;
  cookie: string | undefined;
}

export interface NavigationSite {
  origin: string;
  requests: NavigationRequest[];
  responses: AccessLogEntry[];
  /** Extra response headers per path; a function is called per response (its `n`: how many responses the path had before). */
  headers: Map<string, (n: number) => Record<string, string>>;
  write(path: string, content: string | Uint8Array): void;
  close(): Promise<void>;
}

export async function startNavigationSite(): Promise<NavigationSite> {
  const root = mkdtempSync(join(tmpdir(), 'crcsync-e2e-navigation-'));
  const requests: NavigationRequest[] = [];
  const responses: AccessLogEntry[] = [];
  const headers = new Map<string, (n: number) => Record<string, string>>();
  const counts = new Map<string, number>();
  const handler = createCrcsyncHandler({ root, log: (entry) => responses.push(entry) });
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const ifBlock = req.headers['if-block'];
    requests.push({ path: req.url ?? '', ifBlock: Array.isArray(ifBlock) ? ifBlock.join(', ') : ifBlock, cookie: req.headers.cookie });
    const extra = headers.get(path);
    if (extra) {
      const n = counts.get(path) ?? 0;
      counts.set(path, n + 1);
      // Set before the handler's writeHead, which merges them in.
      for (const [name, value] of Object.entries(extra(n))) res.setHeader(name, value);
    }
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    responses,
    headers,
    write: (path, content) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(root, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
