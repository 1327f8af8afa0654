// BodyStore's ordering of saves and removals, over an in-memory IndexedDB
// (fake-indexeddb; the real one is exercised by test/e2e/store-robustness).
import { IDBFactory } from 'fake-indexeddb';
import { BodyStore, NewEntry } from '../../../extension/background/body-store';
import { BODIES_STORE, ENTRIES_STORE, openDatabase, requestResult } from '../../../extension/background/database';

function entry(key: string, text: string): NewEntry {
  return {
    key,
    partition: 'https://site.example',
    topLevelOrigin: 'https://site.example',
    urlOrigin: 'https://site.example',
    ifBlock: `v=1; fs=${text.length}; h=stand-in`,
    body: new TextEncoder().encode(text),
    privateContext: false,
    baselineBytes: null,
  };
}

async function storedKeys(db: IDBDatabase, store: string): Promise<string[]> {
  const tx = db.transaction(store, 'readonly');
  return (await requestResult(tx.objectStore(store).getAllKeys())) as string[];
}

async function openStore(): Promise<{ db: IDBDatabase; store: BodyStore; writes: () => number }> {
  const db = await openDatabase(new IDBFactory());
  const store = await BodyStore.open(db, () => 64 * 1024 * 1024, () => undefined);
  const transaction = db.transaction.bind(db);
  let writes = 0;
  db.transaction = ((names: string | string[], mode?: IDBTransactionMode) => {
    if (mode === 'readwrite') writes++;
    return transaction(names, mode);
  }) as typeof db.transaction;
  return { db, store, writes: () => writes };
}

describe('BodyStore removals', () => {
  test('removing a key that is not stored writes nothing (a no-store answer per subresource)', async () => {
    const { store, writes } = await openStore();
    await Promise.all(Array.from({ length: 9 }, (_, index) => store.remove([`https://site.example/static/${index}.js`])));
    expect(writes()).toBe(0);
  });

  test('removing a stored key deletes its entry and body', async () => {
    const { db, store, writes } = await openStore();
    expect(await store.save(entry('page', 'x'.repeat(300)))).toBe('saved');
    await store.remove(['page']);
    expect(writes()).toBe(2);
    expect(store.lookup('page')).toBeUndefined();
    expect(await storedKeys(db, ENTRIES_STORE)).toEqual([]);
    expect(await storedKeys(db, BODIES_STORE)).toEqual([]);
  });

  test('a removal while a save waits for its entry wins: nothing is written', async () => {
    const { db, store } = await openStore();
    let provide: (ready: NewEntry) => void = () => undefined;
    const saved = store.save(new Promise<NewEntry>((resolve) => (provide = resolve)));
    await store.remove(['page']); // a later answer for the same URL said no-store
    provide(entry('page', 'y'.repeat(300)));
    expect(await saved).toBe('removed');
    expect(store.lookup('page')).toBeUndefined();
    expect(await storedKeys(db, BODIES_STORE)).toEqual([]);
  });

  test('a removal while the save transaction commits runs after it: the body does not survive', async () => {
    const { db, store } = await openStore();
    const saved = store.save(entry('page', 'z'.repeat(300)));
    // Let the save reach its transaction, then remove before it commits.
    await Promise.resolve();
    await Promise.resolve();
    const removed = store.remove(['page']);
    expect(await saved).toBe('removed');
    await removed;
    await store.settle();
    expect(store.lookup('page')).toBeUndefined();
    expect(await storedKeys(db, ENTRIES_STORE)).toEqual([]);
    expect(await storedKeys(db, BODIES_STORE)).toEqual([]);
  });

  test('a save asked for after a removal is kept', async () => {
    const { db, store } = await openStore();
    await store.remove(['page']);
    expect(await store.save(entry('page', 'w'.repeat(300)))).toBe('saved');
    expect(store.lookup('page')?.size).toBe(300);
    expect(await storedKeys(db, BODIES_STORE)).toEqual(['page']);
  });
});

describe('BodyStore eviction while another write commits', () => {
  test('a body being written is not evicted by a save queued behind it: memory and disk agree', async () => {
    const db = await openDatabase(new IDBFactory());
    const store = await BodyStore.open(db, () => 500, () => undefined);
    expect(await store.save(entry('old', 'o'.repeat(300)))).toBe('saved');
    // 'old' gets a new version; while that write commits, another body needs room.
    const rewritten = store.save(entry('old', 'n'.repeat(300)));
    await Promise.resolve();
    await Promise.resolve();
    const other = store.save(entry('other', 'x'.repeat(300)));
    expect(await rewritten).toBe('saved');
    expect(await other).toBe('saved');
    await store.settle();
    const onDisk = (await storedKeys(db, BODIES_STORE)).sort();
    const indexed = [...store.entries()].map((record) => record.key).sort();
    expect(indexed).toEqual(onDisk);
    expect(onDisk).toContain('old');
  });
});
