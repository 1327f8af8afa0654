// URLs whose last load with If-Block failed: the page got a browser error
// (a peer that labels a delta `Content-Encoding: gzip`, as the original
// Apache module does for precompressed files), or nothing (a fallback that
// could not be done safely). Their next requests go without If-Block for a
// while (nextIfBlockHold in src/protocol/client-policy.ts), so a broken peer
// breaks a page once, not on every visit. Keyed like the body store (so
// "forget this site" and cleared history reach them), held in memory for
// the synchronous request path and persisted in IndexedDB; never from
// private windows (they send no If-Block anyway).

import { IF_BLOCK_HOLD_MAX_MS, IfBlockHold, isIfBlockHeld, nextIfBlockHold } from '../../src/protocol/client-policy';
import { HOLDS_STORE, requestResult, transactionDone } from './database';

export const HOLD_FORMAT_VERSION = 1;

/** Kept at most; the oldest failures go first. */
const MAX_HOLDS = 2000;

export interface HoldRecord extends IfBlockHold {
  formatVersion: typeof HOLD_FORMAT_VERSION;
  key: string;
  topLevelOrigin: string;
  urlOrigin: string;
}

/** Where a failed load happened. */
export interface HoldPlace {
  key: string;
  topLevelOrigin: string;
  urlOrigin: string;
  incognito: boolean;
}

export class HoldStore {
  private readonly holds = new Map<string, HoldRecord>();

  private constructor(
    private readonly db: IDBDatabase,
    private readonly log: (message: string, error?: unknown) => void,
  ) {}

  /** Loads the holds; records of another format, or failures so old they no longer count, are dropped. */
  static async open(db: IDBDatabase, log: (message: string, error?: unknown) => void, now = Date.now()): Promise<HoldStore> {
    const store = new HoldStore(db, log);
    const tx = db.transaction(HOLDS_STORE, 'readonly');
    const records = (await requestResult(tx.objectStore(HOLDS_STORE).getAll())) as HoldRecord[];
    const stale: string[] = [];
    for (const record of records) {
      if (record.formatVersion === HOLD_FORMAT_VERSION && now < record.heldUntil + IF_BLOCK_HOLD_MAX_MS) store.holds.set(record.key, record);
      else stale.push(record.key);
    }
    if (stale.length) await store.write([], stale);
    return store;
  }

  /** The hold in effect for `key`, if any. */
  heldFor(key: string, now = Date.now()): HoldRecord | undefined {
    const hold = this.holds.get(key);
    return isIfBlockHeld(hold, now) ? hold : undefined;
  }

  /** Records a failed load: in memory at once (the very next request sees it), on disk soon after. */
  fail(place: HoldPlace, reason: string, now = Date.now()): HoldRecord | null {
    if (place.incognito) return null;
    const record: HoldRecord = {
      formatVersion: HOLD_FORMAT_VERSION,
      key: place.key,
      topLevelOrigin: place.topLevelOrigin,
      urlOrigin: place.urlOrigin,
      ...nextIfBlockHold(this.holds.get(place.key), reason, now),
    };
    this.holds.set(place.key, record);
    const dropped: string[] = [];
    if (this.holds.size > MAX_HOLDS) {
      const oldest = [...this.holds.values()].sort((a, b) => a.failedAt - b.failedAt).slice(0, this.holds.size - MAX_HOLDS);
      for (const old of oldest) {
        this.holds.delete(old.key);
        dropped.push(old.key);
      }
    }
    void this.write([record], dropped);
    return record;
  }

  /** A verified delta: the peer works again for this URL. */
  lift(key: string): void {
    if (!this.holds.delete(key)) return;
    void this.write([], [key]);
  }

  /** Drops the holds of URLs cached under or fetched from these origins (null: all of them). */
  forgetOrigins(origins: readonly string[] | null): Promise<void> {
    const keys = [...this.holds.values()]
      .filter((hold) => origins === null || origins.includes(hold.topLevelOrigin) || origins.includes(hold.urlOrigin))
      .map((hold) => hold.key);
    for (const key of keys) this.holds.delete(key);
    return this.write([], keys);
  }

  private async write(put: HoldRecord[], remove: string[]): Promise<void> {
    if (!put.length && !remove.length) return;
    try {
      const tx = this.db.transaction(HOLDS_STORE, 'readwrite');
      const done = transactionDone(tx);
      const holds = tx.objectStore(HOLDS_STORE);
      for (const key of remove) holds.delete(key);
      for (const record of put) holds.put(record);
      await done;
    } catch (error) {
      // Memory still holds it for this session; the next start may offer If-Block once more.
      this.log('holds: could not save', error);
    }
  }
}
