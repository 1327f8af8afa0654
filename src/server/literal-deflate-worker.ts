// A thread beside the event loop that deflates the literal runs of deltas
// made whole while the loop is busy (issue 11). Under load one `crcsync
// serve` process ran its event loop at 100% while a third of the machine's
// cores idled: the loop made every delta, and deflating its literal runs
// was a quarter of that work. zlib's thread pool is no place for them: a
// job per run there costs the loop about what the run costs, and the runs
// waited behind the gzip and br bodies queued on it. Here a run costs the
// loop one message each way, and the bytes are those of the loop's own
// `deflateSync` (the same zlib, the same level: one complete zlib stream).

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Plain CommonJS, evaluated by the worker: nothing to bundle or find on disk. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { deflateSync } = require('node:zlib');
parentPort.on('message', ({ id, bytes }) => {
  let output;
  try {
    output = new Uint8Array(deflateSync(bytes, { level: 6 }));
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message) });
    return;
  }
  parentPort.postMessage({ id, output }, [output.buffer]);
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

  /** Runs deflated so far. */
  get deflated(): number {
    return this.deflatedRuns;
  }

  /** Runs sent and not yet back. */
  get waiting(): number {
    return this.pending.size;
  }

  /**
   * `bytes` as one complete zlib stream at level 6, as `deflateSync(bytes,
   * { level: 6 })` makes it. The bytes are copied, never handed over: a view
   * may share its memory with a body someone else keeps (file-cache.ts).
   */
  deflate(bytes: Uint8Array): Promise<Uint8Array> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, bytes });
    });
  }

  /** Stops the thread; runs still out are rejected. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.failAll(new Error('the literal deflate worker was closed'));
    await worker?.terminate();
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (reply: Reply) => {
      const job = this.pending.get(reply.id);
      if (!job) return;
      this.pending.delete(reply.id);
      if (reply.output) {
        this.deflatedRuns++;
        job.resolve(reply.output);
      } else {
        job.reject(new Error(`literal deflate failed: ${reply.error}`));
      }
    });
    const lost = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = null; // the next run starts a new one
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
  worker: Pick<LiteralDeflateWorker, 'waiting' | 'deflate'> = sharedLiteralDeflateWorker(),
  cores: number = availableParallelism(),
): { inline(): boolean; elsewhere(bytes: Uint8Array): Promise<Uint8Array> } | undefined {
  if (place === 'inline') return undefined;
  const inline = place === 'beside' ? () => false : cores < 2 ? () => true : () => loopHasRoom() || worker.waiting >= LITERAL_WORKER_BACKLOG_RUNS;
  return { inline, elsewhere: (bytes) => worker.deflate(bytes) };
}
