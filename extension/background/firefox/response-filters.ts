// Body rewriting with Firefox's webRequest.filterResponseData (MDN:
// StreamFilter). Two jobs:
// - rebuildDelta: the response is a crcsync delta. The rebuild itself is
//   browser-neutral (src/protocol/delta-rebuild.ts: only verified bytes, or
//   a refetched body, reach the page; stall timer; base that comes late or
//   not at all; x=1 prefixes released as they verify). This adapter only
//   turns the filter's events into its calls and is its sink.
// - captureBody: a plain 200; pass every chunk through unchanged at once and
//   keep a copy to store after the stream completes.

import { concatBytes } from '../../../src/protocol/byte-buffers';
import { compactSha1 } from '../../../src/protocol/compact-sha1';
import { DeltaRebuild, DeltaRebuildJob, RebuildTimers, startDeltaRebuild } from '../../../src/protocol/delta-rebuild';
import type { StreamFilter } from '../../shared/browser';
import type { PhaseClock } from '../exchange-phases';

export type { DeltaOutcome } from '../../../src/protocol/delta-rebuild';

export interface DeltaJob extends Omit<DeltaRebuildJob, 'sink' | 'timers' | 'marks' | 'sha1'> {
  /** Marks the filter's events (ExchangeRecord.phases) and times the SHA-1. */
  clock: PhaseClock;
}

/** The background's own timers; performance.now() is what every PhaseClock mark is taken with. */
const BACKGROUND_TIMERS: RebuildTimers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Rebuilds the delta this filter receives into the page's body. The returned
 * rebuild's abort() is for the page going away (the filter's own error is
 * already connected).
 */
export function rebuildDelta(filter: StreamFilter, job: DeltaJob): DeltaRebuild {
  const { clock } = job;
  const rebuild = startDeltaRebuild({
    base: job.base,
    acceptExtension: job.acceptExtension,
    maxRebuiltBytes: job.maxRebuiltBytes,
    stallTimeoutMs: job.stallTimeoutMs,
    unusableReason: job.unusableReason,
    refetch: (reason, signal) => job.refetch(reason, signal),
    done: (outcome) => job.done(outcome),
    log: (message, error) => job.log(message, error),
    // The filter is written only after onstart (the rebuild queues until start()).
    sink: { write: (bytes) => filter.write(bytes), close: () => filter.close() },
    timers: BACKGROUND_TIMERS,
    marks: clock,
    // compact-sha1.ts: the same digest, a fraction of @noble/hashes' time in Firefox on a cold background.
    sha1: clock.timedSha1(compactSha1),
  });
  filter.onstart = () => rebuild.start();
  filter.ondata = (event) => rebuild.push(new Uint8Array(event.data));
  filter.onstop = () => rebuild.end();
  // The request was cancelled or failed: nothing to write to any more.
  filter.onerror = () => rebuild.fail(`filter error: ${filter.error}`);
  return rebuild;
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
