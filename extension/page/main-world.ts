// The MAIN-world content script (Chromium, document_start, every frame):
// wraps the page's own fetch() and XMLHttpRequest so that requests to its
// own origin go through the relay (isolated-relay.ts) and the background,
// which offer If-Block and rebuild a delta (issue 10 item 6). Runs before
// any page script, so it takes the platform's functions first (pristine.ts).
//
// Nothing here is trusted, and nothing here needs to be: this world only
// ever receives bodies the page could have fetched itself (the server's plain
// answer, or a rebuilt body whose SHA-1 the background verified). Delta bytes
// stay in the relay and the background.

import { wrapFetch } from './main-fetch';
import { RelayClient } from './main-relay-client';
import { wrapXmlHttpRequest } from './main-xhr';
import { capturePristine } from './pristine';

function install(): void {
  const win = window as Window & typeof globalThis;
  const pristine = capturePristine(win);
  const relay = new RelayClient(pristine);
  // Replaced as the page would see the originals: writable, configurable, not enumerable (WebIDL operations and interfaces).
  Object.defineProperty(win, 'fetch', { value: wrapFetch(pristine, relay), writable: true, configurable: true, enumerable: true });
  Object.defineProperty(win, 'XMLHttpRequest', { value: wrapXmlHttpRequest(pristine, relay), writable: true, configurable: true, enumerable: false });
}

// Twice in one document (a second injection) would wrap the wrapper: the first one is enough.
const INSTALLED = Symbol.for('crcsync.page-fetch');
if (!(window as unknown as Record<symbol, unknown>)[INSTALLED]) {
  Object.defineProperty(window, INSTALLED, { value: true });
  install();
}
