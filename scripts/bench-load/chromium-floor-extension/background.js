// The "floor" of `npm run bench:load -- --browser chromium`: what Chromium
// itself charges an extension that works the way crcsync's "accelerate page
// loads" must, before crcsync does any work. The same mechanism as
// extension/background/chromium/navigations*.ts: a chrome.debugger session
// on every tab that shows a 127.0.0.1 page, CDP Fetch pausing its documents
// at the request stage (crcsync adds If-Block there: here the request goes on
// with its own headers, handed back as crcsync hands them) and at the
// response stage (here it goes on unchanged; crcsync reads the body of a
// page it keeps, or rebuilds a delta). A page loads with exactly the bytes it
// gets without extensions, so the time it loses is the mechanism's.
'use strict';

// navigations-scope.ts documentPatterns for the test build's 127.0.0.1 origins.
const URL_PATTERNS = ['http://127.0.0.1/*', 'http://127.0.0.1:*/*'];
const PATTERNS = URL_PATTERNS.flatMap((urlPattern) => [
  { urlPattern, resourceType: 'Document', requestStage: 'Request' },
  { urlPattern, resourceType: 'Document', requestStage: 'Response' },
]);

/** Tabs whose session is set up; the bench reads it from the worker before it measures. */
globalThis.floorAttachedTabs = new Set();
const attaching = new Set();

async function attach(tabId) {
  if (globalThis.floorAttachedTabs.has(tabId) || attaching.has(tabId)) return;
  attaching.add(tabId);
  try {
    await chrome.debugger.attach({ tabId }, '1.3');
    await chrome.debugger.sendCommand({ tabId }, 'Fetch.enable', { patterns: PATTERNS });
    globalThis.floorAttachedTabs.add(tabId);
  } catch (error) {
    console.error(`tab ${tabId}: could not attach`, error);
  } finally {
    attaching.delete(tabId);
  }
}

chrome.tabs.onUpdated.addListener((tabId, change, tab) => {
  if (change.url === undefined && change.status !== 'loading') return;
  const url = change.url ?? tab.pendingUrl ?? tab.url ?? '';
  if (url.startsWith('http://127.0.0.1')) void attach(tabId);
});

chrome.debugger.onEvent.addListener((source, method, params) => {
  if (method !== 'Fetch.requestPaused') return;
  const responseStage = params.responseStatusCode !== undefined || params.responseErrorReason !== undefined;
  const command = responseStage
    ? { requestId: params.requestId }
    : { requestId: params.requestId, headers: Object.entries(params.request.headers).map(([name, value]) => ({ name, value: String(value) })) };
  chrome.debugger.sendCommand(source, 'Fetch.continueRequest', command).catch((error) => console.error('continueRequest failed', error));
});

chrome.debugger.onDetach.addListener((source) => {
  if (source.tabId !== undefined) globalThis.floorAttachedTabs.delete(source.tabId);
});
