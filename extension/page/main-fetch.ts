// MAIN world: the page's window.fetch, wrapped. An eligible request
// (eligibility.ts) is made by the relay; the page gets a Response built here
// from what the relay streams back (the server's plain body, or the body the
// background rebuilt and verified), with the status, headers and `url` the
// page's own fetch would have reported. Anything else, and anything the relay
// hands back ('pass'), is the browser's own fetch with the page's arguments.

import { pageRequestEligibility } from './eligibility';
import type { RelayClient } from './main-relay-client';
import type { HeaderPairs, PageResponseHead } from './page-messages';
import type { Pristine } from './pristine';

/** Statuses whose Response has no body (the Response constructor refuses one). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/** The error a failed fetch rejects with, as the browser words it. */
const FAILED_TO_FETCH = 'Failed to fetch';

/** Body readers of Response, re-wrapped so that an aborted request rejects with the abort reason. */
const BODY_READERS = ['text', 'json', 'arrayBuffer', 'blob', 'formData', 'bytes'] as const;

/**
 * A Response the page cannot tell from its own fetch's: url, redirected and
 * type are the original's, clone() keeps them; `abortReason` (the request's
 * signal.reason once aborted, else undefined) is what text(), json() and the
 * other readers reject with after an abort, as the browser's own do (Chromium
 * rejects a constructed Response's readers with a TypeError whatever error
 * its stream had).
 */
export function pageResponse(pristine: Pristine, body: ReadableStream<Uint8Array> | null, head: PageResponseHead, abortReason: () => unknown): Response {
  const response = new pristine.Response(NULL_BODY_STATUSES.has(head.status) ? null : body, {
    status: head.status,
    statusText: head.statusText,
    headers: new pristine.Headers(head.headers),
  });
  return withOriginalFields(response, head.url, abortReason);
}

function withOriginalFields(response: Response, url: string, abortReason: () => unknown): Response {
  const clone = response.clone.bind(response);
  Object.defineProperties(response, {
    url: { value: url, enumerable: false },
    // The relay made the request with redirect 'manual' and handed any redirect back to the browser.
    redirected: { value: false, enumerable: false },
    type: { value: 'basic', enumerable: false },
    clone: { value: () => withOriginalFields(clone(), url, abortReason), enumerable: false, writable: true, configurable: true },
  });
  for (const name of BODY_READERS) {
    const reader = (response as unknown as Record<string, unknown>)[name];
    if (typeof reader !== 'function') continue;
    Object.defineProperty(response, name, {
      value: (...args: unknown[]) =>
        (reader as (...rest: unknown[]) => Promise<unknown>).apply(response, args).catch((error: unknown) => {
          throw abortReason() ?? error;
        }),
      enumerable: false,
      writable: true,
      configurable: true,
    });
  }
  return response;
}

function headerPairs(headers: Headers): HeaderPairs {
  const pairs: HeaderPairs = [];
  headers.forEach((value, name) => pairs.push([name, value]));
  return pairs;
}

export function wrapFetch(pristine: Pristine, relay: RelayClient): typeof fetch {
  const original = (input: RequestInfo | URL, init?: RequestInit) => pristine.fetch(input, init);

  return function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    let request: Request;
    try {
      // Only a GET is ever relayed, and a GET has no body: building a Request of it never uses up the page's.
      const method = init?.method ?? (input instanceof pristine.Request ? input.method : 'GET');
      if (String(method).toUpperCase() !== 'GET') return original(input, init);
      request = new pristine.Request(input, init);
    } catch {
      return original(input, init); // the browser throws the page's TypeError itself
    }
    const verdict = pageRequestEligibility({
      method: request.method,
      url: request.url,
      documentUrl: pristine.documentUrl(),
      mode: request.mode,
      cache: request.cache,
      credentials: request.credentials,
      headerNames: headerPairs(request.headers).map(([name]) => name),
      integrity: request.integrity,
      keepalive: request.keepalive,
      referrer: request.referrer,
      referrerPolicy: request.referrerPolicy,
    });
    const signal = request.signal;
    if (!verdict.eligible || signal.aborted) return original(input, init);

    return new Promise<Response>((resolve, reject) => {
      let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
      let settled = false;
      let finished = false;
      const body = new pristine.ReadableStream<Uint8Array>({
        start: (streamController) => {
          controller = streamController;
        },
        cancel: () => {
          finished = true;
          relayed.abort();
        },
      });
      const onAbort = () => {
        if (finished) return;
        finished = true;
        relayed.abort();
        const reason = signal.reason ?? new DOMException('The user aborted a request.', 'AbortError');
        if (!settled) {
          settled = true;
          reject(reason);
        } else controller?.error(reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        finished = true;
        signal.removeEventListener('abort', onAbort);
      };
      const relayed = relay.send(
        { url: request.url, cache: verdict.cache, credentials: verdict.credentials, headers: headerPairs(request.headers) },
        {
          pass: () => {
            done();
            settled = true;
            original(input, init).then(resolve, reject);
          },
          head: (head) => {
            if (settled) return;
            settled = true;
            try {
              resolve(pageResponse(pristine, body, head, () => (signal.aborted ? (signal.reason ?? new DOMException('The user aborted a request.', 'AbortError')) : undefined)));
            } catch (error) {
              done();
              relayed.abort();
              reject(error);
            }
          },
          chunk: (bytes) => {
            if (!finished) controller?.enqueue(bytes);
          },
          end: () => {
            if (finished) return;
            done();
            controller?.close();
          },
          error: () => {
            if (finished) return;
            done();
            const error = new TypeError(FAILED_TO_FETCH);
            if (!settled) {
              settled = true;
              reject(error);
            } else controller?.error(error);
          },
        },
      );
    });
  };
}
