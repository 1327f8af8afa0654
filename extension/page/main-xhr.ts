// MAIN world: the page's XMLHttpRequest, wrapped. Each wrapper holds a real
// XHR (the pristine constructor) and hands everything to it, until send():
// an eligible request (eligibility.ts: async GET to the document's origin,
// responseType '', 'text', 'json', 'arraybuffer' or 'blob', no
// overrideMimeType) is made by the relay instead, and the wrapper plays the
// XHR's part itself: readyState 1 -> 2 -> 3 -> 4, readystatechange,
// loadstart, progress, load / error / abort / timeout, loadend; status,
// statusText, response headers, responseURL; response / responseText by
// responseType. When the relay hands the request back ('pass'), the real XHR
// (opened with the same arguments and headers) sends it after all.

import { pageRequestEligibility } from './eligibility';
import type { RelayClient, RelayedRequest } from './main-relay-client';
import type { HeaderPairs, PageResponseHead } from './page-messages';
import type { Pristine } from './pristine';

const UNSENT = 0;
const OPENED = 1;
const HEADERS_RECEIVED = 2;
const LOADING = 3;
const DONE = 4;

/** Events of an XHR (and of its handler attributes, onload etc.). */
const XHR_EVENTS = ['readystatechange', 'loadstart', 'progress', 'load', 'error', 'abort', 'timeout', 'loadend'] as const;
type XhrEventName = (typeof XHR_EVENTS)[number];

/** The charset of a Content-Type, for responseText (XHR decodes text as UTF-8 unless the type names another). */
function charsetOf(contentType: string | null): string {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '');
  return match ? match[1] : 'utf-8';
}

function mimeOf(contentType: string | null): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

const isXmlMime = (mime: string) => mime === 'text/xml' || mime === 'application/xml' || mime.endsWith('+xml');

interface RelayedState {
  request: RelayedRequest | null;
  head: PageResponseHead | null;
  headers: Headers | null;
  chunks: Uint8Array[];
  loaded: number;
  /** responseText so far ('' and 'text' only). */
  text: string;
  decoder: TextDecoder | null;
  /** response for 'json', 'arraybuffer', 'blob', once DONE. */
  response: unknown;
  timer: number | null;
}

export function wrapXmlHttpRequest(pristine: Pristine, relay: RelayClient): typeof XMLHttpRequest {
  const Original = pristine.XMLHttpRequest;

  class XMLHttpRequest extends EventTarget {
    static readonly UNSENT = UNSENT;
    static readonly OPENED = OPENED;
    static readonly HEADERS_RECEIVED = HEADERS_RECEIVED;
    static readonly LOADING = LOADING;
    static readonly DONE = DONE;
    readonly UNSENT = UNSENT;
    readonly OPENED = OPENED;
    readonly HEADERS_RECEIVED = HEADERS_RECEIVED;
    readonly LOADING = LOADING;
    readonly DONE = DONE;

    onreadystatechange: ((this: XMLHttpRequest, event: Event) => unknown) | null = null;
    onloadstart: ((this: XMLHttpRequest, event: ProgressEvent) => unknown) | null = null;
    onprogress: ((this: XMLHttpRequest, event: ProgressEvent) => unknown) | null = null;
    onload: ((this: XMLHttpRequest, event: ProgressEvent) => unknown) | null = null;
    onerror: ((this: XMLHttpRequest, event: ProgressEvent) => unknown) | null = null;
    onabort: ((this: XMLHttpRequest, event: ProgressEvent) => unknown) | null = null;
    ontimeout: ((this: XMLHttpRequest, event: ProgressEvent) => unknown) | null = null;
    onloadend: ((this: XMLHttpRequest, event: ProgressEvent) => unknown) | null = null;

    readonly #inner = new Original();
    /** 'inner': the real XHR does the work (and its events are this one's); 'relayed': this wrapper does. */
    #mode: 'inner' | 'relayed' = 'inner';
    #method = 'GET';
    #url = '';
    #async = true;
    #headers: HeaderPairs = [];
    #mimeOverridden = false;
    #readyState = UNSENT;
    #relayed: RelayedState | null = null;

    constructor() {
      super();
      for (const type of XHR_EVENTS) {
        this.#inner.addEventListener(type, (event) => {
          if (this.#mode === 'inner') this.#fire(type, event instanceof pristine.ProgressEvent ? { loaded: event.loaded, total: event.total, lengthComputable: event.lengthComputable } : null);
        });
      }
    }

    // ---- request side: recorded, and always given to the real XHR too ----

    open(method: string, url: string | URL, async = true, username?: string | null, password?: string | null): void {
      this.#abortRelayed(false);
      this.#mode = 'inner';
      this.#relayed = null;
      this.#method = String(method);
      this.#async = async !== false;
      this.#headers = [];
      try {
        this.#url = new pristine.URL(String(url), pristine.baseUrl()).href;
      } catch {
        this.#url = '';
      }
      if (arguments.length <= 2) this.#inner.open(method, url);
      else this.#inner.open(method, url, async, username, password);
      if (username || password) this.#url = ''; // credentials in the call: the browser's business
    }

    setRequestHeader(name: string, value: string): void {
      this.#inner.setRequestHeader(name, value);
      const existing = this.#headers.find(([known]) => known.toLowerCase() === String(name).toLowerCase());
      if (existing) existing[1] = `${existing[1]}, ${String(value)}`;
      else this.#headers.push([String(name), String(value)]);
    }

    overrideMimeType(mime: string): void {
      this.#inner.overrideMimeType(mime);
      this.#mimeOverridden = true;
    }

    get timeout(): number {
      return this.#inner.timeout;
    }
    set timeout(ms: number) {
      this.#inner.timeout = ms;
    }
    get withCredentials(): boolean {
      return this.#inner.withCredentials;
    }
    set withCredentials(value: boolean) {
      this.#inner.withCredentials = value;
    }
    get responseType(): XMLHttpRequestResponseType {
      return this.#inner.responseType;
    }
    set responseType(value: XMLHttpRequestResponseType) {
      this.#inner.responseType = value;
    }
    get upload(): XMLHttpRequestUpload {
      return this.#inner.upload;
    }

    send(body?: Document | XMLHttpRequestBodyInit | null): void {
      const verdict = pageRequestEligibility({
        method: this.#method,
        url: this.#url,
        documentUrl: pristine.documentUrl(),
        mode: 'cors',
        cache: 'default',
        // A same-origin XHR always carries the page's cookies (withCredentials only matters cross-origin).
        credentials: 'same-origin',
        headerNames: this.#headers.map(([name]) => name),
        integrity: '',
        keepalive: false,
        synchronous: !this.#async,
        responseType: this.#inner.responseType,
      });
      if (!verdict.eligible || this.#mimeOverridden || this.#inner.readyState !== OPENED) {
        this.#mode = 'inner';
        this.#inner.send(body);
        return;
      }
      this.#mode = 'relayed';
      this.#readyState = OPENED;
      const state: RelayedState = { request: null, head: null, headers: null, chunks: [], loaded: 0, text: '', decoder: null, response: null, timer: null };
      this.#relayed = state;
      const current = () => this.#relayed === state;
      if (this.timeout > 0) {
        state.timer = pristine.setTimeout(() => {
          if (!current() || this.#readyState === DONE) return;
          state.request?.abort();
          this.#finishWithError('timeout');
        }, this.timeout);
      }
      state.request = relay.send(
        { url: this.#url, cache: verdict.cache, credentials: verdict.credentials, headers: this.#headers },
        {
          pass: () => {
            if (!current()) return;
            this.#clearTimer(state);
            this.#mode = 'inner';
            this.#relayed = null;
            this.#inner.send(body);
          },
          head: (head) => {
            if (!current()) return;
            state.head = head;
            state.headers = new pristine.Headers(head.headers);
            const type = this.responseType;
            if (type === '' || type === 'text') state.decoder = new pristine.TextDecoder(charsetOf(state.headers.get('Content-Type')));
            this.#fire('loadstart', { loaded: 0, total: 0, lengthComputable: false });
            this.#setReadyState(HEADERS_RECEIVED);
          },
          chunk: (bytes) => {
            if (!current() || !state.head) return;
            state.chunks.push(bytes);
            state.loaded += bytes.length;
            if (state.decoder) state.text += state.decoder.decode(bytes, { stream: true });
            if (this.#readyState === HEADERS_RECEIVED) this.#setReadyState(LOADING);
            else this.#fire('readystatechange', null);
            this.#fire('progress', this.#progress(state));
          },
          end: () => {
            if (!current() || !state.head) return;
            this.#clearTimer(state);
            if (state.decoder) state.text += state.decoder.decode();
            state.response = this.#finalResponse(state);
            if (this.#readyState === HEADERS_RECEIVED) this.#setReadyState(LOADING);
            this.#setReadyState(DONE);
            const progress = this.#progress(state);
            this.#fire('load', progress);
            this.#fire('loadend', progress);
          },
          error: () => {
            if (!current()) return;
            this.#clearTimer(state);
            this.#finishWithError('error');
          },
        },
      );
    }

    abort(): void {
      if (this.#mode === 'inner') {
        this.#inner.abort();
        return;
      }
      this.#abortRelayed(true);
    }

    // ---- response side ----

    get readyState(): number {
      return this.#mode === 'inner' ? this.#inner.readyState : this.#readyState;
    }

    get status(): number {
      if (this.#mode === 'inner') return this.#inner.status;
      return this.#relayed?.head && this.#readyState >= HEADERS_RECEIVED ? this.#relayed.head.status : 0;
    }

    get statusText(): string {
      if (this.#mode === 'inner') return this.#inner.statusText;
      return this.#relayed?.head && this.#readyState >= HEADERS_RECEIVED ? this.#relayed.head.statusText : '';
    }

    get responseURL(): string {
      if (this.#mode === 'inner') return this.#inner.responseURL;
      return this.#relayed?.head ? this.#relayed.head.url : '';
    }

    getResponseHeader(name: string): string | null {
      if (this.#mode === 'inner') return this.#inner.getResponseHeader(name);
      const headers = this.#relayed?.headers;
      if (!headers || this.#readyState < HEADERS_RECEIVED) return null;
      try {
        return headers.get(name);
      } catch {
        return null;
      }
    }

    getAllResponseHeaders(): string {
      if (this.#mode === 'inner') return this.#inner.getAllResponseHeaders();
      const headers = this.#relayed?.headers;
      if (!headers || this.#readyState < HEADERS_RECEIVED) return '';
      let text = '';
      headers.forEach((value, name) => (text += `${name}: ${value}\r\n`));
      return text;
    }

    get responseText(): string {
      if (this.#mode === 'inner') return this.#inner.responseText;
      const type = this.responseType;
      if (type !== '' && type !== 'text') throw new DOMException(`The value is only accessible if the object's 'responseType' is '' or 'text' (was '${type}').`, 'InvalidStateError');
      return this.#relayed?.text ?? '';
    }

    get response(): unknown {
      if (this.#mode === 'inner') return this.#inner.response;
      const type = this.responseType;
      if (type === '' || type === 'text') return this.#relayed?.text ?? '';
      return this.#readyState === DONE ? (this.#relayed?.response ?? null) : null;
    }

    get responseXML(): Document | null {
      if (this.#mode === 'inner') return this.#inner.responseXML;
      const state = this.#relayed;
      if (this.responseType !== '' || this.#readyState !== DONE || !state?.headers) return null;
      const mime = mimeOf(state.headers.get('Content-Type'));
      if (!isXmlMime(mime)) return null;
      const parsed = new pristine.DOMParser().parseFromString(state.text, mime === 'text/xml' || mime === 'application/xml' ? mime : 'application/xml');
      return parsed.getElementsByTagName('parsererror').length ? null : parsed;
    }

    // ---- the relayed request's own machinery ----

    #finalResponse(state: RelayedState): unknown {
      const type = this.responseType;
      if (type === 'arraybuffer') return this.#bytes(state).buffer;
      if (type === 'blob') return new pristine.Blob(state.chunks as BlobPart[], { type: mimeOf(state.headers?.get('Content-Type') ?? null) });
      if (type === 'json') {
        try {
          return JSON.parse(new pristine.TextDecoder('utf-8').decode(this.#bytes(state)));
        } catch {
          return null;
        }
      }
      return null;
    }

    #bytes(state: RelayedState): Uint8Array {
      const all = new Uint8Array(state.loaded);
      let offset = 0;
      for (const chunk of state.chunks) {
        all.set(chunk, offset);
        offset += chunk.length;
      }
      return all;
    }

    #progress(state: RelayedState): ProgressEventInit {
      // Only a body the server sent as is has a length the page may compare with what arrived.
      const length = state.headers?.get('Content-Encoding') ? null : state.headers?.get('Content-Length');
      const total = length && /^[0-9]+$/.test(length) ? Number(length) : 0;
      return { loaded: state.loaded, total, lengthComputable: total > 0 };
    }

    #clearTimer(state: RelayedState): void {
      if (state.timer !== null) pristine.clearTimeout(state.timer);
      state.timer = null;
    }

    /** error / timeout / abort (XHR "request error steps"): DONE, readystatechange, the event, loadend. */
    #finishWithError(type: 'error' | 'timeout' | 'abort'): void {
      const state = this.#relayed;
      if (state) {
        state.head = null;
        state.headers = null;
        state.chunks = [];
        state.text = '';
        state.response = null;
      }
      this.#setReadyState(DONE);
      const progress = { loaded: 0, total: 0, lengthComputable: false };
      this.#fire(type, progress);
      this.#fire('loadend', progress);
    }

    #abortRelayed(fireEvents: boolean): void {
      const state = this.#relayed;
      if (this.#mode !== 'relayed' || !state) return;
      this.#clearTimer(state);
      state.request?.abort();
      const active = this.#readyState !== UNSENT && this.#readyState !== DONE;
      if (fireEvents && active) this.#finishWithError('abort');
      // After an abort the XHR is UNSENT again, without a readystatechange (XHR spec, abort() step 3).
      if (fireEvents) {
        this.#readyState = UNSENT;
        this.#relayed = null;
      }
    }

    #setReadyState(value: number): void {
      this.#readyState = value;
      this.#fire('readystatechange', null);
    }

    #fire(type: XhrEventName, progress: ProgressEventInit | null): void {
      const event = progress ? new pristine.ProgressEvent(type, progress) : new pristine.Event(type);
      const handler = (this as unknown as Record<string, unknown>)[`on${type}`];
      this.dispatchEvent(event);
      if (typeof handler === 'function') {
        try {
          handler.call(this, event);
        } catch (error) {
          pristine.queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
  }

  return XMLHttpRequest as unknown as typeof globalThis.XMLHttpRequest;
}
