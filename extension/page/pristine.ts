// MAIN world: the platform's own functions, taken at document_start before
// any page script runs, so a page that later replaces window.fetch, Response
// or MessageChannel does not change what the wrappers call. (A page can still
// break its own wrapper in other ways, e.g. Promise.prototype; that only ever
// costs itself: no delta byte is in this world to reach, issue 10 item 6.)

export interface Pristine {
  window: Window;
  fetch: typeof fetch;
  Request: typeof Request;
  Response: typeof Response;
  Headers: typeof Headers;
  ReadableStream: typeof ReadableStream;
  XMLHttpRequest: typeof XMLHttpRequest;
  MessageChannel: typeof MessageChannel;
  TextDecoder: typeof TextDecoder;
  Blob: typeof Blob;
  DOMParser: typeof DOMParser;
  ProgressEvent: typeof ProgressEvent;
  Event: typeof Event;
  URL: typeof URL;
  postMessage(message: unknown, targetOrigin: string, transfer: Transferable[]): void;
  addWindowListener(type: 'message', listener: (event: MessageEvent) => void): void;
  setTimeout(callback: () => void, ms: number): number;
  clearTimeout(handle: number): void;
  queueMicrotask(callback: () => void): void;
  /** location.href now (the document's URL; a pushState changes the path, never the origin). */
  documentUrl(): string;
  /** document.baseURI now: what an XHR resolves a relative URL against. */
  baseUrl(): string;
}

export function capturePristine(win: Window & typeof globalThis): Pristine {
  const fetchFn = win.fetch.bind(win);
  const post = win.postMessage.bind(win);
  const listen = win.addEventListener.bind(win);
  const setTimer = win.setTimeout.bind(win);
  const clearTimer = win.clearTimeout.bind(win);
  const microtask = win.queueMicrotask.bind(win);
  const hrefGetter = Object.getOwnPropertyDescriptor(win.Location.prototype, 'href')?.get ?? null;
  const baseUriGetter = Object.getOwnPropertyDescriptor(win.Node.prototype, 'baseURI')?.get ?? null;
  const location = win.location;
  const document = win.document;
  return {
    window: win,
    fetch: fetchFn,
    Request: win.Request,
    Response: win.Response,
    Headers: win.Headers,
    ReadableStream: win.ReadableStream,
    XMLHttpRequest: win.XMLHttpRequest,
    MessageChannel: win.MessageChannel,
    TextDecoder: win.TextDecoder,
    Blob: win.Blob,
    DOMParser: win.DOMParser,
    ProgressEvent: win.ProgressEvent,
    Event: win.Event,
    URL: win.URL,
    postMessage: (message, targetOrigin, transfer) => post(message, targetOrigin, transfer),
    addWindowListener: (type, listener) => listen(type, listener),
    setTimeout: (callback, ms) => setTimer(callback, ms),
    clearTimeout: (handle) => clearTimer(handle),
    queueMicrotask: (callback) => microtask(callback),
    documentUrl: () => (hrefGetter ? String(hrefGetter.call(location)) : location.href),
    baseUrl: () => (baseUriGetter ? String(baseUriGetter.call(document)) : document.baseURI),
  };
}
