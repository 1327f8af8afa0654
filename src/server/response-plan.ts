// Decides, for one request and its origin response, what the server sends:
// a crcsync delta, gzip/br, or the origin's bytes as they are; and runs the
// header passes for that choice. No I/O: the handler turns the plan into
// streams. Every pass-through case of PROTOCOL.md §2 ends here.

import { DeltaEncodingDecision, IfBlock, cacheControlDirectives, decideDeltaEncoding, originContentEncoding } from '../protocol/index';
import {
  CompressionCoding,
  CompressionSettings,
  DECODABLE_CODINGS,
  isCompressibleType,
  negotiateCompression,
} from './content-coding';
import { addCapability, applyCompressionHeaders, applyDecodedHeaders, applyDeltaHeaders } from './header-passes';
import { HeaderMap, headerText } from './headers';

export interface PlanRequest {
  method: string;
  ifBlock: string | string[] | undefined;
  acceptEncoding: string | undefined;
}

export interface PlanOrigin {
  status: number;
  headers: HeaderMap;
}

export interface ResponsePlan {
  status: number;
  headers: HeaderMap;
  /** Upstream coding to undo first (gzip / br), or null. */
  decode: string | null;
  /** Make a delta against this If-Block, or null. */
  delta: IfBlock | null;
  /** Compress with this coding, or null. */
  compress: CompressionCoding | null;
  /** What the access log shows: the Content-Encoding sent, `identity` when none. */
  encoding: string;
  /** Why no delta was made (null when one is). */
  passReason: Exclude<DeltaEncodingDecision, { encode: true }>['reason'] | null;
}

export interface PlanSettings {
  compression: CompressionSettings;
  maxBlockBytes?: number;
}

export function planResponse(request: PlanRequest, origin: PlanOrigin, settings: PlanSettings): ResponsePlan {
  const headers: HeaderMap = new Map(origin.headers);
  addCapability(headers);
  const decision = decideDeltaEncoding({
    method: request.method,
    status: origin.status,
    ifBlock: request.ifBlock,
    contentEncoding: headerText(headers, 'content-encoding'),
    contentRange: headerText(headers, 'content-range'),
    cacheControl: headers.get('cache-control'),
    decodable: DECODABLE_CODINGS,
    maxBlockBytes: settings.maxBlockBytes,
  });
  const originEncoding = originContentEncoding(headerText(headers, 'content-encoding'));
  const plan: ResponsePlan = {
    status: origin.status,
    headers,
    decode: null,
    delta: null,
    compress: null,
    encoding: originEncoding,
    passReason: decision.encode ? null : decision.reason,
  };
  if (decision.encode) {
    if (decision.originEncoding !== 'identity') {
      plan.decode = decision.originEncoding;
      applyDecodedHeaders(headers);
    }
    plan.delta = decision.ifBlock;
    applyDeltaHeaders(headers, decision.originEncoding);
    plan.encoding = 'crcsync';
    return plan;
  }
  const coding = chooseCompression(request, origin.status, headers, settings.compression);
  if (coding) {
    plan.compress = coding;
    applyCompressionHeaders(headers, coding);
    plan.encoding = coding;
  }
  return plan;
}

/** gzip / br for the normal response: GET, 200, identity, compressible, not no-transform, not tiny. */
function chooseCompression(request: PlanRequest, status: number, headers: HeaderMap, settings: CompressionSettings): CompressionCoding | null {
  if (request.method !== 'GET' || status !== 200) return null;
  if (originContentEncoding(headerText(headers, 'content-encoding')) !== 'identity') return null;
  if (headers.has('content-range')) return null;
  if (cacheControlDirectives(headers.get('cache-control')).has('no-transform')) return null;
  if (!isCompressibleType(headerText(headers, 'content-type'))) return null;
  const length = Number(headerText(headers, 'content-length') ?? NaN);
  if (Number.isFinite(length) && length < settings.minBytes) return null;
  return negotiateCompression(request.acceptEncoding);
}
