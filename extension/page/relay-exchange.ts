// ISOLATED world: one page request, made by the relay (issue 10 item 6).
//
//   1. ask the background (one runtime Port per request): pass, or fetch with
//      this If-Block (or none);
//   2. fetch, same-origin, with the page's cookies (a content script's fetch
//      runs with the page's origin), redirect 'manual' (a redirect is handed
//      back to the browser: the page's own fetch follows it, with the right
//      `url` and `redirected`, and no If-Block goes to another URL);
//   3. a plain answer streams to the page at once, and a copy goes to the
//      background when it says keep (the next base); a crcsync answer to our
//      If-Block goes to the background only, and the page gets what the
//      background sends back: the verified rebuilt body, or the body of the
//      full refetch it asks this relay to make (same cookies as the page).
//
// The only bytes ever posted to the page are a plain answer's (what the
// page's own fetch would have read) and the background's `body` messages.

import { REFETCH_DEADLINE_MS, classifyDeltaResponse, refetchRefusal } from '../../src/protocol/client-policy';
import { DEFAULT_MAX_REBUILT_BYTES, IF_BLOCK_HEADER, MAX_BASE_BYTES } from '../../src/protocol/wire';
import { MESSAGE_CHUNK_BYTES, base64ToBytes, bytesToBase64 } from './byte-chunks';
import type { BackgroundToRelay, HeaderPairs, MainFetchRequest, RelayToBackground, RelayToMain } from './page-messages';

/** The background answers the request within this (its init waits at most 3 s); else the browser makes it. */
const OFFER_WAIT_MS = 5000;

/** The parts of chrome.runtime.Port the relay uses. */
export interface RelayPort {
  postMessage(message: RelayToBackground): void;
  disconnect(): void;
  onMessage: { addListener(listener: (message: BackgroundToRelay) => void): void };
  onDisconnect: { addListener(listener: () => void): void };
}

export interface RelayEnvironment {
  connect(): RelayPort;
  fetch: typeof fetch;
  toMain(message: RelayToMain, transfer?: Transferable[]): void;
  /** The background said crcsync is off for this document's origin. */
  siteOff(): void;
  /** Resource Timing's transferSize of the latest fetch of `url` (headers and body as received), or null. */
  transferSizeOf(url: string): number | null;
}

/** An ArrayBuffer holding exactly `bytes`, to transfer to the page (the view's own when it spans all of it). */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer as ArrayBuffer;
}

/** Sends bytes to the background in base64 messages of about MESSAGE_CHUNK_BYTES. */
class ChunkSender {
  private held: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly send: (data: string) => void) {}

  push(bytes: Uint8Array): void {
    this.held.push(bytes);
    this.size += bytes.length;
    if (this.size >= MESSAGE_CHUNK_BYTES) this.flush();
  }

  flush(): void {
    if (!this.size) return;
    const all = new Uint8Array(this.size);
    let offset = 0;
    for (const part of this.held) {
      all.set(part, offset);
      offset += part.length;
    }
    this.held = [];
    this.size = 0;
    for (let i = 0; i < all.length; i += MESSAGE_CHUNK_BYTES) this.send(bytesToBase64(all.subarray(i, i + MESSAGE_CHUNK_BYTES)));
  }
}

export class RelayExchange {
  private port: RelayPort | null = null;
  private readonly deltaAbort = new AbortController();
  private readonly refetchAbort = new AbortController();
  /** The page has had its last message (end, error or pass), or went away. */
  private finished = false;
  private backgroundListener: ((message: BackgroundToRelay) => void) | null = null;
  private disconnected = false;

  constructor(
    private readonly request: MainFetchRequest,
    private readonly env: RelayEnvironment,
  ) {}

  /** The page gave up on the request. */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    this.deltaAbort.abort();
    this.refetchAbort.abort();
    this.toBackground({ kind: 'abort' });
    this.port?.disconnect();
  }

  async run(): Promise<void> {
    try {
      this.port = this.env.connect();
    } catch {
      return this.pass(); // the extension was reloaded: this relay's context is gone
    }
    this.port.onMessage.addListener((message) => this.backgroundListener?.(message));
    this.port.onDisconnect.addListener(() => {
      this.disconnected = true;
      this.backgroundListener?.({ kind: 'fail', message: 'the background went away' });
    });
    const { url, cache, credentials, headers } = this.request;
    this.toBackground({ kind: 'request', url, cache, credentials, headers });
    const offer = await this.nextFromBackground(OFFER_WAIT_MS);
    if (this.finished) return;
    if (!offer || offer.kind !== 'offer') {
      if (offer?.kind === 'pass' && offer.siteOff === true) this.env.siteOff();
      this.port.disconnect();
      return this.pass();
    }
    const ifBlock = offer.ifBlock;
    let response: Response;
    try {
      response = await this.env.fetch(url, {
        method: 'GET',
        headers: ifBlock === null ? headers : [...headers, [IF_BLOCK_HEADER, ifBlock]],
        credentials,
        // A delta must never sit in the HTTP cache under its URL, nor a 304 answer the If-Block request.
        cache: ifBlock === null ? cache : 'no-store',
        redirect: 'manual',
        mode: 'same-origin',
        signal: this.deltaAbort.signal,
      });
    } catch (error) {
      if (this.finished) return;
      // The browser's own attempt shows the page what this failure is (and gets the body if it was our If-Block's fault).
      this.toBackground({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
      this.port.disconnect();
      return this.pass();
    }
    if (this.finished) return;
    if (response.type === 'opaqueredirect') {
      this.toBackground({ kind: 'redirected' });
      this.port.disconnect();
      return this.pass();
    }
    const responseHeaders: HeaderPairs = [];
    response.headers.forEach((value, name) => responseHeaders.push([name, value]));
    const head = { status: response.status, statusText: response.statusText, headers: responseHeaders, url: response.url };
    this.toBackground({ kind: 'head', ...head });
    const answer = ifBlock === null ? 'plain' : classifyDeltaResponse(response.status, responseHeaders.map(([name, value]) => ({ name, value })));
    if (answer === 'plain') await this.relayPlain(response, head, ifBlock !== null);
    else await this.relayDelta(response);
  }

  /**
   * A plain answer: to the page at once; a copy to the background if it says keep.
   * `offered`: the request carried If-Block. Then the page gets the head only with
   * the first body byte: a body the browser cannot read (a peer that sends a delta
   * labelled gzip: ERR_CONTENT_DECODING_FAILED on the first read) is handed back,
   * and the page's request goes out again as the browser's own, without If-Block.
   */
  private async relayPlain(response: Response, head: { status: number; statusText: string; headers: HeaderPairs; url: string }, offered: boolean): Promise<void> {
    let headSent = false;
    const sendHead = () => {
      if (headSent) return;
      headSent = true;
      this.toMain({ kind: 'head', id: this.request.id, ...head });
    };
    if (!offered) sendHead();
    // Whether the background keeps a copy: unknown (null) until its `keep` message; bytes are held until then.
    const copy = { keep: null as boolean | null, bytes: 0, held: [] as Uint8Array[] };
    const sender = new ChunkSender((data) => this.toBackground({ kind: 'chunk', data }));
    const send = (bytes: Uint8Array) => {
      if (copy.keep !== true) return;
      copy.bytes += bytes.length;
      if (copy.bytes > MAX_BASE_BYTES) {
        // Never a base (§6: at most 4 MiB): the background records it so.
        copy.keep = false;
        this.toBackground({ kind: 'failed', message: `over ${MAX_BASE_BYTES} bytes` });
        return;
      }
      sender.push(bytes);
    };
    const decide = (keep: boolean) => {
      if (copy.keep !== null) return;
      copy.keep = keep;
      for (const bytes of copy.held.splice(0)) send(bytes);
    };
    this.backgroundListener = (message) => {
      if (message.kind === 'keep') decide(message.keep);
    };
    const reader = response.body?.getReader();
    try {
      for (;;) {
        const next = reader ? await reader.read() : { done: true as const, value: undefined };
        if (this.finished) return void reader?.cancel().catch(() => undefined);
        if (next.done) break;
        const bytes = next.value;
        if (copy.keep === null) copy.held.push(bytes.slice());
        else send(bytes.slice());
        sendHead();
        const owned = ownBuffer(bytes);
        this.toMain({ kind: 'chunk', id: this.request.id, bytes: owned }, [owned]);
      }
    } catch (error) {
      if (this.finished) return;
      const message = error instanceof Error ? error.message : String(error);
      if (!headSent) {
        this.toBackground({ kind: 'handed-back', message });
        this.port?.disconnect();
        return this.pass();
      }
      this.finish({ kind: 'error', id: this.request.id, message: 'network error' });
      this.toBackground({ kind: 'failed', message });
      this.port?.disconnect();
      return;
    }
    sendHead();
    this.finish({ kind: 'end', id: this.request.id });
    // The background may not have said yet whether it keeps the body: it gets the copy when it does.
    if (copy.keep === null) {
      const answer = await this.nextFromBackground(OFFER_WAIT_MS, 'keep');
      decide(answer?.kind === 'keep' && answer.keep);
    }
    if (copy.keep) {
      sender.flush();
      this.toBackground({ kind: 'end', transferSize: await this.transferSize(this.request.url) });
    } else if (copy.bytes <= MAX_BASE_BYTES) {
      // Not kept: the background still records the exchange, with what it cost.
      this.toBackground({ kind: 'end', transferSize: await this.transferSize(this.request.url) });
    }
    this.port?.disconnect();
  }

  /**
   * A crcsync answer: its bytes to the background only; the page gets what the
   * background sends back. When the background fails (or goes away: Chrome
   * stopped or restarted the service worker) before the page has had the
   * response's head, the page loses nothing yet: its request is handed back
   * and goes out as the browser's own, without If-Block.
   */
  private async relayDelta(response: Response): Promise<void> {
    let pageHeadSent = false;
    const closed = new Promise<void>((resolve) => {
      this.backgroundListener = (message) => {
        if (this.finished) return resolve();
        switch (message.kind) {
          case 'page-head':
            pageHeadSent = true;
            return this.toMain({ kind: 'head', id: this.request.id, status: message.status, statusText: message.statusText, headers: message.headers, url: message.url });
          case 'body': {
            let bytes: Uint8Array;
            try {
              bytes = base64ToBytes(message.data);
            } catch {
              this.finish({ kind: 'error', id: this.request.id, message: 'network error' });
              return resolve();
            }
            const owned = ownBuffer(bytes);
            return this.toMain({ kind: 'chunk', id: this.request.id, bytes: owned }, [owned]);
          }
          case 'close':
            this.finish({ kind: 'end', id: this.request.id });
            return resolve();
          case 'fail':
            this.refetchAbort.abort();
            if (pageHeadSent) this.finish({ kind: 'error', id: this.request.id, message: 'network error' });
            else this.pass();
            return resolve();
          case 'refetch':
            // The delta is of no more use (a stall leaves its fetch hanging): stop it, fetch the full body.
            this.deltaAbort.abort();
            void this.refetch(message.stallTimeoutMs);
            return;
        }
      };
    });
    void this.pumpDelta(response);
    await closed;
    this.deltaAbort.abort();
    this.port?.disconnect();
  }

  private async pumpDelta(response: Response): Promise<void> {
    const sender = new ChunkSender((data) => this.toBackground({ kind: 'chunk', data }));
    const reader = response.body?.getReader();
    try {
      for (;;) {
        const next = reader ? await reader.read() : { done: true as const, value: undefined };
        if (this.finished || this.deltaAbort.signal.aborted) return void reader?.cancel().catch(() => undefined);
        if (next.done) break;
        sender.push(next.value);
      }
    } catch (error) {
      if (this.finished || this.deltaAbort.signal.aborted) return;
      sender.flush();
      this.toBackground({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
      return;
    }
    sender.flush();
    this.toBackground({ kind: 'end', transferSize: await this.transferSize(this.request.url) });
  }

  /** The fallback's GET without If-Block (refetch.ts's rules, from the page's own context): its body to the background. */
  private async refetch(stallTimeoutMs: number): Promise<void> {
    const { url, credentials, headers } = this.request;
    let timedOut = false;
    const giveUp = () => {
      timedOut = true;
      this.refetchAbort.abort();
    };
    let stallTimer = setTimeout(giveUp, stallTimeoutMs);
    const deadline = setTimeout(giveUp, REFETCH_DEADLINE_MS);
    const end = (refusal: string | null, transferSize: number | null = null) => {
      clearTimeout(stallTimer);
      clearTimeout(deadline);
      if (refusal) this.refetchAbort.abort();
      this.toBackground({ kind: 'refetch-end', refusal, transferSize });
    };
    try {
      const response = await this.env.fetch(url, { method: 'GET', headers, credentials, cache: 'no-store', redirect: 'manual', mode: 'same-origin', signal: this.refetchAbort.signal });
      const refusal = refetchRefusal({
        requestedUrl: url,
        responseUrl: response.url,
        responseType: response.type,
        status: response.status,
        contentEncoding: response.headers.get('Content-Encoding'),
      });
      if (refusal) return end(refusal === 'REFETCH_STATUS' ? `${refusal} ${response.status}` : refusal);
      const sender = new ChunkSender((data) => this.toBackground({ kind: 'refetch-chunk', data }));
      const reader = response.body?.getReader();
      let size = 0;
      for (;;) {
        const next = reader ? await reader.read() : { done: true as const, value: undefined };
        if (next.done) break;
        clearTimeout(stallTimer);
        stallTimer = setTimeout(giveUp, stallTimeoutMs);
        size += next.value.length;
        if (size > DEFAULT_MAX_REBUILT_BYTES) return end('REFETCH_TOO_LARGE');
        sender.push(next.value);
      }
      sender.flush();
      end(null, await this.transferSize(url));
    } catch {
      if (!this.finished) end(timedOut ? 'REFETCH_TIMEOUT' : 'REFETCH_NETWORK');
    }
  }

  /** The next message from the background (of `kind`, if given), or null after `ms` or when the port closes. */
  private nextFromBackground(ms: number, kind?: BackgroundToRelay['kind']): Promise<BackgroundToRelay | null> {
    if (this.disconnected) return Promise.resolve(null);
    return new Promise((resolve) => {
      const previous = this.backgroundListener;
      const timer = setTimeout(() => settle(null), ms);
      const settle = (message: BackgroundToRelay | null) => {
        clearTimeout(timer);
        this.backgroundListener = previous;
        resolve(message);
      };
      this.backgroundListener = (message) => {
        previous?.(message);
        if (this.disconnected) return settle(null);
        if (kind === undefined || message.kind === kind) settle(message);
      };
    });
  }

  /** Resource Timing adds the entry as the body ends: read it after that task. */
  private async transferSize(url: string): Promise<number | null> {
    await new Promise((resolve) => setTimeout(resolve, 0));
    return this.env.transferSizeOf(url);
  }

  private pass(): void {
    this.finish({ kind: 'pass', id: this.request.id });
  }

  private finish(message: Exclude<RelayToMain, { kind: 'off' }>): void {
    if (this.finished) return;
    this.finished = true;
    this.env.toMain(message);
  }

  private toMain(message: RelayToMain, transfer?: Transferable[]): void {
    if (!this.finished) this.env.toMain(message, transfer);
  }

  private toBackground(message: RelayToBackground): void {
    if (this.disconnected || !this.port) return;
    try {
      this.port.postMessage(message);
    } catch {
      this.disconnected = true;
    }
  }
}
