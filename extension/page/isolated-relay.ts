// The ISOLATED-world content script (Chromium, document_start, every frame):
// the relay between the page's MAIN-world wrapper (main-world.ts) and the
// background (extension/background/chromium/page-fetch.ts), issue 10 item 6.
//
// It takes the MAIN script's MessagePort (the first hello only), admits what
// MAIN asks for through parseMainMessage (a same-origin GET of this
// document's origin: what the page could fetch itself), and makes each such
// request with the page's origin and cookies (relay-exchange.ts). Delta
// bytes go from here to the background and nowhere else.

import { MAIN_HELLO, RELAY_READY, RelayToMain, parseMainMessage } from './page-messages';
import { PAGE_FETCH_PORT } from './page-messages';
import { RelayExchange, RelayPort } from './relay-exchange';

/** The part of the chrome global the relay uses (a content script has no polyfill: it would cost every frame its parse). */
declare const chrome: { runtime: { connect(info: { name: string }): RelayPort } };

function transferSizeOf(url: string): number | null {
  const entries = performance.getEntriesByName(url, 'resource') as PerformanceResourceTiming[];
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i];
    if (entry.initiatorType === 'fetch' && entry.transferSize > 0) return entry.transferSize;
  }
  return null;
}

function startRelay(): void {
  let mainPort: MessagePort | null = null;
  const exchanges = new Map<number, RelayExchange>();
  /** The background said crcsync is off for this origin: no more asking, for this document's life. */
  let siteOff = false;

  const toMain = (message: RelayToMain, transfer: Transferable[] = []) => {
    if (message.kind === 'pass' || message.kind === 'end' || message.kind === 'error') exchanges.delete(message.id);
    mainPort?.postMessage(message, transfer);
  };

  const onMainMessage = (data: unknown) => {
    const message = parseMainMessage(data, location.href);
    if (!message) return;
    if (message.kind === 'abort') {
      exchanges.get(message.id)?.abort();
      exchanges.delete(message.id);
      return;
    }
    if (exchanges.has(message.id)) return; // one exchange per id
    if (siteOff) return toMain({ kind: 'pass', id: message.id });
    const exchange = new RelayExchange(message, {
      connect: () => chrome.runtime.connect({ name: PAGE_FETCH_PORT }),
      fetch: (input, init) => fetch(input, init),
      toMain,
      siteOff: () => {
        siteOff = true;
        toMain({ kind: 'off' });
      },
      transferSizeOf,
    });
    exchanges.set(message.id, exchange);
    void exchange.run();
  };

  window.addEventListener('message', (event: MessageEvent) => {
    // The first hello is the MAIN script's: it runs at document_start, before any page script can post one.
    if (mainPort || event.source !== window) return;
    if ((event.data as { type?: unknown } | null)?.type !== MAIN_HELLO || event.ports.length !== 1) return;
    mainPort = event.ports[0];
    mainPort.onmessage = (message) => onMainMessage(message.data);
    mainPort.postMessage({ kind: 'ready' });
    // A sandboxed frame (opaque origin) fetches as origin "null": nothing of its URL's origin is its own. Off at once.
    if (self.origin !== location.origin) {
      siteOff = true;
      toMain({ kind: 'off' });
    }
  });
  // The MAIN script may have run first and posted its hello to nobody: it posts another on this.
  window.postMessage({ type: RELAY_READY }, '*');
}

startRelay();
