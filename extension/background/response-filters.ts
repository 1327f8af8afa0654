// Body rewriting with Firefox's webRequest.filterResponseData (MDN:
// StreamFilter). Two jobs:
// - rebuildDelta: the response is a crcsync delta; feed it to the streaming
//   DeltaDecoder and write only verified bytes. A v=1 body is written whole
//   once its S digest verified; an extension body (x=1, docs/extensions.md
//   §3.2) also hands each prefix a C checkpoint verified to the page at once,
//   and the rest after S. On any failure write the body of a full refetch
//   instead (PROTOCOL.md §3, §5: no byte of an unverified body reaches the
//   page); after a prefix went out, only the rest of a refetch that starts
//   with exactly that prefix, else nothing more (§3.4). A stream that
//   delivers nothing for stallTimeoutMs (the network stalled, or the base
//   never loaded) falls back the same way: the decoder is abandoned and its
//   bytes discarded. When the refetch cannot be written (refused or failed,
//   see refetch.ts) the page gets nothing more: the filter is closed.
// - captureBody: a plain 200; pass every chunk through unchanged at once and
//   keep a copy to store after the stream completes.

import { concatBytes } from '../../src/protocol/byte-buffers';
import { DeltaDecoder } from '../../src/protocol/delta-decoder';
import { DELTA_STALLED, REFETCH_PREFIX_MISMATCH, refetchContinuesRelease } from '../../src/protocol/client-policy';
import { isCrcsyncError } from '../../src/protocol/errors';
import type { StreamFilter } from '../shared/browser';
import { compactSha1 } from '../../src/protocol/compact-sha1';
import type { PhaseClock } from './exchange-phases';

export interface DeltaOutcome {
  /**
   * The whole body the page got (verified, or refetched), kept as the next
   * base; null when the page did not get a whole body: the refetch failed,
   * or it did not continue the prefix already released (reason/refusal say which).
   */
  body: Uint8Array | null;
  verified: boolean;
  /** CrcsyncError code or short reason when not verified. */
  reason: string | null;
  /** Why the fallback's refetch could not be written (the page got nothing more); null otherwise. */
  refusal: string | null;
  /** Delta body bytes the filter received (refetched bytes are the caller's to count). */
  bodyBytes: number;
  /** Milliseconds spent inside the decoder. */
  rebuildMs: number;
  /** The delta was an extension body (x=1: its first byte was the X marker). */
  extensionBody: boolean;
  /** Verified body bytes written to the page before the delta ended (checkpointed prefixes; 0 for a v=1 body). */
  releasedEarlyBytes: number;
}

export interface DeltaJob {
  /** The cached base the If-Block was computed from; null when it is gone. */
  base: Promise<Uint8Array | null>;
  /** The If-Block that went out offered the extension (x=1): a body starting with X is decoded as one (docs/extensions.md §3.1). */
  acceptExtension: boolean;
  /** Marks the filter's events (ExchangeRecord.phases). */
  clock: PhaseClock;
  maxRebuiltBytes: number;
  /** No delta byte (and no finished rebuild) for this long: fall back (PROTOCOL.md §5). */
  stallTimeoutMs: number;
  /** The response was already known to be unusable (e.g. crcsync among other encodings). */
  unusableReason: string | null;
  /** GET of the same URL without If-Block, from the background: the body to write, or why there is none. Never rejects. */
  refetch(reason: string): Promise<{ body: Uint8Array | null; refusal: string | null }>;
  done(outcome: DeltaOutcome): void;
  log(message: string, error?: unknown): void;
}

/**
 * Writes to a StreamFilter in order, holding what comes before the filter's
 * start event (MDN StreamFilter.write: allowed only after it) until then.
 */
class FilterWriter {
  private started = false;
  private readonly held: Uint8Array[] = [];
  private closeHeld = false;

  constructor(private readonly filter: StreamFilter) {}

  /** The start event: what was held goes out now. */
  start(): void {
    this.started = true;
    for (const bytes of this.held.splice(0)) this.filter.write(bytes);
    if (this.closeHeld) this.filter.close();
  }

  write(bytes: Uint8Array): void {
    if (this.started) this.filter.write(bytes);
    else this.held.push(bytes);
  }

  close(): void {
    if (this.started) this.filter.close();
    else this.closeHeld = true;
  }
}

export function rebuildDelta(filter: StreamFilter, job: DeltaJob): void {
  let decoder: DeltaDecoder | null = null;
  let failed = false;
  let finished = false;
  let streamEnded = false;
  let bodyBytes = 0;
  let rebuildMs = 0;
  let extensionBody = false;
  const waiting: Uint8Array[] = [];
  const writer = new FilterWriter(filter);
  // What the page holds before the delta ended: the verified ranges in order (views into the
  // decoder's buffers, whose bytes never change), so a fallback can check that its refetch
  // continues them (docs/extensions.md §3.4). Dropped once the exchange is settled.
  const released: Uint8Array[] = [];
  let releasedEarlyBytes = 0;
  // Re-armed on every chunk; cleared once the outcome is settled or the fallback has begun.
  let stallTimer: ReturnType<typeof setTimeout> | null = null;
  const armStallTimer = () => {
    if (stallTimer) clearTimeout(stallTimer);
    stallTimer = setTimeout(() => void fallBack(DELTA_STALLED), job.stallTimeoutMs);
  };
  const stopStallTimer = () => {
    if (stallTimer) clearTimeout(stallTimer);
    stallTimer = null;
  };
  const started = new Promise<boolean>((resolve) => {
    filter.onstart = () => {
      job.clock.filterStartAt = performance.now();
      try {
        writer.start();
      } catch (error) {
        job.log('could not write the verified prefix', error);
      }
      resolve(true);
    };
    filter.onerror = () => {
      // The request was cancelled or failed: nothing to write to any more.
      job.log(`filter error: ${filter.error}`);
      failed = true;
      resolve(false);
      settle({ body: null, verified: false, reason: 'FILTER_ERROR', refusal: null, bodyBytes, rebuildMs, extensionBody, releasedEarlyBytes });
    };
  });

  const settle = (outcome: DeltaOutcome) => {
    stopStallTimer();
    released.length = 0;
    if (finished) return;
    finished = true;
    job.done(outcome);
  };

  const fallBack = async (reason: string) => {
    if (failed || finished) return;
    failed = true;
    stopStallTimer();
    decoder = null;
    waiting.length = 0;
    job.log(`delta not usable (${reason}); refetching in full${releasedEarlyBytes ? ` (the page holds its first ${releasedEarlyBytes} verified bytes)` : ''}`);
    let body: Uint8Array | null = null;
    let refusal: string | null = null;
    try {
      ({ body, refusal } = await job.refetch(reason));
    } catch (error) {
      job.log('full refetch failed', error);
      refusal = 'REFETCH_NETWORK';
    }
    if (finished) return; // the filter failed meanwhile (onerror settled the exchange): nothing to write to
    if (body && releasedEarlyBytes && !refetchContinuesRelease(released, body)) {
      // The page must never get a mix of two bodies (§3.4): it keeps what it has, and the load failed.
      job.log(`the refetched body does not start with the ${releasedEarlyBytes} bytes the page holds; ending the response without more`);
      body = null;
      refusal = REFETCH_PREFIX_MISMATCH;
    } else if (refusal) {
      job.log(`the refetch cannot be written (${refusal}); the page gets nothing${releasedEarlyBytes ? ' more' : ''}`);
    }
    try {
      if (await started) {
        if (body) writer.write(body.subarray(releasedEarlyBytes));
        writer.close();
      }
    } catch (error) {
      job.log('could not write the refetched body', error);
    }
    settle({ body, verified: false, reason, refusal, bodyBytes, rebuildMs, extensionBody, releasedEarlyBytes });
  };

  // A checkpoint verified a prefix (extension bodies only): it goes to the page at once (§3.2).
  const releaseVerified = (source: DeltaDecoder, bytes: Uint8Array) => {
    // The final range (S verified, the delta ended) goes out with the close, in deliver: a v=1 body is written whole as ever.
    if (source.verifiedBody || failed) return;
    if (!releasedEarlyBytes) job.clock.firstReleaseAt = performance.now();
    released.push(bytes);
    releasedEarlyBytes += bytes.length;
    const writeBegin = performance.now();
    try {
      writer.write(bytes);
    } catch (error) {
      job.log('could not write a verified prefix', error);
    }
    pushWriteMs += performance.now() - writeBegin;
  };

  // The decoder releases the body from inside push(): the push's time ends there, not after the write.
  let pushBegin = 0;
  /** Time the current push spent writing released prefixes: the filter's, not the decoder's. */
  let pushWriteMs = 0;
  let delivered = false;
  const deliver = (body: Uint8Array) => {
    job.clock.verifiedAt = performance.now();
    delivered = true;
    rebuildMs += job.clock.verifiedAt - pushBegin;
    job.clock.decodeMs = rebuildMs;
    if (!releasedEarlyBytes) job.clock.firstReleaseAt = job.clock.verifiedAt;
    try {
      writer.write(body.subarray(releasedEarlyBytes));
      writer.close();
    } catch (error) {
      job.log('could not write the rebuilt body', error);
    }
    job.clock.writtenAt = performance.now();
    settle({ body, verified: true, reason: null, refusal: null, bodyBytes, rebuildMs, extensionBody, releasedEarlyBytes });
    job.clock.afterWriteMs = performance.now() - job.clock.writtenAt;
  };

  const feed = (chunk: Uint8Array, final: boolean) => {
    const current = decoder!;
    pushBegin = performance.now();
    pushWriteMs = 0;
    try {
      current.push(chunk, final);
    } catch (error) {
      void fallBack(isCrcsyncError(error) ? error.code : 'DECODER_EXCEPTION');
    } finally {
      extensionBody ||= current.isExtensionBody;
      if (!delivered) rebuildMs += performance.now() - pushBegin - pushWriteMs;
      job.clock.decodeMs = rebuildMs;
    }
  };

  if (job.unusableReason) void fallBack(job.unusableReason);
  else armStallTimer();

  job.base.then(
    (base) => {
      if (failed) return;
      if (!base) return void fallBack('BASE_MISSING');
      try {
        // compact-sha1.ts: the same digest, a fraction of @noble/hashes' time in Firefox on a cold background.
        const created = new DeltaDecoder(
          base,
          { maxRebuiltBytes: job.maxRebuiltBytes, sha1: job.clock.timedSha1(compactSha1), acceptExtension: job.acceptExtension },
          deliver,
        );
        created.onverified = (bytes) => releaseVerified(created, bytes);
        decoder = created;
      } catch (error) {
        return void fallBack(isCrcsyncError(error) ? error.code : 'BASE_UNUSABLE');
      }
      for (const chunk of waiting.splice(0)) {
        feed(chunk, false);
        if (failed) return;
      }
      if (streamEnded) feed(new Uint8Array(0), true);
    },
    (error) => {
      job.log('could not read the cached base', error);
      void fallBack('STORAGE_ERROR');
    },
  );

  filter.ondata = (event) => {
    if (failed) return;
    const chunk = new Uint8Array(event.data);
    job.clock.lastByteAt = performance.now();
    if (!bodyBytes) job.clock.firstByteAt = job.clock.lastByteAt;
    bodyBytes += chunk.length;
    armStallTimer();
    if (decoder) {
      feed(chunk, false);
    } else {
      // Bounded buffering while the base is read from disk (§5: buffered bytes per response bounded).
      waiting.push(chunk);
      if (bodyBytes > job.maxRebuiltBytes) void fallBack('DELTA_TOO_LARGE');
    }
    job.clock.lastDataDoneAt = performance.now();
  };
  filter.onstop = () => {
    job.clock.stopAt = performance.now();
    streamEnded = true;
    if (!failed && decoder) feed(new Uint8Array(0), true);
  };
}

export interface CaptureJob {
  /** Stop keeping a copy past this size (the body still passes through). */
  maxBytes: number;
  /** Called once: the complete body, or null when it was too big or the stream failed; bodyBytes as the filter saw them. */
  done(body: Uint8Array | null, bodyBytes: number): void;
  log(message: string, error?: unknown): void;
}

export function captureBody(filter: StreamFilter, job: CaptureJob): void {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let keeping = true;
  filter.ondata = (event) => {
    size += event.data.byteLength;
    if (keeping && size <= job.maxBytes) chunks.push(new Uint8Array(event.data.slice(0)));
    else if (keeping) {
      keeping = false;
      chunks.length = 0;
    }
    filter.write(event.data);
  };
  filter.onstop = () => {
    filter.close();
    if (!keeping) return job.done(null, size);
    job.done(concatBytes(chunks, size), size);
  };
  filter.onerror = () => {
    job.log(`capture filter error: ${filter.error}`);
    job.done(null, size);
  };
}
