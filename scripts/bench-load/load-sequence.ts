// One measured load of one page in one condition: visit the old version
// (unthrottled; the extension keeps it as its base), switch the server to the
// new version, drop every connection, throttle, visit again and measure.
// Every visit starts from the resting page (about:blank in Firefox; see the
// drivers) in the browser's one bench tab.
// Then check that the load was what it claims to be: for "on" a verified
// delta (the extension's exchange log, the server's access log, the DOM),
// for "off" (and "floor") the br response with the new page. A load that fails a
// check is returned with `excludedBecause` set, never counted silently.

import type { Page } from 'puppeteer-core';
import type { ExchangeRecord } from '../../extension/shared/messages';
import { Browsing, ExtensionControl, checkDom, visit, waitFor } from './browser-driver';
import { BenchPage, CorpusPage, decodePage, publish } from './pages';
import type { LoggedResponse, ReferenceServer } from './reference-server';
import type { Condition, ExchangeCost, LoadSample } from './report';
import { LINK_PROFILES, LinkProfile, ResponseCharge, ThrottleProxy } from './throttle-proxy';

/** Exchange outcomes after which the record will not change. */
const FINAL_OUTCOMES = new Set(['verified', 'fell-back', 'stored', 'passed', 'failed']);
/**
 * Pass reasons by which a server that could make a delta chose the normal
 * response because the delta would not have paid (issue 9, item 4: logged
 * pass=no-gain). Such an "on" load is what a crcsync user gets: counted, and
 * marked. Any other answer without a delta is excluded.
 */
const DECLINED_DELTA_REASONS = new Set(['no-gain']);

function isDeclinedDelta(served: LoggedResponse): served is LoggedResponse & { passReason: string } {
  return served.encoding !== 'crcsync' && served.passReason !== null && DECLINED_DELTA_REASONS.has(served.passReason);
}

/** How long to wait for a record or a log line that should already be there. */
const SETTLE_MS = 15_000;

export interface Site {
  /** The proxy in front of the server that serves this page. */
  proxy: ThrottleProxy;
  server: ReferenceServer;
  /** The static server's root (corpus pages are written there). */
  root: string;
}

export interface LoadPlan {
  page: BenchPage;
  site: Site;
  profile: LinkProfile;
  run: number;
  position: number;
  /** "ideal" and "free" only: what the document is charged as on the link (the proxy's ResponseCharge). */
  charge?: ResponseCharge | null;
  /** The condition the sample is recorded under when it is not the browser's own ("ideal", "free"). */
  recordAs?: Condition;
}

interface PageTexts {
  newText: string;
  oldText: string;
}
const textsCache = new WeakMap<CorpusPage, PageTexts>();

function textsOf(page: CorpusPage): PageTexts {
  let texts = textsCache.get(page);
  if (!texts) {
    texts = { newText: decodePage(page.newBody), oldText: decodePage(page.oldBody) };
    textsCache.set(page, texts);
  }
  return texts;
}

function costOf(record: ExchangeRecord): ExchangeCost {
  const phases = (record as ExchangeRecord & { phases?: unknown }).phases;
  const numeric =
    typeof phases === 'object' && phases !== null
      ? Object.fromEntries(Object.entries(phases).filter((pair): pair is [string, number] => typeof pair[1] === 'number'))
      : null;
  return {
    url: record.url,
    type: record.type,
    outcome: record.outcome,
    durationMs: record.durationMs,
    rebuildMs: record.rebuildMs,
    wireBytes: record.wireBytes,
    fullBytes: record.fullBytes,
    ifBlockHeaderBytes: record.ifBlock ? `If-Block: ${record.ifBlock}\r\n`.length : 0,
    phases: numeric,
  };
}

/** The document's final exchange record of the visit that started at `since` (epoch ms), waited for; and every record of that visit. */
async function documentRecord(control: ExtensionControl, url: string, since: number): Promise<{ document: ExchangeRecord; all: ExchangeRecord[] }> {
  return waitFor(
    `the exchange record of ${url}`,
    async () => {
      // The log forgets a tab when it closes: the tab is asked for while it still shows the page.
      const all = (await control.ask('getExchanges', { tabId: await control.tabIdShowing(url) })).filter((record) => record.startedAt >= since);
      const document = all.filter((record) => record.type === 'main_frame' && record.url === url && FINAL_OUTCOMES.has(record.outcome)).at(-1);
      return document ? { document, all } : undefined;
    },
    SETTLE_MS,
  );
}

async function demoRequestId(tab: Page): Promise<string | null> {
  return tab.evaluate(() => document.querySelector('meta[name="request-id"]')?.getAttribute('content') ?? null);
}

/** Waits until the extension's store has written everything (so no write overlaps the next measured load). */
async function settleStore(browsing: Browsing): Promise<void> {
  if (browsing.control) await browsing.control.ask('getStoreSummary', { settle: true });
}

export async function measureLoad(browsing: Browsing, plan: LoadPlan): Promise<LoadSample> {
  const { page, site, profile } = plan;
  const { proxy, server } = site;
  const url = `${proxy.origin}${page.path}`;
  const problems: string[] = [];

  // 1. The base visit: old version, unthrottled, not measured.
  proxy.setProfile(LINK_PROFILES.none);
  if (page.kind === 'corpus') publish(site.root, page, 'old');
  await visit(browsing.tab, url);
  const baseRequestId = page.kind === 'demo' ? await demoRequestId(browsing.tab) : null;
  await browsing.rest();
  // The extension keeps the base after the body ended; wait for that write (a base not kept shows as a measured load that is no delta).
  await settleStore(browsing);

  // 2. The server switches to the new version; nothing of the base visit's connections survives.
  if (page.kind === 'corpus') publish(site.root, page, 'new');
  proxy.closeConnections();
  proxy.setProfile(profile);
  if (plan.charge) proxy.chargeNext(plan.charge);

  // 3. The measured visit.
  const before = proxy.counters();
  const logMark = server.log.length;
  // The background stamps records with Date.now() on this machine's clock; a few ms of slack for rounding.
  const visitStartedAt = Date.now() - 5;
  const tab = browsing.tab;
  const timing = await visit(tab, url);
  let documentExchange: ExchangeCost | null = null;
  let deltaDeclined: string | null = null;
  let verifiedExchanges: ExchangeCost[] = [];
  let bytes = before;
  let logged = server.log.slice(logMark);
  try {
    // What crossed the link up to the load event; later traffic (a favicon) is not part of the load.
    bytes = proxy.counters();
    // The access-log line of the document is written when its response ends; it comes through a pipe.
    await waitFor(`the server's log line for ${page.path}`, () => (server.log.slice(logMark).some((entry) => entry.url === page.path) ? true : undefined), SETTLE_MS).catch(
      () => undefined,
    );
    logged = server.log.slice(logMark);
    const documentLog = logged.filter((entry) => entry.url === page.path && entry.method === 'GET');

    if (documentLog.length !== 1) problems.push(`server logged ${documentLog.length} responses for the page`);
    const served = documentLog.at(-1);
    if (served && (served.status !== 200 || served.aborted)) problems.push(`server answered ${served.status}${served.aborted ? ' (aborted)' : ''}`);
    if (plan.charge && !proxy.chargeApplied()) problems.push('the document was not charged as planned (no request for it at the proxy)');

    if (browsing.condition === 'on') {
      const { document, all } = await documentRecord(browsing.control!, url, visitStartedAt);
      documentExchange = costOf(document);
      verifiedExchanges = all.filter((record) => record.outcome === 'verified').map(costOf);
      if (served && isDeclinedDelta(served) && document.ifBlock !== null && document.outcome === 'stored' && document.encoding === served.encoding) {
        // The server could have sent a delta and chose the normal response: what a crcsync user gets, so it counts, marked.
        deltaDeclined = served.passReason;
      } else {
        if (served && served.encoding !== 'crcsync') problems.push(`server sent ${served.encoding}${served.passReason ? ` (pass=${served.passReason})` : ''}, not a delta`);
        if (document.outcome !== 'verified' || document.encoding !== 'crcsync') {
          problems.push(`extension: ${document.outcome} (${document.encoding})${document.reason ? `: ${document.reason}` : ''}`);
        } else if (page.kind === 'corpus' && document.fullBytes !== page.newBody.length) {
          problems.push(`extension rebuilt ${document.fullBytes} bytes, the new file has ${page.newBody.length}`);
        }
      }
    } else if (served && served.encoding === 'crcsync') {
      problems.push('server sent a delta to the browser without the extension');
    } else if (served && served.encoding !== 'br') {
      // The baseline is what an HTTPS site sends this browser: br. Anything else means the browser did not offer it here.
      problems.push(`server sent ${served.encoding}, not br (Accept-Encoding without br?)`);
    }

    if (page.kind === 'corpus') {
      const { newText, oldText } = textsOf(page);
      const dom = await checkDom(tab, newText, oldText);
      if (!dom.matchesNew) problems.push(`DOM is not the new file's${dom.matchesOld ? ' (it is the old one)' : ''}: ${dom.firstDifference}`);
    } else {
      const requestId = await demoRequestId(tab);
      if (requestId === null || requestId === baseRequestId) problems.push(`demo page is not a new rendering (request-id ${requestId})`);
    }
    // The tab's exchange log only grows with a reused tab: start the next visit with an empty one.
    if (browsing.control) await browsing.control.ask('clearExchanges', { tabId: await browsing.control.tabIdShowing(url) });
  } finally {
    await browsing.rest();
  }
  proxy.setProfile(LINK_PROFILES.none);
  // The verified body becomes the next base: let that write finish outside the next measured load.
  await settleStore(browsing);

  const documentLog = logged.filter((entry) => entry.url === page.path && entry.method === 'GET').at(-1);
  return {
    page: page.name,
    // The ideal and free loads are the plain browser's, with the document charged otherwise.
    condition: plan.recordAs ?? browsing.condition,
    run: plan.run,
    position: plan.position,
    responseStart: timing.responseStart,
    domInteractive: timing.domInteractive,
    loadEventEnd: timing.loadEventEnd,
    bytesDown: bytes.down - before.down,
    bytesUp: bytes.up - before.up,
    connections: bytes.connections - before.connections,
    documentEncoding: documentLog?.encoding ?? null,
    documentSentBytes: documentLog?.sentBytes ?? null,
    documentFullBytes: documentLog?.fullBytes ?? null,
    requests: logged.length,
    excludedBecause: problems.length ? problems.join('; ') : null,
    deltaDeclined,
    documentExchange,
    verifiedExchanges,
    ...(plan.charge ? { idealCharge: { bodyCharge: plan.charge.bodyCharge, extraUpBytes: plan.charge.extraUpBytes } } : {}),
  };
}
