// The extension's one IndexedDB database and tiny promise helpers (the idb
// habit without the dependency: one transaction per change, resolve on
// `complete`, not on the request's success, so nothing is half-written).

export const DATABASE_NAME = 'crcsync';
/** 1: entries, bodies, exchanges. 2: holds (URLs whose last If-Block load failed, see if-block-holds.ts). */
const DATABASE_VERSION = 2;

export const ENTRIES_STORE = 'entries';
export const BODIES_STORE = 'bodies';
export const EXCHANGES_STORE = 'exchanges';
export const HOLDS_STORE = 'holds';

export function openDatabase(factory: IDBFactory = indexedDB): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(DATABASE_NAME, DATABASE_VERSION);
    request.onupgradeneeded = (event) => {
      const db = request.result;
      if (event.oldVersion < 1) {
        // Metadata and bodies are separate so startup reads only the small records.
        const entries = db.createObjectStore(ENTRIES_STORE, { keyPath: 'key' });
        entries.createIndex('topLevelOrigin', 'topLevelOrigin');
        entries.createIndex('urlOrigin', 'urlOrigin');
        db.createObjectStore(BODIES_STORE, { keyPath: 'key' });
        const exchanges = db.createObjectStore(EXCHANGES_STORE, { keyPath: 'id' });
        exchanges.createIndex('tabId', 'tabId');
      }
      if (event.oldVersion < 2) db.createObjectStore(HOLDS_STORE, { keyPath: 'key' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error('IndexedDB open blocked by another connection'));
  });
}

/** Resolves when the transaction commits; rejects with its error when it aborts (e.g. QuotaExceededError). */
export function transactionDone(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    tx.onerror = () => {
      // Let abort report it; error events bubble here first.
    };
  });
}

export function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
