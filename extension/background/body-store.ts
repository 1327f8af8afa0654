// Cached bodies (PROTOCOL.md §6): the decoded body of each cacheable 200,
// keyed by (partition, top-level origin, URL hash), with its If-Block value
// precomputed so no request waits on hashing. The index of all entries is
// held in memory (rebuilt from IndexedDB at startup); bodies stay on disk,
// and the recently written or read ones also in memory (hot-bodies.ts), so a
// returning page's base is at hand without a read. Every change is one
// transaction, written only after verification; records carry a format version.

import { planEviction } from './eviction';
import { HotBodies } from './hot-bodies';
import { BODIES_STORE, ENTRIES_STORE, requestResult, transactionDone } from './database';

export const BODY_FORMAT_VERSION = 1;

export interface EntryRecord {
  formatVersion: typeof BODY_FORMAT_VERSION;
  key: string;
  partition: string;
  topLevelOrigin: string;
  urlOrigin: string;
  size: number;
  /** The If-Block value for this body (PROTOCOL.md §1), computed once when stored. */
  ifBlock: string;
  storedAt: number;
  lastUsedAt: number;
  /**
   * What the last full download of this URL cost on the wire (headers +
   * encoded body, Firefox's responseSize), the yardstick for "saved";
   * null or absent (records written before it existed) when unknown.
   */
  baselineBytes?: number | null;
}

interface BodyRecord {
  formatVersion: typeof BODY_FORMAT_VERSION;
  key: string;
  storedAt: number;
  body: Uint8Array;
}

export interface NewEntry {
  key: string;
  partition: string;
  topLevelOrigin: string;
  urlOrigin: string;
  ifBlock: string;
  body: Uint8Array;
  privateContext: boolean;
  baselineBytes: number | null;
}

/** 'removed': the key was removed (a later no-store answer, forget) after the save was asked for. */
export type SaveOutcome = 'saved' | 'private' | 'too-big' | 'storage-error' | 'removed';

/** The private-window rule in one place: nothing from a private context is ever persisted (§6). */
export function mayPersist(entry: Pick<NewEntry, 'privateContext' | 'partition'>): boolean {
  return !entry.privateContext && entry.partition !== 'private';
}

/** Writes of last-use times are batched: one transaction at most this often. */
const TOUCH_FLUSH_MS = 5000;

export class BodyStore {
  private readonly index = new Map<string, EntryRecord>();
  private readonly touched = new Set<string>();
  private touchTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly pending = new Set<Promise<unknown>>();
  /** Orders saves and removals of one key: each call takes the next number. */
  private generation = 0;
  /** When each key was last removed (generation), while any save may still be pending. */
  private readonly removedAt = new Map<string, number>();
  /** Keys whose save transaction is on its way (not yet in the index). */
  private readonly committing = new Map<string, number>();
  /** Copies of stored bodies in memory; every change of the store below keeps them in step. */
  readonly hot = new HotBodies();

  private constructor(
    private readonly db: IDBDatabase,
    private readonly capBytes: () => number,
    private readonly log: (message: string, error?: unknown) => void,
  ) {}

  /** Opens the store and loads the index; records of another format version are dropped. */
  static async open(db: IDBDatabase, capBytes: () => number, log: (message: string, error?: unknown) => void): Promise<BodyStore> {
    const store = new BodyStore(db, capBytes, log);
    const tx = db.transaction(ENTRIES_STORE, 'readonly');
    const records = (await requestResult(tx.objectStore(ENTRIES_STORE).getAll())) as EntryRecord[];
    const stale: string[] = [];
    for (const record of records) {
      if (record.formatVersion === BODY_FORMAT_VERSION && typeof record.ifBlock === 'string') store.index.set(record.key, record);
      else stale.push(record.key);
    }
    if (stale.length) await store.remove(stale);
    return store;
  }

  lookup(key: string): EntryRecord | undefined {
    return this.index.get(key);
  }

  entries(): IterableIterator<EntryRecord> {
    return this.index.values();
  }

  /**
   * The body stored as `key` at `storedAt` when memory holds it (hot-bodies.ts):
   * at once, no read. null: read it with loadBody.
   */
  hotBody(key: string, storedAt: number): Uint8Array | null {
    const body = this.hot.get(key, storedAt);
    if (body) this.touch(key);
    return body;
  }

  /**
   * The body stored as `key` when it is still the one stored at `storedAt`
   * (the one whose If-Block went out); null when it is gone or was replaced.
   */
  async loadBody(key: string, storedAt: number): Promise<Uint8Array | null> {
    const tx = this.db.transaction(BODIES_STORE, 'readonly');
    const record = (await requestResult(tx.objectStore(BODIES_STORE).get(key))) as BodyRecord | undefined;
    if (!record || record.formatVersion !== BODY_FORMAT_VERSION || record.storedAt !== storedAt) return null;
    // Still the entry the index has (not removed or replaced while the read was on its way): keep it at hand.
    if (this.index.get(key)?.storedAt === storedAt) this.hot.put(key, storedAt, record.body);
    this.touch(key);
    return record.body;
  }

  /**
   * Saves a verified body, evicting least recently used entries to stay
   * under the cap, in one transaction. The entry may still be on its way
   * (its baseline waits for the response's transfer size); settle() counts
   * it from this call on. null: nothing to save after all.
   */
  save(entry: NewEntry | Promise<NewEntry | null>): Promise<SaveOutcome | null> {
    const startedAt = ++this.generation;
    return this.track(
      Promise.resolve(entry).then((ready) => {
        if (!ready) return null;
        // A removal of this key after the save was asked for (a later no-store answer, "forget") wins.
        if ((this.removedAt.get(ready.key) ?? 0) > startedAt) return 'removed';
        return this.saveNow(ready, startedAt);
      }),
    );
  }

  private async saveNow(entry: NewEntry, startedAt: number): Promise<SaveOutcome> {
    if (!mayPersist(entry)) return 'private';
    // A body whose own write is committing is never evicted by this one: IndexedDB would run
    // the deletion after that write and leave an entry indexed in memory with nothing on disk.
    const evicted = planEviction(this.index.values(), { key: entry.key, size: entry.body.length }, this.capBytes(), (key) => this.committing.has(key));
    if (evicted === null) return 'too-big';
    const now = Date.now();
    const record: EntryRecord = {
      formatVersion: BODY_FORMAT_VERSION,
      key: entry.key,
      partition: entry.partition,
      topLevelOrigin: entry.topLevelOrigin,
      urlOrigin: entry.urlOrigin,
      size: entry.body.length,
      ifBlock: entry.ifBlock,
      storedAt: now,
      lastUsedAt: now,
      baselineBytes: entry.baselineBytes,
    };
    const body: BodyRecord = { formatVersion: BODY_FORMAT_VERSION, key: entry.key, storedAt: now, body: entry.body };
    // Out of the index before the transaction is queued: a batched last-use
    // write (flushTouches) queued meanwhile must not put back the entry record
    // of a body this transaction deletes (an entry without a body).
    const evictedRecords = evicted.map((key) => this.index.get(key)).filter((found): found is EntryRecord => !!found);
    for (const key of evicted) {
      this.index.delete(key);
      this.touched.delete(key);
      this.hot.delete(key);
    }
    this.committing.set(entry.key, (this.committing.get(entry.key) ?? 0) + 1);
    try {
      const tx = this.db.transaction([ENTRIES_STORE, BODIES_STORE], 'readwrite');
      const done = transactionDone(tx);
      const entries = tx.objectStore(ENTRIES_STORE);
      const bodies = tx.objectStore(BODIES_STORE);
      for (const key of evicted) {
        entries.delete(key);
        bodies.delete(key);
      }
      entries.put(record);
      bodies.put(body);
      await done;
    } catch (error) {
      // The transaction aborted as a whole (quota, disk): the old entries are intact, so is the index.
      for (const kept of evictedRecords) if (!this.index.has(kept.key)) this.index.set(kept.key, kept);
      this.log(`store: could not save ${entry.key}`, error);
      return 'storage-error';
    } finally {
      const left = (this.committing.get(entry.key) ?? 1) - 1;
      if (left) this.committing.set(entry.key, left);
      else this.committing.delete(entry.key);
    }
    // A removal queued while this transaction committed ran after it (IndexedDB orders them): it stays removed.
    if ((this.removedAt.get(entry.key) ?? 0) > startedAt) return 'removed';
    this.index.set(entry.key, record);
    this.hot.put(entry.key, now, entry.body);
    return 'saved';
  }

  /**
   * Drops entries (a bad base, a no-store answer, "forget this site", cleared
   * history). A key that is neither stored nor being written costs nothing:
   * a site whose answers are all no-store would otherwise pay a write
   * transaction per request while its page loads (issue 9).
   */
  remove(keys: string[]): Promise<void> {
    const removedAt = ++this.generation;
    for (const key of keys) this.removedAt.set(key, removedAt);
    const stored = keys.filter((key) => this.index.has(key) || this.committing.has(key));
    return this.track(stored.length ? this.removeNow(stored) : Promise.resolve());
  }

  private async removeNow(keys: string[]): Promise<void> {
    if (!keys.length) return;
    const tx = this.db.transaction([ENTRIES_STORE, BODIES_STORE], 'readwrite');
    const done = transactionDone(tx);
    for (const key of keys) {
      tx.objectStore(ENTRIES_STORE).delete(key);
      tx.objectStore(BODIES_STORE).delete(key);
      // Forget in memory at once: a request starting now must not offer this base.
      this.index.delete(key);
      this.touched.delete(key);
      this.hot.delete(key);
    }
    await done;
  }

  /** Every entry cached under the top-level origin or fetched from it. */
  keysForOrigin(origin: string): string[] {
    const keys: string[] = [];
    for (const entry of this.index.values()) {
      if (entry.topLevelOrigin === origin || entry.urlOrigin === origin) keys.push(entry.key);
    }
    return keys;
  }

  /** Resolves once every save/remove started before the call has finished (either way). */
  async settle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  get pendingWrites(): number {
    return this.pending.size;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const forget = () => {
      this.pending.delete(work);
      // Removal times matter only to saves still pending.
      if (!this.pending.size) this.removedAt.clear();
    };
    work.then(forget, forget);
    return work;
  }

  private touch(key: string): void {
    const entry = this.index.get(key);
    if (!entry) return;
    entry.lastUsedAt = Date.now();
    this.touched.add(key);
    if (!this.touchTimer) this.touchTimer = setTimeout(() => void this.flushTouches(), TOUCH_FLUSH_MS);
  }

  /** Persists last-use times in one transaction (LRU order survives restarts). */
  async flushTouches(): Promise<void> {
    if (this.touchTimer) clearTimeout(this.touchTimer);
    this.touchTimer = null;
    const records = [...this.touched].map((key) => this.index.get(key)).filter((entry): entry is EntryRecord => !!entry);
    this.touched.clear();
    if (!records.length) return;
    try {
      const tx = this.db.transaction(ENTRIES_STORE, 'readwrite');
      const done = transactionDone(tx);
      const entries = tx.objectStore(ENTRIES_STORE);
      for (const record of records) {
        // Only the last-use time of the very body it was read for: a save or a
        // removal committed meanwhile must not be undone by this older record.
        const current = entries.get(record.key);
        current.onsuccess = () => {
          const stored = current.result as EntryRecord | undefined;
          if (stored && stored.storedAt === record.storedAt) entries.put({ ...stored, lastUsedAt: record.lastUsedAt });
        };
      }
      await done;
    } catch (error) {
      this.log('store: could not save last-use times', error);
    }
  }
}
