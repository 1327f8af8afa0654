// Servers for the e2e tests, all on 127.0.0.1 port 0:
// - siteServer: the real reference handler (src/server) over a temporary
//   directory the test rewrites between visits, recording every request
//   (did it carry If-Block?) and every response (encoding, bytes sent).
// - damagingProxy: a test origin in front of a site server that damages
//   delta responses in the ways PROTOCOL.md §3 says a client must survive
//   (corrupt, wrong digest, truncated) or lies: it advertises Capability and
//   labels the full body `Content-Encoding: crcsync`, or stalls: it sends the
//   delta's headers and the first half of its body, then nothing, keeping
//   the connection open (PROTOCOL.md §5: a stalled decode falls back).
// Both answer /__crcsync_test__/* with 204: the test build of the extension
// watches for those URLs to open its own pages (extension/background/test-hooks.ts).

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AccessLogEntry } from '../../../src/server/access-log';
import { createCrcsyncHandler } from '../../../src/server/handler';

export const TEST_TRIGGER_PATH = '/__crcsync_test__/';

export interface SeenRequest {
  path: string;
  ifBlock: string | undefined;
  userAgent: string | undefined;
}

export interface RunningServer {
  origin: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export interface SiteServer extends RunningServer {
  root: string;
  responses: AccessLogEntry[];
  write(path: string, content: string | Uint8Array): void;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: http.Server, cleanup: () => void = () => undefined): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        cleanup();
        resolve();
      });
    });
}

function answerTrigger(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (!(req.url ?? '').startsWith(TEST_TRIGGER_PATH)) return false;
  res.writeHead(204, { 'Cache-Control': 'no-store' });
  res.end();
  return true;
}

function recordRequest(requests: SeenRequest[], req: http.IncomingMessage): void {
  const ifBlock = req.headers['if-block'];
  requests.push({ path: req.url ?? '', ifBlock: Array.isArray(ifBlock) ? ifBlock.join(', ') : ifBlock, userAgent: req.headers['user-agent'] });
}

export async function startSiteServer(): Promise<SiteServer> {
  const root = mkdtempSync(join(tmpdir(), 'crcsync-e2e-site-'));
  const requests: SeenRequest[] = [];
  const responses: AccessLogEntry[] = [];
  const handler = createCrcsyncHandler({ root, log: (entry) => responses.push(entry) });
  const server = http.createServer((req, res) => {
    if (answerTrigger(req, res)) return;
    recordRequest(requests, req);
    handler(req, res);
  });
  const origin = await listen(server);
  return {
    origin,
    root,
    requests,
    responses,
    write: (path, content) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    },
    close: closer(server, () => rmSync(root, { recursive: true, force: true })),
  };
}

export type DamageMode = 'none' | 'corrupt' | 'wrong-digest' | 'truncate' | 'lie' | 'stall';

export interface DamagingProxy extends RunningServer {
  mode: DamageMode;
  /** Delta responses left hanging by the 'stall' mode. */
  stalled: number;
}

function damage(delta: Buffer, mode: DamageMode): Buffer {
  const copy = Buffer.from(delta);
  switch (mode) {
    case 'corrupt':
      // Flip bits in the middle of the sections: a broken zlib stream, a bad block index or a wrong rebuild.
      copy[Math.floor(copy.length / 2)] ^= 0x5a;
      return copy;
    case 'wrong-digest':
      copy[copy.length - 1] ^= 0xff; // the last byte of the S section's SHA-1
      return copy;
    case 'truncate':
      return copy.subarray(0, Math.max(1, copy.length - 7)); // ends inside the S section
    default:
      return copy;
  }
}

/** Fetches from the site server, with the request's If-Block or without it. */
function forward(target: string, req: http.IncomingMessage, withIfBlock: boolean): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const headers: http.OutgoingHttpHeaders = { ...req.headers, host: new URL(target).host, 'accept-encoding': 'identity' };
  if (!withIfBlock) delete headers['if-block'];
  delete headers['if-none-match'];
  delete headers['if-modified-since'];
  return new Promise((resolve, reject) => {
    const outgoing = http.request(`${target}${req.url}`, { method: req.method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

export async function startDamagingProxy(target: string): Promise<DamagingProxy> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    if (answerTrigger(req, res)) return;
    recordRequest(requests, req);
    void (async () => {
      try {
        const hasIfBlock = req.headers['if-block'] !== undefined;
        const mode = proxy.mode;
        const upstream = await forward(target, req, mode !== 'lie');
        const headers = { ...upstream.headers };
        delete headers['content-length'];
        delete headers['transfer-encoding'];
        delete headers.connection;
        let body = upstream.body;
        if (mode === 'stall' && headers['content-encoding'] === 'crcsync') {
          // The full length is announced, half is sent, the rest never comes; close() ends the socket.
          headers['content-length'] = String(body.length);
          res.writeHead(upstream.status, headers);
          res.write(body.subarray(0, Math.floor(body.length / 2)));
          proxy.stalled++;
          return;
        }
        if (hasIfBlock && mode === 'lie' && upstream.status === 200) {
          headers['content-encoding'] = 'crcsync'; // a full body dressed up as a delta
        } else if (headers['content-encoding'] === 'crcsync' && mode !== 'none') {
          body = damage(body, mode);
        }
        headers['content-length'] = String(body.length);
        res.writeHead(upstream.status, headers);
        res.end(body);
      } catch (error) {
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end(String(error));
      }
    })();
  });
  const origin = await listen(server);
  const proxy: DamagingProxy = { origin, requests, mode: 'none', stalled: 0, close: closer(server) };
  return proxy;
}
