// The background's side of Chromium's page-fetch path (issue 10 item 6,
// extension/background/chromium/page-fetch.ts), driven through a fake
// runtime Port as the relay would drive it, with fake services around the
// real recorder, rebuild and If-Block code: what it offers (and to whom),
// what it sends back for a delta (only verified bytes), how a bad delta falls
// back to the relay's refetch, and what it keeps as the next base.

import { getDefaultEngine } from '../../../src/core/embedded-core';
import { DeltaEncoder } from '../../../src/protocol/delta-encoder';
import { formatIfBlock, parseIfBlock } from '../../../src/protocol/if-block';
import type { BackgroundToRelay, RelayToBackground } from '../../../extension/page/page-messages';
import { base64ToBytes, bytesToBase64 } from '../../../extension/page/byte-chunks';
import type { ExchangeRecord } from '../../../extension/shared/messages';
import { defaultSettings } from '../../../extension/shared/settings';
import type { ServiceHandle, Services } from '../../../extension/background/services';
import { storeKeyFor } from '../../../extension/background/request-context';

const EXTENSION_ID = 'crcsync-test-id';
const mockConnectListeners: ((port: unknown) => void)[] = [];

jest.mock('webextension-polyfill', () => ({
  __esModule: true,
  default: {
    runtime: { id: 'crcsync-test-id', onConnect: { addListener: (listener: (port: unknown) => void) => mockConnectListeners.push(listener) } },
    tabs: { onUpdated: { addListener: () => undefined, removeListener: () => undefined }, get: () => Promise.reject(new Error('no tabs here')), reload: () => Promise.resolve() },
  },
}));

// Imported after the mock is in place (jest hoists jest.mock above the imports).
import { registerPageFetchBridge } from '../../../extension/background/chromium/page-fetch';

const ORIGIN = 'https://app.example';
const URL_PATH = `${ORIGIN}/api/feed.json`;
const encoder = new TextEncoder();

function text(version: number): string {
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) lines.push(i === 200 ? `line ${i}: version ${version}` : `line ${i}: ${(i * 7919).toString(36)} ${(i * 104729).toString(36)}`);
  return `${lines.join('\n')}\n`;
}

function deltaOf(base: Uint8Array, body: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  new DeltaEncoder(parseIfBlock(formatIfBlock(base, getDefaultEngine())!), { engine: getDefaultEngine() }, (chunk) => chunks.push(chunk)).push(body, true);
  return Buffer.concat(chunks);
}

interface FakeWorld {
  services: Services;
  saved: { key: string; body: Uint8Array; ifBlock: string }[];
  removed: string[];
  records: ExchangeRecord[];
  /** A stored base for URL_PATH under ORIGIN (default partition). */
  storeBase(body: Uint8Array): void;
}

function fakeWorld(): FakeWorld {
  const entries = new Map<string, { ifBlock: string; storedAt: number; baselineBytes: number; body: Uint8Array }>();
  const world: FakeWorld = {
    saved: [],
    removed: [],
    records: [],
    storeBase(body) {
      entries.set(storeKeyFor('default', ORIGIN, URL_PATH), { ifBlock: formatIfBlock(body, getDefaultEngine())!, storedAt: 1, baselineBytes: 5000, body });
    },
    services: {
      settings: { current: { ...defaultSettings(false), sites: { [ORIGIN]: true } } },
      store: {
        lookup: (key: string) => entries.get(key),
        hotBody: (key: string) => entries.get(key)?.body ?? null,
        loadBody: (key: string) => Promise.resolve(entries.get(key)?.body ?? null),
        save: async (entry: Promise<{ key: string; body: Uint8Array; ifBlock: string } | null>) => {
          const resolved = await entry;
          if (resolved) world.saved.push({ key: resolved.key, body: resolved.body, ifBlock: resolved.ifBlock });
          return 'saved';
        },
        remove: async (keys: string[]) => {
          world.removed.push(...keys);
          for (const key of keys) entries.delete(key);
        },
      },
      holds: { heldFor: () => undefined, lift: () => undefined, fail: () => null },
      exchanges: { add: (record: ExchangeRecord) => world.records.push(record) },
      savings: { record: () => undefined },
    } as unknown as Services,
  };
  return world;
}

/** The relay's end of one port: what the bridge sent it, and a way to send. */
interface FakeRelay {
  received: BackgroundToRelay[];
  disconnected: boolean;
  send(message: RelayToBackground): void;
  /** The relay closes its end (as it does after a plain body's end). */
  hangUp(): void;
  next(kind: BackgroundToRelay['kind']): Promise<BackgroundToRelay>;
}

let world: FakeWorld;
/** Each port in a tab of its own: a tab's base is written once it has no request in flight (tab-activity.ts). */
let tabs = 0;

beforeAll(() => {
  // The bridge logs each fallback (log.ts): expected here, not worth the noise.
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const handle: ServiceHandle = {
    get current() {
      return world.services;
    },
    ready: new Promise(() => undefined),
    whenReady: () => Promise.resolve(world.services),
  };
  registerPageFetchBridge({ services: handle });
  expect(mockConnectListeners.length).toBe(1);
});

beforeEach(() => {
  world = fakeWorld();
});

function connect(sender: { url?: string; frameId?: number; tab?: { id?: number; url?: string; incognito: boolean }; id?: string } = {}): FakeRelay {
  const messageListeners: ((message: unknown) => void)[] = [];
  const disconnectListeners: (() => void)[] = [];
  const tabId = ++tabs;
  const waiters: { kind: string; resolve: (message: BackgroundToRelay) => void }[] = [];
  const relay: FakeRelay = {
    received: [],
    disconnected: false,
    send: (message) => messageListeners.forEach((listener) => listener(message)),
    hangUp: () => disconnectListeners.forEach((listener) => listener()),
    next: (kind) =>
      new Promise((resolve, reject) => {
        const found = relay.received.find((message) => message.kind === kind);
        if (found) return resolve(found);
        const timer = setTimeout(() => reject(new Error(`no ${kind} message; got ${JSON.stringify(relay.received.map((message) => message.kind))}`)), 3000);
        waiters.push({
          kind,
          resolve: (message) => {
            clearTimeout(timer);
            resolve(message);
          },
        });
      }),
  };
  const port = {
    name: 'crcsync-page-fetch',
    sender: { id: EXTENSION_ID, url: `${ORIGIN}/index.html`, frameId: 0, tab: { id: tabId, url: `${ORIGIN}/index.html`, incognito: false }, ...sender },
    postMessage: (message: BackgroundToRelay) => {
      relay.received.push(message);
      for (const waiter of waiters.splice(0)) {
        if (waiter.kind === message.kind) waiter.resolve(message);
        else waiters.push(waiter);
      }
    },
    disconnect: () => (relay.disconnected = true),
    onMessage: { addListener: (listener: (message: unknown) => void) => messageListeners.push(listener) },
    onDisconnect: { addListener: (listener: () => void) => disconnectListeners.push(listener) },
  };
  mockConnectListeners[0](port);
  return relay;
}

const request = (overrides: Partial<Extract<RelayToBackground, { kind: 'request' }>> = {}): RelayToBackground => ({
  kind: 'request',
  url: URL_PATH,
  cache: 'default',
  credentials: 'same-origin',
  headers: [['Accept', 'application/json']],
  ...overrides,
});

const plainHead: RelayToBackground = { kind: 'head', status: 200, statusText: 'OK', headers: [['content-type', 'application/json'], ['content-length', '9999']], url: URL_PATH };
const deltaHead: RelayToBackground = {
  kind: 'head',
  status: 200,
  statusText: 'OK',
  headers: [['content-type', 'application/json'], ['content-encoding', 'crcsync'], ['capability', 'crcsync; m=1'], ['content-length', '123'], ['vary', 'If-Block']],
  url: URL_PATH,
};

const bodyOf = (received: BackgroundToRelay[]) => Buffer.concat(received.filter((message) => message.kind === 'body').map((message) => base64ToBytes((message as { data: string }).data))).toString();

const waitForRecord = async (outcome: string): Promise<ExchangeRecord> => {
  for (let i = 0; i < 100; i++) {
    const record = world.records.find((candidate) => candidate.outcome === outcome);
    if (record) return record;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${outcome} record; got ${JSON.stringify(world.records.map((record) => record.outcome))}`);
};

describe('the offer', () => {
  it('a site that is off: pass, and the relay stops asking for this document', async () => {
    (world.services.settings as unknown as { current: { sites: Record<string, boolean> } }).current.sites = {};
    const relay = connect();
    relay.send(request());
    expect(await relay.next('pass')).toEqual({ kind: 'pass', siteOff: true });
  });

  it('an incognito tab, even with a stored base: pass, nothing offered, nothing kept', async () => {
    world.storeBase(encoder.encode(text(1)));
    const relay = connect({ tab: { id: 99, url: `${ORIGIN}/index.html`, incognito: true } });
    relay.send(request());
    expect(await relay.next('pass')).toEqual({ kind: 'pass', siteOff: false });
    expect(world.saved).toEqual([]);
  });

  it("a request for another origin than the sender's document: pass, whatever the message says", async () => {
    const relay = connect({ url: 'https://other.example/page', tab: { id: 98, url: 'https://other.example/page', incognito: false } });
    relay.send(request());
    expect((await relay.next('pass')).kind).toBe('pass');
  });

  it('a port from another extension or without a tab is closed at once', () => {
    expect(connect({ id: 'someone-else' }).disconnected).toBe(true);
    expect(connect({ tab: undefined }).disconnected).toBe(true);
  });

  it('cache no-store without a base: nothing to offer, nothing to keep: pass', async () => {
    const relay = connect();
    relay.send(request({ cache: 'no-store' }));
    expect((await relay.next('pass')).kind).toBe('pass');
  });

  it('with a base: a v=1 If-Block (no x=1 offer on this path)', async () => {
    world.storeBase(encoder.encode(text(1)));
    const relay = connect();
    relay.send(request());
    const offer = await relay.next('offer');
    expect(offer).toEqual({ kind: 'offer', ifBlock: formatIfBlock(encoder.encode(text(1)), getDefaultEngine()) });
    expect((offer as { ifBlock: string }).ifBlock).not.toMatch(/x=/);
  });
});

describe('a plain answer', () => {
  it('without a base: fetched plainly, kept as the next base, recorded stored', async () => {
    const relay = connect();
    relay.send(request());
    expect(await relay.next('offer')).toEqual({ kind: 'offer', ifBlock: null });
    relay.send(plainHead);
    expect(await relay.next('keep')).toEqual({ kind: 'keep', keep: true });
    const body = encoder.encode(text(1));
    relay.send({ kind: 'chunk', data: bytesToBase64(body.subarray(0, 1000)) });
    relay.send({ kind: 'chunk', data: bytesToBase64(body.subarray(1000)) });
    relay.send({ kind: 'end', transferSize: body.length + 200 });
    relay.hangUp();
    const record = await waitForRecord('stored');
    expect(record).toMatchObject({ wireBytes: body.length + 200, fullBytes: body.length, type: 'xmlhttprequest' });
    expect(Buffer.from(world.saved[0].body).toString()).toBe(text(1));
    expect(world.saved[0].key).toBe(storeKeyFor('default', ORIGIN, URL_PATH));
    // The plain body itself never comes back: the relay gave it to the page already.
    expect(relay.received.some((message) => message.kind === 'body')).toBe(false);
  });

  it('Cache-Control: no-store: not kept, the old base dropped', async () => {
    world.storeBase(encoder.encode(text(1)));
    const relay = connect();
    relay.send(request());
    await relay.next('offer');
    relay.send({ ...plainHead, headers: [['content-type', 'application/json'], ['cache-control', 'no-store']] } as RelayToBackground);
    expect(await relay.next('keep')).toEqual({ kind: 'keep', keep: false });
    relay.send({ kind: 'end', transferSize: 300 });
    expect(world.removed).toEqual([storeKeyFor('default', ORIGIN, URL_PATH)]);
    await waitForRecord('passed');
    expect(world.saved).toEqual([]);
  });
});

describe('a delta answer', () => {
  it('rebuilt and verified: the page gets exactly the new body under its headers without the crcsync ones', async () => {
    const base = encoder.encode(text(1));
    const next = encoder.encode(text(2));
    world.storeBase(base);
    const relay = connect();
    relay.send(request());
    await relay.next('offer');
    relay.send(deltaHead);
    expect(await relay.next('page-head')).toEqual({ kind: 'page-head', status: 200, statusText: 'OK', headers: [['content-type', 'application/json']], url: URL_PATH });
    const delta = deltaOf(base, next);
    expect(delta.length).toBeLessThan(next.length / 4);
    relay.send({ kind: 'chunk', data: bytesToBase64(delta.subarray(0, 10)) });
    // Nothing before the S digest verified the whole body (v=1).
    expect(relay.received.some((message) => message.kind === 'body')).toBe(false);
    relay.send({ kind: 'chunk', data: bytesToBase64(delta.subarray(10)) });
    relay.send({ kind: 'end', transferSize: delta.length + 250 });
    await relay.next('close');
    expect(bodyOf(relay.received)).toBe(text(2));
    expect(await waitForRecord('verified')).toMatchObject({ bodyBytes: delta.length, wireBytes: delta.length + 250, baselineBytes: 5000, fullBytes: next.length });
    expect(relay.received.some((message) => message.kind === 'refetch')).toBe(false);
  });

  it('corrupted: no byte of it reaches the page; the relay refetches and the page gets the refetched body; the base is dropped', async () => {
    const base = encoder.encode(text(1));
    const next = encoder.encode(text(3));
    world.storeBase(base);
    const relay = connect();
    relay.send(request());
    await relay.next('offer');
    relay.send(deltaHead);
    await relay.next('page-head');
    const delta = Buffer.from(deltaOf(base, next));
    delta[delta.length - 1] ^= 0xff; // the S digest's last byte
    relay.send({ kind: 'chunk', data: bytesToBase64(delta) });
    relay.send({ kind: 'end', transferSize: null });
    await relay.next('refetch');
    expect(relay.received.some((message) => message.kind === 'body')).toBe(false);
    expect(world.removed).toContain(storeKeyFor('default', ORIGIN, URL_PATH));
    relay.send({ kind: 'refetch-chunk', data: bytesToBase64(next) });
    relay.send({ kind: 'refetch-end', refusal: null, transferSize: next.length + 200 });
    await relay.next('close');
    expect(bodyOf(relay.received)).toBe(text(3));
    const record = await waitForRecord('fell-back');
    expect(record.reason).toBe('DELTA_DIGEST_MISMATCH');
    expect(Buffer.from(world.saved.at(-1)!.body).toString()).toBe(text(3));
  });

  it('the refetch refused (a 500): the page gets an error, never the delta; the load counts as failed', async () => {
    const base = encoder.encode(text(1));
    world.storeBase(base);
    const relay = connect();
    relay.send(request());
    await relay.next('offer');
    relay.send(deltaHead);
    await relay.next('page-head');
    relay.send({ kind: 'chunk', data: bytesToBase64(encoder.encode('this is no delta at all')) });
    relay.send({ kind: 'end', transferSize: null });
    await relay.next('refetch');
    relay.send({ kind: 'refetch-end', refusal: 'REFETCH_STATUS 500', transferSize: null });
    expect(await relay.next('fail')).toMatchObject({ kind: 'fail' });
    expect(relay.received.some((message) => message.kind === 'body' || message.kind === 'close')).toBe(false);
    expect((await waitForRecord('failed')).reason).toMatch(/REFETCH_STATUS 500/);
  });

  it('the page went away mid-delta: nothing more is sent, nothing is kept', async () => {
    const base = encoder.encode(text(1));
    world.storeBase(base);
    const relay = connect();
    relay.send(request());
    await relay.next('offer');
    relay.send(deltaHead);
    await relay.next('page-head');
    const delta = deltaOf(base, encoder.encode(text(4)));
    relay.send({ kind: 'chunk', data: bytesToBase64(delta.subarray(0, 20)) });
    relay.send({ kind: 'abort' });
    relay.send({ kind: 'chunk', data: bytesToBase64(delta.subarray(20)) });
    relay.send({ kind: 'end', transferSize: null });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(relay.received.some((message) => message.kind === 'body' || message.kind === 'close' || message.kind === 'refetch')).toBe(false);
    expect(world.saved).toEqual([]);
  });
});
