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

export type CrcsyncServerOptions = CrcsyncHandlerOptions & {
  /** PEM certificate and key: serve HTTPS. */
  cert?: string | Buffer;
  key?: string | Buffer;
};

export function createCrcsyncServer(options: CrcsyncServerOptions): http.Server | https.Server {
  const handler = createCrcsyncHandler(options);
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => handler(req, res);
  const server =
    options.cert !== undefined && options.key !== undefined
      ? https.createServer({ cert: options.cert, key: options.key, maxHeaderSize: MAX_REQUEST_HEADER_BYTES }, listener)
      : http.createServer({ maxHeaderSize: MAX_REQUEST_HEADER_BYTES }, listener);
  // A client that sends garbage instead of HTTP gets 400 and a closed socket, never a crash.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
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
