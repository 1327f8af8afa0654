// This session's exchanges per tab, for the devtools panel. Kept in memory
// for live use and written to IndexedDB in batches (one transaction per
// flush, not one per event), so the history survives the background event
// page being suspended. A browser restart starts a new history: tab ids do
// not survive it.

import type { ExchangeRecord } from '../shared/messages';
import { EXCHANGES_STORE, requestResult, transactionDone } from './database';

const FLUSH_DELAY_MS = 1000;
const FLUSH_BATCH = 100;
/** Per tab, oldest dropped first. */
const MAX_RECORDS_PER_TAB = 500;

export type ExchangeListener = (record: ExchangeRecord) => void;

export class ExchangeLog {
  private readonly byTab = new Map<number, ExchangeRecord[]>();
  private queue: ExchangeRecord[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<ExchangeListener>();

  private constructor(
    private readonly db: IDBDatabase,
    private readonly log: (message: string, error?: unknown) => void,
  ) {}

  static async open(db: IDBDatabase, log: (message: string, error?: unknown) => void): Promise<ExchangeLog> {
    const exchangeLog = new ExchangeLog(db, log);
    const tx = db.transaction(EXCHANGES_STORE, 'readonly');
    const records = (await requestResult(tx.objectStore(EXCHANGES_STORE).getAll())) as ExchangeRecord[];
    records.sort((a, b) => a.startedAt - b.startedAt);
    for (const record of records) exchangeLog.remember(record);
    return exchangeLog;
  }

  /** `persist: false` (private windows): kept in memory for the panel, never written to IndexedDB. */
  add(record: ExchangeRecord, options: { persist: boolean } = { persist: true }): void {
    this.remember(record);
    for (const listener of this.listeners) listener(record);
    if (!options.persist) return;
    this.queue.push(record);
    if (this.queue.length >= FLUSH_BATCH) void this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  forTab(tabId: number): ExchangeRecord[] {
    return [...(this.byTab.get(tabId) ?? [])];
  }

  subscribe(listener: ExchangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    try {
      const tx = this.db.transaction(EXCHANGES_STORE, 'readwrite');
      const done = transactionDone(tx);
      for (const record of batch) tx.objectStore(EXCHANGES_STORE).put(record);
      await done;
    } catch (error) {
      this.log('exchange log: batch not saved', error);
    }
  }

  /** Forgets one tab (closed, or cleared from the panel), or everything (browser restart). */
  async clear(tabId: number | null): Promise<number> {
    await this.flush();
    const tx = this.db.transaction(EXCHANGES_STORE, 'readwrite');
    const done = transactionDone(tx);
    let cleared = 0;
    if (tabId === null) {
      for (const records of this.byTab.values()) cleared += records.length;
      this.byTab.clear();
      tx.objectStore(EXCHANGES_STORE).clear();
    } else {
      const records = this.byTab.get(tabId) ?? [];
      cleared = records.length;
      this.byTab.delete(tabId);
      for (const record of records) tx.objectStore(EXCHANGES_STORE).delete(record.id);
    }
    await done;
    return cleared;
  }

  private remember(record: ExchangeRecord): void {
    let records = this.byTab.get(record.tabId);
    if (!records) this.byTab.set(record.tabId, (records = []));
    records.push(record);
    if (records.length > MAX_RECORDS_PER_TAB) records.splice(0, records.length - MAX_RECORDS_PER_TAB);
  }
}
