// The crcsync request handler: a Node `http` listener and Connect-style
// middleware. It asks an Origin for the response, plans it (response-plan.ts:
// delta, gzip/br, or as is), then streams the body through the chosen passes
// with stream.pipeline, so backpressure and teardown on a client disconnect
// come from one place. A planned delta goes to delta-response.ts, which
// sends it only if it beats the response without If-Block. Nothing a client
// sends can make it throw out of here.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, Readable, Transform } from 'node:stream';
import type { CrcEngine } from '../core/crc-engine';
import { getDefaultEngine } from '../core/embedded-core';
import { CompressorFactory, DictionaryCompressor, compileDeltaExclusions } from '../protocol/index';
import type { AccessLogSink } from './access-log';
import {
  CompressionSettings,
  DEFAULT_COMPRESSION,
  DEFAULT_MAX_COMPRESSION_BUFFER_BYTES,
  compressedWhole,
  compressionMemoryEstimate,
  createCompressor,
  createDecompressor,
} from './content-coding';
import { DEFAULT_MAX_DELTA_BUFFER_BYTES, deltaMemoryEstimate, wholeBodyDeltaMemoryBytes } from './delta-memory';
import { WholeBodyJobs } from './whole-body-jobs';
import { serveDeltaOrPlain } from './delta-response';
import { deltaBeats } from './delta-or-compression';
import { DeltaTransformOptions } from './delta-transform';
import { offeredExtension } from './extension-offer';
import { addCapability } from './header-passes';
import { HeaderMap, headerText, writeHead } from './headers';
import { LoopLoad } from './loop-load';
import { MemoryBudget } from './memory-budget';
import { sha1KnowingBody } from './known-body-sha1';
import { LiteralRunsPlace, wholeBodyLiteralRuns } from './literal-deflate-worker';
import { nodeSha1 } from './node-codecs';
import { OriginError } from './origin';
import { OriginChoice, resolveOrigin } from './origin-choice';
import { DEFAULT_PLAIN_SIZE_ENTRIES, PlainSizeMemo } from './plain-size-memo';
import { PlanSettings, ResponsePlan, planResponse } from './response-plan';

export interface CrcsyncHandlerSettings {
  /** CRC engine for the matcher (default: the WASM core). */
  engine?: CrcEngine;
  /** Synchronous compressor for the delta's literal runs (default: native zlib on the thread pool; pakoCompressor is byte-exact with the vectors). */
  literalCompressor?: CompressorFactory;
  /**
   * Synchronous compressor for the literal pieces of x=1 extension bodies
   * (default: native zlib on the thread pool, one job per piece;
   * pakoDictionaryCompressor is byte-exact with test/vectors-ext).
   */
  extensionCompressor?: DictionaryCompressor;
  /** gzip / br settings for clients without If-Block. */
  compression?: Partial<CompressionSettings>;
  /** Largest tail block a delta may need buffered (default 4 MiB); bigger If-Blocks get the normal response. */
  maxBlockBytes?: number;
  /**
   * Bytes all delta encodings in flight may hold together (default 256 MiB,
   * DEFAULT_MAX_DELTA_BUFFER_BYTES). Each delta is charged an upper bound of
   * its buffers when it starts (deltaMemoryEstimate: 1.5 .. 1.9 MiB, an x=1
   * answer 1.75 .. 2.6 MiB; a delta of a body of known size made whole:
   * its body while it waits for its turn, wholeBodyDeltaMemoryBytes) and
   * credited when its response ends; a delta that does not fit gets the normal response,
   * logged `pass=busy` (PROTOCOL.md §5).
   */
  maxDeltaBufferBytes?: number;
  /**
   * Bytes all gzip / br streams in flight may hold together (default 256 MiB,
   * DEFAULT_MAX_COMPRESSION_BUFFER_BYTES; compressionMemoryEstimate: br up to
   * ~12 MiB, gzip up to 2 MiB each). Beyond it br falls back to gzip and gzip to
   * the identity body, so slow readers cannot take the server's memory.
   */
  maxCompressionBufferBytes?: number;
  /**
   * Responses made whole worked on at once (gzip / br compressed on the
   * thread pool, deltas decided on the event loop); the rest wait their turn
   * in arrival order, holding only their input (whole-body-jobs.ts). Default:
   * four per thread of the pool (UV_THREADPOOL_SIZE, else Node's 4).
   */
  wholeBodyJobs?: number;
  /**
   * Where a delta made whole deflates its literal runs: 'when-busy'
   * (default) inline on the event loop while it has room, on a thread
   * beside it once the loop is busy (literal-deflate-worker.ts); 'inline'
   * always on the loop; 'beside' always on the thread. The bytes are the
   * same.
   */
  wholeBodyLiteralRuns?: LiteralRunsPlace;
  /**
   * Paths never sent as a delta (BREACH: responses that reflect request
   * input beside a secret), e.g. `['/account/*', '/search']`; see
   * src/protocol/delta-exclusions.ts for the pattern rules. They still get
   * gzip / br unless the origin says `Cache-Control: no-transform`.
   */
  noDelta?: readonly string[];
  /**
   * Plain (gzip / br) body sizes remembered per representation with a
   * strong ETag (default 4096 entries; 0 = none), so choosing between a
   * delta and the plain body does not compress the same version again for
   * every client (plain-size-memo.ts).
   */
  plainSizeEntries?: number;
  /** Access log sink, one call per response; null or omitted for none. */
  log?: AccessLogSink | null;
}

/** Where responses come from ({ root }, { upstream }, { demo } or your own { origin }) plus settings. */
export type CrcsyncHandlerOptions = OriginChoice & CrcsyncHandlerSettings;

export type NextFunction = (error?: unknown) => void;
export type CrcsyncHandler = ((req: IncomingMessage, res: ServerResponse, next?: NextFunction) => void) & {
  /** The memory budget of this handler's deltas in flight (what is charged now, and the limit). */
  readonly deltaMemory: Pick<MemoryBudget, 'reservedBytes' | 'reservations' | 'limitBytes'>;
  /** The memory budget of this handler's gzip / br streams in flight. */
  readonly compressionMemory: Pick<MemoryBudget, 'reservedBytes' | 'reservations' | 'limitBytes'>;
  /** Responses made whole being worked on (compressed, or their delta decided), and waiting their turn. */
  readonly wholeBodyJobs: Pick<WholeBodyJobs, 'running' | 'waiting' | 'limit'>;
  /** Plain body sizes remembered (plain-size-memo.ts). */
  readonly plainSizes: Pick<PlainSizeMemo, 'size' | 'limit'>;
  /** Sizes of deltas that lost, per version and If-Block (plain-size-memo.ts), and how many requests they settled with nothing scanned. */
  readonly deltaSizes: Pick<PlainSizeMemo, 'size' | 'limit'> & { readonly knownLosses: number };
};

/**
 * Turns of the whole-body queue (compressions and deltas made whole) per
 * thread of the pool: with one per thread the pool idled between jobs and
 * gzip clients lost a quarter of their requests/s; with four, gzip made what
 * it made without the queue, and the encoders waiting in the pool's own
 * queue are still a fixed few (src/server/README.md "Scale").
 */
const WHOLE_BODY_JOBS_PER_THREAD = 4;

/** libuv's thread pool: UV_THREADPOOL_SIZE threads, 4 unless set (serve-command.ts sets it to the cores). */
function threadPoolSize(): number {
  const size = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(size) && size >= 1 ? size : 4;
}

/** Plain-text error response, with Capability like every response (PROTOCOL.md §2; `offered`: the request's extension offer). */
function sendError(res: ServerResponse, status: number, message: string, offered = 0): number {
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
  addCapability(headers, offered);
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
  // A streaming delta's short literal runs: deflated inline while the loop has room, on the thread pool once it is busy (loop-load.ts). A delta made whole deflates its runs in its turn of the queue: inline while the loop has room, on the thread beside it once it is busy (literal-deflate-worker.ts).
  const loopLoad = new LoopLoad();
  codecs.deflateInline = () => !loopLoad.busy();
  const wholeBodyRuns = wholeBodyLiteralRuns(options.wholeBodyLiteralRuns ?? 'when-busy', codecs.deflateInline);
  const budget = new MemoryBudget(options.maxDeltaBufferBytes ?? DEFAULT_MAX_DELTA_BUFFER_BYTES);
  const compressionBudget = new MemoryBudget(options.maxCompressionBufferBytes ?? DEFAULT_MAX_COMPRESSION_BUFFER_BYTES);
  const wholeBodyJobs = new WholeBodyJobs(options.wholeBodyJobs ?? WHOLE_BODY_JOBS_PER_THREAD * threadPoolSize());
  const settings: PlanSettings = {
    compression,
    maxBlockBytes: options.maxBlockBytes,
    reserveDelta: (ifBlock, heldBytes, extension, wholeBody) =>
      budget.tryReserve(wholeBody === undefined ? heldBytes + deltaMemoryEstimate(ifBlock.layout, extension) : wholeBodyDeltaMemoryBytes(wholeBody)),
    reserveCompression: (coding, sizeHint) => compressionBudget.tryReserve(compressionMemoryEstimate(coding, sizeHint)),
  };
  const plainSizes = new PlainSizeMemo(options.plainSizeEntries ?? DEFAULT_PLAIN_SIZE_ENTRIES);
  const deltaSizes = new PlainSizeMemo(options.plainSizeEntries ?? DEFAULT_PLAIN_SIZE_ENTRIES);
  let knownLosses = 0;
  const log = options.log ?? null;
  const origin = resolveOrigin(options);
  const exclusions = compileDeltaExclusions(options.noDelta ?? []);

  async function serve(req: IncomingMessage, res: ServerResponse, next: NextFunction | undefined): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const record = (
      status: number,
      encoding: string,
      sentBytes: number,
      fullBytes: number,
      extra: { passReason?: string | null; aborted?: boolean; economy?: 'stop'; deltaBytes?: number; plainBytes?: number; extension?: number } = {},
    ) => {
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
        economy: extra.economy,
        deltaBytes: extra.deltaBytes,
        plainBytes: extra.plainBytes,
        extension: extra.extension,
      });
    };
    // Read once: every answer to an offer says so in Capability, errors included (docs/extensions.md §1.3).
    const offered = offeredExtension(req.headers['if-block']);
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
      const sent = sendError(res, status, status === 500 ? 'Internal Server Error' : (error as Error).message, offered);
      return record(status, 'identity', sent, sent);
    }
    if (answer === null) {
      if (next) {
        res.off('close', onClose);
        return next();
      }
      const sent = sendError(res, 404, 'Not Found', offered);
      return record(404, 'identity', sent, sent);
    }
    if (abort.signal.aborted) {
      answer.body?.destroy();
      return record(answer.status, '-', 0, 0, { aborted: true });
    }

    let plan = planResponse(
      {
        method,
        ifBlock: req.headers['if-block'],
        acceptEncoding: req.headers['accept-encoding'],
        deltaExcluded: exclusions.excludes(req.url ?? '/'),
        offeredExtension: offered,
      },
      answer,
      settings,
    );
    const body = answer.body;
    const originLength = Number(headerText(answer.headers, 'content-length'));
    const ifBlockHeader = req.headers['if-block'];
    const deltaSizeKey = plan.delta && typeof ifBlockHeader === 'string' ? deltaSizes.deltaKeyOf(req.url ?? '/', answer.headers, ifBlockHeader, plan.extension) : null;
    const knownLoss = plan.delta && body ? knownToLose(plan, deltaSizeKey, req.url ?? '/', answer.headers, originLength) : null;
    if (knownLoss) {
      // Exactly the response without If-Block, as delta-response.ts sends when the delta loses.
      knownLosses++;
      plan.reservation?.release();
      plan = knownLoss.plain;
    }
    // The delta's memory charge goes back when the response ends, however it ends (pipeline below, or the socket closing first).
    const reservation = plan.reservation;
    if (reservation) res.once('close', () => reservation.release());
    const passReason = req.headers['if-block'] === undefined ? null : plan.passReason;
    const deltaBytes = knownLoss?.deltaBytes;
    if (plan.delta && body) {
      const outcome = await serveDeltaOrPlain({
        res,
        plan,
        body,
        originLength: Number.isFinite(originLength) ? originLength : undefined,
        signal: abort.signal,
        codecs: answer.wholeBody ? { ...codecs, sha1: sha1KnowingBody(answer.wholeBody, nodeSha1) } : codecs,
        extensionCompressor: options.extensionCompressor,
        wholeBodyRuns,
        compression,
        wholeBodyJobs,
        chargeDelta: (bytes) => budget.tryReserve(bytes),
        streamingDeltaBytes: deltaMemoryEstimate(plan.delta.layout, plan.extension),
        sendError: (status, message) => sendError(res, status, message, offered),
        plainSizes,
        deltaSizes,
        deltaSizeKey,
        url: req.url ?? '/',
        originHeaders: answer.headers,
      });
      const { status, encoding, sentBytes, fullBytes, ...extra } = outcome;
      return record(status, encoding, sentBytes, fullBytes, extra);
    }
    if (body && plan.compress && !plan.decode && method !== 'HEAD' && compressedWhole(originLength)) {
      // A small body of known size is compressed whole and sent with its
      // Content-Length: clients (and a browser extension's byte counts, which
      // Firefox reports as 0 for chunked responses) see what went over the wire.
      const compressed = await wholeBodyJobs.compress(body, plan.compress, compression, originLength, abort.signal).catch(() => null);
      if (!compressed) {
        if (abort.signal.aborted) {
          res.destroy();
          return record(plan.status, plan.encoding, 0, 0, { passReason, aborted: true, deltaBytes });
        }
        // The origin's body failed before a byte was sent: say so (502) rather
        // than drop the connection, which browsers retry (Firefox up to 10 times).
        const sent = sendError(res, 502, 'Bad Gateway: the origin body ended early', offered);
        return record(502, 'identity', sent, sent, { passReason, aborted: true, deltaBytes });
      }
      const level = plan.compress === 'gzip' ? compression.gzipLevel : compression.brotliQuality;
      plainSizes.noteExact(plainSizes.keyOf(req.url ?? '/', answer.headers, plan.compress, level), compressed.length);
      plan.headers.set('content-length', String(compressed.length));
      writeHead(res, plan.status, plan.headers);
      res.end(compressed);
      return record(plan.status, plan.encoding, compressed.length, originLength, { passReason, deltaBytes });
    }
    writeHead(res, plan.status, plan.headers);
    if (!body || method === 'HEAD' || plan.status === 204 || plan.status === 304) {
      body?.destroy();
      reservation?.release();
      res.end();
      return record(plan.status, plan.encoding, 0, 0, { passReason, deltaBytes });
    }

    const stages: Transform[] = [];
    if (plan.decode) stages.push(createDecompressor(plan.decode));
    const identity: Readable = stages.length ? stages[stages.length - 1] : body;
    if (plan.compress) {
      const length = Number(headerText(answer.headers, 'content-length'));
      stages.push(createCompressor(plan.compress, compression, Number.isFinite(length) ? length : undefined));
    }
    const last: Readable = stages.length ? stages[stages.length - 1] : body;
    let fullBytes = 0;
    let sentBytes = 0;
    identity.on('data', (chunk: Buffer) => (fullBytes += chunk.length));
    if (last !== identity) last.on('data', (chunk: Buffer) => (sentBytes += chunk.length));
    pipeline([body, ...stages, res], (error) => {
      reservation?.release();
      record(plan.status, plan.encoding, last === identity ? fullBytes : sentBytes, fullBytes, { passReason, aborted: Boolean(error), deltaBytes });
    });
  }

  /**
   * The plain plan for a request whose delta is known to lose: the same
   * version (strong ETag) answered this If-Block before with a delta of a
   * remembered size, and the plain body this request would get has a
   * remembered exact size that the delta does not beat. Then nothing is
   * scanned or deflated. Null (and nothing held) otherwise, or for an
   * upstream's own coding, whose plain size is its bytes as they come.
   */
  function knownToLose(plan: ResponsePlan, deltaSizeKey: string | null, url: string, originHeaders: HeaderMap, originLength: number): { plain: ResponsePlan; deltaBytes: number | undefined } | null {
    const known = deltaSizes.get(deltaSizeKey);
    if (!known || plan.decode) return null;
    const plain = plan.plain!();
    if (known.exact === null) {
      // Not made last time: most of the body new, or the economy guard stopped (delta-response.ts). That loses to a compressed plain body only.
      if (plain.compress) return { plain, deltaBytes: undefined };
    } else {
      const level = plain.compress === 'gzip' ? compression.gzipLevel : compression.brotliQuality;
      const plainBytes = plain.compress ? (plainSizes.get(plainSizes.keyOf(url, originHeaders, plain.compress, level))?.exact ?? null) : Number.isFinite(originLength) ? originLength : null;
      if (plainBytes !== null && !deltaBeats(known.exact, plainBytes)) return { plain, deltaBytes: known.exact };
    }
    plain.reservation?.release();
    return null;
  }

  const handler = (req: IncomingMessage, res: ServerResponse, next?: NextFunction) => {
    serve(req, res, next).catch((error: unknown) => {
      // A bug, not a client's doing: answer 500 (or cut the response) and keep serving.
      process.emitWarning(`crcsync handler: ${error instanceof Error ? error.stack : String(error)}`);
      sendError(res, 500, 'Internal Server Error', offeredExtension(req.headers['if-block']));
    });
  };
  const deltaSizesSeen = {
    get size() {
      return deltaSizes.size;
    },
    limit: deltaSizes.limit,
    get knownLosses() {
      return knownLosses;
    },
  };
  return Object.assign(handler, { deltaMemory: budget, compressionMemory: compressionBudget, wholeBodyJobs, plainSizes, deltaSizes: deltaSizesSeen });
}
