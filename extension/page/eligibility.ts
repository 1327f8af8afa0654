// Which of the page's own fetch()/XHR requests the MAIN-world wrapper sends
// through the relay (issue 10 item 6). Pure, so it is unit-tested; the
// wrapper calls it with what it read off the Request or the XHR.
//
// Everything not admitted here goes to the browser's own fetch/XHR with the
// page's arguments, untouched. Admitted is only what the relay can make with
// the same effect as the page's own request:
// - GET: §6 (If-Block only on GET); a GET has no body to carry over either.
// - the document's own origin, http(s): a content script's fetch runs with the
//   page's origin, cookies and CORS; a same-origin request needs no CORS
//   decision the relay could get wrong (and crcsync offers nothing else, §6).
// - mode same-origin or cors (a same-origin request behaves the same in both);
//   'no-cors' and 'navigate' stay the browser's.
// - cache 'default', 'no-cache', 'reload' and 'no-store'. 'force-cache' and
//   'only-if-cached' ask for the browser's HTTP cache, which the relay's
//   If-Block request bypasses: they stay the browser's. 'no-store' goes
//   through (polling JSON with no-store is the case deltas are for) but its
//   body never becomes a base: the page said not to store it.
// - no If-Block (a page that speaks crcsync itself answers its own, §6) and no
//   Range (a partial answer is never a delta).
// - an XHR: asynchronous only (a sync XHR cannot wait for a message), and
//   responseType 'document' stays the browser's (its parser, its charset rules).
// - no integrity metadata (the relay's fetch would not check it), no
//   keepalive (it must outlive the page; a relay does not).
// - the document's own referrer and policy (fetch's defaults): the relay's
//   fetch sends the Referer the document's policy gives; a page that asked
//   for another referrer or policy (say no-referrer) keeps its own request,
//   so crcsync never sends more of the page's URL than the page chose to.

import type { RelayCacheMode, RelayCredentials } from './page-messages';

export interface PageRequestFacts {
  method: string;
  /** The request URL, absolute. */
  url: string;
  /** The document's URL (location.href). */
  documentUrl: string;
  mode: string;
  cache: string;
  credentials: string;
  /** Header names the page set (any case). */
  headerNames: readonly string[];
  integrity: string;
  keepalive: boolean;
  /** fetch only: Request.referrer ('about:client': the document, the default) and Request.referrerPolicy ('' : the document's). */
  referrer?: string;
  referrerPolicy?: string;
  /** XHR only: open(..., async=false). */
  synchronous?: boolean;
  /** XHR only. */
  responseType?: string;
}

export type Eligibility =
  | { eligible: true; cache: RelayCacheMode; credentials: RelayCredentials }
  | { eligible: false; why: IneligibleReason };

export type IneligibleReason =
  | 'method'
  | 'cross-origin'
  | 'scheme'
  | 'mode'
  | 'cache'
  | 'credentials'
  | 'if-block'
  | 'range'
  | 'integrity'
  | 'keepalive'
  | 'referrer'
  | 'synchronous'
  | 'response-type';

const RELAYED_CACHE_MODES: ReadonlySet<string> = new Set(['default', 'no-cache', 'reload', 'no-store']);
const RELAYED_MODES: ReadonlySet<string> = new Set(['cors', 'same-origin']);
const CREDENTIAL_MODES: ReadonlySet<string> = new Set(['omit', 'same-origin', 'include']);
const RELAYED_RESPONSE_TYPES: ReadonlySet<string> = new Set(['', 'text', 'json', 'arraybuffer', 'blob']);

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

export function pageRequestEligibility(facts: PageRequestFacts): Eligibility {
  const refuse = (why: IneligibleReason): Eligibility => ({ eligible: false, why });
  if (facts.method.toUpperCase() !== 'GET') return refuse('method');
  const target = parse(facts.url);
  const document = parse(facts.documentUrl);
  if (!target || !document || (target.protocol !== 'https:' && target.protocol !== 'http:')) return refuse('scheme');
  if (target.origin !== document.origin || target.username || target.password) return refuse('cross-origin');
  if (!RELAYED_MODES.has(facts.mode)) return refuse('mode');
  if (!RELAYED_CACHE_MODES.has(facts.cache)) return refuse('cache');
  if (!CREDENTIAL_MODES.has(facts.credentials)) return refuse('credentials');
  const names = facts.headerNames.map((name) => name.toLowerCase());
  if (names.includes('if-block')) return refuse('if-block');
  if (names.includes('range')) return refuse('range');
  if (facts.integrity !== '') return refuse('integrity');
  if (facts.keepalive) return refuse('keepalive');
  if ((facts.referrer !== undefined && facts.referrer !== 'about:client') || (facts.referrerPolicy !== undefined && facts.referrerPolicy !== '')) return refuse('referrer');
  if (facts.synchronous) return refuse('synchronous');
  if (facts.responseType !== undefined && !RELAYED_RESPONSE_TYPES.has(facts.responseType)) return refuse('response-type');
  return { eligible: true, cache: facts.cache as RelayCacheMode, credentials: facts.credentials as RelayCredentials };
}
