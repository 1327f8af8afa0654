// The crcsync server as a web-standard handler (issue 11 item 4):
// `fetch(request) -> Response` with Request, Response, Headers and Web
// Streams only (no node:, no Buffer), in front of any origin reachable by
// `fetch`. It runs unchanged in a CDN edge runtime (workerd: Cloudflare
// Workers; examples/cloudflare-worker/), in Deno or Bun, and in Node.
//
// The protocol is the same library the Node server uses (src/protocol): the
// same decision (decideDeltaEncoding), the same encoders (v=1, and x=1 when
// offered, docs/extensions.md), the same never-worse margin (deltaBeats).
//
// Bodies follow the Fetch contract of edge runtimes (workerd's, and what
// Node's undici does): `fetch()` hands back a response's *content*, having
// decoded gzip / br / deflate itself, with the origin's headers as they were
// (Content-Encoding included); the host sends a Response's body encoded as
// its Content-Encoding says, unless the Response was made with
// `encodeBody: 'manual'`, whose bytes go out as they are. So:
// - Every request goes to the origin as the client sent it, If-Block
//   removed (this handler answers it; an origin that speaks crcsync would
//   answer with a delta against a base only the client has). Accept-Encoding
//   is the client's: the origin compresses as it always does, fetch decodes.
// - A response that is not a delta passes through as it came (the host
//   re-encodes it as the origin did). A hostile If-Block buys nothing: it
//   fails decideDeltaEncoding on the request alone and the exchange is a
//   plain proxy one.
// - A delta is made from the content fetch decoded; its bytes are marked
//   `encodeBody: 'manual'` (the host must not touch Content-Encoding: crcsync).
// - Never worse (issue 9): the delta goes out only when it beats, by the
//   margin, what the client would get without If-Block: the origin's encoded
//   body (its Content-Length), or, for an identity origin and a client that
//   takes gzip, gzip of the content (CompressionStream, the runtime's own
//   zlib; the answer then carries Content-Encoding: gzip and the host
//   compresses it, as the platform would).
// - Bodies up to `decisionWindowBytes` (1 MiB) are encoded whole and then
//   compared; past the window the delta streams, chunk by chunk as the
//   origin's body arrives, and the economy guard (PROTOCOL.md §5) bounds it.
//   Memory per request is bounded by the window (content and delta bytes)
//   plus the matcher's window.
// - Stateless: nothing is kept between requests, so any number of isolates
//   or processes can run it behind any load balancer.

import type { CrcEngine } from '../core/crc-engine';
import { DeltaEncoder } from '../protocol/delta-encoder';
import { ExtDeltaEncoder } from '../protocol/ext-encoder';
import { answerableExtensionVersion, capabilityFor } from '../protocol/ext-offer';
import type { IfBlock } from '../protocol/if-block';
import {
  DeltaEncodingDecision,
  ENCODED_RESPONSE,
  HEADERS_DROPPED_WHEN_ENCODED,
  crcsyncEtag,
  decideDeltaEncoding,
  deltaBeats,
  mergeVary,
} from '../protocol/response-policy';
import { CAPABILITY_HEADER, IF_BLOCK_HEADER } from '../protocol/wire';

/** Bodies up to this size are encoded whole and compared with the plain answer (as the Node server does, delta-or-compression.ts). */
export const EDGE_DECISION_WINDOW_BYTES = 1024 * 1024;

export interface FetchHandlerOptions {
  /**
   * Where requests go: an origin's base URL (`https://origin.example`, the
   * request's path and query are appended), or a fetch function (a service
   * binding, a custom client) that gets the request to send as it is.
   */
  origin: string | ((request: Request) => Promise<Response>);
  /**
   * The CRC engine. In workerd, WebAssembly cannot be compiled from bytes at
   * run time: pass createWasmEngine(the module the Worker imports); in Node,
   * getDefaultEngine().
   */
  engine: CrcEngine;
  decisionWindowBytes?: number;
}

export type FetchHandler = (request: Request) => Promise<Response>;

/** An origin fetch that failed (network, DNS, refused): the client gets 502, as from the Node proxy. */
export class OriginFetchError extends Error {
  constructor(readonly url: string, cause: unknown) {
    super(`origin fetch of ${url} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'OriginFetchError';
  }
}

/** Whether the client takes gzip: `gzip` (or `*`) listed with a q-value above 0 (RFC 9110 §12.5.3). */
export function acceptsGzip(acceptEncoding: string | null): boolean {
  if (!acceptEncoding) return false;
  let gzip: number | null = null;
  let wildcard: number | null = null;
  for (const part of acceptEncoding.split(',')) {
    const [name, ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const qParameter = parameters.find((parameter) => parameter.startsWith('q='));
    const q = qParameter === undefined ? 1 : Number(qParameter.slice(2));
    const weight = Number.isFinite(q) ? q : 0;
    if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip ?? 0, weight);
    else if (name === '*') wildcard = weight;
  }
  return (gzip ?? wildcard ?? 0) > 0;
}

/** Codings every fetch() decodes by itself (Fetch standard, "HTTP-network fetch"): the body it hands back is content. */
export const FETCH_DECODED_CODINGS = ['gzip', 'x-gzip', 'deflate', 'br'] as const;

/** The request-side half of decideDeltaEncoding: could a 200 to this request be a delta at all? */
function usableIfBlock(request: Request): { ifBlock: IfBlock; extension: number } | null {
  const offered = request.headers.get(IF_BLOCK_HEADER);
  if (offered === null) return null;
  const decision = decideDeltaEncoding({
    method: request.method,
    status: 200,
    ifBlock: offered,
    contentEncoding: undefined,
    contentRange: undefined,
    cacheControl: undefined,
    decodable: FETCH_DECODED_CODINGS,
  });
  return decision.encode ? { ifBlock: decision.ifBlock, extension: answerableExtensionVersion(offered) } : null;
}

function originRequest(request: Request, originBase: string | null): Request {
  const url = new URL(request.url);
  const target = originBase === null ? url.href : new URL(url.pathname + url.search, originBase).href;
  const headers = new Headers(request.headers);
  headers.delete(IF_BLOCK_HEADER);
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null;
  // `duplex` is required by fetch implementations that stream request bodies (Node's undici); others ignore it.
  const init: RequestInit & { duplex?: 'half' } = { method: request.method, headers, redirect: 'manual', body: hasBody ? request.body : null };
  if (hasBody) init.duplex = 'half';
  return new Request(target, init);
}

/** A Response whose bytes go out exactly as given (workerd: `encodeBody: 'manual'`; other runtimes ignore the field). */
function exactResponse(origin: Response, headers: Headers, body: BodyInit | null): Response {
  const init: ResponseInit & { encodeBody?: 'manual' } = { status: origin.status, statusText: origin.statusText, headers, encodeBody: 'manual' };
  return new Response(body, init);
}

/** The headers of a delta response (PROTOCOL.md §2), from the origin's: the same rules as src/server/header-passes.ts. */
function deltaHeaders(origin: Headers, originEncoding: string, capability: string): Headers {
  const headers = new Headers(origin);
  headers.set('content-encoding', ENCODED_RESPONSE.contentEncoding);
  headers.set('vary', mergeVary(headers.get('vary') ?? undefined, ENCODED_RESPONSE.vary));
  const etag = headers.get('etag');
  if (etag !== null) headers.set('etag', crcsyncEtag(etag, originEncoding));
  for (const name of HEADERS_DROPPED_WHEN_ENCODED) headers.delete(name);
  headers.delete('accept-ranges');
  headers.set(CAPABILITY_HEADER, capability);
  return headers;
}

function concat(pieces: readonly Uint8Array[], total: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(total);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/** What gzip makes of the content, in bytes (the runtime's own zlib). */
async function gzipSize(pieces: readonly Uint8Array[]): Promise<number> {
  const compressed = new Blob(pieces as unknown as BlobPart[]).stream().pipeThrough(new CompressionStream('gzip'));
  let size = 0;
  const reader = compressed.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return size;
    size += value.length;
  }
}

/** One encoder interface over v=1 and x=1 (the offer decides, docs/extensions.md §1.2). */
interface Encoder {
  push(chunk: Uint8Array, final?: boolean): void;
  dispose(): void;
}

function startEncoder(ifBlock: IfBlock, extension: number, engine: CrcEngine, onOutput: (chunk: Uint8Array) => void): Encoder {
  const listener = (chunk: Uint8Array) => {
    if (chunk.length) onOutput(chunk);
  };
  return extension >= 1 ? new ExtDeltaEncoder(ifBlock, { engine }, listener) : new DeltaEncoder(ifBlock, { engine }, listener);
}

/** The plain answer's headers when the origin sent identity: gzip for a client that takes it (the host compresses), as the platform would. */
function plainHeaders(origin: Headers, originEncoding: string, clientTakesGzip: boolean, capability: string): Headers {
  const headers = new Headers(origin);
  headers.set(CAPABILITY_HEADER, capability);
  if (originEncoding === 'identity' && clientTakesGzip) {
    headers.set('content-encoding', 'gzip');
    headers.set('vary', mergeVary(headers.get('vary') ?? undefined, 'Accept-Encoding'));
    headers.delete('content-length');
  }
  return headers;
}

export function createFetchHandler(options: FetchHandlerOptions): FetchHandler {
  const originBase = typeof options.origin === 'string' ? options.origin : null;
  const send = typeof options.origin === 'string' ? (request: Request) => fetch(request) : options.origin;
  const windowBytes = options.decisionWindowBytes ?? EDGE_DECISION_WINDOW_BYTES;

  return async (request) => {
    const usable = usableIfBlock(request);
    // Every answer to a request that offered the extension says so (docs/extensions.md §1.3); every other one `crcsync; m=1`.
    const capability = capabilityFor(usable?.extension ?? 0);
    const outgoing = originRequest(request, originBase);
    let response: Response;
    try {
      response = await send(outgoing);
    } catch (error) {
      const failure = new OriginFetchError(outgoing.url, error);
      return new Response(`${failure.message}\n`, { status: 502, headers: { 'content-type': 'text/plain; charset=utf-8', [CAPABILITY_HEADER]: capability } });
    }
    const passed = new Headers(response.headers);
    passed.set(CAPABILITY_HEADER, capability);
    const passThrough = () => new Response(response.body, { status: response.status, statusText: response.statusText, headers: passed });
    if (!usable || response.body === null) return passThrough();

    const decision: DeltaEncodingDecision = decideDeltaEncoding({
      method: request.method,
      status: response.status,
      ifBlock: request.headers.get(IF_BLOCK_HEADER) ?? undefined,
      contentEncoding: response.headers.get('content-encoding') ?? undefined,
      contentRange: response.headers.get('content-range') ?? undefined,
      cacheControl: response.headers.get('cache-control') ?? undefined,
      decodable: FETCH_DECODED_CODINGS,
    });
    if (!decision.encode) return passThrough();
    return answerWithDelta(response, decision.ifBlock, decision.originEncoding, usable.extension, acceptsGzip(request.headers.get('accept-encoding')), capability);
  };

  async function answerWithDelta(
    response: Response,
    ifBlock: IfBlock,
    originEncoding: string,
    extension: number,
    clientTakesGzip: boolean,
    capability: string,
  ): Promise<Response> {
    const reader = response.body!.getReader();
    const deltaPieces: Uint8Array[] = [];
    let deltaBytes = 0;
    const encoder = startEncoder(ifBlock, extension, options.engine, (chunk) => {
      deltaPieces.push(chunk);
      deltaBytes += chunk.length;
    });
    const contentPieces: Uint8Array[] = [];
    let contentBytes = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        encoder.push(value);
        contentPieces.push(value);
        contentBytes += value.length;
        if (contentBytes > windowBytes) return streamRest(response, reader, encoder, deltaPieces, deltaHeaders(response.headers, originEncoding, capability));
      }
      encoder.push(new Uint8Array(0), true);
    } catch (error) {
      encoder.dispose();
      await reader.cancel().catch(() => undefined);
      throw error;
    }
    // What the client would get without If-Block: the origin's encoded body as sent, or what the platform's gzip makes of identity content.
    const announced = Number(response.headers.get('content-length'));
    const plainBytes =
      originEncoding !== 'identity' && Number.isInteger(announced) && announced > 0
        ? announced
        : clientTakesGzip || originEncoding !== 'identity'
          ? await gzipSize(contentPieces)
          : contentBytes;
    if (deltaBeats(deltaBytes, plainBytes)) return exactResponse(response, deltaHeaders(response.headers, originEncoding, capability), concat(deltaPieces, deltaBytes));
    return new Response(concat(contentPieces, contentBytes), {
      status: response.status,
      statusText: response.statusText,
      headers: plainHeaders(response.headers, originEncoding, clientTakesGzip, capability),
    });
  }

  /**
   * Past the decision window: the delta so far, then the rest as the
   * origin's body arrives. `queue` is where the encoder's listener puts its
   * output; each pull reads the origin until the encoder has something.
   */
  function streamRest(response: Response, reader: ReadableStreamDefaultReader<Uint8Array>, encoder: Encoder, queue: Uint8Array[], headers: Headers): Response {
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        while (queue.length === 0) {
          const { done, value } = await reader.read();
          if (done) {
            encoder.push(new Uint8Array(0), true);
            for (const piece of queue.splice(0)) controller.enqueue(piece);
            controller.close();
            return;
          }
          encoder.push(value);
        }
        for (const piece of queue.splice(0)) controller.enqueue(piece);
      },
      async cancel(reason) {
        // The client went away: stop reading the origin and free the matcher.
        encoder.dispose();
        await reader.cancel(reason).catch(() => undefined);
      },
    });
    return exactResponse(response, headers, body);
  }
}
