// Serves a delta plan (issue 9): the delta goes out only when it beats what
// the same request gets without If-Block (delta-or-compression.ts); else
// exactly that response, logged pass=no-gain. The choice is made before
// the headers, on the whole body when it ends within DECISION_WINDOW_BYTES
// (the size up to which gzip / br are made whole too), else on that prefix,
// after which the chosen response streams:
//
//   1. read the body up to the window (decoding an upstream gzip / br); a
//      body that ended within it then waits for its turn in the whole-body
//      queue (whole-body-jobs.ts), in order with the compressions;
//   2. scan it with a held delta pass (DeltaTransform, or ExtDeltaTransform
//      for a request that offered the x=1 extension): matching only, no
//      deflating;
//   3. tiny body: the delta as before. Plain body compressed and the delta
//      mostly new bytes, or the economy guard stopped: plain, without
//      deflating a literal byte;
//   4. deflate the delta and race it against the plain body, made prefix
//      by prefix until one settles it: a small delta is settled by a small
//      part of the body compressed; otherwise the whole body is, and that
//      is the plain response if it wins. Sizes already made for the same
//      version (strong ETag) settle it without compressing (plain-size-memo.ts).

import type { ServerResponse } from 'node:http';
import { Readable, Transform, pipeline } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CompressionCoding, CompressionSettings, compressOnPool, compressOnce, compressedWhole, createCompressor, createDecompressor } from './content-coding';
import type { WholeBodyJobs } from './whole-body-jobs';
import { DECISION_WINDOW_BYTES, DeltaShape, deltaBeats, guessedRatio, isMostlyNew, nextRaceBytes } from './delta-or-compression';
import type { DictionaryCompressor } from '../protocol/ext-encoder';
import { DeltaTransform, DeltaTransformOptions } from './delta-transform';
import { ExtDeltaTransform } from './ext-delta-transform';
import { HeaderMap, writeHead } from './headers';
import type { WholeBodyRuns } from './literal-deflate-worker';
import type { MemoryReservation } from './memory-budget';
import type { PlainSizeMemo } from './plain-size-memo';
import type { ResponsePlan } from './response-plan';

/**
 * An origin that sends part of a body and then pauses (a page that flushes
 * its head before a slow query, an upstream that stalls) is not waited for:
 * after this long without a byte the server decides on what it has and
 * streams the rest, as deltas always streamed.
 */
export const ORIGIN_PAUSE_MS = 25;
/**
 * The same for a body whose length the origin states: longer, because a
 * file's reads share the thread pool with zlib and may wait that long under
 * load, and the choice should not depend on load.
 */
export const KNOWN_LENGTH_PAUSE_MS = 250;

export interface DeltaServing {
  res: ServerResponse;
  /** A plan with a delta (plan.delta, plan.plain set). */
  plan: ResponsePlan;
  body: Readable;
  /** The origin's Content-Length (of its bytes as sent, encoded or not), when it states one. */
  originLength: number | undefined;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  codecs: DeltaTransformOptions;
  /** A synchronous compressor for the pieces of an x=1 body (default: node zlib on the thread pool). */
  extensionCompressor?: DictionaryCompressor;
  compression: CompressionSettings;
  /** The queue a body made whole waits in for its turn: its delta is decided there, its plain body compressed there (whole-body-jobs.ts). */
  wholeBodyJobs: WholeBodyJobs;
  /**
   * A delta made whole: whether a literal run is deflated inline, in its
   * turn (default: always), and where it goes otherwise (a thread beside
   * the loop: literal-deflate-worker.ts). The turn ends once the runs are
   * handed there.
   */
  wholeBodyRuns?: WholeBodyRuns;
  /** Charges the delta memory budget (null when it does not fit). */
  chargeDelta(bytes: number): MemoryReservation | null;
  /** What a live delta holds while it streams (deltaMemoryEstimate of this If-Block). */
  streamingDeltaBytes: number;
  /** Sends a plain-text error response (nothing was sent yet); returns its body size. */
  sendError(status: number, message: string): number;
  /** Plain sizes already known, and where to note new ones; with the request URL and the origin's headers for the key. */
  plainSizes: PlainSizeMemo;
  /** Delta sizes remembered, and this request's key in them (null: not remembered), for a delta made whole that lost. */
  deltaSizes?: PlainSizeMemo;
  deltaSizeKey?: string | null;
  url: string;
  originHeaders: HeaderMap;
}

/** What the access log records for the response. */
export interface DeltaOutcome {
  status: number;
  encoding: string;
  sentBytes: number;
  fullBytes: number;
  passReason: string | null;
  aborted?: boolean;
  economy?: 'stop';
  /** A delta was made but the plain response went out: its size. */
  deltaBytes?: number;
  /** The plain body was made to compare and the delta went out: its size. */
  plainBytes?: number;
  /** The delta that went out is an extension body of this version (x=1). */
  extension?: number;
}

/** A delta pass that starts held: v=1, or the x=1 extension's. */
type HeldDeltaPass = DeltaTransform | ExtDeltaTransform;

/**
 * The held pass for the plan: an x=1 body when the request offered the
 * extension (plan.extension), else v=1. A delta of a whole body runs in its
 * turn of the whole-body queue, which is what bounds deltas on the event
 * loop: its short literal runs are deflated inline. Sent to the thread pool
 * instead, they waited behind the compressions there while the delta held
 * its turn (whole-body-jobs.ts).
 */
function heldDeltaPass(plan: ResponsePlan, serving: DeltaServing, wholeBody: boolean): HeldDeltaPass {
  if (plan.extension >= 1) {
    const { engine, sha1 } = serving.codecs;
    return new ExtDeltaTransform(plan.delta!, { engine, sha1, compressor: serving.extensionCompressor, held: true });
  }
  const runs = serving.wholeBodyRuns;
  return new DeltaTransform(plan.delta!, { ...serving.codecs, held: true, ...(wholeBody ? { deflateInline: runs?.inline ?? (() => true), deflateElsewhere: runs?.elsewhere } : {}) });
}

/** The held scan yields to the event loop after this many body bytes, so other requests are not kept waiting. */
const SCAN_TURN_BYTES = 256 * 1024;

/** The body bytes read before deciding. */
interface Prefix {
  /** The origin's bytes as read (encoded when the origin encoded them). */
  raw: Buffer[];
  /** The identity bytes they decode to (the same buffers for an identity origin). */
  identity: Buffer[];
  identityBytes: number;
  /** `identity` is the whole body. */
  ended: boolean;
  /** The origin's body has ended (its decoder may still hold output). */
  rawEnded: boolean;
}

function asBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}

/**
 * Reads the body until `limit` identity bytes, its end, or a pause of the
 * origin (`pauseMs` without a byte, once there is something to decide on),
 * leaving the rest unread (paused) in `body` and, for an encoded origin,
 * `decoder`.
 */
function readPrefix(body: Readable, decoder: Transform | null, limit: number, pauseMs: number, signal: AbortSignal): Promise<Prefix> {
  return new Promise((resolve, reject) => {
    const prefix: Prefix = { raw: [], identity: [], identityBytes: 0, ended: false, rawEnded: false };
    let settled = false;
    let pause: NodeJS.Timeout | undefined;
    const onPause = () => {
      if (prefix.identityBytes > 0) finish(false);
      else pause = setTimeout(onPause, pauseMs); // the decoder has not produced a byte yet
    };
    const onIdentity = (chunk: unknown) => {
      const bytes = asBuffer(chunk);
      prefix.identity.push(bytes);
      prefix.identityBytes += bytes.length;
      if (prefix.identityBytes >= limit) finish(false);
    };
    const onRaw = (chunk: unknown) => {
      const bytes = asBuffer(chunk);
      clearTimeout(pause);
      pause = setTimeout(onPause, pauseMs);
      prefix.raw.push(bytes);
      if (!decoder) return onIdentity(bytes);
      if (!decoder.write(bytes)) body.pause();
    };
    const onDrain = () => {
      if (!settled) body.resume();
    };
    const onRawEnd = () => {
      prefix.rawEnded = true;
      if (decoder) decoder.end();
      else finish(true);
    };
    const onIdentityEnd = () => finish(true);
    const onError = (error: Error) => fail(error);
    const onAbort = () => fail(new Error('client went away'));
    const detach = () => {
      clearTimeout(pause);
      body.off('data', onRaw).off('end', onRawEnd).off('error', onError);
      decoder?.off('data', onIdentity).off('end', onIdentityEnd).off('error', onError).off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
    };
    const finish = (ended: boolean) => {
      if (settled) return;
      settled = true;
      // Pause before the listeners go: a flowing stream without a 'data' listener would drop its data.
      body.pause();
      decoder?.pause();
      detach();
      prefix.ended = ended;
      resolve(prefix);
    };
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      detach();
      reject(error);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    body.on('error', onError).on('end', onRawEnd);
    decoder?.on('data', onIdentity).on('end', onIdentityEnd).on('error', onError).on('drain', onDrain);
    body.on('data', onRaw);
  });
}

type ScanEnd = 'scanned' | 'economy-stop' | 'mostly-new';

/** How the race between the delta and the plain body ended (`plainBody`: the whole body compressed, when it came to that). */
type RaceOutcome = { deltaWins: true; plainBody?: Buffer } | { deltaWins: false; plainBody: Buffer };

/** The first `bytes` bytes of `chunks` (views, no copy). */
function leading(chunks: Buffer[], bytes: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const chunk of chunks) {
    if (at >= bytes) break;
    out.push(chunk.length <= bytes - at ? chunk : chunk.subarray(0, bytes - at));
    at += chunk.length;
  }
  return out;
}

/**
 * Matches the prefix with the held transform. With `stopEarly` (the plain
 * body is compressed) it stops as soon as the delta cannot pay: the economy
 * guard stopped, or three quarters of the whole body are already new.
 */
async function scanHeld(delta: HeldDeltaPass, prefix: Prefix, stopEarly: boolean, signal: AbortSignal): Promise<ScanEnd> {
  // Chunk by chunk and then the end on its own, as a live DeltaTransform sees a stream: the same flush points, the same bytes.
  const chunks = prefix.ended ? [...prefix.identity, Buffer.alloc(0)] : prefix.identity;
  let sinceTurn = 0;
  for (let i = 0; i < chunks.length; i++) {
    const last = i === chunks.length - 1;
    delta.scanHeld(chunks[i], prefix.ended && last);
    if (stopEarly && delta.stats.economyStopAt !== null) return 'economy-stop';
    if (stopEarly && prefix.ended && isMostlyNew({ bodyBytes: prefix.identityBytes, literalBytes: delta.stats.literalBytes, blocks: 0 })) return 'mostly-new';
    sinceTurn += chunks[i].length;
    if (sinceTurn >= SCAN_TURN_BYTES && !last) {
      sinceTurn = 0;
      await nextTurn();
      if (signal.aborted) throw new Error('client went away');
    }
  }
  return 'scanned';
}

/** Collects everything a released, finished DeltaTransform still has to send. */
function finishDelta(delta: HeldDeltaPass): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    delta.on('data', (chunk: Buffer) => chunks.push(chunk));
    delta.once('end', () => resolve(Buffer.concat(chunks)));
    delta.once('error', reject);
    delta.end();
  });
}

/** The origin's bytes: the prefix read, then whatever the body still has. */
function rawAgain(prefix: Prefix, body: Readable): Readable {
  if (prefix.rawEnded) return Readable.from(prefix.raw);
  return Readable.from(
    (async function* () {
      yield* prefix.raw;
      for await (const chunk of body) yield chunk as Buffer;
    })(),
  );
}

/** Writes a whole body. `res.end(body)` would add a Content-Length of its own; the plan's headers say whether there is one. */
function sendWhole(res: ServerResponse, plan: ResponsePlan, body: Buffer): void {
  writeHead(res, plan.status, plan.headers);
  if (body.length) res.write(body);
  res.end();
}

/** Resolves when the response has gone out (or failed). */
function responseDone(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    if (res.writableFinished) return resolve(true);
    res.once('finish', () => resolve(true));
    res.once('close', () => resolve(res.writableFinished));
  });
}

export async function serveDeltaOrPlain(serving: DeltaServing): Promise<DeltaOutcome> {
  const { res, plan, body, signal, compression } = serving;
  const reservations: MemoryReservation[] = [];
  // A body that ended within the window is decided in a turn of the
  // whole-body queue, in order with the compressions (whole-body-jobs.ts);
  // the turn ends before the response is written, so a slow reader holds none.
  let releaseTurn = (): void => undefined;
  res.once('close', () => {
    releaseTurn();
    reservations.forEach((reservation) => reservation.release());
  });
  /** Swaps the plan-time charge for what is still held now (the body written ahead of the client, a live delta). */
  const recharge = (bytes: number): boolean => {
    plan.reservation?.release();
    const reservation = bytes > 0 ? serving.chargeDelta(bytes) : null;
    if (reservation) reservations.push(reservation);
    return bytes <= 0 || reservation !== null;
  };
  const decoder = plan.decode ? createDecompressor(plan.decode) : null;
  const extension = plan.extension >= 1 ? plan.extension : undefined;
  // While the choice is made nothing else listens: an origin that fails in
  // the meantime must not throw out of the process. The stream a pipeline
  // later takes over reports the failure there (an errored stream fails its
  // pipeline at once).
  const ignore = () => undefined;
  for (const stream of [body, decoder]) stream?.on('error', ignore);
  // Made once the body is read and its turn has come, right before its scan:
  // its scanner's window and matcher are not held while it waits
  // (wholeBodyDeltaMemoryBytes).
  let made: HeldDeltaPass | null = null;
  const abandon = () => {
    made?.destroy();
    decoder?.destroy();
    body.destroy();
  };
  const aborted = (): DeltaOutcome => ({ status: plan.status, encoding: plan.encoding, sentBytes: 0, fullBytes: 0, passReason: null, aborted: true });
  const failed = (): DeltaOutcome => {
    releaseTurn();
    abandon();
    if (signal.aborted) {
      res.destroy();
      return aborted();
    }
    // The origin's body failed before a byte was sent: say so (502) rather
    // than drop the connection, which browsers retry (Firefox up to 10 times).
    const sent = serving.sendError(502, 'Bad Gateway: the origin body ended early');
    return { status: 502, encoding: 'identity', sentBytes: sent, fullBytes: sent, passReason: null, aborted: true };
  };

  let prefix: Prefix;
  let scanEnd: ScanEnd;
  let tiny = false;
  try {
    const pauseMs = serving.originLength === undefined ? ORIGIN_PAUSE_MS : KNOWN_LENGTH_PAUSE_MS;
    prefix = await readPrefix(body, decoder, DECISION_WINDOW_BYTES, pauseMs, signal);
    if (prefix.ended) releaseTurn = await serving.wholeBodyJobs.hold(signal);
    // A body under compression.minBytes is not compressed either: the delta as before (README "Delta or plain").
    tiny = prefix.ended && prefix.identityBytes < compression.minBytes;
    made = heldDeltaPass(plan, serving, prefix.ended);
    made.on('error', ignore);
    scanEnd = await scanHeld(made, prefix, plan.plainIsEncoded && !tiny, signal);
  } catch {
    return failed();
  }
  const delta = made;
  const economy = delta.stats.economyStopAt !== null ? ('stop' as const) : undefined;
  const shape = (): DeltaShape => ({ bodyBytes: delta.stats.inputBytes, literalBytes: delta.stats.literalBytes, blocks: delta.stats.blocks });

  if (!prefix.ended) return streamDecided();

  // ---- the whole body is here ----
  const bodyBytes = prefix.identityBytes;
  const rawBytes = prefix.raw.reduce((sum, chunk) => sum + chunk.length, 0);
  if (scanEnd !== 'scanned') {
    // Settled against a compressed plain body without making the delta: remembered as a delta of no known size that loses to one.
    serving.deltaSizes?.noteAtLeast(serving.deltaSizeKey ?? null, Number.POSITIVE_INFINITY);
    return sendPlain(null, undefined);
  }
  let deltaBody: Buffer;
  try {
    delta.release();
    // Runs deflated beside the loop: the loop's part is done, and the next body in the queue need not wait for them.
    if (delta.hasPendingJobs) releaseTurn();
    deltaBody = await finishDelta(delta);
  } catch {
    return failed();
  }
  if (tiny) return sendDelta(deltaBody, undefined);
  if (!plan.plainIsEncoded) return deltaBeats(deltaBody.length, bodyBytes) ? sendDelta(deltaBody, undefined) : lost(null);
  if (plan.decode) return deltaBeats(deltaBody.length, rawBytes) ? sendDelta(deltaBody, undefined) : sendPlain(null, deltaBody.length);
  // Our own gzip / br: made prefix by prefix until one settles it (the whole body is the plain response).
  const plain = plan.plain!();
  if (!plain.compress) return deltaBeats(deltaBody.length, bodyBytes) ? sendDelta(deltaBody, undefined) : lost({ plan: plain, body: Buffer.concat(prefix.raw) });
  let outcome: RaceOutcome;
  try {
    outcome = await race(plain.compress, deltaBody.length, bodyBytes, serving.originLength, true);
  } catch {
    plain.reservation?.release();
    return failed();
  }
  if (outcome.deltaWins) {
    plain.reservation?.release();
    return sendDelta(deltaBody, outcome.plainBody?.length);
  }
  return lost({ plan: plain, body: outcome.plainBody });

  /** The whole delta lost to the plain body: its size is remembered, so the next request with this If-Block for this version is not scanned again (handler.ts). */
  function lost(made: { plan: ResponsePlan; body: Buffer } | null): Promise<DeltaOutcome> {
    serving.deltaSizes?.noteExact(serving.deltaSizeKey ?? null, deltaBody.length);
    return sendPlain(made, deltaBody.length);
  }

  /**
   * Compresses the first bytes of the body, more each time (nextRaceBytes),
   * until a prefix's plain bytes beat the delta by the margin (a prefix
   * never compresses to more than the whole body does) or the whole body is
   * compressed: with `wholeLengthHint`, exactly as the response without
   * If-Block compresses it.
   */
  async function race(coding: CompressionCoding, deltaBytes: number, bodyBytes: number, wholeLengthHint: number | undefined, whole: boolean): Promise<RaceOutcome> {
    // `whole`: bodyBytes is the whole body, so its plain size is the response's (else a lower bound of it).
    const key = serving.plainSizes.keyOf(serving.url, serving.originHeaders, coding, coding === 'gzip' ? compression.gzipLevel : compression.brotliQuality);
    const known = serving.plainSizes.get(key);
    if (known && deltaBeats(deltaBytes, known.atLeast)) return { deltaWins: true };
    // Joined only now: a remembered size settles most races without a copy of the body.
    const identity = Buffer.concat(leading(prefix.identity, bodyBytes));
    if (known && known.exact !== null && whole) {
      // Known to lose: the plain body is made once, to be sent.
      return { deltaWins: false, plainBody: await compressOnce(coding, compression, identity, wholeLengthHint) };
    }
    let last: { input: number; compressed: number } | null = null;
    const guess = guessedRatio(shape(), deltaBytes);
    for (;;) {
      const input = nextRaceBytes(deltaBytes, bodyBytes, last, guess);
      const all = input >= bodyBytes;
      const compressed = await compressOnce(coding, compression, identity.subarray(0, input), all ? wholeLengthHint : input);
      if (signal.aborted) throw new Error('client went away');
      if (all && whole) serving.plainSizes.noteExact(key, compressed.length);
      else serving.plainSizes.noteAtLeast(key, compressed.length);
      if (deltaBeats(deltaBytes, compressed.length)) return { deltaWins: true, plainBody: all ? compressed : undefined };
      if (all) return { deltaWins: false, plainBody: compressed };
      last = { input, compressed: compressed.length };
    }
  }

  /** The plain body, whole: compressed here (in this body's turn of the queue), or the origin's bytes as they came. */
  async function makePlainWhole(plain: ResponsePlan): Promise<Buffer> {
    if (!plain.compress) return Buffer.concat(prefix.raw);
    return compressOnPool(plain.compress, compression, Buffer.concat(prefix.identity), serving.originLength);
  }

  async function sendDelta(deltaBody: Buffer, plainBytes: number | undefined): Promise<DeltaOutcome> {
    releaseTurn();
    recharge(deltaBody.length);
    sendWhole(res, plan, deltaBody);
    const finished = await responseDone(res);
    return { status: plan.status, encoding: plan.encoding, sentBytes: deltaBody.length, fullBytes: bodyBytes, passReason: null, aborted: !finished, economy, plainBytes, extension };
  }

  /** Exactly the response without If-Block (its body made now unless `made`). */
  async function sendPlain(made: { plan: ResponsePlan; body: Buffer } | null, deltaBytes: number | undefined): Promise<DeltaOutcome> {
    delta.destroy();
    const plain = made?.plan ?? plan.plain!();
    if (plain.reservation) reservations.push(plain.reservation);
    let plainBody = made?.body;
    if (!plainBody) {
      try {
        plainBody = await makePlainWhole(plain);
      } catch {
        return failed();
      }
    }
    recharge(plain.compress ? 0 : plainBody.length);
    // `full` of an upstream's still-encoded body is the bytes as sent, as for any pass-through (access-log.ts).
    return sendPlainWhole(plain, plainBody, plain.compress || !plan.decode ? bodyBytes : rawBytes, deltaBytes);
  }

  /** Sends a plain body made whole as the response without If-Block does: a compressed body the origin gave a length for carries its own. */
  async function sendPlainWhole(plain: ResponsePlan, plainBody: Buffer, fullBytes: number, deltaBytes: number | undefined): Promise<DeltaOutcome> {
    releaseTurn();
    if (plain.compress && serving.originLength !== undefined) plain.headers.set('content-length', String(plainBody.length));
    sendWhole(res, plain, plainBody);
    const finished = await responseDone(res);
    return { status: plain.status, encoding: plain.encoding, sentBytes: plainBody.length, fullBytes, passReason: plain.passReason, aborted: !finished, economy, deltaBytes };
  }

  /**
   * The body goes on past the window: decide on the prefix, then stream.
   * Like with like: the delta's sections for the part of the prefix they
   * cover (all but the window a match may still end in) against the plain
   * body of that same part, raced as for a whole body. If plain wins, the
   * plain stream starts from the first byte again (the covered part is
   * compressed twice, at most one window), so it is byte for byte the
   * response without If-Block. An upstream's own coding is not redone: its
   * bytes read so far stand for that part, pro rata.
   */
  async function streamDecided(): Promise<DeltaOutcome> {
    let useDelta = false;
    let deltaBytes: number | undefined;
    let plain: ResponsePlan | null = null;
    if (scanEnd === 'scanned' && !(plan.plainIsEncoded && isMostlyNew(shape()))) {
      try {
        delta.release();
        delta.settleOpenRun();
        deltaBytes = await delta.queuedOutputBytes();
        const covered = delta.encodedBodyBytes;
        if (!plan.plainIsEncoded) useDelta = deltaBeats(deltaBytes, covered);
        else if (plan.decode) {
          const rawBytes = prefix.raw.reduce((sum, chunk) => sum + chunk.length, 0);
          useDelta = deltaBeats(deltaBytes, Math.floor((rawBytes * covered) / prefix.identityBytes));
        } else {
          plain = plan.plain!();
          useDelta = plain.compress ? (await race(plain.compress, deltaBytes, covered, covered, false)).deltaWins : deltaBeats(deltaBytes, covered);
        }
      } catch {
        plain?.reservation?.release();
        return failed();
      }
    }
    // A streaming delta holds its estimate; it was charged less if its body's
    // stated size promised a delta made whole (wholeBodyDeltaMemoryBytes). When
    // the estimate does not fit: the normal response, as for any delta over budget.
    const busy = useDelta && !recharge(serving.streamingDeltaBytes + deltaBytes!);
    if (busy) useDelta = false;
    if (useDelta) plain?.reservation?.release();
    let fullBytes = 0;
    let sentBytes = 0;
    if (useDelta) {
      writeHead(res, plan.status, plan.headers);
      delta.pushEncoded();
      fullBytes = prefix.identityBytes;
      const rest: Readable = decoder ?? body;
      rest.on('data', (chunk: Buffer) => (fullBytes += chunk.length));
      delta.on('data', (chunk: Buffer) => (sentBytes += chunk.length));
      const stages: (Readable | Transform | ServerResponse)[] = decoder && !prefix.rawEnded ? [body, decoder, delta, res] : [rest, delta, res];
      const error = await new Promise<Error | null>((resolve) => pipeline(stages, (error) => resolve(error ?? null)));
      return { status: plan.status, encoding: plan.encoding, sentBytes, fullBytes, passReason: null, aborted: Boolean(error), economy: delta.stats.economyStopAt !== null ? 'stop' : undefined, extension };
    }
    delta.destroy();
    decoder?.destroy();
    recharge(0);
    plain ??= plan.plain!();
    if (busy) plain = { ...plain, passReason: 'busy' };
    const reservation = plain.reservation;
    if (reservation) reservations.push(reservation);
    if (plain.compress && compressedWhole(serving.originLength)) {
      // A body of stated size that paused: made whole, as the response without If-Block is (handler.ts), and charged so (compressionMemoryEstimate).
      let compressed: Buffer;
      try {
        compressed = await serving.wholeBodyJobs.compress(rawAgain(prefix, body), plain.compress, compression, serving.originLength, signal);
      } catch {
        return failed();
      }
      return sendPlainWhole(plain, compressed, serving.originLength, undefined);
    }
    writeHead(res, plain.status, plain.headers);
    const source = rawAgain(prefix, body);
    const stages: (Readable | Transform | ServerResponse)[] = [source];
    if (plain.compress) stages.push(createCompressor(plain.compress, compression, serving.originLength));
    const counted = stages[stages.length - 1] as Readable;
    source.on('data', (chunk: Buffer) => (fullBytes += chunk.length));
    if (counted !== source) counted.on('data', (chunk: Buffer) => (sentBytes += chunk.length));
    const error = await new Promise<Error | null>((resolve) => pipeline([...stages, res], (error) => resolve(error ?? null)));
    if (counted === source) sentBytes = fullBytes;
    return { status: plain.status, encoding: plain.encoding, sentBytes, fullBytes, passReason: plain.passReason, aborted: Boolean(error), economy };
  }
}
