// Where a request lives, for keying and policy: its top-level origin (cached
// bodies are partitioned by it, PROTOCOL.md §6), its cookie store (private
// windows and containers never share bodies) and whether the extension made
// it itself (the full-body refetch, which must never get an If-Block).

import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import { originOf } from '../../src/protocol/client-policy';

/** The webRequest details fields this module reads (Firefox names them so). */
export interface RequestPlace {
  url: string;
  type: string;
  tabId: number;
  documentUrl?: string;
  originUrl?: string;
  incognito?: boolean;
  cookieStoreId?: string;
  /** Firefox only: the frames above a sub-frame request, innermost first; the last is the top. */
  frameAncestors?: { url: string; frameId: number }[];
  /** Firefox only: the request or a frame above it is not same-site with the top-level document. */
  thirdParty?: boolean;
}

/**
 * The origin of the page at the top of the tab. Firefox has no public-suffix
 * API in every release we support, so crcsync partitions by top-level
 * origin, which is finer than the site and therefore never shares more.
 */
export function topLevelOriginOf(place: RequestPlace): string | null {
  if (place.type === 'main_frame') return originOf(place.url);
  const ancestors = place.frameAncestors;
  if (ancestors && ancestors.length > 0) return originOf(ancestors[ancestors.length - 1].url);
  return originOf(place.documentUrl);
}

/** Origins of the document a request comes from and of every frame above it (for shouldOfferIfBlock). */
export function frameOriginsOf(place: RequestPlace): (string | null)[] {
  if (place.type === 'main_frame') return [];
  return [originOf(place.documentUrl), ...(place.frameAncestors ?? []).map((frame) => originOf(frame.url))];
}

/** The storage partition: the cookie store (firefox-default, firefox-container-N, firefox-private). */
export function partitionOf(place: RequestPlace): string {
  if (place.incognito) return 'private';
  return place.cookieStoreId ?? 'default';
}

/** Private windows: nothing is read from or written to the store (§6). */
export function isPrivateContext(place: RequestPlace): boolean {
  return place.incognito === true || (place.cookieStoreId ?? '').includes('private');
}

/** Requests the background makes itself (tabId -1, triggered by a moz-extension:// page). */
export function isOwnRequest(place: RequestPlace, extensionBaseUrl: string): boolean {
  if (place.tabId !== -1) return false;
  return (place.originUrl ?? '').startsWith(extensionBaseUrl) || (place.documentUrl ?? '').startsWith(extensionBaseUrl);
}

/** The URL as a cache identity: the fragment never reaches the server. */
export function cacheUrlOf(url: string): string {
  const hash = url.indexOf('#');
  return hash < 0 ? url : url.slice(0, hash);
}

/**
 * The store key: partition, top-level origin and a hash of the URL, so the
 * key (and the index in memory) holds no URL in clear and a body cached
 * under one top-level origin is never the base under another.
 */
export function storeKeyFor(partition: string, topLevelOrigin: string, url: string): string {
  const urlHash = bytesToHex(sha256(new TextEncoder().encode(cacheUrlOf(url))));
  return `${partition} ${topLevelOrigin} ${urlHash}`;
}
