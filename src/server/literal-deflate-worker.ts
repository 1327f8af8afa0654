// A thread beside the event loop that deflates the literal runs of deltas
// made whole while the loop is busy (issue 11). Under load one `crcsync
// serve` process ran its event loop at 100% while a third of the machine's
// cores idled: the loop made every delta, and deflating its literal runs
// was a quarter of that work. zlib's thread pool is no place for them: a
// job per run there costs the loop about what the run costs, and the runs
// waited behind the gzip and br bodies queued on it. Here the runs a delta
// releases in one turn cost the loop one message each way, and the thread
// runs below the loop's priority (thread-priority.ts). The bytes are those
// of the loop's own `deflateSync` (the same zlib, the same level: one
// complete zlib stream).

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Plain CommonJS, evaluated by the worker: nothing to bundle or find on disk. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { deflateSync } = require('node:zlib');
const deflatedRuns = new Int32Array(workerData.deflatedRuns);
parentPort.on('message', (jobs) => {
  const replies = [];
  const outputs = [];
  for (const { id, bytes } of jobs) {
    try {
      const output = new Uint8Array(deflateSync(bytes, { level: 6 }));
      replies.push({ id, output });
      outputs.push(output.buffer);
    } catch (error) {
      replies.push({ id, error: String(error && error.message) });
    }
    Atomics.add(deflatedRuns, 0, 1);
  }
  parentPort.postMessage(replies, outputs);
});
`;

/**
 * Runs that may wait for the thread before the loop deflates the next
 * itself (handler.ts): a run takes the thread ~0.1 ms (the corpus's runs:
 * median 4 KB, p90 13 KB), so one handed over is back within a few ms.
 * Unbounded, the backlog grew with the load, and at 500 connections
 * crcsync's p99 rose above gzip's (1.6-1.9 s against 1.2-1.5 s).
 */
export const LITERAL_WORKER_BACKLOG_RUNS = 16;

/**
 * Runs handed over in one turn of the loop go in one message, each way,
 * unless they hold this many bytes: a message costs the loop about what
 * deflating a small run does (a structured clone and a wake-up of the other
 * thread), and a delta made whole releases its runs in one turn.
 */
const BATCH_BYTES = 64 * 1024;

interface Job {
  id: number;
  /** A copy in an ArrayBuffer of its own, transferred to the thread. */
  bytes: Uint8Array<ArrayBuffer>;
}

interface Reply {
  id: number;
  output?: Uint8Array;
  error?: string;
}

export class LiteralDeflateWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve(output: Uint8Array): void; reject(error: Error): void }>();
  private nextId = 0;
  private deflatedRuns = 0;
  /** Runs the current thread has deflated, counted by the thread itself (its replies wait for the loop to read them). */
  private threadDone: Int32Array<ArrayBufferLike> = new Int32Array(1);
  /** Runs sent to the current thread. */
  private sentRuns = 0;
  /** Runs handed over in this turn of the loop, sent together at its end. */
  private batch: Job[] = [];
  private batchBytes = 0;

  /** Runs deflated so far. */
  get deflated(): number {
    return this.deflatedRuns;
  }

  /** Runs sent and not yet back. */
  get waiting(): number {
    return this.pending.size;
  }

  /**
   * Runs handed over that the thread has not yet deflated: its queue. Not
   * `waiting`, which also counts runs done whose replies wait for a busy
   * loop to read them.
   */
  get behind(): number {
    return this.batch.length + this.sentRuns - Atomics.load(this.threadDone, 0);
  }

  /**
   * `bytes` as one complete zlib stream at level 6, as `deflateSync(bytes,
   * { level: 6 })` makes it. The bytes are copied, never handed over: a view
   * may share its memory with a body someone else keeps (file-cache.ts). The
   * copy, an array of its own, is what is transferred to the thread.
   */
  deflate(bytes: Uint8Array): Promise<Uint8Array> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.batch.length === 0) queueMicrotask(() => this.send());
      this.batch.push({ id, bytes: new Uint8Array(bytes) });
      this.batchBytes += bytes.length;
      if (this.batchBytes >= BATCH_BYTES) this.send();
    });
  }

  /** Stops the thread; runs still out are rejected. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.forgetThread();
    this.failAll(new Error('the literal deflate worker was closed'));
    await worker?.terminate();
  }

  /** Sends the runs of this turn; runs rejected since (the thread was lost or closed) are left out. */
  private send(): void {
    const jobs = this.batch.filter((job) => this.pending.has(job.id));
    this.batch = [];
    this.batchBytes = 0;
    if (jobs.length === 0) return;
    const worker = this.worker ?? this.start();
    this.sentRuns += jobs.length;
    worker.postMessage(
      jobs,
      jobs.map((job) => job.bytes.buffer),
    );
  }

  /** No thread from now on (the next run starts one), and nothing behind at it. */
  private forgetThread(): void {
    this.worker = null;
    this.threadDone = new Int32Array(1);
    this.sentRuns = 0;
  }

  private start(): Worker {
    this.threadDone = new Int32Array(new SharedArrayBuffer(4));
    this.sentRuns = 0;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { deflatedRuns: this.threadDone.buffer } });
    worker.on('message', (replies: Reply[]) => {
      for (const reply of replies) {
        const job = this.pending.get(reply.id);
        if (!job) continue;
        this.pending.delete(reply.id);
        if (reply.output) {
          this.deflatedRuns++;
          job.resolve(reply.output);
        } else {
          job.reject(new Error(`literal deflate failed: ${reply.error}`));
        }
      }
    });
    const lost = (error: Error) => {
      if (this.worker !== worker) return;
      this.forgetThread();
      this.failAll(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the literal deflate worker exited (${code})`)));
    // The server's sockets keep the process alive, not this thread. After the listeners: a 'message' listener refs the worker again.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    const jobs = [...this.pending.values()];
    this.pending.clear();
    for (const job of jobs) job.reject(error);
  }
}

let shared: LiteralDeflateWorker | null = null;

/** The process's one such thread (like zlib's pool, shared by every handler in it); started by its first run. */
export function sharedLiteralDeflateWorker(): LiteralDeflateWorker {
  shared ??= new LiteralDeflateWorker();
  return shared;
}

/** Where a delta made whole deflates its literal runs (CrcsyncHandlerSettings.wholeBodyLiteralRuns). */
export type LiteralRunsPlace = 'when-busy' | 'inline' | 'beside';

/** Asked per literal run of a delta made whole: deflate it inline now, or hand it `elsewhere`. */
export interface WholeBodyRuns {
  inline(): boolean;
  elsewhere(bytes: Uint8Array): Promise<Uint8Array>;
}

/**
 * The literal runs of deltas made whole, for delta-response.ts (undefined:
 * always inline). 'when-busy' hands a run to the thread only when all three
 * hold: the loop is busy (else inline costs no one a wait), the thread has
 * fewer than LITERAL_WORKER_BACKLOG_RUNS waiting (else the run would wait
 * behind them longer than the loop takes to deflate it), and this process
 * may run on more than one core (its CPU affinity: held to one core, the
 * thread could only take turns from the loop).
 */
export function wholeBodyLiteralRuns(
  place: LiteralRunsPlace,
  loopHasRoom: () => boolean,
  worker: Pick<LiteralDeflateWorker, 'behind' | 'deflate'> = sharedLiteralDeflateWorker(),
  cores: number = availableParallelism(),
): WholeBodyRuns | undefined {
  if (place === 'inline') return undefined;
  const inline = place === 'beside' ? () => false : cores < 2 ? () => true : () => loopHasRoom() || worker.behind >= LITERAL_WORKER_BACKLOG_RUNS;
  return { inline, elsewhere: (bytes) => worker.deflate(bytes) };
}
