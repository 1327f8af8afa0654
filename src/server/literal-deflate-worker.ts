// A thread beside the event loop that deflates the literal runs of deltas
// made whole while the loop is busy (issue 11). Under load one `crcsync
// serve` process ran its event loop at 100% while a third of the machine's
// cores idled: the loop made every delta, and deflating its literal runs
// was a quarter of that work. zlib's thread pool is no place for them: a
// job per run there costs the loop about what the run costs, and the runs
// waited behind the gzip and br bodies queued on it. Here a run costs the
// loop one message each way, and the bytes are those of the loop's own
// `deflateSync` (the same zlib, the same level: one complete zlib stream).

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

interface Reply {
  id: number;
  output?: Uint8Array;
  error?: string;
}

export class LiteralDeflateWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve(output: Uint8Array): void; reject(error: Error): void }>();
  private nextId = 0;

  /** Runs deflated so far. */
  deflated = 0;

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
        this.deflated++;
        job.resolve(reply.output);
      }
      else job.reject(new Error(`literal deflate failed: ${reply.error}`));
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
