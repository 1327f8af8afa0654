// MAIN world: the page's end of the MessageChannel to the relay (ISOLATED
// world). One channel per document, requests told apart by id.
//
// The handshake works in either injection order: the MAIN script posts a
// hello carrying a fresh channel's port at once, and again (another channel)
// each time the relay says it is listening (RELAY_READY) until one is
// confirmed; the relay takes the first hello it sees and confirms on that
// channel ({ kind: 'ready' }), which becomes the one this client uses. A
// window message reaches only the listeners there are when it is delivered,
// so a hello posted before the relay listened is lost, with its port.
// Until the relay confirms, requests wait; if it has not by RELAY_WAIT_MS
// (no relay: the extension was reloaded, the frame is one the relay does not
// run in), every request goes to the browser untouched.

import { MAIN_HELLO, MainFetchRequest, PageResponseHead, RELAY_READY, RelayToMain } from './page-messages';
import type { Pristine } from './pristine';

/** How long the first requests of a document wait for the relay before they go to the browser without it. */
const RELAY_WAIT_MS = 1000;

export interface RelayCallbacks {
  /** Not ours: make the request with the browser's own fetch/XHR. */
  pass(): void;
  head(head: PageResponseHead): void;
  chunk(bytes: Uint8Array): void;
  end(): void;
  error(message: string): void;
}

export interface RelayedRequest {
  /** The page gave up: the relay stops, nothing more is called back. */
  abort(): void;
}

type RequestFields = Omit<MainFetchRequest, 'kind' | 'id'>;

export class RelayClient {
  private nextId = 1;
  private readonly pending = new Map<number, RelayCallbacks>();
  private state: 'waiting' | 'ready' | 'absent' = 'waiting';
  private readonly queued: (() => void)[] = [];
  private port: MessagePort | null = null;

  constructor(pristine: Pristine) {
    const sayHello = () => {
      if (this.state !== 'waiting') return;
      const channel = new pristine.MessageChannel();
      channel.port1.onmessage = (event) => this.receive(channel.port1, event.data);
      try {
        pristine.postMessage({ type: MAIN_HELLO }, '*', [channel.port2]);
      } catch {
        // Nothing to do: the requests go to the browser after RELAY_WAIT_MS.
      }
    };
    pristine.addWindowListener('message', (event: MessageEvent) => {
      if (event.source === pristine.window && (event.data as { type?: unknown } | null)?.type === RELAY_READY) sayHello();
    });
    sayHello();
    pristine.setTimeout(() => {
      if (this.state === 'waiting') this.settle('absent');
    }, RELAY_WAIT_MS);
  }

  /** Sends the request to the relay (or, without a relay, calls `pass` at once). */
  send(fields: RequestFields, callbacks: RelayCallbacks): RelayedRequest {
    const id = this.nextId++;
    let aborted = false;
    const go = () => {
      if (aborted) return;
      if (this.state === 'absent') return callbacks.pass();
      this.pending.set(id, callbacks);
      this.port!.postMessage({ kind: 'fetch', id, ...fields } satisfies MainFetchRequest);
    };
    if (this.state === 'waiting') this.queued.push(go);
    else go();
    return {
      abort: () => {
        aborted = true;
        if (this.pending.delete(id)) this.port?.postMessage({ kind: 'abort', id });
      },
    };
  }

  private settle(state: 'ready' | 'absent'): void {
    this.state = state;
    for (const go of this.queued.splice(0)) go();
  }

  private receive(port: MessagePort, data: unknown): void {
    const message = data as RelayToMain | { kind: 'ready' } | null;
    if (!message || typeof message !== 'object') return;
    if (message.kind === 'ready') {
      if (this.state !== 'waiting') return;
      this.port = port;
      this.settle('ready');
      return;
    }
    if (port !== this.port) return;
    if (message.kind === 'off') {
      // crcsync is off for this origin: the requests after this one go straight to the browser.
      this.state = 'absent';
      return;
    }
    const callbacks = this.pending.get(message.id);
    if (!callbacks) return;
    switch (message.kind) {
      case 'pass':
        this.pending.delete(message.id);
        return callbacks.pass();
      case 'head':
        return callbacks.head({ status: message.status, statusText: message.statusText, headers: message.headers, url: message.url });
      case 'chunk':
        return callbacks.chunk(new Uint8Array(message.bytes));
      case 'end':
        this.pending.delete(message.id);
        return callbacks.end();
      case 'error':
        this.pending.delete(message.id);
        return callbacks.error(message.message);
    }
  }
}
