// Literal runs of deltas made whole, deflated on a thread beside the event
// loop (literal-deflate-worker.ts): the same bytes as the loop's own
// deflateSync, a run never lost when the thread is, and the same responses
// from a server that sends every run there.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock, parseIfBlock } from '../../src/protocol/if-block';
import { DeltaTransform } from '../../src/server/delta-transform';
import { LITERAL_WORKER_BACKLOG_RUNS, LiteralDeflateWorker, sharedLiteralDeflateWorker, wholeBodyLiteralRuns } from '../../src/server/literal-deflate-worker';
import { makeFixtures } from './fixtures';
import { decodeResponse, fetchLogged, startCrcsync, TestServer } from './http-helpers';
import { runHeld } from './transform-runs';
import { mutate, randomBytes, seededRandom } from '../helpers/random';

const engine = getDefaultEngine();

describe('LiteralDeflateWorker', () => {
  const worker = new LiteralDeflateWorker();
  afterAll(() => worker.close());

  it("makes exactly deflateSync's zlib stream, job by job, however many are out at once", async () => {
    const random = seededRandom(7);
    const inputs = [new Uint8Array(0), Buffer.from('a'), randomBytes(random, 5000, 1), Buffer.from('repeat '.repeat(30_000)), randomBytes(random, 200_000, 2)];
    const outputs = await Promise.all(inputs.map((input) => worker.deflate(input)));
    outputs.forEach((output, i) => expect(Buffer.from(output).equals(deflateSync(inputs[i], { level: 6 }))).toBe(true));
    expect(worker.waiting).toBe(0);
  });

  it('leaves the input as it was: a view of a kept file is copied, never handed over', async () => {
    const kept = Buffer.from('a file the static origin keeps in memory '.repeat(100));
    const view = kept.subarray(0, kept.length);
    await worker.deflate(view);
    expect(kept.length).toBe(4100);
    expect(kept.subarray(0, 6).toString()).toBe('a file');
  });

  it("counts as behind the runs the thread has not deflated, not those whose replies the loop has yet to read", async () => {
    const own = new LiteralDeflateWorker();
    try {
      const random = seededRandom(5);
      const runs = Array.from({ length: 5 }, (_, i) => randomBytes(random, 3000, 10 + i));
      const out = runs.map((run) => own.deflate(run));
      expect(own.behind).toBe(5); // handed over in this turn, not yet sent
      await Promise.resolve(); // the turn ends: the five go in one message
      // Keep the loop from reading the replies: the thread's own count still falls to 0.
      const until = Date.now() + 5000;
      while (own.behind > 0 && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      expect([own.behind, own.waiting]).toEqual([0, 5]);
      const outputs = await Promise.all(out);
      outputs.forEach((output, i) => expect(Buffer.from(output).equals(deflateSync(runs[i]!, { level: 6 }))).toBe(true));
      expect([own.behind, own.waiting, own.deflated]).toEqual([0, 0, 5]);
    } finally {
      await own.close();
    }
  });

  it('rejects the runs still out when it is closed, and starts again for the next', async () => {
    const own = new LiteralDeflateWorker();
    const out = own.deflate(randomBytes(seededRandom(3), 2_000_000, 3));
    const closed = own.close();
    await expect(out).rejects.toThrow(/closed/);
    await closed;
    expect(own.behind).toBe(0); // nothing counts against the next thread
    const again = Buffer.from('after a restart');
    expect(Buffer.from(await own.deflate(again)).equals(deflateSync(again, { level: 6 }))).toBe(true);
    await own.close();
  });
});

describe('where a delta made whole deflates its literal runs', () => {
  const state = { loopHasRoom: false, behind: 0 };
  const worker = {
    get behind() {
      return state.behind;
    },
    deflate: (bytes: Uint8Array) => Promise.resolve(bytes),
  };
  const whenBusy = wholeBodyLiteralRuns('when-busy', () => state.loopHasRoom, worker, 2)!;

  it('when busy: beside the loop only if the loop is busy and the thread keeps up', () => {
    expect(whenBusy.inline()).toBe(false);
    for (const [change, reason] of [
      [{ loopHasRoom: true }, 'the loop has room: no one waits for it'],
      [{ behind: LITERAL_WORKER_BACKLOG_RUNS }, 'the thread is behind'],
    ] as const) {
      Object.assign(state, { loopHasRoom: false, behind: LITERAL_WORKER_BACKLOG_RUNS - 1 }, change);
      expect([reason, whenBusy.inline()]).toEqual([reason, true]);
    }
  });

  it('never beside the loop for a process held to one core', () => {
    Object.assign(state, { loopHasRoom: false, behind: 0 });
    expect(wholeBodyLiteralRuns('when-busy', () => false, worker, 1)!.inline()).toBe(true);
  });

  it("'inline' never uses the thread, 'beside' always does", () => {
    expect(wholeBodyLiteralRuns('inline', () => false, worker, 2)).toBeUndefined();
    Object.assign(state, { loopHasRoom: true, behind: 1000 });
    expect(wholeBodyLiteralRuns('beside', () => true, worker, 2)!.inline()).toBe(false);
  });
});

describe('a held DeltaTransform with its runs deflated elsewhere', () => {
  const random = seededRandom(11);
  const old = randomBytes(random, 200_000, 5);
  const body = mutate(random, old, 30);
  const ifBlock = parseIfBlock(formatIfBlock(old, engine)!);
  const chunks = [body.subarray(0, 70_000), body.subarray(70_000)];
  const inline = () => runHeld(new DeltaTransform(ifBlock, { engine, held: true, deflateInline: () => true }), chunks);

  it('sends the bytes of runs deflated inline, with the thread', async () => {
    const worker = new LiteralDeflateWorker();
    try {
      const beside = new DeltaTransform(ifBlock, { engine, held: true, deflateInline: () => false, deflateElsewhere: (bytes) => worker.deflate(bytes) });
      const [expected, actual] = [await inline(), await runHeld(beside, chunks)];
      expect(expected.bytes.length).toBeGreaterThan(1000);
      expect(actual.bytes.equals(expected.bytes)).toBe(true);
    } finally {
      await worker.close();
    }
  });

  it('deflates a run itself when the thread fails it: the same bytes', async () => {
    let asked = 0;
    const failing = (): Promise<Uint8Array> => {
      asked++;
      return Promise.reject(new Error('the literal deflate worker exited (1)'));
    };
    const beside = new DeltaTransform(ifBlock, { engine, held: true, deflateInline: () => false, deflateElsewhere: failing });
    const [expected, actual] = [await inline(), await runHeld(beside, chunks)];
    expect(asked).toBeGreaterThan(3);
    expect(actual.bytes.equals(expected.bytes)).toBe(true);
  });
});

describe('a server that deflates every literal run beside the loop', () => {
  const pairs = makeFixtures();
  let dir: string;
  let beside: TestServer;
  let inline: TestServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crcsync-literal-worker-'));
    for (const pair of pairs) writeFileSync(join(dir, pair.name), pair.new);
    beside = await startCrcsync({ root: dir, wholeBodyLiteralRuns: 'beside' });
    inline = await startCrcsync({ root: dir, wholeBodyLiteralRuns: 'inline' });
  });
  afterAll(async () => {
    await Promise.all([beside?.close(), inline?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers each fixture with the delta the loop makes, and it decodes to the new body', async () => {
    let deltas = 0;
    const deflatedBefore = sharedLiteralDeflateWorker().deflated;
    for (const pair of pairs) {
      const headers = { 'If-Block': formatIfBlock(pair.old, engine)! };
      const [fromBeside, fromInline] = await Promise.all([fetchLogged(beside, `/${pair.name}`, { headers }), fetchLogged(inline, `/${pair.name}`, { headers })]);
      expect(fromBeside.headers['content-encoding']).toBe(fromInline.headers['content-encoding']);
      expect(fromBeside.body.equals(fromInline.body)).toBe(true);
      if (fromBeside.headers['content-encoding'] !== 'crcsync') continue;
      deltas++;
      expect(decodeResponse(fromBeside, pair.old).equals(pair.new)).toBe(true);
    }
    expect(deltas).toBeGreaterThanOrEqual(3);
    expect(sharedLiteralDeflateWorker().deflated - deflatedBefore).toBeGreaterThanOrEqual(deltas);
  });
});
