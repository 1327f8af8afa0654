// Decides, for one request and its origin response, what the server sends:
// a crcsync delta, gzip/br, or the origin's bytes as they are; and runs the
// header passes for that choice. No I/O: the handler turns the plan into
// streams. Every pass-through case of PROTOCOL.md §2 ends here. A delta
// plan also carries the plan of the same request without If-Block, which
// the handler sends instead when the delta would not pay (delta-response.ts).

import { IfBlock, PassThroughReason, cacheControlDirectives, decideDeltaEncoding, originContentEncoding } from '../protocol/index';
import {
  CompressionCoding,
  CompressionSettings,
  DECODABLE_CODINGS,
  isCompressibleType,
  acceptedCompressions,
} from './content-coding';
import type { MemoryReservation } from './memory-budget';
import { heldDeltaMemoryBytes } from './delta-or-compression';
import { wholeBodyBytes } from './delta-memory';
import { addCapability, applyCompressionHeaders, applyDecodedHeaders, applyDeltaHeaders } from './header-passes';
import { HeaderMap, headerText } from './headers';

export interface PlanRequest {
  method: string;
  ifBlock: string | string[] | undefined;
  acceptEncoding: string | undefined;
  /** The operator excluded this request's path from delta encoding (delta-exclusions.ts). */
  deltaExcluded?: boolean;
  /**
   * The x=1 extension version the request offered (extension-offer.ts), 0
   * or absent for none: a delta is then answered in that version, and every
   * answer says so in Capability (docs/extensions.md §1.3).
   */
  offeredExtension?: number;
}

export interface PlanOrigin {
  status: number;
  headers: HeaderMap;
  /** See OriginResponse.bodyEndsAtClose. */
  bodyEndsAtClose?: boolean;
}

export interface ResponsePlan {
  status: number;
  headers: HeaderMap;
  /** Upstream coding to undo first (gzip / br), or null. */
  decode: string | null;
  /** Make a delta against this If-Block, or null. */
  delta: IfBlock | null;
  /** For a delta: the extension version of its body (1: an x=1 body, docs/extensions.md), or 0 for a v=1 body. */
  extension: number;
  /** The delta's or the compressor's charge against its memory budget; released when the response ends. */
  reservation: MemoryReservation | null;
  /** Compress with this coding, or null. */
  compress: CompressionCoding | null;
  /** What the access log shows: the Content-Encoding sent, `identity` when none. */
  encoding: string;
  /** Why no delta was made (null when one is); `no-gain`: the delta would not have beaten the plain response (delta-response.ts). */
  passReason: PassThroughReason | 'no-gain' | null;
  /**
   * For a delta: what the same request without If-Block gets (planned, and
   * its compression charged, only when called). Null otherwise.
   */
  plain: (() => ResponsePlan) | null;
  /** For a delta: the plain response would carry a content-coding (ours or the origin's), so it must be compared, not just counted. */
  plainIsEncoded: boolean;
}

export interface PlanSettings {
  compression: CompressionSettings;
  maxBlockBytes?: number;
  /**
   * Charges a delta against the memory budget (delta-memory.ts), plus
   * `heldBytes` for the body and delta held while the server decides
   * between the delta and the plain response (delta-response.ts), or
   * returns null when it does not fit: the normal response then, reason
   * `busy`. `extension` is the version of the delta's body (0: v=1), whose
   * encoder holds more (deltaMemoryEstimate). `wholeBodyBytes`: the size of
   * a body whose delta is made whole (delta-memory.ts wholeBodyBytes), which
   * holds less. Without it deltas are not budgeted.
   */
  reserveDelta?: (ifBlock: IfBlock, heldBytes: number, extension: number, wholeBodyBytes: number | undefined) => MemoryReservation | null;
  /**
   * Charges a gzip / br stream against the compression budget, or returns
   * null when it does not fit: then br falls back to gzip, and gzip to the
   * identity body. Without it compression is not budgeted.
   */
  reserveCompression?: (coding: CompressionCoding, sizeHint: number | undefined) => MemoryReservation | null;
}

export function planResponse(request: PlanRequest, origin: PlanOrigin, settings: PlanSettings): ResponsePlan {
  const headers: HeaderMap = new Map(origin.headers);
  const offeredExtension = request.offeredExtension ?? 0;
  addCapability(headers, offeredExtension);
  const decision = decideDeltaEncoding({
    method: request.method,
    status: origin.status,
    ifBlock: request.ifBlock,
    contentEncoding: headerText(headers, 'content-encoding'),
    contentRange: headerText(headers, 'content-range'),
    cacheControl: headers.get('cache-control'),
    decodable: DECODABLE_CODINGS,
    maxBlockBytes: settings.maxBlockBytes,
    excluded: request.deltaExcluded,
    bodyEndsAtClose: origin.bodyEndsAtClose,
  });
  const originEncoding = originContentEncoding(headerText(headers, 'content-encoding'));
  const plan: ResponsePlan = {
    status: origin.status,
    headers,
    decode: null,
    delta: null,
    extension: 0,
    reservation: null,
    compress: null,
    encoding: originEncoding,
    passReason: decision.encode ? null : decision.reason,
    plain: null,
    plainIsEncoded: false,
  };
  if (decision.encode) {
    const length = Number(headerText(headers, 'content-length') ?? NaN);
    const identityLength = decision.originEncoding === 'identity' && Number.isFinite(length) ? length : undefined;
    const heldBytes = heldDeltaMemoryBytes(identityLength, decision.originEncoding !== 'identity');
    const reservation = settings.reserveDelta ? settings.reserveDelta(decision.ifBlock, heldBytes, offeredExtension, wholeBodyBytes(identityLength, offeredExtension)) : null;
    if (settings.reserveDelta && !reservation) {
      // Over the memory budget for deltas in flight (§5): the normal response.
      plan.passReason = 'busy';
    } else {
      plan.reservation = reservation;
      plan.plainIsEncoded = decision.originEncoding !== 'identity' || compressionCandidates(request, origin.status, headers, settings.compression).length > 0;
      // The same request without If-Block; an offer still gets its Capability (docs/extensions.md §1.3).
      plan.plain = () => ({ ...planResponse({ ...request, ifBlock: undefined }, origin, settings), passReason: 'no-gain' });
      if (decision.originEncoding !== 'identity') {
        plan.decode = decision.originEncoding;
        applyDecodedHeaders(headers);
      }
      plan.delta = decision.ifBlock;
      plan.extension = offeredExtension;
      applyDeltaHeaders(headers, decision.originEncoding);
      plan.encoding = 'crcsync';
      return plan;
    }
  }
  const coding = affordableCompression(compressionCandidates(request, origin.status, headers, settings.compression), headers, settings, plan);
  if (coding) {
    plan.compress = coding;
    applyCompressionHeaders(headers, coding);
    plan.encoding = coding;
  }
  return plan;
}

/**
 * The best coding the client accepts that the compression budget has room
 * for: a slow reader holds a brotli stream's window and hash tables (~11 MiB
 * for a large body) for as long as it reads, so 500 of them would take
 * gigabytes; gzip holds up to ~2 MiB, the identity body nothing. So br falls back
 * to gzip, and gzip to identity, which every client accepts.
 */
function affordableCompression(candidates: CompressionCoding[], headers: HeaderMap, settings: PlanSettings, plan: ResponsePlan): CompressionCoding | null {
  if (!settings.reserveCompression) return candidates[0] ?? null;
  const length = Number(headerText(headers, 'content-length') ?? NaN);
  const sizeHint = Number.isFinite(length) ? length : undefined;
  for (const coding of candidates) {
    const reservation = settings.reserveCompression(coding, sizeHint);
    if (reservation) {
      plan.reservation = reservation;
      return coding;
    }
  }
  return null;
}

/** gzip / br for the normal response, best first: GET, 200, identity, compressible, not no-transform, not tiny. */
function compressionCandidates(request: PlanRequest, status: number, headers: HeaderMap, settings: CompressionSettings): CompressionCoding[] {
  if (request.method !== 'GET' || status !== 200) return [];
  if (originContentEncoding(headerText(headers, 'content-encoding')) !== 'identity') return [];
  if (headers.has('content-range')) return [];
  if (cacheControlDirectives(headers.get('cache-control')).has('no-transform')) return [];
  if (!isCompressibleType(headerText(headers, 'content-type'))) return [];
  const length = Number(headerText(headers, 'content-length') ?? NaN);
  if (Number.isFinite(length) && length < settings.minBytes) return [];
  return acceptedCompressions(request.acceptEncoding);
}
