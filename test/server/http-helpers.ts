// Real-HTTP helpers for the server tests: start servers on 127.0.0.1, make
// requests with a bounded wait, and decode crcsync responses the way a
// client does (our DeltaDecoder against the cached base).

import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { DeltaDecoder } from '../../src/protocol/delta-decoder';
import { closeServer, createCrcsyncServer, CrcsyncServer, CrcsyncServerOptions } from '../../src/server/server';
import { nodeSha1 } from '../../src/server/node-codecs';
import type { AccessLogEntry } from '../../src/server/access-log';

/** Every wait in these tests is bounded by this. */
export const WAIT_MS = 10_000;

export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface TestServer {
  url: string;
  port: number;
  /** An http.Server, or with a certificate an HTTP/2 + HTTP/1.1 secure server. */
  server: http.Server;
  logs: AccessLogEntry[];
  close(): Promise<void>;
}

async function listenOnLoopback(server: http.Server): Promise<number> {
  await withTimeout(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), 'listen');
  return (server.address() as AddressInfo).port;
}

function closer(server: http.Server): () => Promise<void> {
  return () =>
    withTimeout(
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
      'server close',
    );
}

/** A crcsync server (any origin) on 127.0.0.1, collecting its access log. */
export async function startCrcsync(options: CrcsyncServerOptions): Promise<TestServer> {
  const logs: AccessLogEntry[] = [];
  const server: CrcsyncServer = createCrcsyncServer({ log: (entry) => logs.push(entry), ...options });
  const port = await listenOnLoopback(server as http.Server);
  const scheme = options.cert ? 'https' : 'http';
  return { url: `${scheme}://127.0.0.1:${port}`, port, server: server as http.Server, logs, close: () => withTimeout(closeServer(server), 'server close') };
}

/** Any request listener (e.g. a crcsync handler whose budgets the test reads) on 127.0.0.1. */
export async function startListener(listener: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(listener);
  const port = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, close: closer(server) };
}

/** A plain HTTP server on 127.0.0.1 (an upstream for the proxy). */
export async function startPlain(listener: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(listener);
  const port = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, port, server, logs: [], close: closer(server) };
}

export interface FetchResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface FetchOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  ca?: string | Buffer;
}

export function fetchRaw(url: string, options: FetchOptions = {}): Promise<FetchResult> {
  const secure = url.startsWith('https:');
  const request = new Promise<FetchResult>((resolve, reject) => {
    // agent: false, so no keep-alive socket outlives the test.
    const req = (secure ? https : http).request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, ca: options.ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
  return withTimeout(request, `${options.method ?? 'GET'} ${url}`);
}

/** What a crcsync client ends up with: the delta decoded against `base`, or the plain body. */
export function decodeResponse(result: FetchResult, base: Uint8Array | null, blockCount = 40): Buffer {
  if (result.headers['content-encoding'] === 'crcsync') {
    if (!base) throw new Error('crcsync response without a base');
    let body: Uint8Array | null = null;
    const decoder = new DeltaDecoder(base, { sha1: nodeSha1, blockCount }, (verified) => (body = verified));
    decoder.push(result.body, true);
    if (!body) throw new Error('decoder gave no body');
    return Buffer.from(body);
  }
  switch (result.headers['content-encoding']) {
    case undefined:
      return result.body;
    case 'gzip':
      return zlib.gunzipSync(result.body);
    case 'br':
      return zlib.brotliDecompressSync(result.body);
    default:
      throw new Error(`unexpected content-encoding ${result.headers['content-encoding']}`);
  }
}

/** Resolves once `predicate` holds (checked every few ms); bounded, and stops checking on timeout. */
export function waitFor(predicate: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  let stopped = false;
  const condition = new Promise<void>((resolve) => {
    const check = () => {
      if (stopped) return;
      if (predicate()) resolve();
      else setTimeout(check, 2);
    };
    check();
  });
  return withTimeout(condition, what, ms).finally(() => {
    stopped = true;
  });
}

/**
 * Fetches and waits for the access-log entry of that response: the server
 * logs when its pipeline completes, which can be just after the client has
 * read the last byte.
 */
export async function fetchLogged(server: TestServer, path: string, options: FetchOptions = {}): Promise<FetchResult & { log: AccessLogEntry }> {
  const before = server.logs.length;
  const result = await fetchRaw(`${server.url}${path}`, options);
  await waitFor(() => server.logs.length > before, `access log of ${path}`);
  return { ...result, log: server.logs[before] };
}
