// The crcsync request handler: a Node `http` listener and Connect-style
// middleware. It asks an Origin for the response, plans it (response-plan.ts:
// delta, gzip/br, or as is), then streams the body through the chosen passes
// with stream.pipeline, so backpressure and teardown on a client disconnect
// come from one place. Nothing a client sends can make it throw out of here.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, Readable, Transform, Writable } from 'node:stream';
import { pipeline as pipelinePromise } from 'node:stream/promises';
import type { CrcEngine } from '../core/crc-engine';
import { getDefaultEngine } from '../core/embedded-core';
import { CompressorFactory } from '../protocol/index';
import type { AccessLogSink } from './access-log';
import { CompressionSettings, DEFAULT_COMPRESSION, createCompressor, createDecompressor } from './content-coding';
import { DeltaTransform, DeltaTransformOptions } from './delta-transform';
import { addCapability } from './header-passes';
import { HeaderMap, headerText, writeHead } from './headers';
import { nodeSha1 } from './node-codecs';
import { OriginError } from './origin';
import { OriginChoice, resolveOrigin } from './origin-choice';
import { planResponse } from './response-plan';

export interface CrcsyncHandlerSettings {
  /** CRC engine for the matcher (default: the WASM core). */
  engine?: CrcEngine;
  /** Synchronous compressor for the delta's literal runs (default: native zlib on the thread pool; pakoCompressor is byte-exact with the vectors). */
  literalCompressor?: CompressorFactory;
  /** gzip / br settings for clients without If-Block. */
  compression?: Partial<CompressionSettings>;
  /** Largest tail block a delta may need buffered (default 4 MiB); bigger If-Blocks get the normal response. */
  maxBlockBytes?: number;
  /** Access log sink, one call per response; null or omitted for none. */
  log?: AccessLogSink | null;
}

/** Where responses come from ({ root }, { upstream }, { demo } or your own { origin }) plus settings. */
export type CrcsyncHandlerOptions = OriginChoice & CrcsyncHandlerSettings;

export type NextFunction = (error?: unknown) => void;
export type CrcsyncHandler = (req: IncomingMessage, res: ServerResponse, next?: NextFunction) => void;

/** Plain-text error response, with Capability like every response (PROTOCOL.md §2). */
/** gzip/br of a body up to this size (known from the origin's Content-Length) is made whole and sent with a Content-Length. */
const WHOLE_BODY_COMPRESS_BYTES = 1024 * 1024;

/** Compresses a whole (small) body on zlib's thread pool; rejects if the client goes away or the body fails. */
async function compressWhole(body: Readable, compressor: Transform, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const collect = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  await pipelinePromise(body, compressor, collect, { signal });
  return Buffer.concat(chunks);
}

function sendError(res: ServerResponse, status: number, message: string): number {
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  const body = Buffer.from(`${message}\n`);
  const headers: HeaderMap = new Map([
    ['content-type', 'text/plain; charset=utf-8'],
    ['content-length', String(body.length)],
    ['cache-control', 'no-store'],
  ]);
  addCapability(headers);
  writeHead(res, status, headers);
  res.end(body);
  return body.length;
}

export function createCrcsyncHandler(options: CrcsyncHandlerOptions): CrcsyncHandler {
  const compression: CompressionSettings = { ...DEFAULT_COMPRESSION, ...options.compression };
  const codecs: DeltaTransformOptions = {
    engine: options.engine ?? getDefaultEngine(),
    compressor: options.literalCompressor,
    sha1: nodeSha1,
  };
  const settings = { compression, maxBlockBytes: options.maxBlockBytes };
  const log = options.log ?? null;
  const origin = resolveOrigin(options);

  async function serve(req: IncomingMessage, res: ServerResponse, next: NextFunction | undefined): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const record = (status: number, encoding: string, sentBytes: number, fullBytes: number, extra: { passReason?: string | null; aborted?: boolean } = {}) => {
      log?.({
        time: new Date(),
        method,
        url: req.url ?? '',
        status,
        encoding,
        sentBytes,
        fullBytes,
        milliseconds: performance.now() - started,
        passReason: extra.passReason ?? undefined,
        aborted: extra.aborted,
      });
    };
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);

    let answer;
    try {
      answer = await origin(req, abort.signal);
    } catch (error) {
      if (abort.signal.aborted) return record(0, '-', 0, 0, { aborted: true });
      const status = error instanceof OriginError ? error.status : 500;
      const sent = sendError(res, status, status === 500 ? 'Internal Server Error' : (error as Error).message);
      return record(status, 'identity', sent, sent);
    }
    if (answer === null) {
      if (next) {
        res.off('close', onClose);
        return next();
      }
      const sent = sendError(res, 404, 'Not Found');
      return record(404, 'identity', sent, sent);
    }
    if (abort.signal.aborted) {
      answer.body?.destroy();
      return record(answer.status, '-', 0, 0, { aborted: true });
    }

    const plan = planResponse(
      { method, ifBlock: req.headers['if-block'], acceptEncoding: req.headers['accept-encoding'] },
      answer,
      settings,
    );
    const passReason = req.headers['if-block'] === undefined ? null : plan.passReason;
    const body = answer.body;
    const originLength = Number(headerText(answer.headers, 'content-length'));
    if (body && plan.compress && !plan.decode && method !== 'HEAD' && originLength <= WHOLE_BODY_COMPRESS_BYTES) {
      // A small body of known size is compressed whole and sent with its
      // Content-Length: clients (and a browser extension's byte counts, which
      // Firefox reports as 0 for chunked responses) see what went over the wire.
      const compressed = await compressWhole(body, createCompressor(plan.compress, compression, originLength), abort.signal).catch(() => null);
      if (!compressed) {
        // Client gone or the body failed: cut the response, as the streaming path's pipeline does.
        res.destroy();
        return record(plan.status, plan.encoding, 0, 0, { passReason, aborted: true });
      }
      plan.headers.set('content-length', String(compressed.length));
      writeHead(res, plan.status, plan.headers);
      res.end(compressed);
      return record(plan.status, plan.encoding, compressed.length, originLength, { passReason });
    }
    writeHead(res, plan.status, plan.headers);
    if (!body || method === 'HEAD' || plan.status === 204 || plan.status === 304) {
      body?.destroy();
      res.end();
      return record(plan.status, plan.encoding, 0, 0, { passReason });
    }

    const stages: Transform[] = [];
    if (plan.decode) stages.push(createDecompressor(plan.decode));
    const identity: Readable = stages.length ? stages[stages.length - 1] : body;
    if (plan.delta) stages.push(new DeltaTransform(plan.delta, codecs));
    else if (plan.compress) {
      const length = Number(headerText(answer.headers, 'content-length'));
      stages.push(createCompressor(plan.compress, compression, Number.isFinite(length) ? length : undefined));
    }
    const last: Readable = stages.length ? stages[stages.length - 1] : body;
    let fullBytes = 0;
    let sentBytes = 0;
    identity.on('data', (chunk: Buffer) => (fullBytes += chunk.length));
    if (last !== identity) last.on('data', (chunk: Buffer) => (sentBytes += chunk.length));
    pipeline([body, ...stages, res], (error) => {
      record(plan.status, plan.encoding, last === identity ? fullBytes : sentBytes, fullBytes, { passReason, aborted: Boolean(error) });
    });
  }

  return (req, res, next) => {
    serve(req, res, next).catch((error: unknown) => {
      // A bug, not a client's doing: answer 500 (or cut the response) and keep serving.
      process.emitWarning(`crcsync handler: ${error instanceof Error ? error.stack : String(error)}`);
      sendError(res, 500, 'Internal Server Error');
    });
  };
}
