// The bodies of recently stored or used bases, in memory, so that a delta's
// base is at hand when its If-Block goes out: no IndexedDB read (an IPC
// round trip plus a structured-clone copy of up to 4 MiB on the background's
// main thread) lies on the request path of a page the user keeps coming back
// to (issue 9: the extension's own cost per exchange).
//
// A cache of the store, never a store of its own: each body here is the one
// IndexedDB holds for (key, storedAt), put here only when that record was
// written or read, and BodyStore drops it whenever the record goes (replaced,
// evicted, a bad base, "forget this site", cleared history). Private windows
// never get here: nothing of theirs is stored. Lost when Firefox suspends the
// event page; the next load then reads IndexedDB as before.

/** Enough for the pages of a few sites; a body over the cap is never held. */
export const HOT_BODIES_CAP_BYTES = 16 * 1024 * 1024;

interface HotBody {
  storedAt: number;
  body: Uint8Array;
}

export class HotBodies {
  /** Least recently used first (a Map iterates in insertion order). */
  private readonly bodies = new Map<string, HotBody>();
  private heldBytes = 0;

  constructor(private readonly capBytes: number = HOT_BODIES_CAP_BYTES) {}

  /** The body stored as `key` at `storedAt`, when held; marks it most recently used. */
  get(key: string, storedAt: number): Uint8Array | null {
    const hot = this.bodies.get(key);
    if (!hot || hot.storedAt !== storedAt) return null;
    this.bodies.delete(key);
    this.bodies.set(key, hot);
    return hot.body;
  }

  /** Holds the body just written or read as `key` at `storedAt`; the least recently used go past the cap. */
  put(key: string, storedAt: number, body: Uint8Array): void {
    this.delete(key);
    if (body.length > this.capBytes) return;
    this.bodies.set(key, { storedAt, body });
    this.heldBytes += body.length;
    for (const [oldest, hot] of this.bodies) {
      if (this.heldBytes <= this.capBytes) break;
      this.bodies.delete(oldest);
      this.heldBytes -= hot.body.length;
    }
  }

  delete(key: string): void {
    const hot = this.bodies.get(key);
    if (!hot) return;
    this.bodies.delete(key);
    this.heldBytes -= hot.body.length;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** What is held, for the store check of the test build: key and storedAt of each body. */
  entries(): { key: string; storedAt: number; body: Uint8Array }[] {
    return [...this.bodies].map(([key, { storedAt, body }]) => ({ key, storedAt, body }));
  }
}
