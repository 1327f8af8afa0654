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
//
// Deltas' turns take at most about LOOP_PHASE_MS of a phase of the event
// loop (hold): libuv accepts one new connection per turn of the loop
// (libuv #3696, in Node 20's libuv 1.46), so a turn spent on deltas is one
// in which no new client gets in. Started as many as slots were free, a
// turn ran eight deltas, 15-25 ms, and under load connections were accepted
// at ~50 a second: of 500 connections opened at once the last waited 2-4 s
// in the listen queue before their first request was read (strace: one
// accept4 per turn), and that wait was crcsync's p99 at 500 connections
// (src/server/README.md "Scale", fifth pass). The first delta of a phase
// starts as before; the next starts in the microtasks of one that ended
// while the phase has time, else in the next check phase, after the loop
// has polled. Compressions run on the thread pool and start as many as
// there are slots, in the same one order.

import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompressionCoding, CompressionSettings, compressOnPool } from './content-coding';

/** A job waiting for a slot; `onLoop`: its work runs on the event loop (a delta's turn), not on the thread pool. */
interface Waiting {
  start: () => void;
  onLoop: boolean;
}

/**
 * Deltas' synchronous work a phase of the event loop may run before the next
 * delta waits for the loop to poll again (the last one may run past it). At
 * 500 connections opened at once the server accepted them all in 0.4-1.8 s
 * (before: 2.1-4.4 s); one delta per phase accepted about as fast but cost
 * requests/s, 2 ms per phase accepted slower (src/server/README.md "Scale").
 */
const LOOP_PHASE_MS = 1;

export class WholeBodyJobs {
  private runningJobs = 0;
  private readonly queue: Waiting[] = [];
  /** When the first job on the event loop started in this phase of the loop; null once the next check phase has come (takeLoopTurn). */
  private loopPhaseStartedAt: number | null = null;

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
    const release = await this.take(signal, false);
    try {
      return await compressOnPool(coding, settings, input, sizeHint);
    } finally {
      release();
    }
  }

  /**
   * Waits for a slot for work done on the event loop (a delta's turn) and
   * holds it until the returned function is called (once or more). Such
   * turns take about LOOP_PHASE_MS of a phase of the loop at most, so the
   * loop gets back to its I/O (new connections among it) between them.
   */
  hold(signal: AbortSignal): Promise<() => void> {
    return this.take(signal, true);
  }

  private async take(signal: AbortSignal, onLoop: boolean): Promise<() => void> {
    await this.slot(signal, onLoop);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.runningJobs--;
      if (!this.queue.length) return;
      // A delta next in line whose phase still has time starts here, in this
      // job's microtask chain (one delta per phase cost requests/s). Past
      // LOOP_PHASE_MS the next job starts in a turn
      // of its own, or a queue of them would keep the event loop from I/O
      // (the thread pool's finished jobs, new connections).
      if (this.queue[0]!.onLoop && this.loopPhaseHasTime()) this.admit(true);
      else setImmediate(() => this.admit());
    };
  }

  /**
   * Starts waiting jobs in arrival order while there are free slots, at
   * most one of them on the loop: the first of a phase, or (`chained`, from
   * a job that just ended) one more while the phase has time. A job on the
   * loop that may not start now holds the line until the next check phase
   * (takeLoopTurn): compressions behind it wait that long too, so that
   * under load they do not overtake every delta (one order for all; the
   * pool keeps working meanwhile on the compressions it already has).
   */
  private admit(chained = false): void {
    let startedOnLoop = false;
    while (this.runningJobs < this.limit && this.queue.length) {
      const next = this.queue[0]!;
      if (next.onLoop) {
        const mayStart = !startedOnLoop && (chained ? this.loopPhaseHasTime() : this.loopPhaseStartedAt === null);
        if (!mayStart) return;
        startedOnLoop = true;
        this.takeLoopTurn();
      }
      this.queue.shift();
      this.runningJobs++;
      next.start();
    }
  }

  /** Whether a job on the loop that follows one that ended may start in this phase: none started in it, or they have taken less than LOOP_PHASE_MS. */
  private loopPhaseHasTime(): boolean {
    return this.loopPhaseStartedAt === null || performance.now() - this.loopPhaseStartedAt < LOOP_PHASE_MS;
  }

  /** Notes a job on the loop starting; the first of a phase schedules the next check phase, which opens a new one and admits. */
  private takeLoopTurn(): void {
    if (this.loopPhaseStartedAt !== null) return;
    this.loopPhaseStartedAt = performance.now();
    setImmediate(() => {
      this.loopPhaseStartedAt = null;
      this.admit();
    });
  }

  /** Resolves once a job may run (counted as running); rejects, leaving the queue, if `signal` aborts first. */
  private slot(signal: AbortSignal, onLoop: boolean): Promise<void> {
    if (signal.aborted) return Promise.reject(new Error('client went away'));
    // A job on the loop starts at once only as the first of its phase: the synchronous work of one started earlier in it may not have run yet.
    if (this.runningJobs < this.limit && !this.queue.length && !(onLoop && this.loopPhaseStartedAt !== null)) {
      this.runningJobs++;
      if (onLoop) this.takeLoopTurn();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiting: Waiting = {
        start: () => {
          signal.removeEventListener('abort', leave);
          resolve();
        },
        onLoop,
      };
      const leave = () => {
        const at = this.queue.indexOf(waiting);
        if (at >= 0) this.queue.splice(at, 1);
        reject(new Error('client went away'));
      };
      this.queue.push(waiting);
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
