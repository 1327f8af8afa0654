// Bodies of known size up to WHOLE_BODY_COMPRESS_BYTES are compressed whole
// (gzip / br for clients without If-Block, and the plain response a delta
// lost to). Each is read first and then compressed in one call on zlib's
// thread pool, at most `limit` of them at a time; the rest wait their turn
// here, in arrival order, holding only their input. Node's own pool queue
// would take them all at once, each with its encoder made (a deflate state
// is 288 KiB, a br encoder up to a few MiB) while it waits: under load the
// compression budget then filled with encoders that had not started, and
// clients got the identity body (issue 11). Waiting here, a body is charged
// its input and output only (compressionMemoryEstimate); the encoders of
// the running jobs are a fixed cost of `limit` of them. A body still being
// read holds no slot, so a slow origin does not hold up anyone's compression.

import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompressionCoding, CompressionSettings, compressOnPool } from './content-coding';

export class CompressionJobs {
  private runningJobs = 0;
  private readonly queue: Array<() => void> = [];

  /** `limit`: compressions running at once (the thread pool's size is a good one). */
  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`a compression queue needs at least one slot, got ${limit}`);
  }

  get running(): number {
    return this.runningJobs;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** The whole body compressed once, exactly as createCompressor's stream with the same size hint makes it; rejects if the body fails or `signal` aborts. */
  async compress(body: Readable, coding: CompressionCoding, settings: CompressionSettings, sizeHint: number | undefined, signal: AbortSignal): Promise<Buffer> {
    return this.compressBuffer(await readWhole(body, signal), coding, settings, sizeHint, signal);
  }

  async compressBuffer(input: Buffer, coding: CompressionCoding, settings: CompressionSettings, sizeHint: number | undefined, signal: AbortSignal): Promise<Buffer> {
    await this.slot(signal);
    try {
      return await compressOnPool(coding, settings, input, sizeHint);
    } finally {
      this.runningJobs--;
      this.queue.shift()?.();
    }
  }

  /** Resolves once a job may run (counted as running); rejects, leaving the queue, if `signal` aborts first. */
  private slot(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new Error('client went away'));
    if (this.runningJobs < this.limit) {
      this.runningJobs++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const start = () => {
        signal.removeEventListener('abort', leave);
        this.runningJobs++;
        resolve();
      };
      const leave = () => {
        const at = this.queue.indexOf(start);
        if (at >= 0) this.queue.splice(at, 1);
        reject(new Error('client went away'));
      };
      this.queue.push(start);
      signal.addEventListener('abort', leave, { once: true });
    });
  }
}

/** All of a body's bytes in one buffer; rejects if it fails or `signal` aborts. */
export async function readWhole(body: Readable, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const collect = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  await pipeline(body, collect, { signal });
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
