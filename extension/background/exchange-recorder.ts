// What an exchange leaves behind, whichever browser path carried it: the
// devtools panel's record (exchange-log.ts), the popup's savings
// (savings-book.ts), and its body kept as the next base (body-store.ts).

import { getDefaultEngine } from '../../src/core/embedded-core';
import { HeaderEntry, countsTowardSavings, findHeader } from '../../src/protocol/client-policy';
import { formatIfBlock } from '../../src/protocol/if-block';
import type { ExchangeRecord } from '../shared/messages';
import type { SaveOutcome } from './body-store';
import { PhaseClock, phasesOf } from './exchange-phases';
import { log } from './log';
import { emptySavings } from './savings-book';
import type { Services } from './services';
import type { TabActivity } from './tab-activity';

/** What a request path knows of one exchange that recording reads (and the once-only marks it sets). */
export interface ExchangeState {
  url: string;
  method: string;
  type: string;
  tabId: number;
  startedAt: number;
  partition: string;
  topLevelOrigin: string;
  urlOrigin: string;
  key: string;
  /** A private window (§6): nothing about this request is persisted, not even in the exchange log. */
  incognito: boolean;
  /**
   * A context where no fallback could be done safely (private, a container,
   * third-party, no tab...; shouldOfferIfBlock): no If-Block, and its body never becomes a base.
   */
  privateContext: boolean;
  /** Why no If-Block went out although the request is to an enabled origin (exchange log); null when sent or no base. */
  withheld: string | null;
  /** The browser's load error, once the load failed. */
  loadError: string | null;
  /** The If-Block value sent. */
  ifBlock: string | null;
  /** The baseline of the entry whose If-Block went out (what its last full download cost). */
  baselineBytes: number | null;
  /** The exchange was recorded (at most once per request). */
  recorded: boolean;
  /** The exchange was added to the savings (at most once per request; before the record when the body is kept). */
  savingsCounted: boolean;
}

/** What recordExchange reads of a response (a failed request may have none: status 0). */
export interface ResponseSeen {
  requestId: string;
  statusCode: number;
  responseHeaders?: HeaderEntry[];
}

export type ExchangeResult = Pick<
  ExchangeRecord,
  'outcome' | 'reason' | 'wireBytes' | 'bodyBytes' | 'baselineBytes' | 'fullBytes' | 'rebuildMs' | 'phases' | 'extensionBody' | 'releasedEarlyBytes'
>;

/** Why a body that was to be kept as a base is not (null: it was kept, or keeping it was never tried). */
export function notStoredReason(stored: SaveOutcome | null | undefined): string | null {
  return stored === undefined || stored === null || stored === 'saved' ? null : `not stored: ${stored}`;
}

/** Resolves to what became of the write (never rejects); undefined when nothing was to be written. */
export function saveBody(
  current: Services,
  state: ExchangeState,
  body: Uint8Array,
  baselineBytes: number | null | Promise<number | null>,
  tabActivity: Pick<TabActivity, 'whenQuiet'>,
): Promise<SaveOutcome | null | undefined> {
  if (state.privateContext) return Promise.resolve(undefined);
  // The page has its body already. Hashing it for its next If-Block and writing it wait
  // for the baseline (onCompleted) and then until the tab stops loading (tab-activity.ts),
  // so they do not hold up the listeners of the requests the page makes right after
  // (issue 9). store.save counts the write as pending from now on (settle(), "forget" ordering).
  const entry = Promise.all([baselineBytes, tabActivity.whenQuiet(state.tabId)])
    .then(([baseline]) => {
      const ifBlock = formatIfBlock(body, getDefaultEngine());
      if (ifBlock === null) return null;
      return {
        key: state.key,
        partition: state.partition,
        topLevelOrigin: state.topLevelOrigin,
        urlOrigin: state.urlOrigin,
        ifBlock,
        body,
        privateContext: state.privateContext,
        baselineBytes: baseline,
      };
    });
  return current.store.save(entry).catch((error: unknown): SaveOutcome => {
    log(`store: could not save ${state.key}`, error);
    return 'storage-error';
  });
}

/** The record's `phases` for a verified delta, when every mark is there. */
export function phasesField(clock: PhaseClock): Pick<ExchangeRecord, 'phases'> {
  const phases = phasesOf(clock);
  return phases ? { phases } : {};
}

export function recordExchange(current: Services, state: ExchangeState, details: ResponseSeen, result: ExchangeResult): void {
  if (state.recorded) return;
  state.recorded = true;
  // The channel failed (onErrorOccurred): whatever the filter made of it, the page got a browser error.
  const failed = state.loadError !== null && result.outcome !== 'verified' && result.outcome !== 'fell-back';
  const record: ExchangeRecord = {
    id: `${state.startedAt}-${details.requestId}`,
    tabId: state.tabId,
    url: state.url,
    method: state.method,
    type: state.type,
    status: details.statusCode,
    startedAt: state.startedAt,
    durationMs: Date.now() - state.startedAt,
    ifBlock: state.ifBlock,
    ifBlockWithheld: state.withheld,
    encoding: findHeader(details.responseHeaders, 'Content-Encoding') ?? 'identity',
    ...result,
    ...(failed ? { outcome: 'failed' as const, reason: result.outcome === 'failed' && result.reason ? `${result.reason} (${state.loadError})` : state.loadError } : {}),
  };
  // A private window's exchanges stay in memory for its devtools panel; none is written to IndexedDB (§6).
  current.exchanges.add(record, { persist: !state.incognito });
  countSavings(current, state, record);
}

/**
 * Adds an exchange that carried If-Block to the popup's savings, once. Called
 * as soon as the transfer size is known, before the body is kept as the next
 * base (that write waits until the page has loaded, tab-activity.ts): the
 * popup is right the moment the page is shown.
 */
export function countSavings(current: Services, state: ExchangeState, result: Pick<ExchangeRecord, 'outcome' | 'wireBytes' | 'baselineBytes' | 'fullBytes'>): void {
  if (state.savingsCounted || state.ifBlock === null) return;
  state.savingsCounted = true;
  // The channel failed (onErrorOccurred): whatever the filter made of it, the page got a browser error.
  const outcome = state.loadError !== null && result.outcome !== 'verified' && result.outcome !== 'fell-back' ? 'failed' : result.outcome;
  const change = {
    ...emptySavings(),
    deltas: outcome === 'verified' ? 1 : 0,
    fallbacks: outcome === 'fell-back' || outcome === 'failed' ? 1 : 0,
  };
  const cost = { ifBlockSent: true, wireBytes: result.wireBytes, baselineBytes: result.baselineBytes };
  if (countsTowardSavings(cost) && outcome !== 'failed') {
    change.fullBytes = result.fullBytes;
    change.wireBytes = cost.wireBytes;
    change.baselineBytes = cost.baselineBytes;
  }
  current.savings.record(state.topLevelOrigin, change);
}
