// Responses made whole are worked on through one queue (whole-body-jobs.ts):
// at most `limit` at once, compressions and deltas' turns in one arrival
// order, a client that leaves while it waits takes its job out, the next job
// starts in a turn of the event loop of its own, and the bytes are the
// streamed compressor's. Over HTTP: with one slot, concurrent deltas, gzip
// and br, some of whose clients leave, all come out exact and leave the
// queue empty.

import * as http from 'node:http';
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

  it('starts the next job in a turn of its own, and a client that leaves before that turn takes no slot', async () => {
    const jobs = new WholeBodyJobs(1);
    const signal = new AbortController().signal;
    const first = await jobs.hold(signal);
    let started = false;
    const next = jobs.hold(signal).then((release) => ((started = true), release));
    first();
    await Promise.resolve();
    await Promise.resolve();
    expect(started).toBe(false); // not in the microtasks of the job that ended
    (await next)();
    // Released while another waits; that one leaves before its turn comes: the slot stays free.
    const holder = await jobs.hold(signal);
    const leaving = new AbortController();
    const gone = jobs.hold(leaving.signal);
    holder();
    leaving.abort();
    await expect(gone).rejects.toThrow('client went away');
    await new Promise((resolve) => setImmediate(resolve));
    expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 0, waiting: 0 });
    (await jobs.hold(signal))();
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
