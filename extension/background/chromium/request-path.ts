// Chromium's request path, for now: MV3 Chromium has neither blocking
// webRequest nor a body filter, so no If-Block is ever sent (a header
// nobody decodes must never go out, PROTOCOL.md §6); the non-blocking
// listener only learns which sites speak crcsync. The decoding path
// (CDP Fetch, a page-side fetch wrapper) comes with issue 10 Part B.
// Only index.ts imports this module (test/conventions.test.ts), and only the
// Chromium build contains it.

import { advertisesCrcsync } from '../../../src/protocol/client-policy';
import { browser } from '../../shared/browser';
import { learnCapability } from '../capability-learning';
import type { RequestPath, RequestPathDeps } from '../request-path';

const ALL_URLS = { urls: ['<all_urls>'] };

/** Registers Chromium's request listeners, synchronously (call at the top level of the background). */
export function registerChromiumRequestPath({ services }: RequestPathDeps): RequestPath {
  browser.webRequest.onHeadersReceived.addListener(
    (details) => {
      if (advertisesCrcsync(details.responseHeaders)) learnCapability(services, details.url);
    },
    ALL_URLS,
    ['responseHeaders'],
  );
  // Nothing is hooked here, so there is nothing to add or remove when the setting changes.
  return { applySubresourceDeltas: () => undefined };
}
