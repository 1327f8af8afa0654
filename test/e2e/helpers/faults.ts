// The fault tests (issue 8, item 11: faults*.test.ts): one Firefox per file
// with a tab and the extension's control page (startFaultBench), text whose
// versions differ in one line, and case 1, shared by faults-upstream.test.ts
// and faults-upstream-reset.test.ts: a faulty upstream (helpers/servers.ts
// startFaultyUpstream) behind `crcsync serve --upstream` (startCrcsyncProxy),
// and the three visits of one fault:
//   1. a plain 200, kept as the base;
//   2. If-Block goes out while the upstream misbehaves on every request for
//      the URL (the extension's refetch included): the page's fetch() sees the
//      version the upstream holds, or, where the fault makes the load fail as
//      it would without crcsync, a browser error or nothing; never wrong or
//      unverified bytes;
//   3. the fault gone: the page is the new version, whatever visit 2 left.
// After each visit the cache is consistent (helpers/cache-check.ts).

import type { Page } from 'puppeteer-core';
import { seededRandom } from '../../helpers/random';
import { ServedSite, expectConsistentCache, settledExchange } from './cache-check';
import { LaunchedFirefox, PageFetch, WAIT_MS, fetchInPage, launchFirefox, openExtensionPage, tabIdOf, waitFor } from './firefox';
import { CrcsyncProxy, FaultyUpstream, LONG_FAULT_EXTRA_BYTES, UpstreamFault, startFaultyUpstream } from './servers';

export const START_PAGE = '/start.html';

/** About 24 KB of text (one read for the proxy: see the 'long' fault); version `n` differs in one line (by default in the middle). */
export function faultText(label: string, version: number, changedLine = 150): string {
  const random = seededRandom([...label].reduce((seed, char) => seed * 31 + char.charCodeAt(0), 17) >>> 0);
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    let words = '';
    for (let w = 0; w < 10; w++) words += `${Math.floor(random() * 1e9).toString(36)} `;
    lines.push(i === changedLine ? `${label}: this line is version ${version}` : `${label} line ${i}: ${words}`);
  }
  return `${lines.join('\n')}\n`;
}

/** What a fetch() of `content` resolves to. */
export const fetched = (content: string): PageFetch => ({ kind: 'response', status: 200, text: content });

/** A browser error (the fetch rejected), or nothing (an empty body under the 200 already given): never other bytes. */
export function expectErrorOrNothing(result: PageFetch): void {
  if (result.kind === 'error') expect(result.message).toMatch(/NetworkError|TypeError/);
  else expect({ status: result.status, text: result.text }).toEqual({ status: 200, text: '' });
}

/** One Firefox with the test build, a tab, and the sites whose bodies the cache may hold. */
export interface FaultBench {
  firefox: LaunchedFirefox;
  page: Page;
  /** The extension page that talks to the background (opened by the first startAt). */
  readonly control: Page;
  /** Every origin the browser loaded from in this file, with what its server served. */
  sites: ServedSite[];
  /** Shows `origin`'s start page (START_PAGE: its server must answer it) in the test tab; answers the tab's id. */
  startAt(origin: string): Promise<number>;
  close(): Promise<void>;
}

export async function startFaultBench(): Promise<FaultBench> {
  const firefox = await launchFirefox();
  const page = await firefox.browser.newPage();
  let control: Page | undefined;
  return {
    firefox,
    page,
    get control(): Page {
      if (!control) throw new Error('no control page before the first startAt');
      return control;
    },
    sites: [],
    async startAt(origin) {
      await page.goto(`${origin}${START_PAGE}`, { waitUntil: 'load', timeout: WAIT_MS });
      control ??= await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(origin)}`);
      return tabIdOf(control, origin);
    },
    close: () => firefox.close(),
  };
}

/** The faulty upstream with its start page (under 200 bytes: never a base). */
export async function startUpstreamWithStartPage(): Promise<FaultyUpstream> {
  const upstream = await startFaultyUpstream();
  upstream.publish(START_PAGE, '<!doctype html><p>start</p>');
  return upstream;
}

/** What the second visit (If-Block, fault on) must show, and what else must hold of it. */
interface FaultCase {
  /** The upstream has a new version for the fault visit (a 304 says it has not). */
  changes: boolean;
  second(result: PageFetch, visit: FaultVisit): void | Promise<void>;
}

interface FaultVisit {
  path: string;
  /** The version of the first visit, and the one the upstream holds during the second. */
  before: string;
  now: string;
  proxy: CrcsyncProxy;
  upstream: FaultyUpstream;
  /** The proxy's access-log line of its delta for the path (the answer to If-Block), once every response to the path is logged. */
  loggedDelta(): Promise<{ status: number; encoding: string; aborted?: boolean; fullBytes: number } | undefined>;
}

/** Stall, reset, close before Content-Length: the load fails as it would without crcsync; the proxy says it cut the delta short. */
async function failsOutright(result: PageFetch, visit: FaultVisit): Promise<void> {
  // Issue 9: a body that fails while the proxy still reads it to choose between the delta and the
  // plain response gets the 502 a request without If-Block gets, before any header went out.
  if (result.kind === 'response' && result.status === 502) {
    expect(result.text).toBe('Bad Gateway: the origin body ended early\n');
    return;
  }
  expectErrorOrNothing(result);
  expect(await visit.loggedDelta()).toMatchObject({ status: 200, encoding: 'crcsync', aborted: true });
}

export const UPSTREAM_FAULT_CASES: Record<UpstreamFault, FaultCase> = {
  stall: {
    changes: true,
    async second(result, visit) {
      await failsOutright(result, visit);
      // The server cleans up: every stalled upstream response (the delta's, the refetch's) is closed,
      // by its upstream timeout or because its client went away.
      const stalled = visit.upstream.responses.filter((response) => response.path === visit.path && response.fault === 'stall');
      expect(stalled.length).toBeGreaterThanOrEqual(1);
      await waitFor('every stalled upstream response closed by the proxy', () => (stalled.every((response) => response.closedByPeer) ? true : undefined));
    },
  },
  reset: { changes: true, second: failsOutright },
  short: { changes: true, second: failsOutright },
  long: {
    changes: true,
    // By the framing the body is the first Content-Length bytes; a parser that meets the extra bytes
    // in the same read refuses the response (Node: HPE_INVALID_CONSTANT; the proxy answers 502).
    // Either way, never the extra bytes.
    second(result, { now }) {
      if (result.kind === 'response' && result.status === 502) expect(result.text).toMatch(/^upstream .*Parse Error/);
      else expect(result).toEqual(fetched(now.slice(0, now.length - LONG_FAULT_EXTRA_BYTES)));
    },
  },
  gzip: {
    changes: true,
    async second(result, visit) {
      expect(result).toEqual(fetched(visit.now));
      // The proxy decoded the upstream's gzip and made a delta of the identity body.
      expect(await visit.loggedDelta()).toMatchObject({ status: 200, encoding: 'crcsync', aborted: false, fullBytes: visit.now.length });
    },
  },
  'not-modified': {
    changes: false,
    second(result, { before, path, upstream }) {
      // Firefox revalidated its copy (If-None-Match), the upstream said 304: the page shows that copy, which is current.
      expect(result).toEqual(fetched(before));
      expect(upstream.responses.filter((response) => response.path === path).map((response) => response.status)).toContain(304);
    },
  },
  'close-cut': {
    changes: true,
    // Cut by a FIN, a close-delimited body is complete by HTTP/1.1 framing (RFC 9112 §6.3): nobody can
    // tell, so the page shows exactly the bytes sent, as it would without crcsync.
    second(result, { now }) {
      expect(result).toEqual(fetched(now.slice(0, Math.floor(now.length / 2))));
    },
  },
};

const TEXT = 'text/plain; charset=utf-8';

/** The three visits of one fault (see the top of this file), through `proxy`, in the bench's tab `tabId`. */
export async function visitsUnderFault(bench: FaultBench, upstream: FaultyUpstream, proxy: CrcsyncProxy, tabId: number, fault: UpstreamFault): Promise<void> {
  const { page, control, sites } = bench;
  const spec = UPSTREAM_FAULT_CASES[fault];
  const path = `/fault/${fault}.txt`;
  const url = `${proxy.origin}${path}`;

  // First visit: a plain 200, kept as the base.
  upstream.publish(path, faultText(fault, 1), TEXT);
  let since = Date.now();
  expect(await fetchInPage(page, url)).toEqual(fetched(faultText(fault, 1)));
  expect((await settledExchange(control, tabId, url, since)).outcome).toBe('stored');
  await expectConsistentCache(control, sites, tabId);

  // Second visit, with If-Block, the fault on every request for the URL.
  if (spec.changes) upstream.publish(path, faultText(fault, 2), TEXT);
  upstream.faults.set(path, fault);
  const marks = { requests: proxy.requests.length, responses: proxy.responses.length, upstream: upstream.requests.length };
  since = Date.now();
  const second = await fetchInPage(page, url);
  await settledExchange(control, tabId, url, since);
  const asked = proxy.requests.slice(marks.requests).filter((request) => request.path === path);
  expect(asked[0]?.ifBlock).toMatch(/^v=1; fs=\d+; h=/);
  // A reverse proxy asks its upstream once per request it got (a retry on a stale pooled socket aside,
  // whose first try never reached the upstream): never again once a response has begun.
  expect(upstream.requests.slice(marks.upstream).filter((request) => request.path === path).length).toBe(asked.length);
  await spec.second(second, {
    path,
    before: faultText(fault, 1),
    now: faultText(fault, spec.changes ? 2 : 1),
    proxy,
    upstream,
    async loggedDelta() {
      const requests = proxy.requests.slice(marks.requests).filter((request) => request.path === path).length;
      const logged = await waitFor(`the proxy's log of ${path}`, () => {
        const entries = proxy.responses.slice(marks.responses).filter((entry) => entry.url === path);
        return entries.length >= requests ? entries : undefined;
      });
      return logged.find((entry) => entry.encoding === 'crcsync');
    },
  });
  await expectConsistentCache(control, sites, tabId);

  // Third visit: the fault is gone.
  upstream.faults.delete(path);
  upstream.publish(path, faultText(fault, 3), TEXT);
  since = Date.now();
  expect(await fetchInPage(page, url)).toEqual(fetched(faultText(fault, 3)));
  expect(['stored', 'verified']).toContain((await settledExchange(control, tabId, url, since)).outcome);
  await expectConsistentCache(control, sites, tabId);
}
