// Test build only (dist/firefox-test; esbuild drops this module from the
// production builds because IS_TEST_BUILD is a literal false there).
//
// WebDriver BiDi refuses to navigate a tab to a moz-extension:// page, so an
// e2e test asks the extension to open its own pages in a tab by loading a
// trigger URL on the 127.0.0.1 test server:
//   /__crcsync_test__/open-popup?site=<origin>   the popup, showing <origin>
//   /__crcsync_test__/open-panel[?tab=<id>]      the devtools panel for a tab
//                                                (default: the requesting tab)
//   /__crcsync_test__/open-private?url=<url>     a private window showing <url>
//                                                (an http://127.0.0.1 URL only;
//                                                BiDi cannot open private windows)
// The test server answers these with 204; the extension only observes them.
//
// Messages from an extension page (runtime.sendMessage; the regular handlers
// ignore these types):
//   { type: 'crcsync-test:setStoreCap', bytes }   sets the store's size cap
//                                                (settings.storeCapBytes, so
//                                                1 MiB..1 GiB); answers the cap
//   { type: 'crcsync-test:checkStore' }           reads IndexedDB directly and
//                                                answers TestStoreCheck (each entry
//                                                with its storedAt and the SHA-256
//                                                of its stored body)
//   { type: 'crcsync-test:corruptBody', key }     rewrites bytes of the body stored
//                                                as `key` in place, in IndexedDB:
//                                                same record, same storedAt, the
//                                                entry and its If-Block untouched,
//                                                the way disk corruption looks (the copy
//                                                held in memory, hot-bodies.ts, is let go,
//                                                as when the event page is suspended, so
//                                                the next load reads the disk);
//                                                answers TestCorruption
//   { type: 'crcsync-test:readHolds' }            the holds as written to IndexedDB
//                                                (if-block-holds.ts), read from disk

import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { browser } from '../shared/browser';
import type { BodyStore, EntryRecord } from './body-store';
import { BODIES_STORE, ENTRIES_STORE, HOLDS_STORE, requestResult, transactionDone } from './database';
import type { HoldRecord } from './if-block-holds';
import type { SettingsStore } from './settings-store';

export const TEST_TRIGGER_PATH = '/__crcsync_test__/';

interface TestServices {
  store: BodyStore;
  settings: SettingsStore;
  db: IDBDatabase;
}

/** What is on disk, entry by entry, and every inconsistency found (empty when the store is sound). */
export interface TestStoreCheck {
  entries: { key: string; size: number; lastUsedAt: number; storedAt: number; sha256: string | null }[];
  bodies: number;
  /** Bodies held in memory (hot-bodies.ts), each checked against the disk. */
  hotBodies: number;
  problems: string[];
}

/**
 * Every entry has its body (same storedAt, same size), every body its entry;
 * each If-Block is the one its body gives; the in-memory index matches; every
 * body held in memory (hot-bodies.ts) is an indexed entry's, byte for byte the one on disk.
 */
async function checkStore({ store, db }: TestServices): Promise<TestStoreCheck> {
  await store.settle();
  const tx = db.transaction([ENTRIES_STORE, BODIES_STORE], 'readonly');
  const [entries, bodies] = await Promise.all([
    requestResult(tx.objectStore(ENTRIES_STORE).getAll()) as Promise<EntryRecord[]>,
    requestResult(tx.objectStore(BODIES_STORE).getAll()) as Promise<{ key: string; storedAt: number; formatVersion: number; body: Uint8Array }[]>,
  ]);
  const problems: string[] = [];
  const bodyByKey = new Map(bodies.map((body) => [body.key, body]));
  for (const entry of entries) {
    const body = bodyByKey.get(entry.key);
    if (!body) problems.push(`${entry.key}: entry without a body`);
    else if (body.storedAt !== entry.storedAt) problems.push(`${entry.key}: body storedAt ${body.storedAt} != entry ${entry.storedAt}`);
    else if (!(body.body instanceof Uint8Array) || body.body.length !== entry.size) problems.push(`${entry.key}: body size ${body.body?.length} != entry ${entry.size}`);
    else if (formatIfBlock(body.body, getDefaultEngine()) !== entry.ifBlock) problems.push(`${entry.key}: stored If-Block is not the body's`);
    if (body && body.formatVersion !== entry.formatVersion) problems.push(`${entry.key}: format versions differ`);
    const indexed = store.lookup(entry.key);
    if (!indexed || indexed.storedAt !== entry.storedAt) problems.push(`${entry.key}: in-memory index differs from disk`);
  }
  const entryKeys = new Set(entries.map((entry) => entry.key));
  for (const body of bodies) if (!entryKeys.has(body.key)) problems.push(`${body.key}: body without an entry`);
  for (const indexed of store.entries()) if (!entryKeys.has(indexed.key)) problems.push(`${indexed.key}: indexed but not on disk`);
  for (const hot of store.hot.entries()) {
    const onDisk = bodyByKey.get(hot.key);
    if (store.lookup(hot.key)?.storedAt !== hot.storedAt) problems.push(`${hot.key}: held in memory but not the indexed entry`);
    else if (!onDisk || onDisk.storedAt !== hot.storedAt || !sameBytes(onDisk.body, hot.body)) problems.push(`${hot.key}: the body held in memory differs from disk`);
  }
  return {
    entries: await Promise.all(
      entries.map(async ({ key, size, lastUsedAt, storedAt }) => {
        const body = bodyByKey.get(key)?.body;
        return { key, size, lastUsedAt, storedAt, sha256: body instanceof Uint8Array ? await sha256Hex(body) : null };
      }),
    ),
    bodies: bodies.length,
    hotBodies: store.hot.entries().length,
    problems,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(bytes)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** What corruptBody changed. */
export interface TestCorruption {
  size: number;
  storedAt: number;
  /** Offsets of the bytes rewritten. */
  offsets: number[];
  sha256Before: string;
  sha256After: string;
}

/**
 * Flips bits of a few bytes in the middle of a stored body, writing the
 * record back as it was otherwise (same key, storedAt, format version), so
 * the entry still offers the If-Block of the original bytes: what a bad
 * sector or a torn page would leave behind. The in-memory index is not told.
 */
async function corruptBody({ store, db }: TestServices, key: string): Promise<TestCorruption> {
  await store.settle();
  const tx = db.transaction(BODIES_STORE, 'readwrite');
  const done = transactionDone(tx);
  const bodies = tx.objectStore(BODIES_STORE);
  const record = (await requestResult(bodies.get(key))) as { key: string; storedAt: number; formatVersion: number; body: Uint8Array } | undefined;
  if (!record || !(record.body instanceof Uint8Array)) throw new Error(`no body stored as ${key}`);
  // Disk corruption is only seen once the copy in memory is gone (after a suspend, a restart).
  store.hot.delete(key);
  const body = record.body.slice();
  const middle = Math.floor(body.length / 2);
  const offsets = [middle - 64, middle, middle + 64].filter((at) => at >= 0 && at < body.length);
  for (const at of offsets) body[at] ^= 0x01;
  // Nothing else awaited between the read and the put: the transaction commits once a task ends with nothing queued.
  bodies.put({ ...record, body });
  await done;
  return { size: body.length, storedAt: record.storedAt, offsets, sha256Before: await sha256Hex(record.body), sha256After: await sha256Hex(body) };
}

/** The holds on disk (not the in-memory copy), once their writes have had a moment to commit. */
async function readHolds({ db }: TestServices): Promise<HoldRecord[]> {
  const tx = db.transaction(HOLDS_STORE, 'readonly');
  return (await requestResult(tx.objectStore(HOLDS_STORE).getAll())) as HoldRecord[];
}

export function registerTestHooks(services: () => Promise<TestServices>): void {
  browser.runtime.onMessage.addListener((message: unknown) => {
    const { type, bytes, key } = (message ?? {}) as { type?: unknown; bytes?: unknown; key?: unknown };
    if (type === 'crcsync-test:setStoreCap') {
      return services().then(async ({ settings }) => (await settings.update((current) => ({ ...current, storeCapBytes: Number(bytes) }))).storeCapBytes);
    }
    if (type === 'crcsync-test:checkStore') return services().then(checkStore);
    if (type === 'crcsync-test:readHolds') return services().then(readHolds);
    if (type === 'crcsync-test:corruptBody') return services().then((ready) => corruptBody(ready, String(key)));
    return undefined;
  });
  browser.webRequest.onBeforeRequest.addListener(
    (details) => {
      const url = new URL(details.url);
      if (url.hostname !== '127.0.0.1' || !url.pathname.startsWith(TEST_TRIGGER_PATH)) return;
      const action = url.pathname.slice(TEST_TRIGGER_PATH.length);
      if (action === 'open-popup') {
        const site = url.searchParams.get('site') ?? url.origin;
        void browser.tabs.create({ url: browser.runtime.getURL(`popup/popup.html?site=${encodeURIComponent(site)}`) });
      } else if (action === 'open-panel') {
        const tabId = url.searchParams.get('tab') ?? String(details.tabId);
        void browser.tabs.create({ url: browser.runtime.getURL(`devtools/panel.html?tab=${encodeURIComponent(tabId)}`) });
      } else if (action === 'open-private') {
        const target = new URL(url.searchParams.get('url') ?? url.origin);
        if (target.protocol !== 'http:' || target.hostname !== '127.0.0.1') return;
        // Needs "Run in Private Windows" (the e2e helper installs with moz:allowPrivateBrowsing).
        browser.windows.create({ incognito: true, url: target.href }).catch((error: unknown) => console.error('crcsync test hook: open-private', error));
      }
    },
    { urls: ['<all_urls>'] },
  );
}
