// The Chromium page-fetch relay (extension/page/relay-exchange.ts) against a fake background port
// and a fake network: what the page is told when the background fails or goes away mid-delta.

import { RelayExchange, RelayEnvironment, RelayPort } from '../../../extension/page/relay-exchange';
import type { BackgroundToRelay, RelayToBackground, RelayToMain } from '../../../extension/page/page-messages';

const URL_ = 'https://news.example/feed.json';

/** A delta answer whose body never ends (the server stalls): the relay is mid-delta until told otherwise. */
function stallingDelta(): Response {
  const body = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(new Uint8Array([1, 2, 3])) });
  return new Response(body, { status: 200, headers: { 'Content-Encoding': 'crcsync' } });
}

function harness() {
  const toBackground: RelayToBackground[] = [];
  const toMain: RelayToMain[] = [];
  let deliver: (message: BackgroundToRelay) => void = () => undefined;
  let disconnect: () => void = () => undefined;
  const fetches: RequestInit[] = [];
  const port: RelayPort = {
    postMessage: (message) => toBackground.push(message),
    disconnect: () => undefined,
    onMessage: { addListener: (listener) => (deliver = listener) },
    onDisconnect: { addListener: (listener) => (disconnect = listener) },
  };
  const env: RelayEnvironment = {
    connect: () => port,
    fetch: (async (_input: RequestInfo | URL, init?: RequestInit) => {
      fetches.push(init ?? {});
      return stallingDelta();
    }) as typeof fetch,
    toMain: (message) => toMain.push(message),
    siteOff: () => undefined,
    transferSizeOf: () => null,
  };
  const exchange = new RelayExchange({ kind: 'fetch', id: 7, url: URL_, cache: 'default', credentials: 'same-origin', headers: [] }, env);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  return { exchange, toBackground, toMain, fetches, deliver: (message: BackgroundToRelay) => deliver(message), disconnect: () => disconnect(), settle };
}

async function midDelta() {
  const h = harness();
  const running = h.exchange.run();
  await h.settle();
  h.deliver({ kind: 'offer', ifBlock: 'v=1;fs=100;h=AAAAAAAAAAA' });
  await h.settle();
  await h.settle();
  expect(h.fetches).toHaveLength(1);
  expect(new Headers(h.fetches[0].headers).has('If-Block')).toBe(true);
  expect(h.toBackground.map((message) => message.kind)).toEqual(['request', 'head']);
  return { ...h, running };
}

describe('RelayExchange mid-delta', () => {
  it('the background goes away (service worker stopped) before the page had the head: the request is handed back to the browser, no error', async () => {
    const h = await midDelta();
    h.disconnect();
    await h.running;
    expect(h.toMain).toEqual([{ kind: 'pass', id: 7 }]);
  });

  it('the background fails it before the head (the refetch was refused): handed back too, the browser makes the request itself', async () => {
    const h = await midDelta();
    h.deliver({ kind: 'fail', message: 'REFETCH_STATUS 500' });
    await h.running;
    expect(h.toMain).toEqual([{ kind: 'pass', id: 7 }]);
  });

  it('after the head went to the page, a failure errors the body: never a partial body passed off as whole', async () => {
    const h = await midDelta();
    h.deliver({ kind: 'page-head', status: 200, statusText: 'OK', headers: [['content-type', 'application/json']], url: URL_ });
    h.deliver({ kind: 'body', data: Buffer.from('{"a":').toString('base64') });
    h.disconnect();
    await h.running;
    expect(h.toMain.map((message) => message.kind)).toEqual(['head', 'chunk', 'error']);
  });

  it('a verified body: head, bytes, end, and the page is never handed back', async () => {
    const h = await midDelta();
    h.deliver({ kind: 'page-head', status: 200, statusText: 'OK', headers: [], url: URL_ });
    h.deliver({ kind: 'body', data: Buffer.from('{"a":1}').toString('base64') });
    h.deliver({ kind: 'close' });
    await h.running;
    expect(h.toMain.map((message) => message.kind)).toEqual(['head', 'chunk', 'end']);
    const chunk = h.toMain[1] as Extract<RelayToMain, { kind: 'chunk' }>;
    expect(Buffer.from(chunk.bytes).toString()).toBe('{"a":1}');
  });
});
