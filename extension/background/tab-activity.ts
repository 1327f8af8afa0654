// Which tabs are still loading, as the request listeners see it (issue 9).
//
// Keeping a verified or captured body as the next base costs the background
// a few milliseconds (the next If-Block's 40 block hashes, an IndexedDB
// write of the whole body). Done at once, that work sits right where the
// page is fetching its stylesheets and scripts, and every one of those
// requests waits for a blocking listener of this same thread. The
// bench (scripts/profile/presence.ts) measured it: pages reached
// `domInteractive` ~10 ms later than with the same work deferred. So the
// work waits until the tab has had no request in flight for a moment, or
// at most a few seconds (a page that polls for ever is never quiet).

export interface QuietOptions {
  /** How long the tab must have had nothing in flight. */
  quietMs: number;
  /** Never wait longer than this. */
  maxWaitMs: number;
}

export const DEFAULT_QUIET: QuietOptions = { quietMs: 50, maxWaitMs: 3000 };

/** A tab with no id (a background or service-worker request) is never waited for. */
const NO_TAB = -1;

interface Waiter {
  resolve(): void;
  quietTimer: ReturnType<typeof setTimeout> | null;
  maxTimer: ReturnType<typeof setTimeout>;
  quietMs: number;
}

export class TabActivity {
  /** requestId -> tabId of every request seen starting and not yet ended. */
  private readonly requests = new Map<string, number>();
  /** tabId -> how many of its requests are in flight. */
  private readonly counts = new Map<number, number>();
  private readonly waiters = new Map<number, Set<Waiter>>();

  started(requestId: string, tabId: number): void {
    if (tabId === NO_TAB) return;
    // A redirect reports the same request id again: it is still one request.
    if (this.requests.has(requestId)) return;
    this.requests.set(requestId, tabId);
    this.counts.set(tabId, (this.counts.get(tabId) ?? 0) + 1);
    for (const waiter of this.waiters.get(tabId) ?? []) this.pause(waiter);
  }

  ended(requestId: string): void {
    const tabId = this.requests.get(requestId);
    if (tabId === undefined) return;
    this.requests.delete(requestId);
    const count = (this.counts.get(tabId) ?? 1) - 1;
    if (count > 0) return void this.counts.set(tabId, count);
    this.counts.delete(tabId);
    for (const waiter of this.waiters.get(tabId) ?? []) this.arm(waiter);
  }

  /** The tab closed: its requests will never report an end. */
  forgetTab(tabId: number): void {
    for (const [requestId, owner] of this.requests) if (owner === tabId) this.requests.delete(requestId);
    this.counts.delete(tabId);
    for (const waiter of this.waiters.get(tabId) ?? []) waiter.resolve();
  }

  inFlight(tabId: number): number {
    return this.counts.get(tabId) ?? 0;
  }

  /** Resolves once `tabId` has had no request in flight for `quietMs`, or after `maxWaitMs`; never rejects. */
  whenQuiet(tabId: number, options: QuietOptions = DEFAULT_QUIET): Promise<void> {
    if (tabId === NO_TAB) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.waiters.get(tabId) ?? new Set<Waiter>();
      this.waiters.set(tabId, waiting);
      const waiter: Waiter = {
        quietMs: options.quietMs,
        quietTimer: null,
        maxTimer: setTimeout(() => waiter.resolve(), options.maxWaitMs),
        resolve: () => {
          this.pause(waiter);
          clearTimeout(waiter.maxTimer);
          waiting.delete(waiter);
          if (!waiting.size && this.waiters.get(tabId) === waiting) this.waiters.delete(tabId);
          resolve();
        },
      };
      waiting.add(waiter);
      if (!this.inFlight(tabId)) this.arm(waiter);
    });
  }

  private arm(waiter: Waiter): void {
    this.pause(waiter);
    waiter.quietTimer = setTimeout(() => waiter.resolve(), waiter.quietMs);
  }

  private pause(waiter: Waiter): void {
    if (waiter.quietTimer) clearTimeout(waiter.quietTimer);
    waiter.quietTimer = null;
  }
}
