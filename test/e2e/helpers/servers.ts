// Servers for the e2e tests, all on 127.0.0.1 port 0:
// - siteServer: the real reference handler (src/server) over a temporary
//   directory the test rewrites between visits, recording every request
//   (did it carry If-Block?) and every response (encoding, bytes sent).
// - damagingProxy: a test origin in front of a site server that damages
//   delta responses in the ways PROTOCOL.md §3 says a client must survive
//   (corrupt, wrong digest, truncated) or lies: it advertises Capability and
//   labels the full body `Content-Encoding: crcsync`, or stalls: it sends the
//   delta's headers and the first half of its body, then nothing, keeping
//   the connection open (PROTOCOL.md §5: a stalled decode falls back), or
//   replaces the delta by a decompression bomb (with a correct digest).
//   Its `plainAnswers` queue answers the next requests without If-Block (the
//   extension's fallback refetch) with a redirect or an error instead.
// - victimServer: another site (http://localhost) with a cookie-protected
//   page, the target a hostile site would redirect the refetch to.
// - mislabellingServer: a peer like the original Apache module with a
//   precompressed file (`AddEncoding gzip .gz`): without If-Block it sends
//   the gzip bytes labelled `Content-Encoding: gzip`; with If-Block it sends
//   a crcsync delta of those gzip bytes, still labelled `Content-Encoding: gzip`.
// - faultyUpstream: a raw-TCP HTTP/1.1 origin that answers per path with a
//   scripted fault (stalls, resets or closes mid-body, a wrong Content-Length,
//   a gzip body, 304 to a conditional request, a close-delimited body cut
//   short), meant to sit behind crcsyncProxy (`crcsync serve --upstream`).
// - crcsyncProxy: createCrcsyncServer({ upstream }) itself, recording the
//   requests it got, the body bytes it has written per response, and its
//   access log.
// - shiftyPeer: a crcsync peer that changes its answer per request (a delta,
//   the plain body, a 304, a delta against the wrong base, a plain body
//   labelled crcsync), or advertises Capability and ignores If-Block.
// Servers that make complete responses record what they served per path
// (`served`: SHA-256 of each body as a client decodes it), the oracle of
// helpers/cache-check.ts.
// All answer /__crcsync_test__/* with 204: the test build of the extension
// watches for those URLs to open its own pages (extension/background/test-hooks.ts).

import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { getDefaultEngine } from '../../../src/core/embedded-core';
import { DeltaEncoder } from '../../../src/protocol/delta-encoder';
import { formatIfBlock, parseIfBlock } from '../../../src/protocol/if-block';
import type { AccessLogEntry } from '../../../src/server/access-log';
import { createCrcsyncHandler } from '../../../src/server/handler';
import { createCrcsyncServer } from '../../../src/server/server';

export const TEST_TRIGGER_PATH = '/__crcsync_test__/';

export interface SeenRequest {
  path: string;
  ifBlock: string | undefined;
  userAgent: string | undefined;
  cookie: string | undefined;
  /** The Referer header, if any. */
  referer?: string;
}

export interface RunningServer {
  origin: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export interface SiteServer extends RunningServer {
  root: string;
  responses: AccessLogEntry[];
  /** The file behind each complete 200 to a GET, read as the response ended (the test writes files between loads only). */
  served: ServedBodies;
  write(path: string, content: string | Uint8Array): void;
}

/** Listens on 127.0.0.1; `host` names the origin (localhost is another site than 127.0.0.1, on the same socket). */
async function listen(server: http.Server, host: '127.0.0.1' | 'localhost' = '127.0.0.1'): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://${host}:${(server.address() as AddressInfo).port}`;
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
  requests.push({
    path: req.url ?? '',
    ifBlock: Array.isArray(ifBlock) ? ifBlock.join(', ') : ifBlock,
    userAgent: req.headers['user-agent'],
    cookie: req.headers.cookie,
    referer: req.headers.referer,
  });
}

/**
 * `host: 'localhost'` makes the origin another site than 127.0.0.1 (same
 * socket); `cors` lets any origin read the responses (Access-Control-Allow-Origin: *).
 */
export async function startSiteServer(options: { host?: '127.0.0.1' | 'localhost'; cors?: boolean } = {}): Promise<SiteServer> {
  const root = mkdtempSync(join(tmpdir(), 'crcsync-e2e-site-'));
  const requests: SeenRequest[] = [];
  const responses: AccessLogEntry[] = [];
  const served: ServedBodies = new Map();
  const handler = createCrcsyncHandler({
    root,
    log: (entry) => {
      responses.push(entry);
      if (entry.method !== 'GET' || entry.status !== 200 || entry.aborted) return;
      try {
        recordServed(served, entry.url, readFileSync(join(root, decodeURIComponent(entry.url.split('?')[0]))));
      } catch {
        // Not a file of the root (nothing the test wrote): nothing to record.
      }
    },
  });
  const server = http.createServer((req, res) => {
    if (answerTrigger(req, res)) return;
    recordRequest(requests, req);
    if (options.cors) res.setHeader('Access-Control-Allow-Origin', '*');
    handler(req, res);
  });
  const origin = await listen(server, options.host);
  return {
    origin,
    root,
    requests,
    responses,
    served,
    write: (path, content) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    },
    close: closer(server, () => rmSync(root, { recursive: true, force: true })),
  };
}

export type DamageMode = 'none' | 'corrupt' | 'wrong-digest' | 'truncate' | 'lie' | 'stall' | 'bomb' | 'trailing';

/** What the 'trailing' mode sends after a sound delta, in a later write (PROTOCOL.md §3: bytes after S are an error). */
export const TRAILING_JUNK = Buffer.from('junk after the digest\n');
const TRAILING_DELAY_MS = 60;

let bombDelta: Buffer | null = null;

/**
 * A decompression bomb with the right digest: one Z section that inflates
 * 24 MiB of spaces from about 24 KiB (about 1000:1), then the SHA-1 of those
 * spaces, so a decoder without a ratio guard rebuilds and "verifies" it.
 */
function decompressionBomb(): Buffer {
  if (!bombDelta) {
    const literal = Buffer.alloc(24 * 1024 * 1024, 0x20);
    bombDelta = Buffer.concat([Buffer.from([0x5a]), deflateSync(literal), Buffer.from([0x53]), createHash('sha1').update(literal).digest()]);
  }
  return bombDelta;
}

/** How a request without If-Block (the fallback refetch) is answered instead of by the site. */
export type PlainAnswer = { status: 301 | 302 | 307; location: string } | { status: 200 | 404 | 500; body: string; contentEncoding?: string };

export interface DamagingProxy extends RunningServer {
  mode: DamageMode;
  /** Delta responses left hanging by the 'stall' mode. */
  stalled: number;
  /** Answers for the next requests without If-Block, first in first used; empty: forward to the site. */
  plainAnswers: PlainAnswer[];
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
    case 'bomb':
      return decompressionBomb();
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
        const plainAnswer = hasIfBlock ? undefined : proxy.plainAnswers.shift();
        if (plainAnswer && 'location' in plainAnswer) {
          res.writeHead(plainAnswer.status, { Location: plainAnswer.location, 'Cache-Control': 'no-store' });
          res.end();
          return;
        }
        if (plainAnswer) {
          const encoding = plainAnswer.contentEncoding ? { 'Content-Encoding': plainAnswer.contentEncoding } : {};
          res.writeHead(plainAnswer.status, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store', ...encoding });
          res.end(plainAnswer.body);
          return;
        }
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
        if (mode === 'trailing' && headers['content-encoding'] === 'crcsync') {
          // The sound delta first, then, a moment later (another network chunk), bytes after S.
          res.writeHead(upstream.status, headers);
          res.write(body);
          setTimeout(() => res.end(TRAILING_JUNK), TRAILING_DELAY_MS);
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
  const proxy: DamagingProxy = { origin, requests, mode: 'none', stalled: 0, plainAnswers: [], close: closer(server) };
  return proxy;
}

export interface VictimServer extends RunningServer {
  /** The text of the logged-in page: what a hostile site must never read. */
  secret: string;
}

/**
 * Another site (http://localhost:port) with a login: /login sets a session
 * cookie, /account shows the secret to a request that carries it (and a
 * logged-out page, that still names the site, to one that does not).
 */
export async function startVictimServer(): Promise<VictimServer> {
  const requests: SeenRequest[] = [];
  const secret = 'VICTIM-ACCOUNT-PAGE balance 1234';
  const server = http.createServer((req, res) => {
    if (answerTrigger(req, res)) return;
    recordRequest(requests, req);
    const headers = { 'Content-Type': 'text/html', 'Cache-Control': 'no-store' };
    if (req.url === '/login') {
      res.writeHead(200, { ...headers, 'Set-Cookie': 'victim_session=v1ct1m; Path=/' });
      res.end('<!doctype html><p id="status">VICTIM logged in</p>');
    } else if (req.url === '/account') {
      res.writeHead(200, headers);
      res.end((req.headers.cookie ?? '').includes('victim_session=v1ct1m') ? `<p>${secret}</p>` : '<p>VICTIM logged out</p>');
    } else {
      res.writeHead(404, headers);
      res.end('VICTIM not found');
    }
  });
  const origin = await listen(server, 'localhost');
  return { origin, requests, secret, close: closer(server) };
}

export interface MislabellingServer extends RunningServer {
  /** Files served as precompressed: path -> content (served gzipped). */
  files: Map<string, { type: string; body: string }>;
  /** Responses that were crcsync deltas labelled `Content-Encoding: gzip`. */
  mislabelled: number;
}

/**
 * The original Apache module in front of a precompressed file (`AddEncoding
 * gzip .gz`): the entity is the gzip bytes. Without If-Block: those bytes,
 * `Content-Encoding: gzip`. With If-Block: a crcsync delta of the gzip bytes
 * against the client's hashes (the reference encoder), still labelled
 * `Content-Encoding: gzip` and not crcsync, which no browser can decode.
 */
export async function startMislabellingServer(): Promise<MislabellingServer> {
  const requests: SeenRequest[] = [];
  const files = new Map<string, { type: string; body: string }>();
  const server = http.createServer((req, res) => {
    if (answerTrigger(req, res)) return;
    recordRequest(requests, req);
    const file = files.get((req.url ?? '').split('?')[0]);
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    const gzipped = gzipSync(Buffer.from(file.body));
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': file.type, 'Content-Encoding': 'gzip', Vary: 'If-Block', Capability: 'crcsync; m=1' };
    const ifBlock = req.headers['if-block'];
    let body = gzipped;
    if (typeof ifBlock === 'string') {
      const chunks: Uint8Array[] = [];
      const encoder = new DeltaEncoder(parseIfBlock(ifBlock), { engine: getDefaultEngine() }, (chunk) => chunks.push(chunk));
      encoder.push(gzipped, true);
      body = Buffer.concat(chunks);
      server.emit('mislabelled');
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
    res.end(body);
  });
  const origin = await listen(server);
  const mislabelling: MislabellingServer = { origin, requests, files, mislabelled: 0, close: closer(server) };
  server.on('mislabelled', () => mislabelling.mislabelled++);
  return mislabelling;
}

// ---- what a server served: the oracle of a consistent cache (helpers/cache-check.ts) ----

/** Path (request target) -> SHA-256 (hex) of every body served completely for it, as a client decodes it. */
export type ServedBodies = Map<string, Set<string>>;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function recordServed(served: ServedBodies, path: string, body: Uint8Array): void {
  const digests = served.get(path) ?? new Set<string>();
  digests.add(sha256Hex(body));
  served.set(path, digests);
}

function entityTag(body: Uint8Array): string {
  return `"${sha256Hex(body).slice(0, 16)}"`;
}

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison; `*` matches any current representation. */
function noneMatchHits(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}

// ---- a faulty upstream, behind `crcsync serve --upstream` ----

/**
 * How the faulty upstream answers a path while the fault is set (every
 * request for that path gets it, the extension's refetch included):
 * - stall: the whole body's Content-Length, the first half, then nothing; the connection stays open;
 * - reset: the whole body's Content-Length, the first half, then a TCP reset (RST);
 * - short: the whole body's Content-Length, the first half, then a normal close (FIN);
 * - long: a Content-Length LONG_FAULT_EXTRA_BYTES less than the body, then the whole body, connection kept;
 * - gzip: the body gzipped, `Content-Encoding: gzip`;
 * - not-modified: 304 to a request whose If-None-Match names the current ETag (any other request: 200);
 * - close-cut: no Content-Length, no chunking, `Connection: close`, the first half, then FIN
 *   (by HTTP/1.1 framing that is a complete response: RFC 9112 §6.3, rule 8).
 */
export type UpstreamFault = 'stall' | 'reset' | 'short' | 'long' | 'gzip' | 'not-modified' | 'close-cut';

/** How many bytes more than its Content-Length the 'long' fault sends. */
export const LONG_FAULT_EXTRA_BYTES = 333;
/** The 'reset' fault resets this long after the first half has gone to the kernel, so the proxy has read it. */
const RESET_AFTER_MS = 50;

export interface UpstreamResponse {
  path: string;
  fault: UpstreamFault | null;
  status: number;
  /** All the response was going to carry was written. */
  finished: boolean;
  /** The peer (the proxy) closed the connection while this response was unfinished: it aborted its request. */
  closedByPeer: boolean;
}

export interface FaultyUpstream {
  origin: string;
  /** Makes `body` the current version of `path` (text/html unless told). */
  publish(path: string, body: string, type?: string): void;
  /** The fault per path; every request for the path gets it until it is deleted. */
  faults: Map<string, UpstreamFault>;
  /** Bodies served completely (by HTTP framing), per path. */
  served: ServedBodies;
  requests: { path: string; ifNoneMatch: string | undefined }[];
  responses: UpstreamResponse[];
  close(): Promise<void>;
}

interface RawRequest {
  path: string;
  headers: Map<string, string>;
}

/** Splits the request heads off `buffer` (GETs without bodies: the proxy sends nothing else here). */
function takeRequests(buffer: string): { requests: RawRequest[]; rest: string } {
  const requests: RawRequest[] = [];
  let rest = buffer;
  for (let end = rest.indexOf('\r\n\r\n'); end >= 0; end = rest.indexOf('\r\n\r\n')) {
    const [requestLine, ...lines] = rest.slice(0, end).split('\r\n');
    rest = rest.slice(end + 4);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    requests.push({ path: requestLine.split(' ')[1] ?? '', headers });
  }
  return { requests, rest };
}

function responseHead(status: string, headers: [string, string | number][]): Buffer {
  return Buffer.from(`HTTP/1.1 ${status}\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`, 'latin1');
}

export async function startFaultyUpstream(): Promise<FaultyUpstream> {
  const files = new Map<string, { type: string; body: Buffer }>();
  const faults = new Map<string, UpstreamFault>();
  const served: ServedBodies = new Map();
  const requests: FaultyUpstream['requests'] = [];
  const responses: UpstreamResponse[] = [];
  const sockets = new Set<net.Socket>();

  /** Answers one request; false when the connection is done (closed, reset or left hanging). */
  function answer(socket: net.Socket, request: RawRequest): boolean {
    if (request.path.startsWith(TEST_TRIGGER_PATH)) {
      socket.write(responseHead('204 No Content', [['Cache-Control', 'no-store']]));
      return true;
    }
    const ifNoneMatch = request.headers.get('if-none-match');
    requests.push({ path: request.path, ifNoneMatch });
    const file = files.get(request.path.split('?')[0]);
    if (!file) {
      socket.write(Buffer.concat([responseHead('404 Not Found', [['Content-Type', 'text/plain'], ['Content-Length', 9]]), Buffer.from('not found')]));
      return true;
    }
    const fault = faults.get(request.path) ?? null;
    const { body } = file;
    const half = body.subarray(0, Math.floor(body.length / 2));
    const etag = entityTag(body);
    const common: [string, string | number][] = [
      ['Content-Type', file.type],
      ['Cache-Control', 'no-cache'],
      ['ETag', etag],
    ];
    const response: UpstreamResponse = { path: request.path, fault, status: 200, finished: false, closedByPeer: false };
    responses.push(response);
    const finish = (bytes: Buffer, servedBody: Uint8Array | null) => {
      socket.write(bytes);
      response.finished = true;
      if (servedBody) recordServed(served, request.path, servedBody);
    };
    switch (fault) {
      case null:
        finish(Buffer.concat([responseHead('200 OK', [...common, ['Content-Length', body.length]]), body]), body);
        return true;
      case 'gzip': {
        const gzipped = gzipSync(body);
        finish(Buffer.concat([responseHead('200 OK', [...common, ['Content-Encoding', 'gzip'], ['Content-Length', gzipped.length]]), gzipped]), body);
        return true;
      }
      case 'not-modified':
        if (noneMatchHits(ifNoneMatch, etag)) {
          response.status = 304;
          finish(responseHead('304 Not Modified', [['Cache-Control', 'no-cache'], ['ETag', etag]]), null);
        } else {
          finish(Buffer.concat([responseHead('200 OK', [...common, ['Content-Length', body.length]]), body]), body);
        }
        return true;
      case 'long': {
        // One write: the extra bytes arrive with the announced ones, as a careless origin sends them.
        const announced = body.length - LONG_FAULT_EXTRA_BYTES;
        finish(Buffer.concat([responseHead('200 OK', [...common, ['Content-Length', announced]]), body]), body.subarray(0, announced));
        return true;
      }
      case 'close-cut':
        finish(Buffer.concat([responseHead('200 OK', [...common, ['Connection', 'close']]), half]), half);
        socket.end();
        return false;
      case 'short':
        socket.write(Buffer.concat([responseHead('200 OK', [...common, ['Content-Length', body.length]]), half]));
        socket.end();
        return false;
      case 'reset':
        socket.write(Buffer.concat([responseHead('200 OK', [...common, ['Content-Length', body.length]]), half]), () => {
          setTimeout(() => socket.resetAndDestroy(), RESET_AFTER_MS);
        });
        return false;
      case 'stall':
        socket.write(Buffer.concat([responseHead('200 OK', [...common, ['Content-Length', body.length]]), half]));
        socket.once('close', () => (response.closedByPeer = !response.finished));
        return false;
    }
  }

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // the proxy going away mid-response is part of the script
    let buffer = '';
    let open = true;
    socket.on('data', (data: Buffer) => {
      if (!open) return;
      buffer += data.toString('latin1');
      const { requests: complete, rest } = takeRequests(buffer);
      buffer = rest;
      for (const request of complete) {
        open = answer(socket, request);
        if (!open) break;
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    publish: (path, body, type = 'text/html; charset=utf-8') => files.set(path, { type, body: Buffer.from(body) }),
    faults,
    served,
    requests,
    responses,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface ProxySeenRequest extends SeenRequest {
  /** Body bytes the proxy has written for this request's response so far. */
  bodyBytesWritten: number;
}

export interface CrcsyncProxy {
  origin: string;
  requests: ProxySeenRequest[];
  /** The proxy's access log, one entry per response (`aborted` when cut short). */
  responses: AccessLogEntry[];
  close(): Promise<void>;
}

/**
 * `crcsync serve --upstream <upstream>`: the reference server's own
 * createCrcsyncServer, as the command builds it. `timeoutMs`: no byte from
 * the upstream for this long ends the response (the server's option).
 */
export async function startCrcsyncProxy(upstream: string, options: { timeoutMs?: number } = {}): Promise<CrcsyncProxy> {
  const requests: ProxySeenRequest[] = [];
  const responses: AccessLogEntry[] = [];
  const server = createCrcsyncServer({ upstream, timeoutMs: options.timeoutMs, log: (entry) => responses.push(entry) }) as http.Server;
  // A second listener, after the handler's: it sees every request and counts the body bytes written for it.
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const seen: SeenRequest[] = [];
    recordRequest(seen, req);
    const record: ProxySeenRequest = { ...seen[0], bodyBytesWritten: 0 };
    requests.push(record);
    const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) record.bodyBytesWritten += Buffer.byteLength(chunk);
      return write(chunk, ...rest);
    }) as typeof res.write;
  });
  const origin = await listen(server);
  return { origin, requests, responses, close: closer(server) };
}

// ---- a crcsync peer that changes its answers ----

/**
 * What the shifty peer answers a request that carries If-Block:
 * - delta: a correct delta of the current version against the client's If-Block;
 * - plain: the current version, 200, not encoded (Capability still advertised);
 * - not-modified: 304 when the request's If-None-Match names the current ETag (else: plain);
 * - wrong-base: a delta of the current version against another base than the client's
 *   (hashes of the current version behind a prefix), labelled crcsync;
 * - labelled-plain: the current version, not encoded, labelled `Content-Encoding: crcsync`.
 * A request without If-Block always gets the plain current version.
 */
export type PeerAnswer = 'delta' | 'plain' | 'not-modified' | 'wrong-base' | 'labelled-plain';

export interface ShiftyPeer extends RunningServer {
  publish(path: string, body: string): void;
  /** Answers for the next requests with If-Block, first in first used; when empty, `defaultAnswer`. */
  answers: PeerAnswer[];
  defaultAnswer: PeerAnswer;
  /** What each request got: the answer actually given (a 304 asked for but not possible is `plain`). */
  answered: { path: string; ifBlock: boolean; conditional: boolean; answer: PeerAnswer; status: number }[];
  served: ServedBodies;
}

export async function startShiftyPeer(): Promise<ShiftyPeer> {
  const requests: SeenRequest[] = [];
  const files = new Map<string, Buffer>();
  const served: ServedBodies = new Map();
  const server = http.createServer((req, res) => {
    if (answerTrigger(req, res)) return;
    recordRequest(requests, req);
    const path = req.url ?? '';
    const body = files.get(path.split('?')[0]);
    if (!body) {
      res.writeHead(404, { 'Content-Type': 'text/plain', Capability: 'crcsync; m=1' });
      res.end('not found');
      return;
    }
    const ifBlock = typeof req.headers['if-block'] === 'string' ? req.headers['if-block'] : undefined;
    const ifNoneMatch = req.headers['if-none-match'];
    const etag = entityTag(body);
    let answer: PeerAnswer = ifBlock === undefined ? 'plain' : (peer.answers.shift() ?? peer.defaultAnswer);
    if (answer === 'not-modified' && !noneMatchHits(ifNoneMatch, etag)) answer = 'plain';
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache', ETag: etag, Capability: 'crcsync; m=1' };
    let status = 200;
    let out: Uint8Array = body;
    const encode = (hashes: string) => {
      const chunks: Uint8Array[] = [];
      new DeltaEncoder(parseIfBlock(hashes), { engine: getDefaultEngine() }, (chunk) => chunks.push(chunk)).push(body, true);
      headers['Content-Encoding'] = 'crcsync';
      headers.Vary = 'If-Block';
      headers.ETag = `${etag}-crcsync-identity`;
      return Buffer.concat(chunks);
    };
    if (answer === 'delta') {
      out = encode(ifBlock!);
      recordServed(served, path, body);
    } else if (answer === 'wrong-base') {
      // Block boundaries 29 bytes off the client's: every B section names bytes its base does not hold there.
      out = encode(formatIfBlock(Buffer.concat([Buffer.from('#wrong base, 29 bytes ahead#\n'), body]), getDefaultEngine())!);
    } else if (answer === 'labelled-plain') {
      headers['Content-Encoding'] = 'crcsync';
      headers.Vary = 'If-Block';
    } else if (answer === 'not-modified') {
      status = 304;
      out = new Uint8Array(0);
      delete headers['Content-Type'];
    } else {
      recordServed(served, path, body);
    }
    peer.answered.push({ path, ifBlock: ifBlock !== undefined, conditional: ifNoneMatch !== undefined, answer, status });
    if (status !== 304) headers['Content-Length'] = String(out.length);
    res.writeHead(status, headers);
    res.end(out);
  });
  const origin = await listen(server);
  const peer: ShiftyPeer = {
    origin,
    requests,
    publish: (path, body) => files.set(path, Buffer.from(body)),
    answers: [],
    defaultAnswer: 'delta',
    answered: [],
    served,
    close: closer(server),
  };
  return peer;
}
