// What the network said an exchange cost, which arrives on its own event
// (the browser's request-completed event), after or around the body's end.

/**
 * How long an outcome waits for the completed event's transfer size. The
 * browser fires it around the time the body filter sees the end; a request
 * that never completes (an abandoned stalled delta) is recorded without it.
 */
export const TRANSFER_WAIT_MS = 3000;

/** `transfer`, or null when it takes longer than TRANSFER_WAIT_MS. */
export function boundedTransfer(transfer: Promise<number | null>): Promise<number | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), TRANSFER_WAIT_MS);
    void transfer.then((bytes) => {
      clearTimeout(timer);
      resolve(bytes);
    });
  });
}

/** The fallback refetches (the background's own requests) waiting for their transfer size, by URL, oldest first. */
export class RefetchTransfers {
  private readonly waiting = new Map<string, ((bytes: number | null) => void)[]>();

  /** Resolves to the transfer size of the next refetch of `url` to complete; null after twice TRANSFER_WAIT_MS. */
  await(url: string): Promise<number | null> {
    return new Promise((resolve) => {
      const waiting = this.waiting.get(url) ?? [];
      this.waiting.set(url, waiting);
      const report = (bytes: number | null) => {
        clearTimeout(timer);
        resolve(bytes);
      };
      // A redirect ends the refetch under another URL: then nothing is reported here.
      const timer = setTimeout(() => {
        const index = waiting.indexOf(report);
        if (index >= 0) waiting.splice(index, 1);
        if (!waiting.length && this.waiting.get(url) === waiting) this.waiting.delete(url);
        resolve(null);
      }, TRANSFER_WAIT_MS * 2);
      waiting.push(report);
    });
  }

  /** A refetch of `url` completed (bytes) or failed (null). */
  report(url: string, bytes: number | null): void {
    const waiting = this.waiting.get(url);
    const report = waiting?.shift();
    if (waiting && !waiting.length) this.waiting.delete(url);
    report?.(bytes);
  }
}
