// The fallback (PROTOCOL.md §5): a GET of the same URL without If-Block,
// made by the background. Requests the extension makes itself are never
// given an If-Block (see isOwnRequest), so this always asks for the full body.

import type { HeaderEntry } from '../../src/protocol/client-policy';

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

/** Fetches the full body; rejects on a network error. Any status is returned as it is. */
export async function refetchFull(url: string, requestHeaders: readonly HeaderEntry[] | undefined): Promise<{ status: number; body: Uint8Array }> {
  const response = await fetch(url, {
    method: 'GET',
    credentials: 'include',
    // Neither the browser cache (it may hold the delta) nor a revalidation (it would answer 304).
    cache: 'no-store',
    redirect: 'follow',
    headers: refetchHeaders(requestHeaders),
  });
  return { status: response.status, body: new Uint8Array(await response.arrayBuffer()) };
}
