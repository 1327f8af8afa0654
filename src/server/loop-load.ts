// How busy this process's event loop has been lately, for work that may run
// either on it or on libuv's thread pool (delta-transform.ts deflates short
// literal runs inline while the loop has room: no thread-pool round trip to
// wait for; once the loop is the bottleneck, the pool's threads take them,
// as they take gzip).

import { EventLoopUtilization, performance } from 'node:perf_hooks';

/** The utilization is re-read at most this often (a window this long). */
const WINDOW_MS = 100;
/** Above this share of the last window spent running, the loop counts as busy. */
export const BUSY_UTILIZATION = 0.7;

export class LoopLoad {
  private mark: EventLoopUtilization = performance.eventLoopUtilization();
  private utilization = 0;

  /** The loop ran for more than BUSY_UTILIZATION of the last window that ended. */
  busy(): boolean {
    const since = performance.eventLoopUtilization(this.mark);
    if (since.idle + since.active >= WINDOW_MS) {
      this.utilization = since.utilization;
      this.mark = performance.eventLoopUtilization();
    }
    return this.utilization > BUSY_UTILIZATION;
  }
}
