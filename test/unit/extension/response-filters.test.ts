// rebuildDelta (extension/background/firefox/response-filters.ts) against a fake
// StreamFilter: what the page gets, write by write. An x=1 body hands each
// prefix a checkpoint verified to the page at once and the rest when S
// verified, the close at the end (docs/extensions.md §3.2); after a failure with a prefix released, the
// page gets the rest of a refetch that starts with exactly that prefix, or
// nothing more (§3.4); a v=1 body is written whole, once, when S verified.
// What only Firefox shows (a real document rendering a prefix) is in
// test/e2e/extension-x1.test.ts.

import { createHash } from 'node:crypto';
import { DeltaOutcome, DeltaJob, rebuildDelta } from '../../../extension/background/firefox/response-filters';
import { PhaseClock } from '../../../extension/background/exchange-phases';
import type { StreamFilter } from '../../../extension/shared/browser';
import { REFETCH_PREFIX_MISMATCH } from '../../../src/protocol/client-policy';
import { decodeTracked, extEncode, splitEvery } from '../../helpers/ext-codec';
import { CHECKPOINTED_BASE, CHECKPOINTED_NEW, pageWords } from '../../helpers/checkpointed-page';
import { encodeDelta } from '../protocol/codec-helpers';

/** What a StreamFilter's page side would see: every write (copied as it was written), then the close. */
class FakeFilter {
  onstart: (() => void) | null = null;
  ondata: ((event: { data: ArrayBuffer }) => void) | null = null;
  onstop: (() => void) | null = null;
  onerror: (() => void) | null = null;
  error = '';
  readonly writes: Buffer[] = [];
  closed = false;
  /** Set once write() was called before onstart, or after close(): both throw in Firefox. */
  misuse: string | null = null;
  private startedFlag = false;

  write(bytes: Uint8Array | ArrayBuffer): void {
    if (!this.startedFlag) this.misuse = 'write before onstart';
    if (this.closed) this.misuse = 'write after close';
    this.writes.push(Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)));
  }

  close(): void {
    if (!this.startedFlag) this.misuse = 'close before onstart';
    if (this.closed) this.misuse = 'closed twice';
    this.closed = true;
  }

  start(): void {
    this.startedFlag = true;
    this.onstart!();
  }

  /** One network chunk, as Firefox hands it: an ArrayBuffer of its own. */
  data(chunk: Uint8Array): void {
    this.ondata!({ data: Uint8Array.from(chunk).buffer });
  }

  stop(): void {
    this.onstop!();
  }

  get page(): Buffer {
    return Buffer.concat(this.writes);
  }
}

interface Run {
  filter: FakeFilter;
  clock: PhaseClock;
  outcome: Promise<DeltaOutcome>;
  refetchReasons: string[];
}

function run(
  base: Uint8Array,
  refetched: { body: Uint8Array | null; refusal: string | null } = { body: null, refusal: 'REFETCH_NETWORK' },
  options: Partial<Pick<DeltaJob, 'acceptExtension' | 'stallTimeoutMs'>> & { start?: boolean } = {},
): Run {
  const filter = new FakeFilter();
  const clock = new PhaseClock();
  clock.requestAt = performance.now();
  const refetchReasons: string[] = [];
  let settled: (outcome: DeltaOutcome) => void = () => undefined;
  const outcome = new Promise<DeltaOutcome>((resolve) => (settled = resolve));
  let calls = 0;
  rebuildDelta(filter as unknown as StreamFilter, {
    base: Promise.resolve(base),
    acceptExtension: options.acceptExtension ?? true,
    clock,
    maxRebuiltBytes: 8 * 1024 * 1024,
    stallTimeoutMs: options.stallTimeoutMs ?? 10_000,
    unusableReason: null,
    refetch: async (reason) => {
      refetchReasons.push(reason);
      return refetched;
    },
    done: (result) => {
      calls++;
      if (calls > 1) throw new Error('done called twice');
      settled(result);
    },
    log: () => undefined,
  });
  if (options.start ?? true) filter.start();
  return { filter, clock, outcome, refetchReasons };
}

/** Lets the base promise and any fallback's awaits run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));


const BASE = CHECKPOINTED_BASE;
const NEW = CHECKPOINTED_NEW;
const EXT = extEncode(BASE, NEW);
const V1 = Buffer.from(encodeDelta(BASE, NEW));

/** Where in EXT each checkpoint section ends, and the body length it verifies. */
function checkpointsOf(delta: Buffer, body: Buffer, verifiedEnds: number[]): { deltaEnd: number; bodyEnd: number }[] {
  return verifiedEnds
    .filter((end) => end < body.length)
    .map((bodyEnd) => {
      const digest = createHash('sha1').update(body.subarray(0, bodyEnd)).digest();
      const at = delta.indexOf(Buffer.concat([Buffer.from([0x43]), digest]));
      if (at < 0) throw new Error(`no checkpoint for ${bodyEnd} bytes`);
      return { deltaEnd: at + 21, bodyEnd };
    });
}

const CHECKPOINTS = checkpointsOf(EXT, NEW, decodeTracked(BASE, splitEvery(EXT, 1)).releaseEnds);

test('the test body has the shape the tests need: an x=1 delta with at least two checkpoints before S', () => {
  expect(EXT[0]).toBe(0x58);
  expect(CHECKPOINTS.length).toBeGreaterThanOrEqual(2);
  expect(CHECKPOINTS[0].bodyEnd).toBeGreaterThanOrEqual(1024);
});

describe('an x=1 body: verified prefixes go to the page as they arrive', () => {
  test('each checkpoint releases its prefix at once; the rest follows S and the end of the delta; the page gets exactly the new body', async () => {
    const { filter, clock, outcome } = run(BASE);
    await settle();
    const [first, second] = CHECKPOINTS;
    filter.data(EXT.subarray(0, first.deltaEnd));
    expect(filter.page.equals(NEW.subarray(0, first.bodyEnd))).toBe(true);
    expect(filter.closed).toBe(false);
    const firstReleaseAt = clock.firstReleaseAt;
    expect(Number.isFinite(firstReleaseAt)).toBe(true);

    filter.data(EXT.subarray(first.deltaEnd, second.deltaEnd));
    expect(filter.page.equals(NEW.subarray(0, second.bodyEnd))).toBe(true);
    expect(filter.writes.length).toBe(2);

    // Everything up to and including S: the whole verified body goes out with S, the close waits for the end.
    filter.data(EXT.subarray(second.deltaEnd));
    expect(filter.page.equals(NEW)).toBe(true);
    expect(filter.closed).toBe(false);

    filter.stop();
    const result = await outcome;
    expect(filter.page.equals(NEW)).toBe(true);
    expect(filter.closed).toBe(true);
    expect(filter.misuse).toBeNull();
    // releasedEarlyBytes: what checkpoints released before the chunk that carried S.
    expect(result).toMatchObject({ verified: true, reason: null, refusal: null, extensionBody: true, releasedEarlyBytes: second.bodyEnd, bodyBytes: EXT.length });
    expect(Buffer.from(result.body!).equals(NEW)).toBe(true); // the next base: the whole body
    expect(clock.firstReleaseAt).toBe(firstReleaseAt);
    expect(clock.firstReleaseAt).toBeLessThan(clock.verifiedAt);
    expect(clock.writtenAt).toBeLessThan(clock.stopAt);
  });

  test('byte by byte, the page only ever holds a prefix of the new body, released at most once per chunk', async () => {
    const { filter, outcome } = run(BASE);
    await settle();
    let writes = 0;
    for (let at = 0; at < EXT.length; at++) {
      filter.data(EXT.subarray(at, at + 1));
      expect(filter.writes.length - writes).toBeLessThanOrEqual(1);
      writes = filter.writes.length;
      expect(NEW.subarray(0, filter.page.length).equals(filter.page)).toBe(true);
    }
    // One write per checkpoint, and one for the rest when S verified.
    expect(filter.writes.length).toBe(CHECKPOINTS.length + 1);
    expect(filter.page.equals(NEW)).toBe(true);
    expect(filter.closed).toBe(false);
    filter.stop();
    expect((await outcome).verified).toBe(true);
    expect(filter.page.equals(NEW)).toBe(true);
  });

  test('verified bytes that come before the filter started are held until onstart, then written in order', async () => {
    const { filter, outcome } = run(BASE, undefined, { start: false });
    await settle();
    filter.data(EXT.subarray(0, CHECKPOINTS[0].deltaEnd));
    expect(filter.writes).toEqual([]);
    filter.start();
    expect(filter.page.equals(NEW.subarray(0, CHECKPOINTS[0].bodyEnd))).toBe(true);
    filter.data(EXT.subarray(CHECKPOINTS[0].deltaEnd));
    filter.stop();
    await outcome;
    expect(filter.page.equals(NEW)).toBe(true);
    expect(filter.misuse).toBeNull();
  });

  test('a client that did not offer x=1 treats the X body as an unknown section and falls back before writing a byte', async () => {
    const { filter, outcome, refetchReasons } = run(BASE, { body: NEW, refusal: null }, { acceptExtension: false });
    await settle();
    filter.data(EXT);
    filter.stop();
    const result = await outcome;
    expect(refetchReasons).toEqual(['DELTA_UNKNOWN_SECTION']);
    expect(filter.writes.length).toBe(1);
    expect(filter.page.equals(NEW)).toBe(true);
    expect(result).toMatchObject({ verified: false, extensionBody: false, releasedEarlyBytes: 0 });
  });
});

/** EXT delivered up to its first checkpoint (released), then a tail whose S digest is wrong. */
async function failAfterFirstCheckpoint(refetched: { body: Uint8Array | null; refusal: string | null }): Promise<Run & { result: DeltaOutcome }> {
  const started = run(BASE, refetched);
  await settle();
  const tail = Buffer.from(EXT.subarray(CHECKPOINTS[0].deltaEnd));
  tail[tail.length - 1] ^= 0xff;
  started.filter.data(EXT.subarray(0, CHECKPOINTS[0].deltaEnd));
  expect(started.filter.page.equals(NEW.subarray(0, CHECKPOINTS[0].bodyEnd))).toBe(true);
  started.filter.data(tail);
  started.filter.stop();
  const result = await started.outcome;
  return { ...started, result };
}

describe('an x=1 body that fails after a prefix went to the page (docs/extensions.md §3.4)', () => {
  test('a refetch that starts with the released prefix: the page gets the rest of it, exactly the refetched body, which becomes the next base', async () => {
    // The server published a newer version meanwhile: same start, another end.
    const refetchedBody = Buffer.concat([NEW.subarray(0, 30 * 1024), Buffer.from('<p>published after the delta</p>\n')]);
    const { filter, result, refetchReasons } = await failAfterFirstCheckpoint({ body: refetchedBody, refusal: null });
    expect(refetchReasons).toEqual(['DELTA_DIGEST_MISMATCH']);
    expect(filter.page.equals(refetchedBody)).toBe(true);
    expect(filter.writes.length).toBe(2); // the prefix, then the refetch past it
    expect(filter.closed).toBe(true);
    expect(filter.misuse).toBeNull();
    expect(result).toMatchObject({ verified: false, reason: 'DELTA_DIGEST_MISMATCH', refusal: null, extensionBody: true, releasedEarlyBytes: CHECKPOINTS[0].bodyEnd });
    expect(Buffer.from(result.body!).equals(refetchedBody)).toBe(true);
  });

  test('a refetch that differs inside the prefix: nothing more is written, the load failed, nothing to keep', async () => {
    const refetchedBody = Buffer.from(NEW);
    refetchedBody[100] ^= 0x20;
    const { filter, result } = await failAfterFirstCheckpoint({ body: refetchedBody, refusal: null });
    expect(filter.page.equals(NEW.subarray(0, CHECKPOINTS[0].bodyEnd))).toBe(true);
    expect(filter.writes.length).toBe(1);
    expect(filter.closed).toBe(true);
    expect(filter.misuse).toBeNull();
    expect(result).toMatchObject({ body: null, verified: false, reason: 'DELTA_DIGEST_MISMATCH', refusal: REFETCH_PREFIX_MISMATCH, releasedEarlyBytes: CHECKPOINTS[0].bodyEnd });
  });

  test('a refetch shorter than the prefix cannot continue it either', async () => {
    const { filter, result } = await failAfterFirstCheckpoint({ body: NEW.subarray(0, CHECKPOINTS[0].bodyEnd - 1), refusal: null });
    expect(filter.page.equals(NEW.subarray(0, CHECKPOINTS[0].bodyEnd))).toBe(true);
    expect(result).toMatchObject({ body: null, refusal: REFETCH_PREFIX_MISMATCH });
  });

  test('a refetch that is refused: nothing more is written, the refusal is reported', async () => {
    const { filter, result } = await failAfterFirstCheckpoint({ body: null, refusal: 'REFETCH_STATUS 500' });
    expect(filter.page.equals(NEW.subarray(0, CHECKPOINTS[0].bodyEnd))).toBe(true);
    expect(filter.closed).toBe(true);
    expect(result).toMatchObject({ body: null, refusal: 'REFETCH_STATUS 500', releasedEarlyBytes: CHECKPOINTS[0].bodyEnd });
  });

  test('a wrong second checkpoint: the page keeps the first prefix only, then gets the refetch past it', async () => {
    const { filter, outcome, refetchReasons } = run(BASE, { body: NEW, refusal: null });
    await settle();
    const damaged = Buffer.from(EXT);
    damaged[CHECKPOINTS[1].deltaEnd - 1] ^= 0x01; // the last digest byte of the second C
    filter.data(damaged.subarray(0, CHECKPOINTS[0].deltaEnd));
    filter.data(damaged.subarray(CHECKPOINTS[0].deltaEnd, CHECKPOINTS[1].deltaEnd));
    const result = await outcome;
    expect(refetchReasons).toEqual(['DELTA_CHECKPOINT_MISMATCH']);
    expect(filter.writes.map((write) => write.length)).toEqual([CHECKPOINTS[0].bodyEnd, NEW.length - CHECKPOINTS[0].bodyEnd]);
    expect(filter.page.equals(NEW)).toBe(true);
    expect(result).toMatchObject({ verified: false, reason: 'DELTA_CHECKPOINT_MISMATCH', releasedEarlyBytes: CHECKPOINTS[0].bodyEnd });
  });

  test('a stall after a prefix falls back the same way', async () => {
    const { filter, outcome, refetchReasons } = run(BASE, { body: NEW, refusal: null }, { stallTimeoutMs: 50 });
    await settle();
    filter.data(EXT.subarray(0, CHECKPOINTS[0].deltaEnd + 5));
    const result = await outcome;
    expect(refetchReasons).toEqual(['DELTA_STALLED']);
    expect(filter.page.equals(NEW)).toBe(true);
    expect(result).toMatchObject({ reason: 'DELTA_STALLED', releasedEarlyBytes: CHECKPOINTS[0].bodyEnd });
  });

  test('a failure before any checkpoint: the whole refetched body is written, as for v=1', async () => {
    const refetchedBody = pageWords(3, 5000); // nothing in common with the delta: nothing was released
    const { filter, outcome } = run(BASE, { body: refetchedBody, refusal: null });
    await settle();
    const damaged = Buffer.from(EXT.subarray(0, CHECKPOINTS[0].deltaEnd));
    damaged[damaged.length - 1] ^= 0x01; // the first C is wrong
    filter.data(damaged);
    const result = await outcome;
    expect(filter.writes.length).toBe(1);
    expect(filter.page.equals(refetchedBody)).toBe(true);
    expect(result).toMatchObject({ reason: 'DELTA_CHECKPOINT_MISMATCH', refusal: null, releasedEarlyBytes: 0 });
  });
});

describe('a v=1 body behaves as it always did', () => {
  test('nothing before S verified; then the whole body in one write at once, and the close at the end', async () => {
    const { filter, clock, outcome } = run(BASE);
    await settle();
    for (let at = 0; at < V1.length; at += 1460) {
      filter.data(V1.subarray(at, at + 1460));
      if (at + 1460 < V1.length) expect(filter.writes).toEqual([]);
    }
    expect(filter.writes.length).toBe(1);
    expect(filter.page.equals(NEW)).toBe(true);
    expect(filter.closed).toBe(false);
    filter.stop();
    const result = await outcome;
    expect(filter.writes.length).toBe(1);
    expect(filter.closed).toBe(true);
    expect(result).toMatchObject({ verified: true, extensionBody: false, releasedEarlyBytes: 0 });
    expect(clock.firstReleaseAt).toBe(clock.verifiedAt);
  });

  test('a wrong digest: the refetched body, whole, in one write', async () => {
    const { filter, outcome } = run(BASE, { body: NEW, refusal: null });
    await settle();
    const damaged = Buffer.from(V1);
    damaged[damaged.length - 1] ^= 0xff;
    filter.data(damaged);
    filter.stop();
    const result = await outcome;
    expect(filter.writes.length).toBe(1);
    expect(filter.page.equals(NEW)).toBe(true);
    expect(result).toMatchObject({ verified: false, reason: 'DELTA_DIGEST_MISMATCH', refusal: null, extensionBody: false, releasedEarlyBytes: 0 });
  });

  test('a refused refetch: the page gets nothing, the filter is closed', async () => {
    const { filter, outcome } = run(BASE, { body: null, refusal: 'REFETCH_NETWORK' });
    await settle();
    filter.data(V1.subarray(0, V1.length - 3));
    filter.stop();
    const result = await outcome;
    expect(filter.writes).toEqual([]);
    expect(filter.closed).toBe(true);
    expect(result).toMatchObject({ body: null, reason: 'DELTA_TRUNCATED', refusal: 'REFETCH_NETWORK' });
  });
});
