// Which requests the Firefox listeners hook (issue 9).
//
// Every blocking webRequest listener costs the request it matches a round
// trip to the background's process before the request goes out, and another
// before its response goes on, whether the listener changes anything or not.
// scripts/profile/presence.ts measured it on the corpus's Django pages (nine
// head scripts and two stylesheets) through a 10 Mbit/s, 40 ms link: a
// do-nothing extension with blocking onBeforeSendHeaders and
// onHeadersReceived made them reach `load` 120-130 ms later than Firefox
// without extensions (the speculative preloads of the head scripts are then
// often not reused, so scripts load one after another); crcsync hooking only
// documents and fetches made the same pages 0-20 ms later, against 155-165 ms
// when it hooked scripts and stylesheets too (bench/presence.md).
//
// So by default the listeners hook documents (frames included) and the
// page's fetch()/XMLHttpRequest, where a changed body most often comes back
// under the same URL. Scripts, stylesheets and the other text subresources
// are hooked only when the user asks for them (Settings.subresourceDeltas):
// they are mostly cached or renamed when they change, and each hook delays
// them all. Images, fonts, media and plugin content are compressed formats
// that a change rewrites throughout, and the rest (pings, beacons, CSP
// reports, websockets, speculative connections) have no body to rebuild:
// never hooked. A request the listeners do not see is never offered
// If-Block and its body never becomes a base.

import type { RequestFilterTypes } from '../shared/browser';

/** Always hooked: documents and the page's own requests for data. */
export const DOCUMENT_AND_FETCH_TYPES: RequestFilterTypes = ['main_frame', 'sub_frame', 'xmlhttprequest'];

/** Hooked only with Settings.subresourceDeltas. */
export const SUBRESOURCE_TYPES: RequestFilterTypes = ['stylesheet', 'script', 'json', 'xslt', 'xml_dtd', 'web_manifest', 'other'];

/** Every type crcsync may serve: the non-blocking listeners (transfer sizes, page activity) see all of them. */
export const DELTA_RESOURCE_TYPES: RequestFilterTypes = [...DOCUMENT_AND_FETCH_TYPES, ...SUBRESOURCE_TYPES];

const ALL_URLS = ['<all_urls>'];

export const DOCUMENT_AND_FETCH_FILTER = { urls: ALL_URLS, types: DOCUMENT_AND_FETCH_TYPES };
export const SUBRESOURCE_FILTER = { urls: ALL_URLS, types: SUBRESOURCE_TYPES };
export const DELTA_REQUEST_FILTER = { urls: ALL_URLS, types: DELTA_RESOURCE_TYPES };
