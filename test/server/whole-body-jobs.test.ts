// Responses made whole are worked on through one queue (whole-body-jobs.ts):
// at most `limit` at once, compressions and deltas' turns in one arrival
// order, a client that leaves while it waits takes its job out, the next job
// starts in a turn of the event loop of its own, at most one delta's turn
// starts per phase of the loop (so new connections are accepted between
// them), and the bytes are the streamed compressor's. Over HTTP: with one slot, concurrent deltas, gzip
// and br, some of whose clients leave, all come out exact and leave the
// queue empty.

import * as http from 'node:http';
import * as net from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { createCrcsyncHandler } from '../../src/server/handler';
import { WholeBodyJobs } from '../../src/server/whole-body-jobs';
import { CompressionCoding, DEFAULT_COMPRESSION, createCompressor } from '../../src/server/content-coding';
import { mutate, randomBytes, seededRandom } from '../helpers/random';
import { decodeResponse, fetchRaw, startListener, waitFor } from './http-helpers';

const random = seededRandom(31);
const page = Buffer.from(mutate(random, Buffer.from(randomBytes(random, 150_000, 8).map((byte) => 97 + (byte % 20))), 40));

async function streamed(body: Buffer, coding: CompressionCoding): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(Readable.from([body]), createCompressor(coding, DEFAULT_COMPRESSION, body.length), new PassThrough().on('data', (chunk: Buffer) => chunks.push(chunk)));
  return Buffer.concat(chunks);
}

describe('WholeBodyJobs', () => {
  it('runs at most `limit` compressions at once, the others when a slot frees, each exactly the streamed bytes', async () => {
    const jobs = new WholeBodyJobs(2);
    const signal = new AbortController().signal;
    const outputs = [0, 1, 2, 3, 4].map((index) => jobs.compressBuffer(page, index % 2 ? 'br' : 'gzip', DEFAULT_COMPRESSION, page.length, signal));
    expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 2, waiting: 3 });
    const made = await Promise.all(outputs);
    expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 0, waiting: 0 });
    expect(made[0].equals(await streamed(page, 'gzip'))).toBe(true);
    expect(made[1].equals(await streamed(page, 'br'))).toBe(true);
  });

  it('a job whose client leaves while it waits is taken out; the others go on', async () => {
    const jobs = new WholeBodyJobs(1);
    const stays = new AbortController();
    const leaves = new AbortController();
    const first = jobs.compressBuffer(page, 'gzip', DEFAULT_COMPRESSION, page.length, stays.signal);
    const gone = jobs.compressBuffer(page, 'gzip', DEFAULT_COMPRESSION, page.length, leaves.signal);
    const third = jobs.compressBuffer(page, 'br', DEFAULT_COMPRESSION, page.length, stays.signal);
    expect(jobs.waiting).toBe(2);
    leaves.abort();
    await expect(gone).rejects.toThrow('client went away');
    expect(jobs.waiting).toBe(1);
    expect((await first).equals(await streamed(page, 'gzip'))).toBe(true);
    expect((await third).equals(await streamed(page, 'br'))).toBe(true);
    expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 0, waiting: 0 });
  });

  it('reads a body whole before taking a slot; a body that fails holds none', async () => {
    const jobs = new WholeBodyJobs(1);
    const signal = new AbortController().signal;
    const slow = new PassThrough();
    slow.write(page.subarray(0, 1000));
    const reading = jobs.compress(slow, 'gzip', DEFAULT_COMPRESSION, page.length, signal);
    // While its origin is slow, another body is compressed.
    expect((await jobs.compressBuffer(page, 'gzip', DEFAULT_COMPRESSION, page.length, signal)).equals(await streamed(page, 'gzip'))).toBe(true);
    slow.end(page.subarray(1000));
    expect((await reading).equals(await streamed(page, 'gzip'))).toBe(true);
    const failing = new PassThrough();
    failing.write(page.subarray(0, 1000));
    const failed = jobs.compress(failing, 'gzip', DEFAULT_COMPRESSION, page.length, signal);
    failing.destroy(new Error('origin failed'));
    await expect(failed).rejects.toThrow();
    expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 0, waiting: 0 });
  });

  it('gives held turns (deltas) and compressions one arrival order', async () => {
    const jobs = new WholeBodyJobs(1);
    const signal = new AbortController().signal;
    const order: string[] = [];
    const first = await jobs.hold(signal);
    const compressed = jobs.compressBuffer(page, 'gzip', DEFAULT_COMPRESSION, page.length, signal).then(() => order.push('gzip'));
    const delta = jobs.hold(signal).then((release) => {
      order.push('delta');
      release();
    });
    expect(jobs.waiting).toBe(2);
    first();
    first(); // a second call gives back nothing more
    await Promise.all([compressed, delta]);
    expect(order).toEqual(['gzip', 'delta']);
    expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 0, waiting: 0 });
  });

  it('starts the next delta in the microtasks of one that ended while their phase of the loop has time, else in a turn of its own; a client that leaves before that turn takes no slot', async () => {
    const jobs = new WholeBodyJobs(1);
    const signal = new AbortController().signal;
    /** Lets every microtask queued so far run, and nothing of the next phase of the loop. */
    const microtasksDrained = () => new Promise((resolve) => process.nextTick(resolve));
    const spin = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const first = await jobs.hold(signal);
    let chainedStarted = false;
    const chained = jobs.hold(signal).then((release) => ((chainedStarted = true), release));
    first();
    first(); // a second call gives back nothing more
    await microtasksDrained();
    expect(chainedStarted).toBe(true); // the phase had time: deltas a few at a time
    const second = await chained;
    let lateStarted = false;
    const late = jobs.hold(signal).then((release) => ((lateStarted = true), release));
    spin(5); // past the phase's time
    second();
    await microtasksDrained();
    expect(lateStarted).toBe(false); // not in the microtasks of the job that ended
    (await late)();
    // Released while another waits; that one leaves before its turn comes: the slot stays free.
    const holder = await jobs.hold(signal);
    const leaving = new AbortController();
    const gone = jobs.hold(leaving.signal);
    spin(5);
    holder();
    leaving.abort();
    await expect(gone).rejects.toThrow('client went away');
    await new Promise((resolve) => setImmediate(resolve));
    expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 0, waiting: 0 });
    (await jobs.hold(signal))();
  });

  it('starts at most one delta turn per phase of the event loop, so connections waiting to be accepted get in between them', async () => {
    // libuv accepts one connection per turn of the loop: ten turns run back
    // to back would leave ten clients in the listen queue until all are done.
    const server = net.createServer();
    let accepted = 0;
    server.on('connection', (socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    // From a check phase, so the next check phase comes after a poll.
    await new Promise((resolve) => setImmediate(resolve));
    const clients = Array.from({ length: 10 }, () => net.connect(port, '127.0.0.1').on('error', () => undefined));
    try {
      const jobs = new WholeBodyJobs(8);
      const signal = new AbortController().signal;
      const acceptedAtStart: number[] = [];
      await Promise.all(
        clients.map(async () => {
          const release = await jobs.hold(signal);
          acceptedAtStart.push(accepted);
          const spinUntil = performance.now() + 5; // a delta's scan: synchronous work on the loop
          while (performance.now() < spinUntil);
          release();
        }),
      );
      // Each turn after the first waited for a phase in which the loop polled, and accepted one more client.
      expect(acceptedAtStart).toEqual(acceptedAtStart.map((count, index) => Math.max(count, index)));
      expect(acceptedAtStart[9]).toBeGreaterThanOrEqual(9);
      // Compressions run on the thread pool: as many start at once as there are slots, and one behind a delta held to the next phase waits with it (one order).
      const compressions = [0, 1, 2].map(() => jobs.compressBuffer(page, 'gzip', DEFAULT_COMPRESSION, page.length, signal));
      expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 3, waiting: 0 });
      const first = await jobs.hold(signal);
      const order: string[] = [];
      const second = jobs.hold(signal).then((release) => (order.push('delta'), release));
      const behind = jobs.compressBuffer(page, 'gzip', DEFAULT_COMPRESSION, page.length, signal).then(() => order.push('gzip'));
      expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 4, waiting: 2 });
      first();
      (await second)();
      await Promise.all([...compressions, behind]);
      expect(order).toEqual(['delta', 'gzip']);
      expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 0, waiting: 0 });
    } finally {
      for (const client of clients) client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('over HTTP with one slot: concurrent deltas, gzip and br, some clients leaving, all exact, and the queue left empty', async () => {
    const old = Buffer.from(randomBytes(random, 90_000, 50).map((byte) => 97 + (byte % 20)));
    const updated = Buffer.from(mutate(random, old, 12));
    const ifBlock = formatIfBlock(old, getDefaultEngine())!;
    const handler = createCrcsyncHandler({
      origin: async () => ({ status: 200, headers: new Map([['content-type', 'text/html'], ['content-length', String(updated.length)]]), body: Readable.from([updated]) }),
      wholeBodyJobs: 1,
    });
    const { url, close } = await startListener(handler);
    try {
      const leaving = Array.from({ length: 6 }, () => {
        const request = http.get(`${url}/page`, { headers: { 'if-block': ifBlock, 'accept-encoding': 'gzip, br' } });
        request.on('error', () => undefined);
        setImmediate(() => request.destroy());
        return request;
      });
      const asked = Array.from({ length: 18 }, (_, index) => {
        const headers: Record<string, string> = [{ 'if-block': ifBlock, 'accept-encoding': 'gzip, br' }, { 'accept-encoding': 'gzip' }, { 'accept-encoding': 'br' }][index % 3];
        return fetchRaw(`${url}/page`, { headers });
      });
      const responses = await Promise.all(asked);
      expect(responses.map((response) => response.headers['content-encoding'])).toEqual(asked.map((_, index) => ['crcsync', 'gzip', 'br'][index % 3]));
      for (const response of responses) expect(decodeResponse(response, response.headers['content-encoding'] === 'crcsync' ? old : null).equals(updated)).toBe(true);
      expect(leaving.length).toBe(6);
      await waitFor(() => handler.wholeBodyJobs.running === 0 && handler.wholeBodyJobs.waiting === 0, 'the queue to empty');
      const after = await fetchRaw(`${url}/page`, { headers: { 'if-block': ifBlock } });
      expect(decodeResponse(after, old).equals(updated)).toBe(true);
    } finally {
      await close();
    }
  });

  it('needs at least one slot', () => {
    expect(() => new WholeBodyJobs(0)).toThrow(RangeError);
  });
});
