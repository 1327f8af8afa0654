// A ready-made server around the crcsync handler: plain HTTP/1.1, or with a
// certificate HTTPS that speaks HTTP/2 to clients that offer it by ALPN
// (every browser does over TLS) and HTTP/1.1 to the rest (issue 11 item 3).
// Both reach the same handler through Node's compatibility API, so deltas,
// gzip and br go out the same over either; what only HTTP/2 has (pseudo
// headers, framing by DATA frames) is handled where it matters: the reverse
// proxy (header-passes.ts, request-framing.ts).

import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import * as tls from 'node:tls';
import { CrcsyncHandlerOptions, createCrcsyncHandler } from './handler';

/**
 * Node's default 16 KiB header limit would answer 431 to a client whose
 * If-Block is merely too long; PROTOCOL.md §5 wants the normal response for
 * any If-Block over 4 KiB, so the server reads up to this much and lets
 * parseIfBlock refuse it. 128 KiB fits 10,000 hashes (107 KB of base64).
 */
export const MAX_REQUEST_HEADER_BYTES = 128 * 1024;

/**
 * A client has this long to send its request headers (Node's default is
 * 60 s): a slow-loris client that trickles them holds a socket at most this
 * long (SECURITY.md; bench/memory.md measures 500 of them).
 */
export const REQUEST_HEADERS_TIMEOUT_MS = 20_000;

/** How often Node looks for connections past their header / request timeout (its default is 30 s, which would let a slow-loris socket live 50 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** A TLS handshake that does not finish in this long is dropped (Node's default is 120 s): the TLS side of the slow-loris bound. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** An HTTPS server (HTTP/2 with HTTP/1.1 fallback) or a plain HTTP/1.1 one. */
export type CrcsyncServer = http.Server | http2.Http2SecureServer;

export type CrcsyncServerOptions = CrcsyncHandlerOptions & {
  /** PEM certificate and key: serve HTTPS, HTTP/2 by ALPN with HTTP/1.1 fallback. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Time a client has to send its request headers (default REQUEST_HEADERS_TIMEOUT_MS). */
  headersTimeoutMs?: number;
};

/** The status line for a request Node's parser refused (clientError). */
function clientErrorStatus(error: NodeJS.ErrnoException): string {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return '408 Request Timeout';
  if (error.code === 'HPE_HEADER_OVERFLOW') return '431 Request Header Fields Too Large';
  return '400 Bad Request';
}

export function createCrcsyncServer(options: CrcsyncServerOptions): CrcsyncServer {
  const handler = createCrcsyncHandler(options);
  // An HTTP/2 stream's request and response (Http2ServerRequest/Response) offer what the handler uses of
  // IncomingMessage/ServerResponse: method, url, headers, socket, writeHead, write/end, close and drain events.
  const listener = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) =>
    handler(req as http.IncomingMessage, res as http.ServerResponse);
  const headersTimeout = options.headersTimeoutMs ?? REQUEST_HEADERS_TIMEOUT_MS;
  if (options.cert !== undefined && options.key !== undefined) return secureServer(options.cert, options.key, listener, headersTimeout);
  const server = http.createServer({ maxHeaderSize: MAX_REQUEST_HEADER_BYTES, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS }, listener);
  server.headersTimeout = headersTimeout;
  // A client that sends garbage instead of HTTP (or too slowly) gets a status and a closed socket, never a crash.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (socket.writable) socket.end(`HTTP/1.1 ${clientErrorStatus(error)}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });
  return server;
}

/**
 * HTTPS: HTTP/2 to clients that offer `h2` by ALPN, HTTP/1.1 to the rest
 * (allowHTTP1). Limits as for plain HTTP: request headers up to
 * MAX_REQUEST_HEADER_BYTES (HTTP/2: SETTINGS_MAX_HEADER_LIST_SIZE; HTTP/1.1:
 * maxHeaderSize), a TLS handshake within TLS_HANDSHAKE_TIMEOUT_MS, and a
 * connection with no activity for `idleMs` closed (HTTP/2 sessions and
 * HTTP/1.1 sockets alike: the slow-loris bound of SECURITY.md).
 */
function secureServer(
  cert: string | Buffer,
  key: string | Buffer,
  listener: (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void,
  idleMs: number,
): http2.Http2SecureServer {
  const server = http2.createSecureServer(
    {
      cert,
      key,
      allowHTTP1: true,
      maxHeaderSize: MAX_REQUEST_HEADER_BYTES,
      settings: { maxHeaderListSize: MAX_REQUEST_HEADER_BYTES },
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    } as http2.SecureServerOptions,
    listener,
  );
  server.setTimeout(idleMs);
  // With a listener, Node leaves closing to it: HTTP/1.1 sockets come as sockets, HTTP/2 sessions as sessions.
  server.on('timeout', (idle: { destroy(): void }) => idle.destroy());
  // Sockets a TLS client opened, for closeServer (Http2SecureServer has no closeAllConnections).
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A broken handshake or a client speaking garbage is the client's problem, never the server's.
  server.on('tlsClientError', (_error: Error, socket: tls.TLSSocket) => socket.destroy());
  server.on('sessionError', () => undefined);
  openSockets.set(server, sockets);
  return server;
}

const openSockets = new WeakMap<http2.Http2SecureServer, Set<Socket>>();

/** Stops accepting, and closes every connection now (in-flight responses end): for shutdown and tests. */
export function closeServer(server: CrcsyncServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    if (server instanceof http.Server) server.closeAllConnections();
    else for (const socket of openSockets.get(server) ?? []) socket.destroy();
  });
}

/** Listens and resolves the URL it serves on (port 0 picks a free port). */
export function listen(server: CrcsyncServer, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const scheme = server instanceof tls.Server ? 'https' : 'http';
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`${scheme}://${shownHost}:${address.port}/`);
    });
  });
}
