// Bodies made whole are compressed through a queue (compression-jobs.ts): at
// most `limit` at once, the rest waiting in order, a client that leaves while
// it waits takes its job out, and the bytes are the streamed compressor's.

import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompressionJobs } from '../../src/server/compression-jobs';
import { CompressionCoding, DEFAULT_COMPRESSION, createCompressor } from '../../src/server/content-coding';
import { mutate, randomBytes, seededRandom } from '../helpers/random';

const random = seededRandom(31);
const page = Buffer.from(mutate(random, Buffer.from(randomBytes(random, 150_000, 8).map((byte) => 97 + (byte % 20))), 40));

async function streamed(body: Buffer, coding: CompressionCoding): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(Readable.from([body]), createCompressor(coding, DEFAULT_COMPRESSION, body.length), new PassThrough().on('data', (chunk: Buffer) => chunks.push(chunk)));
  return Buffer.concat(chunks);
}

describe('CompressionJobs', () => {
  it('runs at most `limit` compressions at once, the others when a slot frees, each exactly the streamed bytes', async () => {
    const jobs = new CompressionJobs(2);
    const signal = new AbortController().signal;
    const outputs = [0, 1, 2, 3, 4].map((index) => jobs.compressBuffer(page, index % 2 ? 'br' : 'gzip', DEFAULT_COMPRESSION, page.length, signal));
    expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 2, waiting: 3 });
    const made = await Promise.all(outputs);
    expect({ running: jobs.running, waiting: jobs.waiting }).toEqual({ running: 0, waiting: 0 });
    expect(made[0].equals(await streamed(page, 'gzip'))).toBe(true);
    expect(made[1].equals(await streamed(page, 'br'))).toBe(true);
  });

  it('a job whose client leaves while it waits is taken out; the others go on', async () => {
    const jobs = new CompressionJobs(1);
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
    const jobs = new CompressionJobs(1);
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

  it('needs at least one slot', () => {
    expect(() => new CompressionJobs(0)).toThrow(RangeError);
  });
});
