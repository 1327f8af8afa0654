// Where the server's bodies come from: a static directory, an upstream HTTP
// origin, the built-in demo site, or any function with this shape (the
// middleware hook). An origin answers like an HTTP origin would, with
// identity or already-encoded bodies; the handler does all crcsync work.

import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { HeaderMap } from './headers';

export interface OriginResponse {
  status: number;
  headers: HeaderMap;
  /** The body, or null when there is none (HEAD, 304, 204, 405...). */
  body: Readable | null;
  /**
   * The body ends when the origin's connection closes (no Content-Length,
   * not chunked): its end cannot be told from a dropped connection, so it
   * is never made into a delta (PassThroughReason 'close-delimited').
   */
  bodyEndsAtClose?: boolean;
  /**
   * The body's bytes, when the origin holds them whole and never writes to
   * them (the static origin's kept files): a delta's SHA-1 of them is then
   * worked out once per Buffer (known-body-sha1.ts). `body` must give
   * exactly these bytes.
   */
  wholeBody?: Buffer;
}

/**
 * Answers one request. Resolves null when this origin has nothing for the
 * URL (the handler then calls `next()` as middleware, or answers 404).
 * `signal` aborts when the client goes away: stop work, free resources.
 */
export type Origin = (request: IncomingMessage, signal: AbortSignal) => Promise<OriginResponse | null>;

/** An error an origin throws to choose the status the client sees (e.g. 502, 504). */
export class OriginError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'OriginError';
    this.status = status;
  }
}
