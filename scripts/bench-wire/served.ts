// What the reference server actually sends a client that offered its cached
// copy (issue 9's never-worse rule, src/server/delta-response.ts): the delta
// only when it beats the plain response by the margin (deltaBeats), where
// the plain response is what the same request gets without If-Block — for
// Firefox (Accept-Encoding: gzip, deflate, br) brotli at the server's quality
// 5 for a compressible body. Pure arithmetic on sizes and scanner counters,
// in the server's order, so the bench needs no socket.

import { deltaBeats, isMostlyNew } from '../../src/server/delta-or-compression';

export type ServedBody = 'delta' | 'plain';
/** Why: the server's own reasons (delta-response.ts), or the margin decided it. */
export type ServedReason = 'tiny' | 'economy-stop' | 'mostly-new' | 'delta-beats-plain' | 'no-gain';

export interface ServedInput {
  /** Identity body bytes (the new version). */
  bodyBytes: number;
  /** The delta body the encoder made. */
  deltaBytes: number;
  /** Its scanner's literal bytes, and whether the economy guard stopped matching. */
  literalBytes: number;
  economyStopped: boolean;
  /** The plain response's body: br-5 of the body when compressed, else the identity bytes. */
  plainBytes: number;
  plainIsCompressed: boolean;
  /** Bodies below this are not compressed and keep the delta (DEFAULT_COMPRESSION.minBytes). */
  minCompressBytes: number;
}

export interface ServedChoice {
  body: ServedBody;
  reason: ServedReason;
  bodyBytes: number;
}

export function servedChoice(input: ServedInput): ServedChoice {
  const plain = (reason: ServedReason): ServedChoice => ({ body: 'plain', reason, bodyBytes: input.plainBytes });
  const delta = (reason: ServedReason): ServedChoice => ({ body: 'delta', reason, bodyBytes: input.deltaBytes });
  const tiny = input.bodyBytes < input.minCompressBytes;
  // Only against a compressed plain body does the held scan stop early (scanHeld's stopEarly).
  const stopEarly = input.plainIsCompressed && !tiny;
  if (stopEarly && input.economyStopped) return plain('economy-stop');
  if (stopEarly && isMostlyNew({ bodyBytes: input.bodyBytes, literalBytes: input.literalBytes, blocks: 0 })) return plain('mostly-new');
  if (tiny) return delta('tiny');
  return deltaBeats(input.deltaBytes, input.plainBytes) ? delta('delta-beats-plain') : plain('no-gain');
}
