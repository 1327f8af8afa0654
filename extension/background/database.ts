// The extension's one IndexedDB database and tiny promise helpers (the idb
// habit without the dependency: one transaction per change, resolve on
// `complete`, not on the request's success, so nothing is half-written).

export const DATABASE_NAME = 'crcsync';
/** 1: entries, bodies, exchanges. 2: holds (URLs whose last If-Block load failed, see if-block-holds.ts). */
export const DATABASE_VERSION = 2;

export const ENTRIES_STORE = 'entries';
export const BODIES_STORE = 'bodies';
export const EXCHANGES_STORE = 'exchanges';
export const HOLDS_STORE = 'holds';

/**
 * Why our connection is gone:
 *   'upgraded-elsewhere'  another connection asked for a newer schema (a newer
 *                         crcsync starting while this background lingers); we
 *                         closed ours so that it is not blocked.
 *   'deleted'             the database is being deleted (the extension's data
 *                         cleared); we closed ours so that it is not blocked.
 *   'closed-by-browser'   the browser closed it (storage cleared under us, a
 *                         disk error: the IDBDatabase `close` event).
 */
export type DatabaseLoss = 'upgraded-elsewhere' | 'deleted' | 'closed-by-browser';

/** Our open waited blockedWaitMs for an older connection that never closed. */
export class DatabaseBlockedError extends Error {
  override readonly name = 'DatabaseBlockedError';
}

/**
 * A connection that handles versionchange closes within the event; one still
 * open after this long is an old page that never will, and the popup (which
 * waits for init) should not wait longer. Requests stop waiting for init
 * sooner anyway (INIT_WAIT_MS in services.ts).
 */
export const DEFAULT_BLOCKED_WAIT_MS = 5000;

export interface OpenDatabaseOptions {
  /** How long an open blocked by another connection waits before it fails with DatabaseBlockedError. */
  blockedWaitMs?: number;
  /** Told once when the connection is gone (closed here on versionchange, or by the browser). */
  onLost?: (loss: DatabaseLoss) => void;
}

/**
 * What this background does once its connection is gone: it does not reopen.
 * After 'upgraded-elsewhere' the schema belongs to a newer crcsync (ours would
 * be refused with VersionError) and this background is about to be replaced;
 * after 'deleted' or 'closed-by-browser' the bodies the in-memory index points
 * at are gone, and only a fresh start rebuilds it from disk. Until the next
 * start, every store read or write fails and is logged where it happens, and
 * the request path stays correct: a base that cannot be read makes the delta
 * fall back to the full body (firefox/response-filters.ts), every rebuilt body is
 * still verified. The warning below says so once, in words.
 */
function warnDatabaseLost(loss: DatabaseLoss): void {
  const what = {
    'upgraded-elsewhere': 'closed the cache database so that a newer version of crcsync can upgrade it',
    deleted: 'closed the cache database so that it can be deleted (the extension data was cleared)',
    'closed-by-browser': 'the browser closed the cache database (its storage was cleared, or a disk error)',
  }[loss];
  console.warn(`crcsync: ${what}; no cached body is read or kept until the extension starts again`);
}

export function openDatabase(factory: IDBFactory = indexedDB, options: OpenDatabaseOptions = {}): Promise<IDBDatabase> {
  const { blockedWaitMs = DEFAULT_BLOCKED_WAIT_MS, onLost = warnDatabaseLost } = options;
  return new Promise((resolve, reject) => {
    let gaveUp = false;
    let blockedTimer: ReturnType<typeof setTimeout> | null = null;
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
    request.onsuccess = () => {
      if (blockedTimer !== null) clearTimeout(blockedTimer);
      const db = request.result;
      if (gaveUp) {
        // The blocker closed after init had given up on us: nobody uses this connection, so it must not block the next opener.
        db.close();
        return;
      }
      watchConnection(db, onLost);
      resolve(db);
    };
    request.onerror = () => {
      if (blockedTimer !== null) clearTimeout(blockedTimer);
      reject(request.error);
    };
    // `blocked` is not a failure: the open goes on once the other connection closes. Wait for
    // that a bounded time so init (and the popup waiting on it) never hangs on a page left open.
    request.onblocked = () => {
      if (blockedTimer !== null) return;
      blockedTimer = setTimeout(() => {
        gaveUp = true;
        reject(new DatabaseBlockedError(`IndexedDB ${DATABASE_NAME} v${DATABASE_VERSION}: another connection kept the upgrade blocked for ${blockedWaitMs} ms`));
      }, blockedWaitMs);
    };
  });
}

/** Closes our connection the moment another one needs it gone, and reports the loss once. */
function watchConnection(db: IDBDatabase, onLost: (loss: DatabaseLoss) => void): void {
  let lost = false;
  const report = (loss: DatabaseLoss) => {
    if (lost) return;
    lost = true;
    onLost(loss);
  };
  db.onversionchange = (event) => {
    // Closing here, in the event, is what lets the other open or the deletion proceed (no `blocked` for it).
    db.close();
    report(event.newVersion === null ? 'deleted' : 'upgraded-elsewhere');
  };
  db.onclose = () => report('closed-by-browser');
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
