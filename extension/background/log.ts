// The background's one diagnostic channel (the browser console of the
// background page / service worker); every module logs through it.

export function log(message: string, error?: unknown): void {
  if (error === undefined) console.warn(`crcsync: ${message}`);
  else console.warn(`crcsync: ${message}`, error);
}

export type Log = typeof log;
