// Response bodies through CDP, for the navigation path:
// - streamResponseBody: a paused response's body in chunks
//   (Fetch.takeResponseBodyAsStream, then IO.read until eof), so a delta
//   is pushed into the rebuild as it arrives and never sits whole in one
//   base64 string (Fetch.getResponseBody would hand over the whole body,
//   base64, in one message, and only once it has all arrived);
// - wholeResponseBody: Fetch.getResponseBody, for a plain body kept as a base;
// - base64 both ways: CDP carries bodies as base64 (IO.read chunks,
//   Fetch.fulfillRequest's body), and the rebuild works on bytes.

import type { CdpClient } from './cdp';

/** Bytes per IO.read: each read is a round trip to the browser; a delta is mostly far smaller. */
export const IO_READ_BYTES = 256 * 1024;

interface IoReadResult {
  data: string;
  base64Encoded?: boolean;
  eof: boolean;
}

/** Uint8Array.fromBase64 / toBase64 (Chrome 140+), used when present: one native pass instead of a loop. */
interface NativeBase64 {
  fromBase64?: (text: string) => Uint8Array;
}

export function base64ToBytes(text: string): Uint8Array {
  const native = (Uint8Array as unknown as NativeBase64).fromBase64;
  if (native) return native(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Characters per String.fromCharCode call: far under any engine's argument limit. */
const CHAR_CODE_SLICE = 0x8000;

export function bytesToBase64(bytes: Uint8Array): string {
  const native = (bytes as Uint8Array & { toBase64?: () => string }).toBase64;
  if (typeof native === 'function') return native.call(bytes);
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHAR_CODE_SLICE) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + CHAR_CODE_SLICE) as unknown as number[]);
  }
  return btoa(binary);
}

/** IO.read's data: base64 for a response body stream; plain text would be UTF-8 (never seen for Fetch streams). */
function chunkBytes(result: IoReadResult): Uint8Array {
  return result.base64Encoded === false ? new TextEncoder().encode(result.data) : base64ToBytes(result.data);
}

export interface BodyStreamEvents {
  /** One chunk of the body, in order. */
  chunk(bytes: Uint8Array): void;
}

/**
 * Reads the body of a response paused at the response stage, chunk by
 * chunk; resolves at its end, rejects when the stream breaks (the tab was
 * detached, the connection failed). After this the request can no longer be
 * continued as it was: it must be fulfilled (or failed) by the caller.
 * `stopped()` true ends the reading early (nobody wants the rest).
 */
export async function streamResponseBody(cdp: CdpClient, tabId: number, requestId: string, events: BodyStreamEvents, stopped: () => boolean = () => false): Promise<void> {
  const { stream } = await cdp.send<{ stream: string }>(tabId, 'Fetch.takeResponseBodyAsStream', { requestId });
  try {
    for (;;) {
      const result = await cdp.send<IoReadResult>(tabId, 'IO.read', { handle: stream, size: IO_READ_BYTES });
      if (stopped()) return;
      if (result.data) events.chunk(chunkBytes(result));
      if (result.eof) return;
    }
  } finally {
    await cdp.send(tabId, 'IO.close', { handle: stream }).catch(() => undefined);
  }
}

/**
 * The whole body of a paused response (Fetch.getResponseBody: one base64
 * string; byte-exact, HTML included: Chromium 156 answers it base64). For a
 * plain body that becomes a base: after it the request can still go on
 * unchanged with Fetch.continueRequest (see navigations-exchange.ts capture).
 */
export async function wholeResponseBody(cdp: CdpClient, tabId: number, requestId: string): Promise<Uint8Array> {
  const { body, base64Encoded } = await cdp.send<{ body: string; base64Encoded: boolean }>(tabId, 'Fetch.getResponseBody', { requestId });
  return base64Encoded ? base64ToBytes(body) : new TextEncoder().encode(body);
}
