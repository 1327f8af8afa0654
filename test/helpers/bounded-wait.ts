// Bounded waits for tests and the load bench: every wait on a browser or a
// server has a deadline and says what it was waiting for when it runs out.

/** Rejects with "timed out ... waiting for <what>" after `ms`. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns a value other than undefined, backing off from `firstPollMs` to `maxPollMs`; bounded by `ms`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms: number,
  { firstPollMs = 25, maxPollMs = 250 }: { firstPollMs?: number; maxPollMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + ms;
  let delay = firstPollMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, maxPollMs);
  }
}
