// The extension's IndexedDB schema and connection hygiene, over an in-memory
// IndexedDB (fake-indexeddb): upgrades keep what an older version stored, our
// connection steps aside for a newer crcsync or a deletion, and an open that
// another connection blocks fails in bounded time instead of hanging init.

import { IDBFactory } from 'fake-indexeddb';
import {
  BODIES_STORE,
  DATABASE_NAME,
  DATABASE_VERSION,
  DatabaseBlockedError,
  DatabaseLoss,
  ENTRIES_STORE,
  EXCHANGES_STORE,
  HOLDS_STORE,
  openDatabase,
  requestResult,
  transactionDone,
} from '../../../extension/background/database';

function openRaw(factory: IDBFactory, version: number, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(DATABASE_NAME, version);
    request.onupgradeneeded = () => upgrade?.(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The schema of crcsync before holds existed (DATABASE_VERSION 1), with one record in each store. */
async function createVersion1(factory: IDBFactory): Promise<IDBDatabase> {
  const db = await openRaw(factory, 1, (created) => {
    const entries = created.createObjectStore(ENTRIES_STORE, { keyPath: 'key' });
    entries.createIndex('topLevelOrigin', 'topLevelOrigin');
    entries.createIndex('urlOrigin', 'urlOrigin');
    created.createObjectStore(BODIES_STORE, { keyPath: 'key' });
    created.createObjectStore(EXCHANGES_STORE, { keyPath: 'id' }).createIndex('tabId', 'tabId');
  });
  const tx = db.transaction([ENTRIES_STORE, BODIES_STORE, EXCHANGES_STORE], 'readwrite');
  tx.objectStore(ENTRIES_STORE).put({ key: 'k1', topLevelOrigin: 'https://a.example', urlOrigin: 'https://cdn.example', size: 3, storedAt: 7 });
  tx.objectStore(BODIES_STORE).put({ key: 'k1', storedAt: 7, body: new Uint8Array([1, 2, 3]) });
  tx.objectStore(EXCHANGES_STORE).put({ id: 'x1', tabId: 4, url: 'https://a.example/' });
  await transactionDone(tx);
  return db;
}

function storeNames(db: IDBDatabase): string[] {
  return Array.from(db.objectStoreNames).sort();
}


/** Deletes the crcsync database; says whether an open connection held the deletion up (a blocked event). */
function deleteDatabase(factory: IDBFactory): Promise<{ blocked: boolean }> {
  return new Promise((resolve, reject) => {
    let blocked = false;
    const request = factory.deleteDatabase(DATABASE_NAME);
    request.onblocked = () => (blocked = true);
    request.onsuccess = () => resolve({ blocked });
    request.onerror = () => reject(request.error);
  });
}

describe('upgrades by oldVersion', () => {
  test('from nothing: every store and index of the current version', async () => {
    const db = await openDatabase(new IDBFactory());
    expect(db.version).toBe(DATABASE_VERSION);
    expect(storeNames(db)).toEqual([BODIES_STORE, ENTRIES_STORE, EXCHANGES_STORE, HOLDS_STORE].sort());
    const tx = db.transaction([ENTRIES_STORE, EXCHANGES_STORE], 'readonly');
    expect(Array.from(tx.objectStore(ENTRIES_STORE).indexNames).sort()).toEqual(['topLevelOrigin', 'urlOrigin']);
    expect(Array.from(tx.objectStore(EXCHANGES_STORE).indexNames)).toEqual(['tabId']);
    db.close();
  });

  test('from version 1 (entries, bodies, exchanges; no holds): holds is added and every record kept', async () => {
    const factory = new IDBFactory();
    (await createVersion1(factory)).close();
    const db = await openDatabase(factory);
    expect(db.version).toBe(DATABASE_VERSION);
    expect(storeNames(db)).toContain(HOLDS_STORE);
    const tx = db.transaction([ENTRIES_STORE, BODIES_STORE, EXCHANGES_STORE, HOLDS_STORE], 'readonly');
    const [entry, body, byTab, holds] = await Promise.all([
      requestResult(tx.objectStore(ENTRIES_STORE).index('urlOrigin').get('https://cdn.example')),
      requestResult(tx.objectStore(BODIES_STORE).get('k1')),
      requestResult(tx.objectStore(EXCHANGES_STORE).index('tabId').getAll(4)),
      requestResult(tx.objectStore(HOLDS_STORE).count()),
    ]);
    expect(entry).toMatchObject({ key: 'k1', size: 3, storedAt: 7 });
    expect(Array.from((body as { body: Uint8Array }).body)).toEqual([1, 2, 3]);
    expect(byTab).toEqual([{ id: 'x1', tabId: 4, url: 'https://a.example/' }]);
    expect(holds).toBe(0);
    db.close();
  });

  test('opening the current version again changes nothing', async () => {
    const factory = new IDBFactory();
    (await createVersion1(factory)).close();
    (await openDatabase(factory)).close();
    const again = await openDatabase(factory);
    expect(await requestResult(again.transaction(BODIES_STORE, 'readonly').objectStore(BODIES_STORE).count())).toBe(1);
    again.close();
  });
});

describe('versionchange: our connection never blocks a newer crcsync or a deletion', () => {
  test('a second connection asking for a higher version gets through; ours is closed and the loss reported once', async () => {
    const factory = new IDBFactory();
    const losses: DatabaseLoss[] = [];
    const ours = await openDatabase(factory, { onLost: (loss) => losses.push(loss) });
    let blocked = false;
    const newer = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = factory.open(DATABASE_NAME, DATABASE_VERSION + 1);
      request.onblocked = () => (blocked = true);
      request.onupgradeneeded = () => request.result.createObjectStore('from-a-newer-version');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    expect(blocked).toBe(false);
    expect(newer.version).toBe(DATABASE_VERSION + 1);
    // What the newer version finds is what we had, plus its own store.
    expect(storeNames(newer)).toEqual([BODIES_STORE, ENTRIES_STORE, EXCHANGES_STORE, HOLDS_STORE, 'from-a-newer-version'].sort());
    expect(losses).toEqual(['upgraded-elsewhere']);
    // Ours is closed: a store operation fails at once (and is logged by its store) rather than touching a newer schema.
    expect(() => ours.transaction(ENTRIES_STORE, 'readonly')).toThrow();
    newer.close();
  });

  test('deleting the database (the extension data cleared) gets through too', async () => {
    const factory = new IDBFactory();
    const losses: DatabaseLoss[] = [];
    await openDatabase(factory, { onLost: (loss) => losses.push(loss) });
    expect(await deleteDatabase(factory)).toEqual({ blocked: false });
    expect(losses).toEqual(['deleted']);
    // The next start gets a fresh, empty database of the current version.
    const fresh = await openDatabase(factory);
    expect(await requestResult(fresh.transaction(ENTRIES_STORE, 'readonly').objectStore(ENTRIES_STORE).count())).toBe(0);
    fresh.close();
  });

  test('without an onLost, the loss is reported in words on the console', async () => {
    const factory = new IDBFactory();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await openDatabase(factory);
      (await openRaw(factory, DATABASE_VERSION + 1)).close();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/newer version of crcsync/);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('blocked: an upgrade held up by an old connection does not hang init', () => {
  test('an old connection that closes soon: the open waits for it and succeeds', async () => {
    const factory = new IDBFactory();
    const old = await createVersion1(factory);
    // An old page that closes a moment after being asked, not within the event.
    old.onversionchange = () => setTimeout(() => old.close(), 20);
    const db = await openDatabase(factory, { blockedWaitMs: 2000 });
    expect(db.version).toBe(DATABASE_VERSION);
    expect(await requestResult(db.transaction(BODIES_STORE, 'readonly').objectStore(BODIES_STORE).count())).toBe(1);
    db.close();
  });

  test('an old connection that never closes: DatabaseBlockedError after the wait; the late connection is closed, not leaked', async () => {
    const factory = new IDBFactory();
    const old = await createVersion1(factory);
    old.onversionchange = () => undefined;
    const started = Date.now();
    await expect(openDatabase(factory, { blockedWaitMs: 50 })).rejects.toBeInstanceOf(DatabaseBlockedError);
    expect(Date.now() - started).toBeLessThan(1000);

    // The old page finally goes away: our abandoned open completes and closes itself, so a later
    // deletion (or the next start's upgrade) is not blocked by a connection nobody holds.
    old.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await deleteDatabase(factory)).toEqual({ blocked: false });
  });
});
