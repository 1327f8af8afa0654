// The work of a response made whole, in arrival order: gzip / br of a body
// of known size up to WHOLE_BODY_COMPRESS_BYTES (for clients without
// If-Block, and the plain response a delta lost to), and the delta of such a
// body (delta-response.ts). At most `limit` jobs run at once; the rest wait
// their turn here holding only their input.
//
// Compressions: Node's own pool queue would take them all at once, each with
// its encoder made (a deflate state is 288 KiB, a br encoder up to a few MiB)
// while it waits: under load the compression budget filled with encoders
// that had not started, and clients got the identity body (issue 11).
// Deltas: made on the event loop, they used to start as soon as their body
// was read, so under load a delta overtook every compression waiting here.
// With closed-loop clients that starved the requests whose answer is gzip /
// br (a delta that loses, a client without If-Block): at 500 connections
// they waited 2-3 s while deltas took 80 ms, and p99 was twice gzip's. One
// order for both keeps every client's wait the same.
//
// A body still being read holds no slot, so a slow origin holds up no one;
// a client that leaves while it waits leaves the queue.

import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompressionCoding, CompressionSettings, compressOnPool } from './content-coding';

export class WholeBodyJobs {
  private runningJobs = 0;
  private readonly queue: Array<() => void> = [];

  /** `limit`: jobs running at once (a few per thread of the pool: handler.ts). */
  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`a whole-body queue needs at least one slot, got ${limit}`);
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
    const release = await this.hold(signal);
    try {
      return await compressOnPool(coding, settings, input, sizeHint);
    } finally {
      release();
    }
  }

  /** Waits for a slot and holds it until the returned function is called (once or more). */
  async hold(signal: AbortSignal): Promise<() => void> {
    await this.slot(signal);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.runningJobs--;
      // The next job starts in a turn of its own: started from here, one job's
      // end would run the next one's synchronous work (a delta's scan) in the
      // same microtask chain, and a queue of them would keep the event loop
      // from I/O, the thread pool's finished jobs included.
      if (this.queue.length) setImmediate(() => this.admit());
    };
  }

  /** Starts waiting jobs while there are free slots. */
  private admit(): void {
    while (this.runningJobs < this.limit && this.queue.length) {
      this.runningJobs++;
      this.queue.shift()!();
    }
  }

  /** Resolves once a job may run (counted as running); rejects, leaving the queue, if `signal` aborts first. */
  private slot(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new Error('client went away'));
    if (this.runningJobs < this.limit && !this.queue.length) {
      this.runningJobs++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const start = () => {
        signal.removeEventListener('abort', leave);
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
