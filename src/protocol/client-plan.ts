// The client's two decisions per request, in one place (issue 10, item 1),
// mirroring the server's planResponse (src/server/response-plan.ts):
// - planOffer: does this request go out with If-Block, and may its body
//   become a base? (PROTOCOL.md §1, §6)
// - planResponse: what to do with the answer: rebuild a delta, refetch in
//   full, capture a plain body as the next base, or let it pass. (§2, §3, §5)
// Pure: a browser adapter gathers the facts (request details, the store's
// entry, a hold) and carries the plan out. Every "why not" is a typed value.

import { CrcsyncErrorCode } from './errors';
import {
  DeltaResponseKind,
  HeaderEntry,
  IfBlockRefusal,
  IfBlockRequest,
  classifyDeltaResponse,
  findHeader,
  forbidsStoring,
  isCacheableResponse,
  rebuiltResponseHeaders,
  shouldOfferIfBlock,
} from './client-policy';
import { offerExtension } from './ext-offer';

/**
 * Why a delta exchange fell back to a full fetch (§5): a decoder error code,
 * or what the adapter saw happen around the decoder.
 */
export type FallbackReason =
  | CrcsyncErrorCode
  | 'DELTA_STALLED' // no delta byte for the stall timeout
  | 'BASE_MISSING' // the base the If-Block was computed from is gone
  | 'STORAGE_ERROR' // the base could not be read
  | 'DECODER_EXCEPTION' // the decoder threw something that is not a CrcsyncError
  | 'FILTER_ERROR' // the browser's body filter failed
  | `CONTENT_ENCODING ${string}`; // crcsync among other codings, or on a status other than 200: nobody can decode it

/** Requests that are refused If-Block but whose body may still become a base. */
const KEEPS_BODY_DESPITE_REFUSAL: ReadonlySet<IfBlockRefusal> = new Set(['page-if-block', 'range']);

export interface OfferFacts {
  request: IfBlockRequest;
  /** This client can rewrite the response body (Firefox's StreamFilter); without that no If-Block may go out (§6). */
  canDecode: boolean;
  /** The v=1 If-Block stored with the base for this URL; null when there is no base. */
  storedIfBlock: string | null;
  /** Why the URL is held after a failed load with If-Block (if-block-holds); null when it is not. */
  heldBecause: string | null;
  /** Offer the negotiated extension (docs/extensions.md): the client decodes x=1 bodies. */
  offerExtension: boolean;
}

/** Why no If-Block went out although the request may carry one in general. */
export type OfferSkip = IfBlockRefusal | 'no-decoder' | 'no-base' | 'held';

export type OfferPlan =
  | { send: true; ifBlock: string; keepsBody: true }
  | {
      send: false;
      reason: OfferSkip;
      /** Whether the body may become the next base (false in every context where a fallback could not be done safely). */
      keepsBody: boolean;
      /** For 'held': why the URL is held. */
      detail?: string;
    };

export function planOffer(facts: OfferFacts): OfferPlan {
  const decision = shouldOfferIfBlock(facts.request);
  if (!decision.offer) return { send: false, reason: decision.reason, keepsBody: KEEPS_BODY_DESPITE_REFUSAL.has(decision.reason) };
  if (!facts.canDecode) return { send: false, reason: 'no-decoder', keepsBody: true };
  if (facts.storedIfBlock === null) return { send: false, reason: 'no-base', keepsBody: true };
  if (facts.heldBecause !== null) return { send: false, reason: 'held', keepsBody: true, detail: facts.heldBecause };
  return { send: true, ifBlock: facts.offerExtension ? offerExtension(facts.storedIfBlock) : facts.storedIfBlock, keepsBody: true };
}

export interface ResponseFacts {
  method: string;
  url: string;
  status: number;
  responseHeaders: readonly HeaderEntry[] | undefined;
  /** The request went out with If-Block and its base is at hand. */
  offered: boolean;
  /** The request's body may become a base (OfferPlan.keepsBody). */
  keepsBody: boolean;
  /** The client can rewrite the response body. */
  canDecode: boolean;
}

export type ResponsePlan =
  /** A delta: rebuild it; the page gets these headers; a verified body is kept when `keep`. */
  | { action: 'rebuild'; headers: HeaderEntry[]; keep: boolean }
  /** An answer to If-Block nobody can decode: refetch in full at once (§3), the page gets these headers. */
  | { action: 'refetch'; reason: FallbackReason; headers: HeaderEntry[]; keep: boolean }
  /**
   * A plain body to pass through: keep a copy as the next base when `keep`;
   * `watch`: an answer to If-Block with a content-coding, checked to decode
   * to something (undecodedAnswerReason) even when it is not kept.
   */
  | { action: 'capture'; keep: boolean; watch: boolean }
  /** Leave the response alone; `dropStored`: it said no-store, so the old base of the URL goes. */
  | { action: 'pass'; why: PassReason; dropStored: boolean }
  /** Not an exchange of ours at all (a redirect, a crcsync body nobody here asked for). */
  | { action: 'ignore' };

export type PassReason = 'not kept' | 'status' | 'not cacheable';

export function planResponse(facts: ResponseFacts): ResponsePlan {
  // The redirect's target is a request of its own.
  if (facts.status >= 300 && facts.status < 400) return { action: 'ignore' };
  const kind: DeltaResponseKind = classifyDeltaResponse(facts.status, facts.responseHeaders);
  const keep = isCacheableResponse({
    method: facts.method,
    url: facts.url,
    status: facts.status,
    privateContext: !facts.keepsBody,
    responseHeaders: facts.responseHeaders,
  });
  if (facts.offered && kind !== 'plain') {
    const headers = rebuiltResponseHeaders(facts.responseHeaders ?? []);
    if (kind === 'delta') return { action: 'rebuild', headers, keep };
    return { action: 'refetch', reason: `CONTENT_ENCODING ${findHeader(facts.responseHeaders, 'Content-Encoding') ?? ''}`, headers, keep };
  }
  // A crcsync body nobody here asked for: not ours to touch.
  if (kind !== 'plain') return { action: 'ignore' };
  const watch = facts.offered && facts.status === 200 && findHeader(facts.responseHeaders, 'Content-Encoding') !== undefined;
  if ((keep || watch) && facts.canDecode) return { action: 'capture', keep, watch };
  return {
    action: 'pass',
    why: !facts.keepsBody ? 'not kept' : facts.status !== 200 ? 'status' : 'not cacheable',
    dropStored: forbidsStoring(facts.responseHeaders),
  };
}
