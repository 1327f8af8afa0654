// The browser-neutral delta rebuild (src/protocol/delta-rebuild.ts) against a
// fake page (BodySink) and a fake timer: what the page ends up with on every
// path. Whatever happens, the page holds a prefix of the verified body or of
// the refetched body, then exactly one of them, or a prefix and nothing more:
// never an unverified byte, never a write before start(), never after close.

import { createHash } from 'node:crypto';
import { REFETCH_PREFIX_MISMATCH } from '../../../src/protocol/client-policy';
import {
  BodySink,
  DeltaOutcome,
  DeltaRebuild,
  DeltaRebuildJob,
  REBUILD_CANCELLED,
  RebuildMarks,
  RebuildTimers,
  RefetchResult,
  startDeltaRebuild,
} from '../../../src/protocol/delta-rebuild';
import { decodeTracked, extEncode, splitEvery } from '../../helpers/ext-codec';
import { CHECKPOINTED_BASE, CHECKPOINTED_NEW } from '../../helpers/checkpointed-page';
import { encodeDelta } from './codec-helpers';

/** The page's side: every write as it was made, the close, and any misuse a browser would throw on. */
class FakePage implements BodySink {
  started = false;
  closed = false;
  readonly writes: Buffer[] = [];
  misuse: string | null = null;

  write(bytes: Uint8Array): void {
    if (!this.started) this.misuse = 'write before start';
    if (this.closed) this.misuse = 'write after close';
    this.writes.push(Buffer.from(bytes));
  }

  close(): void {
    if (!this.started) this.misuse = 'close before start';
    if (this.closed) this.misuse = 'closed twice';
    this.closed = true;
  }

  get body(): Buffer {
    return Buffer.concat(this.writes);
  }
}

/** A clock and timers that move only when the test says so. */
class FakeTimers implements RebuildTimers {
  time = 1000;
  private nextId = 1;
  private readonly due = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.due.set(id, { at: this.time + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  get armed(): number {
    return this.due.size;
  }

  /** Moves the clock on, running every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const next = [...this.due.entries()].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.due.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
    }
    this.time = until;
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => ((resolve = yes), (reject = no)));
  return { promise, resolve, reject };
}

function unsetMarks(): RebuildMarks {
  return { filterStartAt: NaN, firstByteAt: NaN, lastByteAt: NaN, lastDataDoneAt: NaN, stopAt: NaN, decodeMs: 0, firstReleaseAt: NaN, verifiedAt: NaN, writtenAt: NaN, afterWriteMs: NaN };
}

interface Harness {
  rebuild: DeltaRebuild;
  page: FakePage;
  timers: FakeTimers;
  marks: RebuildMarks;
  /** The outcome once done() was called, else null (checked synchronously). */
  readonly result: DeltaOutcome | null;
  outcome: Promise<DeltaOutcome>;
  refetches: { reason: string; signal: AbortSignal }[];
  start(): void;
  /** Pushes a delta in chunks of `size` bytes (default: 200, several chunks even for the small v=1 delta). */
  pushAll(delta: Uint8Array, size?: number): void;
}

interface HarnessOptions extends Partial<Pick<DeltaRebuildJob, 'acceptExtension' | 'stallTimeoutMs' | 'maxRebuiltBytes' | 'unusableReason'>> {
  base?: Promise<Uint8Array | null>;
  /** What refetch() answers: a result, a promise of one, or a function that makes the answer when asked. */
  refetched?: RefetchResult | Promise<RefetchResult> | (() => Promise<RefetchResult>);
  /** Start the sink at once (the common case: the transport started before any data). */
  start?: boolean;
}

const STALL_MS = 1000;

function harness(options: HarnessOptions = {}): Harness {
  const page = new FakePage();
  const timers = new FakeTimers();
  const marks = unsetMarks();
  const refetches: { reason: string; signal: AbortSignal }[] = [];
  const settled = deferred<DeltaOutcome>();
  let result: DeltaOutcome | null = null;
  const rebuild = startDeltaRebuild({
    base: options.base ?? Promise.resolve(BASE),
    acceptExtension: options.acceptExtension ?? true,
    maxRebuiltBytes: options.maxRebuiltBytes ?? 8 * 1024 * 1024,
    stallTimeoutMs: options.stallTimeoutMs ?? STALL_MS,
    unusableReason: options.unusableReason ?? null,
    refetch: async (reason, signal) => {
      refetches.push({ reason, signal });
      const answer = options.refetched ?? { body: null, refusal: 'REFETCH_NETWORK' };
      return typeof answer === 'function' ? answer() : answer;
    },
    done: (outcome) => {
      if (result) throw new Error('done called twice');
      result = outcome;
      settled.resolve(outcome);
    },
    log: () => undefined,
    sink: page,
    timers,
    marks,
  });
  const start = () => {
    page.started = true;
    rebuild.start();
  };
  if (options.start ?? true) start();
  return {
    rebuild,
    page,
    timers,
    marks,
    get result() {
      return result;
    },
    outcome: settled.promise,
    refetches,
    start,
    pushAll(delta, size = 200) {
      for (let at = 0; at < delta.length; at += size) rebuild.push(delta.subarray(at, at + size));
    },
  };
}

/** Lets promise callbacks (the base, the refetch, the fallback's awaits) run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));


const BASE = CHECKPOINTED_BASE;
const NEW = CHECKPOINTED_NEW;
const V1 = Buffer.from(encodeDelta(BASE, NEW));
const EXT = extEncode(BASE, NEW);
/** A full refetch that found yet another version (same start as NEW, another end). */
const REFETCHED = Buffer.concat([NEW.subarray(0, 30 * 1024), Buffer.from('<p>published after the delta</p>\n')]);

/** Where in EXT each checkpoint section ends, and the body length it verifies. */
const CHECKPOINTS = decodeTracked(BASE, splitEvery(EXT, 1))
  .releaseEnds.filter((end) => end < NEW.length)
  .map((bodyEnd) => {
    const digest = createHash('sha1').update(NEW.subarray(0, bodyEnd)).digest();
    const at = EXT.indexOf(Buffer.concat([Buffer.from([0x43]), digest]));
    if (at < 0) throw new Error(`no checkpoint for ${bodyEnd} bytes`);
    return { deltaEnd: at + 21, bodyEnd };
  });
const FIRST = CHECKPOINTS[0];

/** The page holds a prefix of `body` (possibly all of it), and was used as a browser allows. */
function expectPrefixOf(page: FakePage, body: Buffer): void {
  expect(page.misuse).toBeNull();
  expect(body.subarray(0, page.body.length).equals(page.body)).toBe(true);
}

test('the test bodies have the shapes the tests need', () => {
  expect(V1[0]).not.toBe(0x58);
  expect(V1.length).toBeGreaterThan(1001); // several chunks of 200 bytes, and more than the 1000-byte cap below
  expect(EXT[0]).toBe(0x58);
  expect(CHECKPOINTS.length).toBeGreaterThanOrEqual(2);
  expect(REFETCHED.subarray(0, FIRST.bodyEnd).equals(NEW.subarray(0, FIRST.bodyEnd))).toBe(true);
});

describe('a delta that verifies', () => {
  test('v=1: nothing reaches the page until S verified it; then the whole body in one write at once; the close at the end', async () => {
    const run = harness();
    await flush();
    const sAt = V1.length - 21;
    // Every chunk before the one that completes S: nothing written.
    for (let at = 0; at < V1.length; at += 200) {
      run.timers.advance(5);
      run.rebuild.push(V1.subarray(at, Math.min(at + 200, V1.length)));
      if (at + 200 < V1.length) expect(run.page.writes).toEqual([]);
    }
    expect(sAt).toBeGreaterThan(0);
    // The chunk that completed S wrote the whole verified body, before the delta ended.
    expect(run.page.writes.length).toBe(1);
    expect(run.page.body.equals(NEW)).toBe(true);
    expect(run.page.closed).toBe(false);
    expect(run.result).toBeNull();
    const writtenAt = run.timers.time;
    expect(run.marks.verifiedAt).toBe(writtenAt);
    expect(run.marks.writtenAt).toBe(writtenAt);
    expect(run.marks.firstReleaseAt).toBe(writtenAt);
    run.timers.advance(5);
    run.rebuild.end();
    expect(run.result).toMatchObject({ verified: true, reason: null, refusal: null, extensionBody: false, releasedEarlyBytes: 0, bodyBytes: V1.length });
    expect(Buffer.from(run.result!.body!).equals(NEW)).toBe(true);
    expect(run.page.writes.length).toBe(1);
    expect(run.page.closed).toBe(true);
    expect(run.page.misuse).toBeNull();
    expect(run.refetches).toEqual([]);
    expect(run.timers.armed).toBe(0); // a settled rebuild leaves no stall timer behind
    // The marks are the injected clock's: first byte at the first push, stop at end(), the body before the stop.
    expect(run.marks.firstByteAt).toBe(1005);
    expect(run.marks.stopAt).toBe(run.timers.time);
    expect(run.marks.lastByteAt).toBe(run.timers.time - 5);
    expect(run.marks.writtenAt).toBeLessThan(run.marks.stopAt);
    expect(Number.isFinite(run.marks.afterWriteMs)).toBe(true);
    expect(run.marks.filterStartAt).toBe(1000);
  });

  test('v=1 with S in the last push of the delta (the end comes with it): the body and the close together', async () => {
    const run = harness();
    await flush();
    run.rebuild.push(V1.subarray(0, V1.length - 10));
    expect(run.page.writes).toEqual([]);
    run.rebuild.push(V1.subarray(V1.length - 10));
    expect(run.page.body.equals(NEW)).toBe(true);
    run.rebuild.end();
    expect(run.page.writes.length).toBe(1);
    expect(run.page.closed).toBe(true);
    expect(run.result).toMatchObject({ verified: true, reason: null });
  });

  test('x=1: each prefix a checkpoint verified goes out at once; the rest when S verified; the close at the end; exactly the new body', async () => {
    const run = harness();
    await flush();
    run.rebuild.push(EXT.subarray(0, FIRST.deltaEnd));
    expect(run.page.body.equals(NEW.subarray(0, FIRST.bodyEnd))).toBe(true);
    const firstReleaseAt = run.marks.firstReleaseAt;
    expect(firstReleaseAt).toBe(run.timers.time);
    run.timers.advance(10);
    run.rebuild.push(EXT.subarray(FIRST.deltaEnd, CHECKPOINTS[1].deltaEnd));
    expect(run.page.body.equals(NEW.subarray(0, CHECKPOINTS[1].bodyEnd))).toBe(true);
    run.timers.advance(10);
    run.rebuild.push(EXT.subarray(CHECKPOINTS[1].deltaEnd));
    expect(run.page.body.equals(NEW)).toBe(true);
    expect(run.page.closed).toBe(false); // S verified, but the delta has not ended
    run.timers.advance(10);
    run.rebuild.end();
    // Released by checkpoints before the push that verified S (the rest of that push went out with S's range).
    expect(run.result).toMatchObject({ verified: true, extensionBody: true, releasedEarlyBytes: CHECKPOINTS[1].bodyEnd });
    expect(run.page.body.equals(NEW)).toBe(true);
    expect(run.page.closed).toBe(true);
    expect(run.page.misuse).toBeNull();
    expect(run.marks.firstReleaseAt).toBe(firstReleaseAt);
    expect(run.marks.verifiedAt).toBe(run.timers.time - 10);
  });

  test('bytes after S: the page keeps the verified body, the response is ended, nothing refetched; verified, the peer error as reason', async () => {
    const run = harness({ refetched: { body: REFETCHED, refusal: null } });
    await flush();
    run.pushAll(V1);
    expect(run.page.body.equals(NEW)).toBe(true);
    run.rebuild.push(Buffer.from('junk after the digest'));
    expect(run.result).toMatchObject({ verified: true, reason: 'DELTA_TRAILING_DATA', refusal: null });
    expect(Buffer.from(run.result!.body!).equals(NEW)).toBe(true);
    expect(run.page.body.equals(NEW)).toBe(true);
    expect(run.page.closed).toBe(true);
    expect(run.page.misuse).toBeNull();
    expect(run.refetches).toEqual([]);
    run.rebuild.end(); // the end that follows changes nothing
    expect(run.page.closed).toBe(true);
    expect(run.page.misuse).toBeNull();
  });

  test('no end after S within the stall timeout: the page keeps the verified body and the response is ended; no refetch', async () => {
    const run = harness({ refetched: { body: REFETCHED, refusal: null } });
    await flush();
    run.pushAll(EXT);
    expect(run.page.body.equals(NEW)).toBe(true);
    run.timers.advance(STALL_MS + 1);
    expect(run.result).toMatchObject({ verified: true, reason: 'DELTA_STALLED' });
    expect(run.page.closed).toBe(true);
    expect(run.refetches).toEqual([]);
    expect(run.page.misuse).toBeNull();
  });

  test('x=1 byte by byte: at every step the page holds a prefix of the new body', async () => {
    const run = harness();
    await flush();
    for (let at = 0; at < EXT.length; at++) {
      run.rebuild.push(EXT.subarray(at, at + 1));
      expectPrefixOf(run.page, NEW);
    }
    run.rebuild.end();
    expect(run.page.body.equals(NEW)).toBe(true);
  });
});

describe('write before start: nothing reaches the sink until start(), then all of it in order', () => {
  test('a verified prefix and then the whole body, all before start', async () => {
    const run = harness({ start: false });
    await flush();
    run.rebuild.push(EXT.subarray(0, FIRST.deltaEnd));
    run.rebuild.push(EXT.subarray(FIRST.deltaEnd));
    run.rebuild.end();
    expect(run.result).toMatchObject({ verified: true });
    expect(run.page.writes).toEqual([]);
    expect(run.page.closed).toBe(false);
    run.start();
    expect(run.page.body.equals(NEW)).toBe(true);
    expect(run.page.closed).toBe(true);
    expect(run.page.misuse).toBeNull();
  });

  test('a fallback before start: the refetched body waits for start, and so does the outcome', async () => {
    const run = harness({ start: false, base: Promise.resolve(null), refetched: { body: REFETCHED, refusal: null } });
    await flush();
    expect(run.refetches.map((call) => call.reason)).toEqual(['BASE_MISSING']);
    expect(run.page.writes).toEqual([]);
    expect(run.result).toBeNull(); // the page does not have the body yet
    run.start();
    const result = await run.outcome;
    expect(run.page.body.equals(REFETCHED)).toBe(true);
    expect(run.page.closed).toBe(true);
    expect(run.page.misuse).toBeNull();
    expect(result).toMatchObject({ verified: false, reason: 'BASE_MISSING' });
  });
});

describe('the base', () => {
  test('late: chunks are held until it arrives, then decoded; the page gets exactly the new body', async () => {
    const base = deferred<Uint8Array | null>();
    const run = harness({ base: base.promise });
    run.pushAll(V1);
    await flush();
    expect(run.page.writes).toEqual([]);
    expect(run.refetches).toEqual([]);
    base.resolve(BASE);
    await flush();
    run.rebuild.end();
    expect(run.result).toMatchObject({ verified: true, bodyBytes: V1.length });
    expect(run.page.body.equals(NEW)).toBe(true);
  });

  test('late, with more delta held than the cap allows: falls back at once, without waiting for the base', async () => {
    const base = deferred<Uint8Array | null>();
    const run = harness({ base: base.promise, maxRebuiltBytes: 1000, refetched: { body: REFETCHED, refusal: null } });
    run.pushAll(V1.subarray(0, 1000), 250);
    await flush();
    expect(run.refetches).toEqual([]); // 1000 bytes held: at the cap, not over it
    run.rebuild.push(V1.subarray(1000, 1001));
    const result = await run.outcome;
    expect(run.refetches.map((call) => call.reason)).toEqual(['DELTA_TOO_LARGE']);
    expect(run.page.body.equals(REFETCHED)).toBe(true);
    expect(result).toMatchObject({ verified: false, reason: 'DELTA_TOO_LARGE', refusal: null });
    // The base arriving afterwards changes nothing; further chunks are dropped.
    base.resolve(BASE);
    run.pushAll(V1.subarray(1001));
    run.rebuild.end();
    await flush();
    expect(run.page.writes.length).toBe(1);
  });

  test('missing: the refetched body, whole; the delta that follows is ignored', async () => {
    const run = harness({ base: Promise.resolve(null), refetched: { body: REFETCHED, refusal: null } });
    const result = await run.outcome;
    run.pushAll(V1);
    run.rebuild.end();
    expect(result).toMatchObject({ verified: false, reason: 'BASE_MISSING', refusal: null, bodyBytes: 0 });
    expect(Buffer.from(result.body!).equals(REFETCHED)).toBe(true);
    expect(run.page.body.equals(REFETCHED)).toBe(true);
    expect(run.page.misuse).toBeNull();
  });

  test('unreadable (the read rejects): STORAGE_ERROR, the refetched body', async () => {
    const run = harness({ base: Promise.reject(new Error('IndexedDB closed')), refetched: { body: REFETCHED, refusal: null } });
    run.rebuild.push(V1.subarray(0, 100));
    const result = await run.outcome;
    expect(result).toMatchObject({ reason: 'STORAGE_ERROR' });
    expect(run.page.body.equals(REFETCHED)).toBe(true);
  });

  test('too small to be a base: BASE_UNUSABLE, the refetched body', async () => {
    const run = harness({ base: Promise.resolve(new Uint8Array(10)), refetched: { body: REFETCHED, refusal: null } });
    const result = await run.outcome;
    expect(result).toMatchObject({ reason: 'BASE_UNUSABLE' });
    expect(run.page.body.equals(REFETCHED)).toBe(true);
  });
});

describe('the delta ends before the base arrived', () => {
  test('the base then comes: the whole delta is decoded and the verified body written', async () => {
    const base = deferred<Uint8Array | null>();
    const run = harness({ base: base.promise });
    run.pushAll(EXT);
    run.rebuild.end();
    await flush();
    expect(run.page.writes).toEqual([]);
    expect(run.result).toBeNull();
    base.resolve(BASE);
    const result = await run.outcome;
    expect(result).toMatchObject({ verified: true, extensionBody: true });
    expect(run.page.body.equals(NEW)).toBe(true);
    expect(run.page.closed).toBe(true);
  });

  test('the base never comes: the stall timer still runs out, and the page gets the refetch', async () => {
    const run = harness({ base: new Promise(() => undefined), refetched: { body: REFETCHED, refusal: null } });
    run.pushAll(V1);
    run.rebuild.end();
    run.timers.advance(STALL_MS - 1);
    await flush();
    expect(run.refetches).toEqual([]);
    run.timers.advance(1);
    const result = await run.outcome;
    expect(result).toMatchObject({ reason: 'DELTA_STALLED' });
    expect(run.page.body.equals(REFETCHED)).toBe(true);
  });

  test('the base is gone: the refetched body', async () => {
    const base = deferred<Uint8Array | null>();
    const run = harness({ base: base.promise, refetched: { body: REFETCHED, refusal: null } });
    run.pushAll(V1);
    run.rebuild.end();
    base.resolve(null);
    expect(await run.outcome).toMatchObject({ reason: 'BASE_MISSING' });
    expect(run.page.body.equals(REFETCHED)).toBe(true);
  });
});

describe('a stall', () => {
  test('every chunk re-arms the timer; no chunk for the timeout falls back, and later chunks are ignored', async () => {
    const run = harness({ refetched: { body: REFETCHED, refusal: null } });
    await flush();
    // Slow but moving: just under the timeout between chunks, never a stall.
    for (let at = 0; at < 800; at += 200) {
      run.timers.advance(STALL_MS - 1);
      run.rebuild.push(V1.subarray(at, at + 200));
    }
    await flush();
    expect(run.refetches).toEqual([]);
    run.timers.advance(STALL_MS);
    const result = await run.outcome;
    expect(run.refetches.map((call) => call.reason)).toEqual(['DELTA_STALLED']);
    expect(result).toMatchObject({ verified: false, reason: 'DELTA_STALLED', bodyBytes: 800 });
    run.rebuild.push(V1.subarray(800));
    run.rebuild.end();
    await flush();
    expect(run.page.body.equals(REFETCHED)).toBe(true);
    expect(run.page.writes.length).toBe(1);
  });

  test('no byte at all for the timeout: the same fallback', async () => {
    const run = harness({ refetched: { body: REFETCHED, refusal: null } });
    await flush();
    run.timers.advance(STALL_MS);
    expect(await run.outcome).toMatchObject({ reason: 'DELTA_STALLED', bodyBytes: 0 });
    expect(run.page.body.equals(REFETCHED)).toBe(true);
  });

  test('after an x=1 prefix: the rest of a refetch that continues it, so the page holds exactly the refetched body', async () => {
    const run = harness({ refetched: { body: REFETCHED, refusal: null } });
    await flush();
    run.rebuild.push(EXT.subarray(0, FIRST.deltaEnd + 7));
    run.timers.advance(STALL_MS);
    const result = await run.outcome;
    expect(run.page.writes.map((write) => write.length)).toEqual([FIRST.bodyEnd, REFETCHED.length - FIRST.bodyEnd]);
    expect(run.page.body.equals(REFETCHED)).toBe(true);
    expect(result).toMatchObject({ reason: 'DELTA_STALLED', releasedEarlyBytes: FIRST.bodyEnd });
  });
});

describe('a delta that fails to verify', () => {
  test('v=1 with a wrong digest: the refetched body, never a byte of the rebuilt one', async () => {
    const run = harness({ refetched: { body: REFETCHED, refusal: null } });
    await flush();
    const damaged = Buffer.from(V1);
    damaged[damaged.length - 1] ^= 0xff;
    run.pushAll(damaged);
    run.rebuild.end();
    expect(await run.outcome).toMatchObject({ reason: 'DELTA_DIGEST_MISMATCH', refusal: null });
    expect(run.page.writes.length).toBe(1);
    expect(run.page.body.equals(REFETCHED)).toBe(true);
  });

  test('x=1 after a prefix, with a refetch that differs inside it: the prefix and nothing more', async () => {
    const other = Buffer.from(NEW);
    other[5] ^= 0x20;
    const run = harness({ refetched: { body: other, refusal: null } });
    await flush();
    const damaged = Buffer.from(EXT);
    damaged[damaged.length - 1] ^= 0xff;
    run.pushAll(damaged, FIRST.deltaEnd);
    run.rebuild.end();
    const result = await run.outcome;
    expect(result).toMatchObject({ body: null, reason: 'DELTA_DIGEST_MISMATCH', refusal: REFETCH_PREFIX_MISMATCH });
    expectPrefixOf(run.page, NEW);
    expect(run.page.body.length).toBeGreaterThanOrEqual(FIRST.bodyEnd);
    expect(run.page.closed).toBe(true);
  });

  test('a refetch that throws: nothing is written, the page is closed, REFETCH_NETWORK', async () => {
    const run = harness({ refetched: () => Promise.reject(new Error('offline')) });
    await flush();
    run.rebuild.push(Buffer.from('Q'));
    const result = await run.outcome;
    expect(result).toMatchObject({ body: null, reason: 'DELTA_UNKNOWN_SECTION', refusal: 'REFETCH_NETWORK' });
    expect(run.page.writes).toEqual([]);
    expect(run.page.closed).toBe(true);
  });

  test('known unusable before any byte: refetched at once, the delta is never decoded', async () => {
    const run = harness({ unusableReason: 'CONTENT_ENCODING gzip, crcsync', refetched: { body: REFETCHED, refusal: null } });
    run.pushAll(V1);
    run.rebuild.end();
    const result = await run.outcome;
    expect(run.refetches.map((call) => call.reason)).toEqual(['CONTENT_ENCODING gzip, crcsync']);
    expect(result).toMatchObject({ verified: false, reason: 'CONTENT_ENCODING gzip, crcsync' });
    expect(run.page.body.equals(REFETCHED)).toBe(true);
    expect(run.timers.armed).toBe(0);
  });
});

describe('the transport fails mid-stream (fail)', () => {
  test('after an x=1 prefix: the page keeps the prefix, nothing more is written or closed, no refetch', async () => {
    const run = harness({ refetched: { body: REFETCHED, refusal: null } });
    await flush();
    run.rebuild.push(EXT.subarray(0, FIRST.deltaEnd + 3));
    run.rebuild.fail('filter error: NS_ERROR_NET_RESET');
    expect(run.result).toMatchObject({ body: null, verified: false, reason: 'FILTER_ERROR', releasedEarlyBytes: FIRST.bodyEnd });
    run.rebuild.push(EXT.subarray(FIRST.deltaEnd + 3));
    run.rebuild.end();
    run.timers.advance(STALL_MS * 2);
    await flush();
    expect(run.refetches).toEqual([]);
    expect(run.page.body.equals(NEW.subarray(0, FIRST.bodyEnd))).toBe(true);
    expect(run.page.closed).toBe(false);
    expect(run.timers.armed).toBe(0);
  });

  test('while the refetch runs: the refetch is aborted and its late body is not written', async () => {
    const refetch = deferred<RefetchResult>();
    const run = harness({ refetched: refetch.promise });
    await flush();
    run.rebuild.push(Buffer.from('Q')); // not a section tag: fallback
    await flush();
    expect(run.refetches.length).toBe(1);
    run.rebuild.fail('filter error: channel closed');
    expect(run.refetches[0].signal.aborted).toBe(true);
    refetch.resolve({ body: REFETCHED, refusal: null });
    await flush();
    expect(run.result).toMatchObject({ body: null, reason: 'FILTER_ERROR' });
    expect(run.page.writes).toEqual([]);
    expect(run.page.closed).toBe(false);
  });

  test('before start: what was queued never reaches the sink', async () => {
    const run = harness({ start: false });
    await flush();
    run.rebuild.push(EXT.subarray(0, FIRST.deltaEnd));
    run.rebuild.fail('filter error: never started');
    run.start();
    expect(run.page.writes).toEqual([]);
    expect(run.page.closed).toBe(false);
  });
});

describe('the page goes away (abort)', () => {
  test('mid-delta: nothing more is written, nothing is refetched, the outcome says CANCELLED', async () => {
    const run = harness();
    await flush();
    run.rebuild.push(EXT.subarray(0, FIRST.deltaEnd));
    run.rebuild.abort();
    expect(run.result).toMatchObject({ body: null, verified: false, reason: null, refusal: REBUILD_CANCELLED, releasedEarlyBytes: FIRST.bodyEnd });
    run.rebuild.push(EXT.subarray(FIRST.deltaEnd));
    run.rebuild.end();
    run.timers.advance(STALL_MS * 2);
    await flush();
    expect(run.refetches).toEqual([]);
    expect(run.page.body.equals(NEW.subarray(0, FIRST.bodyEnd))).toBe(true);
    expect(run.page.closed).toBe(false);
    expect(run.timers.armed).toBe(0);
  });

  test('during the refetch: the refetch is aborted, its body never written; the reason of the fallback is kept', async () => {
    const refetch = deferred<RefetchResult>();
    const run = harness({ refetched: refetch.promise });
    await flush();
    run.timers.advance(STALL_MS);
    await flush();
    expect(run.refetches.map((call) => call.reason)).toEqual(['DELTA_STALLED']);
    run.rebuild.abort();
    expect(run.refetches[0].signal.aborted).toBe(true);
    refetch.resolve({ body: REFETCHED, refusal: null });
    await flush();
    expect(run.result).toMatchObject({ body: null, reason: 'DELTA_STALLED', refusal: REBUILD_CANCELLED });
    expect(run.page.writes).toEqual([]);
  });

  test('while the base loads: the base arriving later decodes nothing', async () => {
    const base = deferred<Uint8Array | null>();
    const run = harness({ base: base.promise });
    run.pushAll(V1);
    run.rebuild.abort();
    base.resolve(BASE);
    run.rebuild.end();
    await flush();
    expect(run.page.writes).toEqual([]);
    expect(run.result).toMatchObject({ refusal: REBUILD_CANCELLED });
  });

  test('after the body was delivered: changes nothing', async () => {
    const run = harness();
    await flush();
    run.pushAll(V1);
    run.rebuild.end();
    run.rebuild.abort();
    run.rebuild.fail('filter error: late');
    expect(run.result).toMatchObject({ verified: true });
    expect(run.page.body.equals(NEW)).toBe(true);
  });
});
