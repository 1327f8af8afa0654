// The fallback (PROTOCOL.md §5): a GET of the same URL without If-Block,
// made by the background. Requests the extension makes itself are never
// given an If-Block (see isOwnRequest), so this always asks for the full body.
//
// What comes back is written under response headers the page already has
// (a 200 of this URL), so it must be that URL's response in the same cookie
// context, or nothing (refetchRefusal in src/protocol/client-policy.ts):
// - redirect: 'manual': a redirect's target is another URL (possibly another
//   site's logged-in page), never written;
// - only a 200 of the requested URL, never an error page, never a body still
//   labelled crcsync (nobody could verify it);
// - cookies only when the page's own request carried them
//   (refetchCredentials); If-Block is offered only where the background's
//   cookie jar is the page's (shouldOfferIfBlock);
// - bounded: no byte for the stall timeout, over the deadline, or more than
//   the rebuilt-size cap ends it (AbortController).

import { concatBytes } from '../../src/protocol/byte-buffers';
import { HeaderEntry, RefetchRefusal, refetchCredentials, refetchRefusal } from '../../src/protocol/client-policy';

/**
 * Request headers not copied: the browser sets them (fetch would drop them
 * anyway), they would turn the answer into a 304 or a range, or they are
 * crcsync's own.
 */
const NOT_COPIED = /^(if-.*|range|cookie|host|connection|content-length|accept-encoding|origin|referer|te|upgrade|keep-alive|proxy-.*|sec-.*|user-agent|trailer|transfer-encoding|via|expect|date|dnt|cache-control|pragma)$/i;

export function refetchHeaders(requestHeaders: readonly HeaderEntry[] | undefined): [string, string][] {
  const copied: [string, string][] = [];
  for (const header of requestHeaders ?? []) {
    if (header.value === undefined || NOT_COPIED.test(header.name)) continue;
    copied.push([header.name, header.value]);
  }
  return copied;
}

export interface RefetchJob {
  url: string;
  /** The page's request headers as they went out (onBeforeSendHeaders), If-Block excluded. */
  requestHeaders: readonly HeaderEntry[] | undefined;
  /** No byte (or no headers) for this long: give up. */
  stallTimeoutMs: number;
  /** Give up after this long in total. */
  deadlineMs: number;
  /** More body bytes than this: give up. */
  maxBytes: number;
  /** Aborted when nobody waits for the body any more (the page cancelled its request). */
  signal?: AbortSignal;
}

export type RefetchResult =
  | { body: Uint8Array; status: number; refusal: null; detail: null }
  | { body: null; status: number | null; refusal: RefetchRefusal; detail: string | null };

/** Fetches the full body of the same URL, or says why there is none to write. Never rejects. */
export async function refetchFull(job: RefetchJob): Promise<RefetchResult> {
  const controller = new AbortController();
  let timedOut = false;
  const giveUp = () => {
    timedOut = true;
    controller.abort();
  };
  let stallTimer = setTimeout(giveUp, job.stallTimeoutMs);
  const rearm = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(giveUp, job.stallTimeoutMs);
  };
  const deadline = setTimeout(giveUp, job.deadlineMs);
  const cancel = () => controller.abort();
  job.signal?.addEventListener('abort', cancel, { once: true });
  if (job.signal?.aborted) cancel();
  let status: number | null = null;
  try {
    const response = await fetch(job.url, {
      method: 'GET',
      credentials: refetchCredentials(job.requestHeaders),
      // Neither the browser cache (it may hold the delta) nor a revalidation (it would answer 304).
      cache: 'no-store',
      redirect: 'manual',
      headers: refetchHeaders(job.requestHeaders),
      signal: controller.signal,
    });
    status = response.status;
    const refusal = refetchRefusal({
      requestedUrl: job.url,
      responseUrl: response.url,
      responseType: response.type,
      status: response.status,
      contentEncoding: response.headers.get('Content-Encoding'),
    });
    if (refusal) {
      controller.abort();
      return { body: null, status, refusal, detail: `${response.type} ${response.status}` };
    }
    const announced = Number(response.headers.get('Content-Length'));
    if (Number.isFinite(announced) && announced > job.maxBytes) {
      controller.abort();
      return { body: null, status, refusal: 'REFETCH_TOO_LARGE', detail: `Content-Length ${announced}` };
    }
    rearm();
    const body = await readBounded(response, job.maxBytes, rearm);
    if (!body) {
      controller.abort();
      return { body: null, status, refusal: 'REFETCH_TOO_LARGE', detail: `over ${job.maxBytes} bytes` };
    }
    return { body, status, refusal: null, detail: null };
  } catch (error) {
    return { body: null, status, refusal: timedOut ? 'REFETCH_TIMEOUT' : 'REFETCH_NETWORK', detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(stallTimer);
    clearTimeout(deadline);
    job.signal?.removeEventListener('abort', cancel);
  }
}

/** The whole body, or null past maxBytes; `progress` is called on every chunk. */
async function readBounded(response: Response, maxBytes: number, progress: () => void): Promise<Uint8Array | null> {
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    progress();
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return concatBytes(chunks, size);
}
