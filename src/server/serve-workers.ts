// `crcsync serve --workers N`: N server processes on one port (node:cluster),
// so every core answers requests. The server is stateless (no old versions,
// nothing about a client between requests), so the processes need nothing
// from one another: the primary only starts them, prints the URL once they
// all listen, replaces one that dies, and stops them on SIGINT / SIGTERM.
// Why processes rather than worker threads for the matcher: a crcsync
// response's CPU is spread over HTTP parsing, file reads, SHA-1, matching
// and deflate (src/server/README.md "Scale"); whole processes spread all of
// it, keep streaming and backpressure exactly as they are in one process,
// and cost no copying of bodies between threads.

import cluster, { Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';

/** What a worker tells the primary once its server listens. */
interface ListeningMessage {
  crcsyncServing: string;
}

const isListening = (message: unknown): message is ListeningMessage =>
  typeof message === 'object' && message !== null && typeof (message as ListeningMessage).crcsyncServing === 'string';

/** The URL in a server process's report that it listens (reportListening), or null for any other message. */
export function listeningUrlOf(message: unknown): string | null {
  return isListening(message) ? message.crcsyncServing : null;
}

/** `--workers`: a whole number from 1, or `auto` (one per core the OS gives this process). */
export function workerCount(text: string | undefined): number | null {
  if (text === undefined) return 1;
  if (text === 'auto') return Math.max(1, availableParallelism());
  if (!/^[0-9]+$/.test(text)) return null;
  const count = Number(text);
  return count >= 1 && count <= 256 ? count : null;
}

/** This process is one of the servers a primary started (it prints nothing, it reports to the primary). */
export function isServeWorker(): boolean {
  return cluster.isWorker;
}

/** A server process's report to the process that started it that it listens on `url`. */
export function reportListening(url: string): void {
  process.send?.({ crcsyncServing: url } satisfies ListeningMessage);
}

/** Restarts are given up when this many workers die within RESTART_WINDOW_MS (a crash loop, e.g. a bad certificate). */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 10_000;
const STOP_GRACE_MS = 5_000;

/**
 * The primary: starts `count` workers (this same program, same arguments,
 * `env` added to their environment), resolves the URL once all of them
 * listen, and keeps them running until SIGINT / SIGTERM, which it passes on
 * before it exits.
 */
export function runServePrimary(count: number, log: (line: string) => void, env: Record<string, string> = {}): Promise<string> {
  // The workers accept on the shared socket themselves (SCHED_NONE), not through the primary's
  // round robin: a connection the primary had handed to a process that then died would hang there
  // (seen in test/server/serve-workers.test.ts); with the kernel's accept queue, a process that dies
  // loses only the connections it had taken, which its peers see reset. A busy process does not
  // accept, so the idle one takes the next connection.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let stopping = false;
  const deaths: number[] = [];
  let announced: string | null = null;

  return new Promise<string>((resolve, reject) => {
    const listening = new Set<Worker>();
    const start = () => {
      const worker = cluster.fork(env);
      worker.on('message', (message: unknown) => {
        if (!isListening(message)) return;
        listening.add(worker);
        if (announced === null && listening.size === count) {
          announced = message.crcsyncServing;
          resolve(announced);
        }
      });
      worker.on('exit', (code, signal) => {
        listening.delete(worker);
        if (stopping) return;
        const now = Date.now();
        deaths.push(now);
        while (deaths.length && now - deaths[0] > RESTART_WINDOW_MS) deaths.shift();
        if (deaths.length >= MAX_RESTARTS || announced === null) {
          log(`crcsync serve: a server process exited (${signal ?? code}); giving up\n`);
          stopping = true;
          for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
          if (announced === null) reject(new Error(`a server process exited (${signal ?? code}) before listening`));
          else process.exitCode = 1;
          return;
        }
        log(`crcsync serve: a server process exited (${signal ?? code}); starting another\n`);
        start();
      });
    };
    for (let i = 0; i < count; i++) start();

    const stop = () => {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
      for (const worker of workers) worker.process.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const worker of workers) worker.process.kill('SIGKILL');
      }, STOP_GRACE_MS);
      timer.unref();
      Promise.all(workers.map((worker) => new Promise((done) => (worker.isDead() ? done(null) : worker.once('exit', done))))).then(() => {
        clearTimeout(timer);
        process.exit(process.exitCode ?? 0);
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
