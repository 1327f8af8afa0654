// The body store under pressure, in real headless Firefox ESR with the test
// build and the reference server (README "Store"): LRU eviction under a small
// cap, a real QuotaExceededError, and a browser SIGKILLed while bodies are
// being written. "The user still gets the correct page and the cache is never
// left corrupted."
//
// The store is inspected through the test build's hooks
// (extension/background/test-hooks.ts): `crcsync-test:setStoreCap` and
// `crcsync-test:checkStore`, which reads IndexedDB directly and checks every
// entry against its body (present, same storedAt and size, and the stored
// If-Block equal to the one computed from the stored bytes), every body
// against its entry, and the in-memory index against the disk.
//
// A real quota: Firefox's `dom.quotaManager.temporaryStorage.fixedLimit`
// (KiB) sets the temporary-storage limit; below 10 MiB the per-group limit
// the extension's moz-extension origin is held to is that same limit (seen in
// Firefox 153: with 8192 KiB, 6 MiB of random bytes fit and the next 6 MiB
// abort with QuotaExceededError). The extension has no unlimitedStorage, so
// the limit applies to its IndexedDB. The test fills the origin almost to
// that limit with a ballast database written from an extension page, so the
// next large body cannot be stored while the earlier one stays.

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { seededRandom } from '../helpers/random';
import { LaunchedFirefox, WAIT_MS, askBackground, launchFirefox, openExtensionPage, sendTestHook, waitFor, withTimeout } from './helpers/firefox';
import { SiteServer, startSiteServer } from './helpers/servers';

const START_PAGE = '/start.html';
const PARTITION = 'firefox-default';
const MIB = 1024 * 1024;

interface StoreCheck {
  entries: { key: string; size: number; lastUsedAt: number }[];
  bodies: number;
  problems: string[];
}

const checkStore = (control: Page) => sendTestHook<StoreCheck>(control, { type: 'crcsync-test:checkStore' }, 'the store check');

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The store key of a top-level page of the test origin (request-context.ts storeKeyFor). */
function keyOf(site: SiteServer, path: string): string {
  return `${PARTITION} ${site.origin} ${sha256Hex(`${site.origin}${path}`)}`;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .';

/** Random text (incompressible enough that IndexedDB's compression does not hide its size), no markup characters. */
function randomText(seed: number, length: number): string {
  const random = seededRandom(seed);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return out;
}

/** The same text with `count` characters replaced at the middle: a new version of the same length. */
function edited(text: string, version: number, count = 64): string {
  const at = Math.floor(text.length / 2);
  return text.slice(0, at) + randomText(10_000 + version, count) + text.slice(at + count);
}

function html(text: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>store</title></head><body><pre id="content">${text}</pre></body></html>\n`;
}

/** Navigates to the page and checks #content is exactly `text` (compared by SHA-256 in the page). */
async function expectPageText(page: Page, url: string, text: string): Promise<void> {
  await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
  const shown = await page.evaluate(async () => {
    const content = document.getElementById('content')?.textContent ?? '';
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(content));
    return { length: content.length, sha256: Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('') };
  });
  expect(shown).toEqual({ length: text.length, sha256: sha256Hex(text) });
}

/** The requests and 200 responses the server saw for `path` since the given counts. */
function seen(site: SiteServer, path: string, from: { requests: number; responses: number }) {
  return {
    ifBlocks: site.requests.slice(from.requests).filter((request) => request.path === path).map((request) => request.ifBlock),
    encodings: site.responses
      .slice(from.responses)
      .filter((response) => response.url === path)
      .map((response) => response.encoding),
  };
}

const mark = (site: SiteServer) => ({ requests: site.requests.length, responses: site.responses.length });

async function startControl(firefox: LaunchedFirefox, site: SiteServer): Promise<{ page: Page; control: Page }> {
  const page = await firefox.browser.newPage();
  await page.goto(`${site.origin}${START_PAGE}`, { waitUntil: 'load', timeout: WAIT_MS });
  const control = await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(site.origin)}`);
  return { page, control };
}

describe('a small cap and a full quota', () => {
  const QUOTA_KIB = 8192;
  let site: SiteServer;
  let firefox: LaunchedFirefox | undefined;
  let page: Page;
  let control: Page;

  beforeAll(async () => {
    site = await startSiteServer();
    site.write(START_PAGE, 'ok');
    firefox = await launchFirefox({ prefs: { 'dom.quotaManager.temporaryStorage.fixedLimit': QUOTA_KIB } });
    ({ page, control } = await startControl(firefox, site));
  }, 60_000);

  afterAll(async () => {
    await firefox?.close();
    await site?.close();
  });

  test('LRU eviction keeps the cap, drops the least recently used, and what stays still decodes', async () => {
    const cap = await sendTestHook<number>(control, { type: 'crcsync-test:setStoreCap', bytes: MIB }, 'the cap');
    expect(cap).toBe(MIB);
    const PAGE_TEXT = 99_800; // ~100 KB bodies: ten fit under 1 MiB, eleven do not
    const paths = Array.from({ length: 13 }, (_, i) => `/lru-${i}.html`);
    const texts = paths.map((_, i) => randomText(i + 1, PAGE_TEXT));
    const stored = (check: StoreCheck) => new Set(check.entries.map((entry) => entry.key));

    const visitAndStore = async (i: number) => {
      site.write(paths[i], html(texts[i]));
      await expectPageText(page, `${site.origin}${paths[i]}`, texts[i]);
      await waitFor(`${paths[i]} stored`, async () => (stored(await checkStore(control)).has(keyOf(site, paths[i])) ? true : undefined));
    };
    for (let i = 0; i < 10; i++) await visitAndStore(i);
    expect((await checkStore(control)).entries.length).toBe(10);

    // Touch the oldest: a new version of page 0 comes as a delta and makes it the most recently used.
    texts[0] = edited(texts[0], 2);
    site.write(paths[0], html(texts[0]));
    let from = mark(site);
    await expectPageText(page, `${site.origin}${paths[0]}`, texts[0]);
    expect(seen(site, paths[0], from).ifBlocks.every((value) => value !== undefined)).toBe(true);
    await waitFor('page 0 the most recently used', async () => {
      const check = await checkStore(control);
      const first = check.entries.find((entry) => entry.key === keyOf(site, paths[0]));
      return first && check.entries.every((entry) => entry.lastUsedAt <= first.lastUsedAt) ? true : undefined;
    });

    for (let i = 10; i < 13; i++) await visitAndStore(i);

    const check = await checkStore(control);
    expect(check.problems).toEqual([]);
    const total = check.entries.reduce((sum, entry) => sum + entry.size, 0);
    expect(total).toBeLessThanOrEqual(MIB);
    const survivors = [0, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const evicted = [1, 2, 3];
    expect([...stored(check)].sort()).toEqual(survivors.map((i) => keyOf(site, paths[i])).sort());
    expect(check.bodies).toBe(survivors.length);

    // Every survivor decodes its next version from the stored base (same sizes: no eviction meanwhile)...
    for (const i of survivors) {
      texts[i] = edited(texts[i], 3);
      site.write(paths[i], html(texts[i]));
      from = mark(site);
      await expectPageText(page, `${site.origin}${paths[i]}`, texts[i]);
      const { ifBlocks, encodings } = seen(site, paths[i], from);
      expect(ifBlocks.length).toBeGreaterThan(0);
      expect(ifBlocks.every((value) => value !== undefined)).toBe(true);
      expect(encodings).toContain('crcsync');
    }
    // ...and the evicted ones are fetched in full, without If-Block.
    for (const i of evicted) {
      from = mark(site);
      await expectPageText(page, `${site.origin}${paths[i]}`, texts[i]);
      const { ifBlocks, encodings } = seen(site, paths[i], from);
      expect(ifBlocks.length).toBeGreaterThan(0);
      expect(ifBlocks.every((value) => value === undefined)).toBe(true);
      expect(encodings).not.toContain('crcsync');
    }
    expect((await checkStore(control)).problems).toEqual([]);
  });

  test('a write refused by a full quota: the page is right, the old base stays and is used next time', async () => {
    expect(await sendTestHook<number>(control, { type: 'crcsync-test:setStoreCap', bytes: 64 * MIB }, 'the cap')).toBe(64 * MIB);
    const path = '/quota.html';
    const small = randomText(500, 60_000);
    site.write(path, html(small));
    await expectPageText(page, `${site.origin}${path}`, small);
    await waitFor('the small version stored', async () =>
      (await checkStore(control)).entries.some((entry) => entry.key === keyOf(site, path)) ? true : undefined,
    );

    // Fill the extension's origin up to its quota with a ballast database (512 KiB records of random bytes) until a write aborts.
    const ballast = await withTimeout(
      control.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const request = indexedDB.open('ballast', 1);
          request.onupgradeneeded = () => request.result.createObjectStore('chunks');
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        let chunks = 0;
        let error = '';
        while (!error && chunks < 64) {
          const data = new Uint8Array(512 * 1024);
          for (let at = 0; at < data.length; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
          error = await new Promise<string>((resolve) => {
            const tx = db.transaction('chunks', 'readwrite');
            tx.objectStore('chunks').put(data, chunks);
            tx.oncomplete = () => resolve('');
            tx.onabort = () => resolve(tx.error?.name ?? 'abort');
          });
          if (!error) chunks++;
        }
        db.close();
        return { chunks, error };
      }),
      'the ballast',
      30_000,
    );
    expect(ballast.error).toBe('QuotaExceededError');
    expect(ballast.chunks).toBeGreaterThan(0);

    // A 3 MB version now cannot be stored: the page still shows it exactly (a verified delta from the small base).
    // Made of the small version's blocks, so the delta beats br and is sent (the server answers with br when it would not, issue 9).
    const big = small.repeat(50);
    site.write(path, html(big));
    let from = mark(site);
    await expectPageText(page, `${site.origin}${path}`, big);
    const bigVisit = seen(site, path, from);
    expect(bigVisit.ifBlocks.length).toBe(1);
    expect(bigVisit.ifBlocks[0]).toBeDefined();

    // The refusal is in the exchange log (and the console): the body was not kept.
    const tabId = await control.evaluate(
      (url) =>
        (globalThis as unknown as { browser: { tabs: { query(q: unknown): Promise<{ id: number; url?: string }[]> } } }).browser.tabs
          .query({})
          .then((tabs) => tabs.find((tab) => tab.url === url)?.id ?? -1),
      `${site.origin}${path}`,
    );
    const refused = await waitFor('the refused write in the exchange log', async () => {
      const records = await askBackground(control, 'getExchanges', { tabId });
      return records.find((record) => record.url === `${site.origin}${path}` && record.fullBytes === html(big).length && record.reason !== null);
    });
    expect(refused.outcome).toBe('verified');
    expect(refused.reason).toBe('not stored: storage-error');

    // Nothing half-written: the entry is the small version's, its body intact.
    let check = await checkStore(control);
    expect(check.problems).toEqual([]);
    expect(check.entries.find((entry) => entry.key === keyOf(site, path))?.size).toBe(html(small).length);

    // The next visit still offers the small version as the base (the same If-Block) and gets a delta.
    const next = edited(small, 7);
    site.write(path, html(next));
    from = mark(site);
    await expectPageText(page, `${site.origin}${path}`, next);
    const nextVisit = seen(site, path, from);
    expect(nextVisit.ifBlocks).toEqual(bigVisit.ifBlocks);
    check = await checkStore(control);
    expect(check.problems).toEqual([]);
    expect(check.entries.find((entry) => entry.key === keyOf(site, path))?.size).toBe(html(small).length);
  });
});

describe('a browser killed while bodies are written', () => {
  const BIG_PATHS = ['/big-0.html', '/big-1.html', '/big-2.html'];
  let site: SiteServer;
  let profileDir: string;
  let firefox: LaunchedFirefox | undefined;

  beforeAll(async () => {
    site = await startSiteServer();
    site.write(START_PAGE, 'ok');
    profileDir = mkdtempSync(join(tmpdir(), 'crcsync-e2e-kill-'));
  });

  afterAll(async () => {
    await firefox?.close();
    await site?.close();
    rmSync(profileDir, { recursive: true, force: true });
  });

  /** SIGKILLs Firefox's whole process group (puppeteer starts it detached, as a group leader) and waits for it to be gone. */
  async function killFirefox(): Promise<void> {
    const child = firefox!.browser.process();
    firefox = undefined;
    if (!child?.pid) throw new Error('no Firefox process to kill');
    const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
    process.kill(-child.pid, 'SIGKILL');
    await withTimeout(exited, 'Firefox to die');
  }

  /** Polls every 5 ms (a kill moment wants precision), bounded. */
  async function poll(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async function expectSoundStore(control: Page): Promise<StoreCheck> {
    const check = await checkStore(control);
    expect(check.problems).toEqual([]);
    expect(check.bodies).toBe(check.entries.length);
    return check;
  }

  test('after a SIGKILL at three moments of the writes the store is consistent and every page exact', async () => {
    const base = BIG_PATHS.map((_, i) => randomText(700 + i, 3_000_000 + i * 1000));
    let texts = base;
    BIG_PATHS.forEach((path, i) => site.write(path, html(texts[i])));

    /** Starts loading every page from the start page (fetch); the bodies are checked by the last round, not here (the kill cuts them off). */
    const startLoads = (page: Page) =>
      void page
        .evaluate((urls) => Promise.all(urls.map((url) => fetch(url, { cache: 'no-store' }).then((r) => r.arrayBuffer()))), BIG_PATHS.map((path) => `${site.origin}${path}`))
        .catch(() => undefined);
    const bodiesSent = (from: number) => site.responses.slice(from).filter((response) => response.status === 200 && BIG_PATHS.includes(response.url)).length;
    // The three moments of the kill: the server has sent the first body (the others still streaming, the first
    // being hashed and written); it has sent them all (writes in flight); the first new body has committed (the rest
    // may be mid-transaction).
    const moments: ((page: Page, control: Page) => Promise<void>)[] = [
      async (page) => {
        const from = site.responses.length;
        startLoads(page);
        await poll('the server to send a first body', () => bodiesSent(from) >= 1);
      },
      async (page) => {
        const from = site.responses.length;
        startLoads(page);
        await poll('the server to send every body', () => bodiesSent(from) >= BIG_PATHS.length);
      },
      async (page, control) => {
        const sizes = new Set(texts.map((text) => html(text).length));
        startLoads(page);
        await poll('a first new body committed', async () =>
          (await askBackground(control, 'getStoreSummary', { settle: false })).entries.some((entry) => sizes.has(entry.size)),
        );
      },
    ];

    let round = 0;
    for (const moment of moments) {
      firefox = await launchFirefox({ profileDir });
      const { page, control } = await startControl(firefox, site);
      // Whatever the last kill cut off: no entry without its body, no body without its entry, every If-Block its body's.
      await expectSoundStore(control);
      // A new version per round (a different size, so a committed write shows in the summary).
      texts = base.map((text) => edited(text, round + 1, 100 + round) + 'x'.repeat(round + 1));
      BIG_PATHS.forEach((path, i) => site.write(path, html(texts[i])));
      await moment(page, control);
      await killFirefox();
      round++;
    }

    firefox = await launchFirefox({ profileDir });
    const { page, control } = await startControl(firefox, site);
    const check = await expectSoundStore(control);
    expect(check.entries.length).toBeLessThanOrEqual(BIG_PATHS.length);
    // The last version is still being served: each page comes exact, from whatever base survived (delta) or in full.
    for (const [i, path] of BIG_PATHS.entries()) await expectPageText(page, `${site.origin}${path}`, texts[i]);
    await expectSoundStore(control);
  }, 120_000);
});
