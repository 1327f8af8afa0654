// The event loop first: every other thread of a `crcsync serve` process runs
// a few nice steps below it (issue 11). Under load on two cores the loop,
// which every response waits on, was runnable but not running for a third
// of the time (/proc/<pid>/task/<tid>/schedstat: 1.9 s of 5), waiting behind
// the threads that serve it: zlib's pool compressing br / gzip bodies, the
// literal-deflate thread, V8's collector helpers. The kernel shares a core
// fairly between runnable threads; it cannot know that one of them is the
// bottleneck of all the others. Those threads' work is bulk work whose
// results the loop collects when it gets to them, so they lose nothing by
// yielding: their CPU still comes from cores the loop leaves idle.
//
// Linux only: there nice is a property of each thread (setpriority on a
// thread id changes that thread alone; NPTL, setpriority(2)), and
// /proc/self/task names them. Elsewhere a thread id is not a process id one
// may pass to setpriority, and nothing is changed.

import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Nice steps the helper threads run below the event loop by default (`crcsync serve --helper-nice`). */
export const DEFAULT_HELPER_NICE = 10;
/** The weakest priority Linux has. */
const LOWEST_PRIORITY = 19;
/** New threads (the literal-deflate thread starts with its first run) are found this often. */
const RESCAN_MS = 2000;

export interface ThreadPriorityOps {
  /** Thread ids of this process. */
  threads(): number[];
  /** The event loop's thread id (on Linux the process id). */
  loopThread: number;
  getPriority(thread: number): number;
  setPriority(thread: number, priority: number): void;
}

const linuxOps: ThreadPriorityOps = {
  threads: () => readdirSync('/proc/self/task').map(Number),
  loopThread: process.pid,
  getPriority: (thread) => getPriority(thread),
  setPriority: (thread, priority) => setPriority(thread, priority),
};

/**
 * Puts every thread of this process but the loop's `steps` nice steps below
 * the loop's own priority (at most 19), once per thread: a thread an
 * operator reniced since is left as it is. A thread that has exited between
 * the listing and the call is skipped.
 */
export class HelperThreadPriority {
  private readonly done = new Set<number>();

  constructor(
    private readonly steps: number,
    private readonly ops: ThreadPriorityOps = linuxOps,
  ) {}

  /** Lowers the threads not seen before; returns how many it changed. */
  apply(): number {
    if (this.steps <= 0) return 0;
    const target = Math.min(LOWEST_PRIORITY, this.ops.getPriority(this.ops.loopThread) + this.steps);
    let changed = 0;
    for (const thread of this.ops.threads()) {
      if (thread === this.ops.loopThread || this.done.has(thread)) continue;
      this.done.add(thread);
      try {
        if (this.ops.getPriority(thread) < target) {
          this.ops.setPriority(thread, target);
          changed++;
        }
      } catch {
        // exited meanwhile
      }
    }
    return changed;
  }
}

/**
 * For a serving process: starts libuv's thread pool (its threads appear on
 * the first job), lowers every helper thread, and looks again for new ones
 * every RESCAN_MS without keeping the process alive. Returns the stop
 * function; a no-op off Linux or with `steps` 0.
 */
export async function lowerHelperThreads(steps: number, startPool: () => Promise<unknown>): Promise<() => void> {
  if (process.platform !== 'linux' || steps <= 0) return () => undefined;
  await startPool();
  const priority = new HelperThreadPriority(steps);
  const rescan = () => {
    try {
      priority.apply();
    } catch {
      // no /proc: the threads keep the process's priority
    }
  };
  rescan();
  const timer = setInterval(rescan, RESCAN_MS);
  timer.unref();
  return () => clearInterval(timer);
}
