// Where the time of one delta exchange goes, as the extension sees it
// (issue 9: the extension's own cost per exchange). Every mark is a
// performance.now() value taken in the background at a webRequest or
// StreamFilter event; phasesOf() turns them into the ExchangeRecord's
// `phases` (names and meanings: PHASE_NAMES below, and extension/README.md).
//
// Marks are plain numbers on one small object per request: taking one costs
// a performance.now() call, nothing is allocated per chunk.

import type { Sha1Factory } from '../../src/protocol/sha1';

/** performance.now() at each event of one exchange; NaN until the event happened. */
export class PhaseClock {
  /** onBeforeSendHeaders entered: the request's start for every relative phase. */
  requestAt = NaN;
  /** Firefox's parent process created the onBeforeSendHeaders event (details.timeStamp, epoch ms). */
  requestEventEpochMs = NaN;
  /** ...and the listener got it (Date.now(), epoch ms): the two give the event's dispatch delay. */
  requestSeenEpochMs = NaN;
  /** onBeforeSendHeaders returned its blocking response (or its promise resolved, after init). */
  offeredAt = NaN;
  headersAt = NaN;
  headersEventEpochMs = NaN;
  headersSeenEpochMs = NaN;
  headersDoneAt = NaN;
  /** The base read started / the base was in memory (from the hot-base cache or IndexedDB). */
  baseReadStartAt = NaN;
  baseReadyAt = NaN;
  /** 1: the base came from the in-memory cache of hot bases, 0: from IndexedDB. */
  baseFromMemory = NaN;
  /** The StreamFilter's start event (it is connected; write() allowed from here). */
  filterStartAt = NaN;
  firstByteAt = NaN;
  lastByteAt = NaN;
  /** The handler of the last ondata returned (the chunk decoded as far as it goes). */
  lastDataDoneAt = NaN;
  stopAt = NaN;
  /** Time inside DeltaDecoder.push (SHA-1 included), summed over chunks. */
  decodeMs = 0;
  /** Time inside SHA-1 update/digest, summed (a part of decodeMs). */
  verifyMs = 0;
  /**
   * The first verified body bytes were written to the filter: a prefix a
   * checkpoint verified (an x=1 body, docs/extensions.md §3.2), else the
   * whole body once S verified (then the same moment as verifiedAt).
   */
  firstReleaseAt = NaN;
  /** The decoder released the verified body (S verified, the delta ended). */
  verifiedAt = NaN;
  /** filter.write(body) and filter.close() returned. */
  writtenAt = NaN;
  /** Time spent after the write on the next base (If-Block hashing), synchronous part, off the page's path. */
  afterWriteMs = NaN;

  /** A SHA-1 factory that adds the hasher's time to verifyMs (the digests are the inner hasher's). */
  timedSha1(inner: Sha1Factory): Sha1Factory {
    const timed = <T>(work: () => T): T => {
      const begin = performance.now();
      try {
        return work();
      } finally {
        this.verifyMs += performance.now() - begin;
      }
    };
    return () => {
      const hasher = inner();
      // Checkpointed bodies (src/protocol's negotiated extension) need digestSoFar; v=1 does not.
      const digestSoFar = (hasher as { digestSoFar?: () => Uint8Array }).digestSoFar?.bind(hasher);
      return {
        update: (bytes) => timed(() => hasher.update(bytes)),
        digest: () => timed(() => hasher.digest()),
        ...(digestSoFar ? { digestSoFar: () => timed(digestSoFar) } : {}),
      };
    };
  }
}

/**
 * The phases of a delta exchange, in milliseconds (ExchangeRecord.phases).
 * "At" phases are relative to the request start (onBeforeSendHeaders
 * entered); the others are durations.
 */
export const PHASE_NAMES = {
  offerMs: 'time inside onBeforeSendHeaders (store lookup, If-Block header; plus any wait for init)',
  offerDispatchMs: 'Firefox event creation to onBeforeSendHeaders entry (IPC to the background; ±1 ms, Date.now())',
  waitNetworkMs: 'onBeforeSendHeaders returned to onHeadersReceived entered (network and server)',
  headersMs: 'time inside onHeadersReceived (classification, filterResponseData, header rewrite)',
  headersDispatchMs: 'Firefox event creation to onHeadersReceived entry (±1 ms, Date.now())',
  baseReadMs: 'reading the base: start of the read to the bytes in memory (0 when from the hot-base cache)',
  baseFromMemory: '1 when the base came from the in-memory hot-base cache, 0 when read from IndexedDB',
  baseWaitMs: 'how long the first delta byte waited for the base (0 when the base was ready first)',
  filterStartMs: 'the StreamFilter started (onstart), relative to the request start',
  firstByteMs: 'first delta byte reached the filter (ondata), relative to the request start',
  lastByteMs: 'last delta byte reached the filter (ondata), relative to the request start',
  stopGapMs: 'last ondata to onstop (Firefox telling the filter the stream ended)',
  endWaitMs:
    'the filter idle after handling the last ondata until onstop: the server and network ending the response, not the extension (0 when onstop came while the last chunk was still being decoded)',
  decodeMs: 'time inside the delta decoder, summed over chunks (SHA-1 included)',
  verifyMs: 'time inside SHA-1, summed (a part of decodeMs)',
  firstReleaseMs:
    'first verified body bytes written to the page, relative to the request start: a prefix verified by a checkpoint of an x=1 body (docs/extensions.md §3.2), else the whole body (then about deliveredMs - writeMs)',
  writeMs:
    'filter.write of the body once S verified it (for an x=1 body: the bytes after the last released prefix); when S came with the end, the close too',
  deliveredMs: 'the whole verified body written to the page, relative to the request start (when S verified; the close follows at the end of the delta)',
  afterWriteMs: 'synchronous work right after the write (settling the outcome, queuing the store write), off the page\'s path',
  ownMs:
    'the time the page waited because of the extension: offerDispatchMs + offerMs + headersDispatchMs + headersMs + (deliveredMs - lastByteMs, less endWaitMs when the body was written only at the end); ' +
    'the last term holds the decode of the last chunk, any wait for the base after the last byte, the SHA-1, the final push and the write',
} as const;

export type PhaseName = keyof typeof PHASE_NAMES;

function rounded(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Date.now() has whole milliseconds and the two clocks are in different processes: never below 0. */
function dispatchDelay(eventEpochMs: number, seenEpochMs: number): number {
  return Math.max(0, seenEpochMs - eventEpochMs);
}

/**
 * The phases of a verified delta exchange; null when the exchange did not
 * get as far as a written body (a fallback or a failure has other costs,
 * and its marks would not describe one path).
 */
export function phasesOf(clock: PhaseClock): Partial<Record<PhaseName, number>> | null {
  const { requestAt } = clock;
  if (![requestAt, clock.offeredAt, clock.headersAt, clock.headersDoneAt, clock.lastByteAt, clock.writtenAt].every(Number.isFinite)) return null;
  const offerMs = clock.offeredAt - requestAt;
  const headersMs = clock.headersDoneAt - clock.headersAt;
  const offerDispatchMs = dispatchDelay(clock.requestEventEpochMs, clock.requestSeenEpochMs);
  const headersDispatchMs = dispatchDelay(clock.headersEventEpochMs, clock.headersSeenEpochMs);
  // Waiting for the response's end is the network's time, as it is for a page without the extension.
  const endWaitMs = Number.isFinite(clock.stopAt) && Number.isFinite(clock.lastDataDoneAt) ? Math.max(0, clock.stopAt - clock.lastDataDoneAt) : 0;
  // A body written when S verified (before the end) did not wait for the end at all.
  const writtenAtEnd = !(clock.writtenAt < clock.stopAt);
  const afterLastByte = clock.writtenAt - clock.lastByteAt - (writtenAtEnd ? endWaitMs : 0);
  const phases: Partial<Record<PhaseName, number>> = {
    offerMs,
    waitNetworkMs: clock.headersAt - clock.offeredAt,
    headersMs,
    firstByteMs: clock.firstByteAt - requestAt,
    lastByteMs: clock.lastByteAt - requestAt,
    decodeMs: clock.decodeMs,
    verifyMs: clock.verifyMs,
    writeMs: clock.writtenAt - clock.verifiedAt,
    deliveredMs: clock.writtenAt - requestAt,
    ownMs: (Number.isFinite(offerDispatchMs) ? offerDispatchMs : 0) + offerMs + (Number.isFinite(headersDispatchMs) ? headersDispatchMs : 0) + headersMs + afterLastByte,
  };
  if (Number.isFinite(offerDispatchMs)) phases.offerDispatchMs = offerDispatchMs;
  if (Number.isFinite(headersDispatchMs)) phases.headersDispatchMs = headersDispatchMs;
  if (Number.isFinite(clock.firstReleaseAt)) phases.firstReleaseMs = clock.firstReleaseAt - requestAt;
  if (Number.isFinite(clock.filterStartAt)) phases.filterStartMs = clock.filterStartAt - requestAt;
  if (Number.isFinite(clock.stopAt)) phases.stopGapMs = clock.stopAt - clock.lastByteAt;
  phases.endWaitMs = endWaitMs;
  if (Number.isFinite(clock.baseReadyAt)) {
    phases.baseReadMs = clock.baseReadyAt - clock.baseReadStartAt;
    phases.baseWaitMs = Math.max(0, clock.baseReadyAt - clock.firstByteAt);
    phases.baseFromMemory = clock.baseFromMemory;
  }
  if (Number.isFinite(clock.afterWriteMs)) phases.afterWriteMs = clock.afterWriteMs;
  for (const name of Object.keys(phases) as PhaseName[]) phases[name] = rounded(phases[name]!);
  return phases;
}
