// Which requests the Firefox listeners see at all (issue 9).
//
// Every blocking webRequest listener costs the request it matches a round
// trip to the background's process before the request goes out (and
// another before its response goes on), whether the listener changes
// anything or not: scripts/profile/presence.ts measured do-nothing blocking
// listeners at several ms per page load (bench/presence.md). So they are
// registered only for the resource types crcsync can serve: text that
// changes a little between visits. Images, fonts, media and plugin content
// are compressed formats that a changed version rewrites throughout (a
// delta saves nothing and the base would waste the store), and the rest
// (pings, beacons, CSP reports, websockets, speculative connections) have
// no body to rebuild. A request of another type is never offered If-Block
// and its body never becomes a base, because the listeners never see it.

import type { RequestFilterTypes } from '../shared/browser';

export const DELTA_RESOURCE_TYPES: RequestFilterTypes = [
  'main_frame',
  'sub_frame',
  'stylesheet',
  'script',
  'xmlhttprequest',
  'json',
  'xslt',
  'xml_dtd',
  'web_manifest',
  'other',
];

/** The filter of every request listener: all URLs (the listener checks the site), the types above. */
export const DELTA_REQUEST_FILTER = { urls: ['<all_urls>'], types: DELTA_RESOURCE_TYPES };
