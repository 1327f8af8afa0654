// "A consistent cache", defined once for the fault tests (issue 8, item 11).
// After any fault, in the extension's real IndexedDB:
//  1. nothing is half-written: every entry has its body and every body its
//     entry (same storedAt, same size), the in-memory index is the disk's,
//     and no write is pending;
//  2. every entry's If-Block is the one computed from its stored body;
//  3. every stored body is a version the server really served, completely,
//     for that URL (the servers record the SHA-256 of what they served:
//     helpers/servers.ts `served`);
//  4. no entry is left for a URL whose last load failed verification (a
//     digest mismatch, a block the base does not have: PROTOCOL.md §5 "dropped
//     if it was the cause"), unless it was written after that load (the
//     refetched body that replaced it).
// 1 and 2 are checked inside the background by the test hook
// `crcsync-test:checkStore` (extension/background/test-hooks.ts), which also
// answers each entry's storedAt and body digest; 3 and 4 are checked here.

import { createHash } from 'node:crypto';
import type { Page } from 'puppeteer-core';
import type { TestStoreCheck } from '../../../extension/background/test-hooks';
import type { ExchangeRecord } from '../../../extension/shared/messages';
import { askBackground, sendTestHook, waitFor } from './firefox';
import type { ServedBodies } from './servers';

/** The cookie store of a normal window (request-context.ts partitionOf). */
const PARTITION = 'firefox-default';

/** Fallback reasons that say the rebuilt body was not the server's: the base did not match what the server hashed. */
const FAILED_VERIFICATION = /^(DELTA_DIGEST_MISMATCH|DELTA_BLOCK_OUT_OF_RANGE)\b/;

export interface ServedSite {
  /** The origin the browser loads from (for a proxy: the proxy's, not the upstream's). */
  origin: string;
  served: ServedBodies;
}

/** The store key of `origin + path` loaded under a page of `topLevelOrigin` (request-context.ts storeKeyFor). */
export function storeKeyOf(origin: string, path: string, topLevelOrigin = origin): string {
  return `${PARTITION} ${topLevelOrigin} ${createHash('sha256').update(`${origin}${path}`).digest('hex')}`;
}

export function checkStore(control: Page): Promise<TestStoreCheck> {
  return sendTestHook<TestStoreCheck>(control, { type: 'crcsync-test:checkStore' }, 'the store check');
}

/** Every way the cache is not consistent (empty: it is), for pages of these sites in tab `tabId`. */
export async function cacheProblems(control: Page, sites: readonly ServedSite[], tabId: number): Promise<string[]> {
  const check = await checkStore(control);
  const summary = await askBackground(control, 'getStoreSummary', { settle: true });
  const problems = [...check.problems];
  if (summary.pendingWrites) problems.push(`${summary.pendingWrites} writes still pending after settle`);
  const known = new Map<string, { url: string; digests: ReadonlySet<string> }>();
  for (const site of sites) {
    for (const [path, digests] of site.served) known.set(storeKeyOf(site.origin, path), { url: `${site.origin}${path}`, digests });
  }
  const exchanges = await askBackground(control, 'getExchanges', { tabId });
  for (const entry of check.entries) {
    const served = known.get(entry.key);
    if (!served) {
      problems.push(`${entry.key}: stored, but no server served its URL completely`);
      continue;
    }
    if (entry.sha256 === null || !served.digests.has(entry.sha256)) {
      problems.push(`${served.url}: the stored body (sha256 ${entry.sha256}) is no version the server served`);
    }
    const last = lastExchange(exchanges, served.url);
    if (last && (last.outcome === 'fell-back' || last.outcome === 'failed') && FAILED_VERIFICATION.test(last.reason ?? '') && entry.storedAt < last.startedAt) {
      problems.push(`${served.url}: still holds the base its last load failed to verify with (${last.reason})`);
    }
  }
  return problems;
}

export async function expectConsistentCache(control: Page, sites: readonly ServedSite[], tabId: number): Promise<void> {
  expect(await cacheProblems(control, sites, tabId)).toEqual([]);
}

function lastExchange(records: readonly ExchangeRecord[], url: string): ExchangeRecord | undefined {
  let last: ExchangeRecord | undefined;
  for (const record of records) if (record.url === url && (!last || record.startedAt >= last.startedAt)) last = record;
  return last;
}

/**
 * The exchange of `url` that started at or after `since` (Date.now() in the
 * test's clock: the same machine's), once the extension has recorded it,
 * i.e. once its body was written or refused: a load's sync point.
 */
export function settledExchange(control: Page, tabId: number, url: string, since: number): Promise<ExchangeRecord> {
  return waitFor(`the exchange of ${url}`, async () =>
    (await askBackground(control, 'getExchanges', { tabId })).find((record) => record.url === url && record.startedAt >= since),
  );
}
