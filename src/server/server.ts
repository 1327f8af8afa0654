// A ready-made http / https server around the crcsync handler.

import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
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

export type CrcsyncServerOptions = CrcsyncHandlerOptions & {
  /** PEM certificate and key: serve HTTPS. */
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

export function createCrcsyncServer(options: CrcsyncServerOptions): http.Server | https.Server {
  const handler = createCrcsyncHandler(options);
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => handler(req, res);
  const serverOptions = { maxHeaderSize: MAX_REQUEST_HEADER_BYTES, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS };
  const server =
    options.cert !== undefined && options.key !== undefined
      ? https.createServer({ ...serverOptions, cert: options.cert, key: options.key }, listener)
      : http.createServer(serverOptions, listener);
  server.headersTimeout = options.headersTimeoutMs ?? REQUEST_HEADERS_TIMEOUT_MS;
  // A client that sends garbage instead of HTTP (or too slowly) gets a status and a closed socket, never a crash.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (socket.writable) socket.end(`HTTP/1.1 ${clientErrorStatus(error)}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });
  return server;
}

/** Listens and resolves the URL it serves on (port 0 picks a free port). */
export function listen(server: http.Server | https.Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const scheme = server instanceof https.Server ? 'https' : 'http';
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`${scheme}://${shownHost}:${address.port}/`);
    });
  });
}
