// The extension x=1 in headless Firefox ESR (docs/extensions.md §3): the
// extension offers it (`If-Block: ...; x=1`), and a navigation answered with
// an extension body shows its verified first part while the server still
// holds the rest back; after the rest the document is exactly the new
// version. A body that fails after a released checkpoint ends with the
// correct page: the rest of the refetch when it starts with what the page
// holds, else the navigation is reloaded without If-Block. Never a mix of
// two versions. The peer is helpers/x1-server.ts (the reference encoder).

import type { Page } from 'puppeteer-core';
import type { ExchangeRecord } from '../../extension/shared/messages';
import { EXT_OFFER } from '../../src/protocol/ext-wire';
import { seededRandom } from '../helpers/random';
import type { HoldRecord } from '../../extension/background/if-block-holds';
import { expectConsistentCache, storeKeyOf } from './helpers/cache-check';
import { LaunchedFirefox, WAIT_MS, askBackground, launchFirefox, openExtensionPage, sendTestHook, tabIdOf, waitFor } from './helpers/firefox';
import { X1Answer, X1Server, startX1Server } from './helpers/x1-server';

let server: X1Server;
let firefox: LaunchedFirefox;
let page: Page;
let control: Page;
let tabId: number;

beforeAll(async () => {
  server = await startX1Server();
  firefox = await launchFirefox();
  page = await firefox.browser.newPage();
  server.publish('/start.html', document(1).html);
  await page.goto(`${server.origin}/start.html`, { waitUntil: 'load', timeout: WAIT_MS });
  control = await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(server.origin)}`);
  tabId = await tabIdOf(control, server.origin);
}, 60_000);

afterAll(async () => {
  await firefox?.close();
  await server?.close();
});

function words(seed: number, size: number): string {
  const random = seededRandom(seed);
  const vocabulary = ['news', 'of', 'the', 'day', 'verified', 'prefix', 'crcsync', 'page', 'stream', 'first', 'part', '\n'];
  let out = '';
  while (out.length < size) out += `${vocabulary[Math.floor(random() * vocabulary.length)]} `;
  return out.slice(0, size);
}

interface Version {
  html: string;
  /** document.body.textContent of the whole page. */
  text: string;
  headline: string;
}

/**
 * About 42 KB of HTML: a headline and a first paragraph that change with
 * every version (the literal the body starts with), 20 KB kept, a changed
 * passage, 16 KB kept, and an end marker. The first checkpoint falls right
 * after the first part (docs/extensions.md §4.1).
 */
function document(version: number, headline = `headline of version ${version}`): Version {
  const parts: [string, string, string][] = [
    ['h1', 'headline', headline],
    ['pre', 'early', words(100 + version, 1500)],
    ['pre', 'middle', words(1, 20_000)],
    ['pre', 'changed', words(200 + version, 2000)],
    ['pre', 'tail', words(2, 16_000)],
    ['p', 'end', `end of version ${version}`],
  ];
  const body = parts.map(([tag, id, text]) => `<${tag} id="${id}">${text}</${tag}>`).join('');
  return {
    html: `<!doctype html><html><head><meta charset="utf-8"><title>x=1 v${version}</title></head><body>${body}</body></html>`,
    text: parts.map(([, , text]) => text).join(''),
    headline,
  };
}

/** What the tab's document holds now; undefined while it cannot be read (between documents). */
interface Shown {
  headline: string | null;
  text: string;
  ended: boolean;
  readyState: string;
  url: string;
}

function shown(): Promise<Shown | undefined> {
  return page
    .evaluate(() => ({
      headline: globalThis.document.getElementById('headline')?.textContent ?? null,
      text: globalThis.document.body?.textContent ?? '',
      ended: globalThis.document.getElementById('end') !== null,
      readyState: globalThis.document.readyState,
      url: location.href,
    }))
    .catch(() => undefined);
}

/** Stores version 1 of `path` as the base (a first visit), and makes version 2 current. */
async function visitFirstVersion(path: string): Promise<void> {
  const before = (await askBackground(control, 'getStoreSummary', { settle: true })).entries.length;
  server.publish(path, document(1).html);
  await page.goto(`${server.origin}${path}`, { waitUntil: 'load', timeout: WAIT_MS });
  await waitFor('the first version stored', async () =>
    (await askBackground(control, 'getStoreSummary', { settle: true })).entries.length > before ? true : undefined,
  );
  server.publish(path, document(2).html);
}

/** Starts a navigation to `path` (not awaited: the server may hold the answer) and waits for its verified first part in the DOM. */
async function navigateUntilPrefixShown(path: string, expected: Version): Promise<{ navigation: Promise<unknown>; prefix: Shown }> {
  const navigation = page.goto(`${server.origin}${path}`, { waitUntil: 'load', timeout: WAIT_MS * 2 }).catch((error: unknown) => error);
  const prefix = await waitFor('the verified first part in the DOM, the rest held back', async () => {
    const now = await shown();
    return now && now.url === `${server.origin}${path}` && now.headline === expected.headline && !now.ended ? now : undefined;
  });
  return { navigation, prefix };
}

function answersFor(path: string, from: number): X1Answer[] {
  return server.answers.slice(from).filter((answer) => answer.path === path);
}

function exchangeOf(path: string, since: number, outcome: ExchangeRecord['outcome']): Promise<ExchangeRecord> {
  return waitFor(`the ${outcome} exchange of ${path}`, async () =>
    (await askBackground(control, 'getExchanges', { tabId })).find(
      (record) => record.url === `${server.origin}${path}` && record.startedAt >= since && record.outcome === outcome,
    ),
  );
}

test('an x=1 body: the page shows the verified first part while the rest is held back, then exactly the new version', async () => {
  const path = '/progressive.html';
  await visitFirstVersion(path);
  const v2 = document(2);
  const from = server.answers.length;
  const since = Date.now();
  server.next.hold = true;

  const { navigation, prefix } = await navigateUntilPrefixShown(path, v2);
  // The server still holds everything after the first checkpoint: what the page shows came before it, verified.
  expect(server.heldCount).toBe(1);
  expect(prefix.readyState).toBe('loading');
  expect(v2.text.startsWith(prefix.text)).toBe(true);
  expect(prefix.text.length).toBeGreaterThan(v2.headline.length + 1500); // the headline and the whole first paragraph
  const [answer] = answersFor(path, from);
  expect(answer).toMatchObject({ kind: 'x1', held: true });
  expect(answer.ifBlock!.endsWith(EXT_OFFER)).toBe(true);

  server.release();
  await navigation;
  const final = await waitFor('the whole new version', async () => {
    const now = await shown();
    return now?.readyState === 'complete' ? now : undefined;
  });
  expect(final.text).toBe(v2.text);
  expect(answersFor(path, from).map((seen) => seen.kind)).toEqual(['x1']);

  const record = await exchangeOf(path, since, 'verified');
  expect(record.ifBlock).toBe(answer.ifBlock);
  expect(record.extensionBody).toBe(true);
  expect(record.releasedEarlyBytes).toBeGreaterThanOrEqual(answer.firstCheckpoint!.bodyEnd);
  expect(record.fullBytes).toBe(Buffer.byteLength(v2.html));
  // The first bytes reached the page long before the whole body: the server held the rest until after the prefix showed.
  expect(record.phases!.firstReleaseMs).toBeLessThan(record.phases!.deliveredMs);

  // The whole verified body is the next base: the next visit is a delta against it, and the store is consistent.
  server.publish(path, document(3).html);
  const third = server.answers.length;
  await page.goto(`${server.origin}${path}`, { waitUntil: 'load', timeout: WAIT_MS });
  expect((await shown())!.text).toBe(document(3).text);
  expect(answersFor(path, third).map((seen) => seen.kind)).toEqual(['x1']);
  await exchangeOf(path, Date.now() - 60_000, 'verified');
  await expectConsistentCache(control, [{ origin: server.origin, served: server.served }], tabId);
});

test('a wrong digest after a released checkpoint, and a refetch that starts with the prefix: the page gets exactly the refetched body', async () => {
  const path = '/continued.html';
  await visitFirstVersion(path);
  const v2 = document(2);
  const from = server.answers.length;
  const since = Date.now();
  server.next.hold = true;
  server.next.damage = true;

  const { navigation, prefix } = await navigateUntilPrefixShown(path, v2);
  expect(v2.text.startsWith(prefix.text)).toBe(true);
  server.release();
  await navigation;
  const record = await exchangeOf(path, since, 'fell-back');
  const final = await waitFor('the page complete', async () => {
    const now = await shown();
    return now?.readyState === 'complete' ? now : undefined;
  });
  expect(final.text).toBe(v2.text);
  // The damaged x=1 answer, then the background's refetch; no reload.
  expect(answersFor(path, from).map((seen) => [seen.kind, seen.damaged, seen.ifBlock === undefined])).toEqual([
    ['x1', true, false],
    ['full', false, true],
  ]);
  expect(record).toMatchObject({ reason: 'DELTA_DIGEST_MISMATCH', extensionBody: true, fullBytes: Buffer.byteLength(v2.html) });
  expect(record.releasedEarlyBytes).toBeGreaterThanOrEqual(answersFor(path, from)[0].firstCheckpoint!.bodyEnd);
  // The refetched body replaced the base that failed to verify.
  await expectConsistentCache(control, [{ origin: server.origin, served: server.served }], tabId);
});

test('a wrong digest after a released checkpoint, and a refetch that differs: the navigation is reloaded without If-Block, never a mix', async () => {
  const path = '/differs.html';
  await visitFirstVersion(path);
  const v2 = document(2);
  const v3 = document(3, 'headline of version 3, published while version 2 was on its way');
  const from = server.answers.length;
  const since = Date.now();
  server.next.hold = true;
  server.next.damage = true;

  const { navigation, prefix } = await navigateUntilPrefixShown(path, v2);
  server.publish(path, v3.html); // the refetch and the reload get version 3: it differs inside the released prefix
  const seen: string[] = [prefix.text];
  server.release();
  await navigation;
  const final = await waitFor('the reloaded page showing version 3', async () => {
    const now = await shown();
    if (now) seen.push(now.text);
    return now?.readyState === 'complete' && now.ended && now.headline === v3.headline ? now : undefined;
  });
  expect(final.text).toBe(v3.text);
  // Whatever the tab showed on the way was part of one version: version 2's verified prefix, or version 3.
  for (const text of seen) expect(v2.text.startsWith(text) || v3.text.startsWith(text)).toBe(true);
  expect(seen.some((text) => text.includes(v2.headline) && text.length < v2.text.length)).toBe(true);

  // The damaged x=1 answer, the refetch (no If-Block), then the reload (no If-Block: the URL is held).
  expect(answersFor(path, from).map((answer) => [answer.kind, answer.ifBlock === undefined])).toEqual([
    ['x1', false],
    ['full', true],
    ['full', true],
  ]);
  const failed = await exchangeOf(path, since, 'failed');
  expect(failed).toMatchObject({ reason: 'DELTA_DIGEST_MISMATCH; REFETCH_PREFIX_MISMATCH', extensionBody: true, fullBytes: 0 });
  expect(failed.releasedEarlyBytes).toBeGreaterThan(0);
  const reloaded = await exchangeOf(path, failed.startedAt + 1, 'stored');
  expect(reloaded.ifBlock).toBeNull();
  // The URL is held (if-block-holds.ts): no If-Block for it for a while, even once a base is stored again.
  const holds = await waitFor('the hold on disk', async () => {
    const onDisk = await sendTestHook<HoldRecord[]>(control, { type: 'crcsync-test:readHolds' }, 'the holds');
    return onDisk.find((hold) => hold.key === storeKeyOf(server.origin, path));
  });
  expect(holds.reason).toBe('DELTA_DIGEST_MISMATCH; REFETCH_PREFIX_MISMATCH');
  // Nothing was kept from the failed load; the reload's plain body is the base now.
  await expectConsistentCache(control, [{ origin: server.origin, served: server.served }], tabId);
});
