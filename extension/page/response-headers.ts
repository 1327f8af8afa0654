// The headers the page sees on a response the background rebuilt from a
// delta (issue 10 item 6). Pure; used by the background, unit-tested.
//
// The page gets the server's headers of the delta response minus what only
// described the delta or crcsync itself: Content-Encoding (the body is the
// decoded one), Content-Length and Content-MD5 (they measured the delta),
// Capability (crcsync's advertisement), and the If-Block token of Vary.
// Unlike Firefox's rewrite (rebuiltResponseHeaders), Cache-Control stays as
// the server sent it: this Response is made in the page and never enters the
// browser's HTTP cache (the relay's If-Block request goes out with cache
// 'no-store'), so there is no delta the cache could keep under it.

import { CAPABILITY_HEADER, IF_BLOCK_HEADER } from '../../src/protocol/wire';
import type { HeaderPairs } from './page-messages';

const DROPPED: ReadonlySet<string> = new Set(['content-encoding', 'content-length', 'content-md5', CAPABILITY_HEADER.toLowerCase()]);

export function rebuiltPageHeaders(headers: HeaderPairs): HeaderPairs {
  const kept: HeaderPairs = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (DROPPED.has(lower)) continue;
    if (lower === 'vary') {
      const tokens = value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token !== '' && token.toLowerCase() !== IF_BLOCK_HEADER.toLowerCase());
      if (tokens.length) kept.push([name, tokens.join(', ')]);
      continue;
    }
    kept.push([name, value]);
  }
  return kept;
}
