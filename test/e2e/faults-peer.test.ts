// Faults on the client's disk and at a peer that does not keep its word
// (issue 8, item 11, cases 4 and 5), in real headless Firefox ESR with the
// test build of the extension. Every load must show the version the server
// holds, and the cache must be consistent after each (helpers/cache-check.ts).
//
// Case 4: a body cached by the extension is corrupted in Firefox's real
// IndexedDB (test hook crcsync-test:corruptBody: a few bytes of the stored
// body flipped in place, its record, storedAt and If-Block untouched, the way
// disk corruption looks), behind the reference server (src/server). The next
// visit's delta fails verification (digest mismatch), the page is still
// right (fallback), the bad entry is replaced by the refetched body, and the
// visit after that is a verified delta again.
//
// Case 5: a peer that changes its answer per request (helpers/servers.ts
// startShiftyPeer): a delta, the plain body, a 304, an older version, a delta
// against the wrong base; and peers that lie about Capability: one that
// advertises crcsync and ignores If-Block, one that sends a delta once and
// then plain bodies labelled crcsync.

import { cacheProblems, checkStore, expectConsistentCache, settledExchange, storeKeyOf } from './helpers/cache-check';
import { fetchInPage, sendTestHook } from './helpers/firefox';
import { FaultBench, START_PAGE, faultText, fetched, startFaultBench } from './helpers/faults';
import { PeerAnswer, ShiftyPeer, SiteServer, startShiftyPeer, startSiteServer } from './helpers/servers';
import type { TestCorruption } from '../../extension/background/test-hooks';
import type { ExchangeOutcome } from '../../extension/shared/messages';

let bench: FaultBench;

beforeAll(async () => {
  bench = await startFaultBench();
}, 60_000);

afterAll(async () => {
  await bench?.close();
});

describe('case 4: a cached body corrupted on disk', () => {
  let site: SiteServer;
  let tabId: number;

  beforeAll(async () => {
    site = await startSiteServer();
    site.write(START_PAGE, '<!doctype html><p>start</p>');
    bench.sites.push({ origin: site.origin, served: site.served });
    tabId = await bench.startAt(site.origin);
  }, 60_000);

  afterAll(async () => {
    await site?.close();
  });

  test('the next delta fails its digest, the page is right, the entry is replaced, and the next visit is a delta again', async () => {
    const { page, control, sites } = bench;
    const path = '/disk/data.txt';
    const url = `${site.origin}${path}`;
    const key = storeKeyOf(site.origin, path);
    // Versions differ near the top; the corrupted bytes (the middle) sit in blocks every delta copies.
    const version = (n: number) => faultText('disk', n, 5);
    const requestsTo = (from: number) => site.requests.slice(from).filter((request) => request.path === path).map((request) => request.ifBlock !== undefined);

    site.write(path.slice(1), version(1));
    let since = Date.now();
    expect(await fetchInPage(page, url)).toEqual(fetched(version(1)));
    expect((await settledExchange(control, tabId, url, since)).outcome).toBe('stored');
    await expectConsistentCache(control, sites, tabId);

    const corruption = await sendTestHook<TestCorruption>(control, { type: 'crcsync-test:corruptBody', key }, 'the corruption');
    expect(corruption.offsets.length).toBe(3);
    expect(corruption.sha256After).not.toBe(corruption.sha256Before);
    // The consistency check sees it: the stored bytes are no version the server served, and the If-Block is not theirs.
    const problems = await cacheProblems(control, sites, tabId);
    expect(problems).toEqual(
      expect.arrayContaining([`${key}: stored If-Block is not the body's`, `${url}: the stored body (sha256 ${corruption.sha256After}) is no version the server served`]),
    );
    expect(problems.length).toBe(2);

    // Next visit: If-Block of the original bytes, a delta the corrupted base cannot rebuild; the page still gets v2.
    site.write(path.slice(1), version(2));
    let from = site.requests.length;
    const responsesFrom = site.responses.length;
    since = Date.now();
    expect(await fetchInPage(page, url)).toEqual(fetched(version(2)));
    const failed = await settledExchange(control, tabId, url, since);
    expect({ outcome: failed.outcome, reason: failed.reason }).toEqual({ outcome: 'fell-back', reason: 'DELTA_DIGEST_MISMATCH' });
    expect(requestsTo(from)).toEqual([true, false]); // the delta, then the refetch without If-Block
    expect(site.responses.slice(responsesFrom).filter((entry) => entry.url === path).map((entry) => entry.encoding === 'crcsync')).toEqual([true, false]);
    await expectConsistentCache(control, sites, tabId);
    const replaced = (await checkStore(control)).entries.find((entry) => entry.key === key);
    expect(replaced?.storedAt).toBeGreaterThan(corruption.storedAt);

    // The visit after that: a verified delta against the refetched body.
    site.write(path.slice(1), version(3));
    from = site.requests.length;
    since = Date.now();
    expect(await fetchInPage(page, url)).toEqual(fetched(version(3)));
    expect((await settledExchange(control, tabId, url, since)).outcome).toBe('verified');
    expect(requestsTo(from)).toEqual([true]);
    await expectConsistentCache(control, sites, tabId);
  });
});

describe('case 5: a peer that changes its answers, or lies about Capability', () => {
  let peer: ShiftyPeer;
  let tabId: number;

  beforeAll(async () => {
    peer = await startShiftyPeer();
    peer.publish(START_PAGE, '<!doctype html><p>start</p>');
    bench.sites.push({ origin: peer.origin, served: peer.served });
    tabId = await bench.startAt(peer.origin);
  }, 60_000);

  afterAll(async () => {
    await peer?.close();
  });

  /** One load: the peer holds `version` and answers `answer` to If-Block; the page must show `shows` (default: `version`). */
  interface Load {
    version: number;
    answer: PeerAnswer | 'first';
    outcome: ExchangeOutcome | ExchangeOutcome[];
    reason?: RegExp;
    /** What the page must show when not the version the peer holds now (a 304 keeps the browser's copy, which is current). */
    shows?: number;
  }

  /** Loads `path` once per step, checks the page, what the peer answered, the extension's outcome, and the cache after each. */
  async function loadInTurn(path: string, label: string, loads: Load[]): Promise<void> {
    const { page, control, sites } = bench;
    const url = `${peer.origin}${path}`;
    peer.answers.length = 0; // nothing left over from a test that failed half way
    for (const [step, load] of loads.entries()) {
      peer.publish(path, faultText(label, load.version));
      if (load.answer !== 'first') peer.answers.push(load.answer);
      const answeredFrom = peer.answered.length;
      const since = Date.now();
      const result = await fetchInPage(page, url);
      const record = await settledExchange(control, tabId, url, since);
      const answered = peer.answered.slice(answeredFrom).filter((entry) => entry.path === path);
      const context = `load ${step} (${load.answer}, v${load.version})`;
      expect({ context, result }).toEqual({ context, result: fetched(faultText(label, load.shows ?? load.version)) });
      // The peer answered as scripted: If-Block from the second load on, and the answer asked for.
      expect({ context, answered: answered[0] && { ifBlock: answered[0].ifBlock, answer: answered[0].answer } }).toEqual({
        context,
        answered: load.answer === 'first' ? { ifBlock: false, answer: 'plain' } : { ifBlock: true, answer: load.answer },
      });
      expect({ context, outcome: [load.outcome].flat().includes(record.outcome) ? 'as expected' : record.outcome }).toEqual({ context, outcome: 'as expected' });
      if (load.reason) expect({ context, reason: record.reason }).toEqual({ context, reason: expect.stringMatching(load.reason) });
      await expectConsistentCache(control, sites, tabId);
    }
    expect(peer.answers).toEqual([]);
  }

  /** A 304 is a plain answer Firefox completes from its own copy (webRequest reports that 200, which is kept again). */
  const NOT_MODIFIED_OUTCOMES: ExchangeOutcome[] = ['stored', 'passed'];

  test('per request: a delta, the plain body, a 304, an older version, a delta against the wrong base', async () => {
    await loadInTurn('/shifty/data.txt', 'shifty', [
      { version: 1, answer: 'first', outcome: 'stored' },
      { version: 2, answer: 'delta', outcome: 'verified' },
      { version: 3, answer: 'plain', outcome: 'stored' },
      { version: 3, answer: 'not-modified', outcome: NOT_MODIFIED_OUTCOMES },
      { version: 1, answer: 'delta', outcome: 'verified' }, // a different (older) version: another server behind the balancer
      { version: 4, answer: 'wrong-base', outcome: 'fell-back', reason: /^DELTA_DIGEST_MISMATCH$/ },
      { version: 5, answer: 'delta', outcome: 'verified' },
      // The same answers in another order.
      { version: 6, answer: 'wrong-base', outcome: 'fell-back', reason: /^DELTA_DIGEST_MISMATCH$/ },
      { version: 7, answer: 'plain', outcome: 'stored' },
      { version: 7, answer: 'not-modified', outcome: NOT_MODIFIED_OUTCOMES },
      { version: 2, answer: 'wrong-base', outcome: 'fell-back', reason: /^DELTA_DIGEST_MISMATCH$/ },
      { version: 8, answer: 'delta', outcome: 'verified' },
    ]);
  });

  test('a peer that advertises Capability: crcsync and ignores If-Block', async () => {
    await loadInTurn('/liar/ignores.txt', 'ignores', [
      { version: 1, answer: 'first', outcome: 'stored' },
      { version: 2, answer: 'plain', outcome: 'stored' },
      { version: 3, answer: 'plain', outcome: 'stored' },
      { version: 4, answer: 'plain', outcome: 'stored' },
    ]);
  });

  test('a peer that sends one delta, then plain bodies labelled crcsync', async () => {
    await loadInTurn('/liar/labels.txt', 'labels', [
      { version: 1, answer: 'first', outcome: 'stored' },
      { version: 2, answer: 'delta', outcome: 'verified' },
      { version: 3, answer: 'labelled-plain', outcome: 'fell-back', reason: /^DELTA_[A-Z_]+$/ },
      { version: 4, answer: 'labelled-plain', outcome: 'fell-back', reason: /^DELTA_[A-Z_]+$/ },
      { version: 5, answer: 'labelled-plain', outcome: 'fell-back', reason: /^DELTA_[A-Z_]+$/ },
    ]);
  });
});
