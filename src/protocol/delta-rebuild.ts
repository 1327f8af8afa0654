// The client's delta rebuild, browser-neutral (issue 10 item 2): a transport
// pushes the delta's chunks in; only verified bytes (or the body of a full
// refetch) come out, into a BodySink that is the page's side of the response.
// A browser adapter connects its body filter's events (Firefox: StreamFilter,
// extension/background/firefox/response-filters.ts) to start/push/end/fail/abort;
// the timer, the clock and the refetch are injected, so the whole state
// machine runs under test with fakes.
//
// What the page gets (PROTOCOL.md §3, §5; docs/extensions.md §3.2, §3.4):
// - a v=1 body: nothing until its S digest verified, then the whole body in
//   one write at once; the close when the delta ends (PROTOCOL.md §3: bytes
//   after S are still an error, but the body the page has is the verified
//   one; waiting for the end cost a median 2.8 ms per page, bench/load.md).
//   The close waits for the end: closing a Firefox 153 StreamFilter at S
//   would save ~2 ms (its stop event queues behind the last chunk's decode,
//   bench/load.md stopGapMs vs firstReleaseMs), but when bytes then follow S
//   the page's load event never fires (tried 2026-12-03 with
//   fallback.test.ts's trailing mode: readyState stays "interactive");
// - an x=1 body: each prefix a C checkpoint verified, at once; the rest
//   when S verified, the close at the end of the delta;
// - a failure after S verified (bytes after it, a stall before the end):
//   the page already holds the whole verified body; the sink is closed, no
//   refetch, and the outcome is verified with the error as its reason;
// - on any failure (decoder error, stall, base missing or unreadable, too
//   many bytes buffered while the base loads): the decoder is abandoned
//   and the page gets the body of a full refetch; after a prefix went out,
//   only the rest of a refetch that starts with exactly that prefix, else
//   nothing more (never a mix of two bodies); when the refetch cannot be
//   written the sink is closed with nothing more;
// - after fail() (the transport broke) or abort() (the page went away):
//   nothing more, not even a close: the sink is gone.
// No byte reaches the sink before start() (a StreamFilter throws on a write
// before its start event): writes until then are queued in order.

import { DELTA_STALLED, REFETCH_PREFIX_MISMATCH, refetchContinuesRelease } from './client-policy';
import type { FallbackReason } from './client-plan';
import { concatBytes } from './byte-buffers';
import { compactSha1 } from './compact-sha1';
import { DeltaDecoder } from './delta-decoder';
import { isCrcsyncError } from './errors';
import type { Sha1Factory } from './sha1';

/** The page's side of the response: the rebuild writes verified bytes only, in order, then closes it once. */
export interface BodySink {
  write(bytes: Uint8Array): void;
  close(): void;
}

/** setTimeout/clearTimeout and a monotonic clock in milliseconds (performance.now() in a browser). */
export interface RebuildTimers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * When the rebuild's events happened (RebuildTimers.now() values; NaN until
 * then). The extension's PhaseClock (extension/background/exchange-phases.ts)
 * has these fields and is passed as is; "filter" is the browser's body filter,
 * i.e. the transport behind push() and the sink.
 */
export interface RebuildMarks {
  /** start(): the sink may be written from here. */
  filterStartAt: number;
  firstByteAt: number;
  lastByteAt: number;
  /** push() of the last chunk returned (the chunk decoded as far as it goes). */
  lastDataDoneAt: number;
  /** end() */
  stopAt: number;
  /** Time inside DeltaDecoder.push, summed over chunks (writes of released prefixes excluded). */
  decodeMs: number;
  /** The first verified bytes were written: a checkpointed prefix, else the whole body (then = verifiedAt). */
  firstReleaseAt: number;
  /** The decoder released the whole verified body. */
  verifiedAt: number;
  /** The verified body was written and the sink closed. */
  writtenAt: number;
  /** Time spent in done() right after that write (synchronous part). */
  afterWriteMs: number;
}

export interface RefetchResult {
  /** The whole body of a GET without If-Block, or null when there is none to write. */
  body: Uint8Array | null;
  /** Why there is no body (e.g. REFETCH_STATUS 500); null when there is one. */
  refusal: string | null;
}

export interface DeltaOutcome {
  /**
   * The whole body the page got (verified, or refetched), kept as the next
   * base; null when the page did not get a whole body: the refetch failed,
   * or it did not continue the prefix already released, or the transport
   * failed or the page went away (reason/refusal say which).
   */
  body: Uint8Array | null;
  verified: boolean;
  /**
   * Why the delta was not used (client-plan.ts); null when verified, or when
   * the page went away during a healthy rebuild. A verified outcome with a
   * reason: the delta went wrong only after S verified the body the page has
   * (bytes after S, no end in time); the body is still the verified one.
   */
  reason: FallbackReason | null;
  /** Why the fallback's refetch could not be written (the page got nothing more), REBUILD_CANCELLED after abort(); null otherwise. */
  refusal: string | null;
  /** Delta body bytes pushed (refetched bytes are the caller's to count). */
  bodyBytes: number;
  /** Milliseconds spent inside the decoder. */
  rebuildMs: number;
  /** The delta was an extension body (x=1: its first byte was the X marker). */
  extensionBody: boolean;
  /** Verified body bytes written to the page before S verified (checkpointed prefixes; 0 for a v=1 body). */
  releasedEarlyBytes: number;
}

/** DeltaOutcome.refusal after abort(): the page went away, nothing was written for it since. */
export const REBUILD_CANCELLED = 'CANCELLED';

/** Refusal when refetch() itself threw (it should not: it reports a refusal instead). */
const REFETCH_THREW = 'REFETCH_NETWORK';

export interface DeltaRebuildJob {
  /** The cached base the If-Block was computed from; null when it is gone. May settle after chunks arrived. */
  base: Promise<Uint8Array | null>;
  /** The If-Block offered the extension (x=1): a body starting with X is decoded as one (docs/extensions.md §3.1). */
  acceptExtension: boolean;
  /** Cap on the rebuilt body, and on delta bytes buffered while the base loads (§5). */
  maxRebuiltBytes: number;
  /** No delta byte (and no finished rebuild) for this long: fall back (§5). Also covers a base that never loads. */
  stallTimeoutMs: number;
  /** The response was already known to be unusable (e.g. crcsync among other encodings): refetch at once. */
  unusableReason: FallbackReason | null;
  /**
   * A GET of the same URL without If-Block: the body to write, or why there
   * is none. Should not reject. `signal` aborts when nobody waits for the
   * body any more (fail() or abort()); a result after that is ignored.
   */
  refetch(reason: FallbackReason, signal: AbortSignal): Promise<RefetchResult>;
  /** Called exactly once, when the page has all it will get. */
  done(outcome: DeltaOutcome): void;
  log(message: string, error?: unknown): void;
  sink: BodySink;
  timers: RebuildTimers;
  marks?: RebuildMarks;
  /** SHA-1 with digestSoFar (checkpoints need it); default compactSha1. */
  sha1?: Sha1Factory;
}

/** The transport's side: one call per event of the delta response. */
export interface DeltaRebuild {
  /** The sink may be written from now on: what was queued goes out. */
  start(): void;
  /** A chunk of the delta (the rebuild does not keep the caller's array past a decode; buffered chunks are kept as given). */
  push(chunk: Uint8Array): void;
  /** The delta ended. */
  end(): void;
  /** The transport failed (e.g. the filter's error event): nothing can be written any more. */
  fail(detail: string): void;
  /** The page went away: write nothing more, drop the refetch. */
  abort(): void;
}

export function startDeltaRebuild(job: DeltaRebuildJob): DeltaRebuild {
  return new Rebuild(job);
}

function unsetMarks(): RebuildMarks {
  return {
    filterStartAt: NaN,
    firstByteAt: NaN,
    lastByteAt: NaN,
    lastDataDoneAt: NaN,
    stopAt: NaN,
    decodeMs: 0,
    firstReleaseAt: NaN,
    verifiedAt: NaN,
    writtenAt: NaN,
    afterWriteMs: NaN,
  };
}

/** Writes to the sink in order, holding what comes before start() until then; after discard() nothing reaches it. */
class GatedSink {
  private started = false;
  private discarded = false;
  private readonly held: Uint8Array[] = [];
  private closeHeld = false;

  constructor(private readonly sink: BodySink) {}

  start(): void {
    if (this.started || this.discarded) return;
    this.started = true;
    for (const bytes of this.held.splice(0)) this.sink.write(bytes);
    if (this.closeHeld) this.sink.close();
  }

  write(bytes: Uint8Array): void {
    if (this.discarded) return;
    if (this.started) this.sink.write(bytes);
    else this.held.push(bytes);
  }

  close(): void {
    if (this.discarded) return;
    if (this.started) this.sink.close();
    else this.closeHeld = true;
  }

  /** The sink is gone (the transport failed, the page went away). */
  discard(): void {
    this.discarded = true;
    this.held.length = 0;
  }
}

class Rebuild implements DeltaRebuild {
  private readonly sink: GatedSink;
  private readonly timers: RebuildTimers;
  private readonly marks: RebuildMarks;
  private decoder: DeltaDecoder | null = null;
  /** Decoding stopped: a fallback began, the transport failed or the page went away. */
  private failed = false;
  /** The outcome was reported (done() called). */
  private finished = false;
  private streamEnded = false;
  private bodyBytes = 0;
  private rebuildMs = 0;
  private extensionBody = false;
  /** The reason of the fallback under way, for an abort() that comes during its refetch. */
  private fallbackReason: FallbackReason | null = null;
  /** Delta chunks that came before the base was in memory. */
  private waiting: Uint8Array[] = [];
  /**
   * What the page holds before the delta ended: the verified ranges in order
   * (views into the decoder's buffers, whose bytes never change), so a
   * fallback can check that its refetch continues them (§3.4).
   */
  private readonly released: Uint8Array[] = [];
  private releasedEarlyBytes = 0;
  /** S verified and the whole body went to the page (the close waits for the delta's end). */
  private wholeReleased = false;
  /** Re-armed on every chunk; cleared once settled or the fallback began. */
  private stallTimer: unknown = null;
  private readonly refetchAbort = new AbortController();
  /** true at start(), false at fail()/abort(): a fallback writes only to a started sink, and settles once it knows which. */
  private readonly sinkReady: Promise<boolean>;
  private resolveSinkReady: (ready: boolean) => void = () => undefined;
  /** The current push's start, and the time it spent writing released prefixes (the sink's, not the decoder's). */
  private pushBegin = 0;
  private pushWriteMs = 0;
  private delivered = false;

  constructor(private readonly job: DeltaRebuildJob) {
    this.sink = new GatedSink(job.sink);
    this.timers = job.timers;
    this.marks = job.marks ?? unsetMarks();
    this.sinkReady = new Promise<boolean>((resolve) => (this.resolveSinkReady = resolve));
    if (job.unusableReason) void this.fallBack(job.unusableReason);
    else this.armStallTimer();
    job.base.then(
      (base) => this.baseArrived(base),
      (error) => {
        job.log('could not read the cached base', error);
        void this.fallBack('STORAGE_ERROR');
      },
    );
  }

  start(): void {
    this.marks.filterStartAt = this.timers.now();
    try {
      this.sink.start();
    } catch (error) {
      this.job.log('could not write the verified prefix', error);
    }
    this.resolveSinkReady(true);
  }

  push(chunk: Uint8Array): void {
    if (this.failed || this.finished || this.streamEnded) return;
    this.marks.lastByteAt = this.timers.now();
    if (!this.bodyBytes) this.marks.firstByteAt = this.marks.lastByteAt;
    this.bodyBytes += chunk.length;
    this.armStallTimer();
    if (this.decoder) {
      this.feed(chunk, false);
    } else {
      // Bounded buffering while the base is read (§5: buffered bytes per response bounded).
      this.waiting.push(chunk);
      if (this.bodyBytes > this.job.maxRebuiltBytes) void this.fallBack('DELTA_TOO_LARGE');
    }
    this.marks.lastDataDoneAt = this.timers.now();
  }

  end(): void {
    if (this.streamEnded) return;
    this.marks.stopAt = this.timers.now();
    this.streamEnded = true;
    // Without a decoder yet, the stall timer keeps running: a base that never comes falls back.
    if (!this.failed && !this.finished && this.decoder) this.feed(new Uint8Array(0), true);
  }

  fail(detail: string): void {
    this.job.log(detail);
    this.stopWriting();
    this.settle(this.outcome(null, false, 'FILTER_ERROR', null));
  }

  abort(): void {
    if (this.finished) return;
    this.job.log('the page went away; nothing more is written');
    this.stopWriting();
    this.settle(this.outcome(null, false, this.fallbackReason, REBUILD_CANCELLED));
  }

  /** fail()/abort(): the sink is gone; so is any reason to decode or refetch. */
  private stopWriting(): void {
    this.failed = true;
    this.decoder = null;
    this.waiting = [];
    this.sink.discard();
    this.resolveSinkReady(false);
    this.refetchAbort.abort();
  }

  private outcome(body: Uint8Array | null, verified: boolean, reason: FallbackReason | null, refusal: string | null): DeltaOutcome {
    const { bodyBytes, rebuildMs, extensionBody, releasedEarlyBytes } = this;
    return { body, verified, reason, refusal, bodyBytes, rebuildMs, extensionBody, releasedEarlyBytes };
  }

  private armStallTimer(): void {
    this.stopStallTimer();
    this.stallTimer = this.timers.setTimeout(() => void this.fallBack(DELTA_STALLED), this.job.stallTimeoutMs);
  }

  private stopStallTimer(): void {
    if (this.stallTimer !== null) this.timers.clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  private settle(outcome: DeltaOutcome): void {
    this.stopStallTimer();
    this.released.length = 0;
    if (this.finished) return;
    this.finished = true;
    this.job.done(outcome);
  }

  private baseArrived(base: Uint8Array | null): void {
    if (this.failed || this.finished) return;
    if (!base) return void this.fallBack('BASE_MISSING');
    try {
      const created = new DeltaDecoder(
        base,
        { maxRebuiltBytes: this.job.maxRebuiltBytes, sha1: this.job.sha1 ?? compactSha1, acceptExtension: this.job.acceptExtension, releaseAtDigest: true },
        (body) => this.deliver(body),
      );
      created.onverified = (bytes) => this.releaseVerified(created, bytes);
      this.decoder = created;
    } catch (error) {
      return void this.fallBack(isCrcsyncError(error) ? error.code : 'BASE_UNUSABLE');
    }
    for (const chunk of this.waiting.splice(0)) {
      this.feed(chunk, false);
      if (this.failed) return;
    }
    if (this.streamEnded) this.feed(new Uint8Array(0), true);
  }

  private feed(chunk: Uint8Array, final: boolean): void {
    const current = this.decoder!;
    this.pushBegin = this.timers.now();
    this.pushWriteMs = 0;
    try {
      current.push(chunk, final);
    } catch (error) {
      void this.fallBack(isCrcsyncError(error) ? error.code : 'DECODER_EXCEPTION');
    } finally {
      this.extensionBody ||= current.isExtensionBody;
      // The decoder releases the body from inside push(): a delivered push's time ended there (deliver).
      if (!this.delivered) this.rebuildMs += this.timers.now() - this.pushBegin - this.pushWriteMs;
      this.marks.decodeMs = this.rebuildMs;
    }
  }

  /**
   * Verified bytes go to the page at once (§3.2): a prefix a checkpoint
   * verified (extension bodies), or the rest of the body once S verified.
   */
  private releaseVerified(source: DeltaDecoder, bytes: Uint8Array): void {
    // S came in the final push (the delta ended with it): deliver writes the rest with the close.
    if (source.verifiedBody || this.failed) return;
    const now = this.timers.now();
    const whole = source.digestVerified;
    if (!this.releasedEarlyBytes) this.marks.firstReleaseAt = now;
    this.released.push(bytes);
    if (whole) {
      this.wholeReleased = true;
      this.marks.verifiedAt = now;
      this.rebuildMs += now - this.pushBegin;
      this.marks.decodeMs = this.rebuildMs;
      this.delivered = true;
    } else {
      this.releasedEarlyBytes += bytes.length;
    }
    try {
      this.sink.write(bytes);
    } catch (error) {
      this.job.log(whole ? 'could not write the rebuilt body' : 'could not write a verified prefix', error);
    }
    if (whole) this.marks.writtenAt = this.timers.now();
    else this.pushWriteMs += this.timers.now() - now;
  }

  /** S verified and the delta ended: the rest of the body (unless it went out at S), the close, the outcome. */
  private deliver(body: Uint8Array): void {
    const marks = this.marks;
    if (this.wholeReleased) {
      try {
        this.sink.close();
      } catch (error) {
        this.job.log('could not close the rebuilt body', error);
      }
      this.settle(this.outcome(body, true, null, null));
      marks.afterWriteMs = this.timers.now() - marks.writtenAt;
      return;
    }
    marks.verifiedAt = this.timers.now();
    this.delivered = true;
    this.rebuildMs += marks.verifiedAt - this.pushBegin;
    marks.decodeMs = this.rebuildMs;
    if (!this.releasedEarlyBytes) marks.firstReleaseAt = marks.verifiedAt;
    try {
      this.sink.write(body.subarray(this.releasedEarlyBytes));
      this.sink.close();
    } catch (error) {
      this.job.log('could not write the rebuilt body', error);
    }
    marks.writtenAt = this.timers.now();
    this.settle(this.outcome(body, true, null, null));
    marks.afterWriteMs = this.timers.now() - marks.writtenAt;
  }

  /**
   * The delta went wrong after S verified it (bytes after S, no end within
   * the stall timeout): the page already holds the whole verified body, which
   * is the server's new version, so nothing is refetched. The response is
   * ended, and the outcome is verified with the peer's error as its reason.
   */
  private keepReleasedBody(reason: FallbackReason): void {
    this.failed = true;
    this.decoder = null;
    this.job.log(`the delta went on after its verified body (${reason}); the page keeps the verified body`);
    const body = concatBytes(this.released, this.released.reduce((sum, range) => sum + range.length, 0));
    try {
      this.sink.close();
    } catch (error) {
      this.job.log('could not close the rebuilt body', error);
    }
    this.settle(this.outcome(body, true, reason, null));
  }

  private async fallBack(reason: FallbackReason): Promise<void> {
    if (this.failed || this.finished) return;
    if (this.wholeReleased) return this.keepReleasedBody(reason);
    this.failed = true;
    this.fallbackReason = reason;
    this.stopStallTimer();
    this.decoder = null;
    this.waiting = [];
    const held = this.releasedEarlyBytes;
    this.job.log(`delta not usable (${reason}); refetching in full${held ? ` (the page holds its first ${held} verified bytes)` : ''}`);
    let { body, refusal }: RefetchResult = { body: null, refusal: null };
    try {
      ({ body, refusal } = await this.job.refetch(reason, this.refetchAbort.signal));
    } catch (error) {
      this.job.log('full refetch failed', error);
      refusal = REFETCH_THREW;
    }
    if (this.finished) return; // the transport failed or the page went away meanwhile: nothing to write to
    if (body && held && !refetchContinuesRelease(this.released, body)) {
      // The page must never get a mix of two bodies (§3.4): it keeps what it has, and the load failed.
      this.job.log(`the refetched body does not start with the ${held} bytes the page holds; ending the response without more`);
      body = null;
      refusal = REFETCH_PREFIX_MISMATCH;
    } else if (refusal) {
      this.job.log(`the refetch cannot be written (${refusal}); the page gets nothing${held ? ' more' : ''}`);
    }
    const ready = await this.sinkReady;
    if (this.finished) return;
    if (ready) {
      try {
        if (body) this.sink.write(body.subarray(held));
        this.sink.close();
      } catch (error) {
        this.job.log('could not write the refetched body', error);
      }
    }
    this.settle(this.outcome(body, false, reason, refusal));
  }
}
