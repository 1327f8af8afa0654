// The "floor" of `npm run bench:load` (issue 9): what Firefox itself charges
// an extension that works the way crcsync must, before crcsync does any work.
// The same hooks as extension/background with its default settings (blocking
// onBeforeSendHeaders and onHeadersReceived over documents and fetches, a
// StreamFilter on every 200 it could keep as a base), each doing nothing: no header is added, every
// chunk is written through at once. A page loads with exactly the bytes it
// gets without extensions, so the time it loses is the mechanism's.
'use strict';

// DOCUMENT_AND_FETCH_TYPES of extension/background/request-scope.ts (kept in step by test/unit/bench/floor-extension.test.ts).
const TYPES = ['main_frame', 'sub_frame', 'xmlhttprequest'];
const FILTER = { urls: ['http://127.0.0.1/*'], types: TYPES };

browser.webRequest.onBeforeSendHeaders.addListener(() => ({}), FILTER, ['blocking', 'requestHeaders']);

browser.webRequest.onHeadersReceived.addListener(
  (details) => {
    if (details.method === 'GET' && details.statusCode === 200) {
      const filter = browser.webRequest.filterResponseData(details.requestId);
      filter.ondata = (event) => filter.write(event.data);
      filter.onstop = () => filter.close();
    }
    return {};
  },
  FILTER,
  ['blocking', 'responseHeaders'],
);
