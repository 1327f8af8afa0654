// The Chromium navigation path (extension/background/chromium/navigations-*.ts)
// against a fake CDP: what goes out at the request stage (all original
// headers plus If-Block, or nothing added), what the page gets at the
// response stage (the verified body under the response's own headers minus
// the crcsync ones; a self-redirect, never an unverified byte, when the delta
// cannot be used), the body read in chunks through IO.read, and a detach in
// the middle of a delta (nothing fulfilled, the tab reloaded).

jest.mock('../../../extension/shared/browser', () => ({ browser: {} }));

import { getDefaultEngine } from '../../../src/core/embedded-core';
import { DeltaEncoder } from '../../../src/protocol/delta-encoder';
import { formatIfBlock, parseIfBlock } from '../../../src/protocol/if-block';
import type { RebuildTimers } from '../../../src/protocol/delta-rebuild';
import type { ExchangeRecord } from '../../../extension/shared/messages';
import { SettingsView, defaultSettings, emptyLearnedSites } from '../../../extension/shared/settings';
import { CdpClient, FetchRequestPaused } from '../../../extension/background/chromium/cdp';
import { IO_READ_BYTES, base64ToBytes, bytesToBase64, streamResponseBody, wholeResponseBody } from '../../../extension/background/chromium/cdp-body';
import { AttachedTab, DEBUGGER_DETACHED, NavigationExchanges, RETRY_WITHHELD, fulfilledHeaders } from '../../../extension/background/chromium/navigations-exchange';
import { documentPatterns, enabledUrlPatterns, navigationsWanted, tabWanted } from '../../../extension/background/chromium/navigations-scope';
import { TabAttachments } from '../../../extension/background/chromium/navigations-attach';
import type { ChromeDebuggerApi, Debuggee, FetchRequestPattern } from '../../../extension/background/chromium/cdp';
import type { ServiceHandle, Services } from '../../../extension/background/services';
import { partitionOf, storeKeyFor } from '../../../extension/background/request-context';

const ORIGIN = 'https://site.example';
const URL_ = `${ORIGIN}/page.html`;
const TAB = 7;
const MAIN_FRAME = 'MAIN';

const text = (value: string) => new TextEncoder().encode(value);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function page(version: number): Uint8Array {
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) lines.push(i === 200 ? `<p>version ${version}</p>` : `<p>line ${i} ${(i * 2654435761) % 1e9} lorem ipsum dolor sit</p>`);
  return text(`<!doctype html>${lines.join('\n')}`);
}

function deltaOf(base: Uint8Array, next: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  const encoder = new DeltaEncoder(parseIfBlock(formatIfBlock(base, getDefaultEngine())!), { engine: getDefaultEngine() }, (chunk) => chunks.push(chunk.slice()));
  encoder.push(next, true);
  return Uint8Array.from(chunks.flatMap((chunk) => [...chunk]));
}

// ---- fakes ----

interface Sent {
  tabId: number;
  method: string;
  params: Record<string, unknown>;
}

/** A CDP session: records every command; the body stream hands out `body` in IO.read chunks (or breaks). */
class FakeCdp implements CdpClient {
  sent: Sent[] = [];
  body: Uint8Array = new Uint8Array(0);
  readChunk = 1000;
  private offset = 0;
  /** IO.read fails from this read on (0-based), like a detached session. */
  breakAtRead = Infinity;
  /** IO.read waits for this before answering (a stalled server). */
  readGate: Promise<void> | null = null;
  private reads = 0;

  async send<T>(tabId: number, method: string, params: object = {}): Promise<T> {
    this.sent.push({ tabId, method, params: params as Record<string, unknown> });
    switch (method) {
      case 'Fetch.getResponseBody':
        return { body: bytesToBase64(this.body), base64Encoded: true } as T;
      case 'Fetch.takeResponseBodyAsStream':
        this.offset = 0;
        return { stream: 'stream-1' } as T;
      case 'IO.read': {
        if (this.readGate) await this.readGate;
        if (this.reads++ >= this.breakAtRead) throw new Error('Detached while handling command.');
        const chunk = this.body.subarray(this.offset, this.offset + this.readChunk);
        this.offset += chunk.length;
        return { data: bytesToBase64(chunk), base64Encoded: true, eof: this.offset >= this.body.length } as T;
      }
      default:
        return {} as T;
    }
  }

  commands(method: string): Record<string, unknown>[] {
    return this.sent.filter((sent) => sent.method === method).map((sent) => sent.params);
  }
}

interface StoredBase {
  ifBlock: string;
  body: Uint8Array;
}

function fakeServices(settings: SettingsView) {
  const bases = new Map<string, StoredBase>();
  const records: ExchangeRecord[] = [];
  const saved: { key: string; body: Uint8Array }[] = [];
  const removed: string[] = [];
  const held = new Map<string, string>();
  const services = {
    settings: { current: settings },
    store: {
      lookup: (key: string) => {
        const base = bases.get(key);
        return base ? { key, ifBlock: base.ifBlock, storedAt: 1, baselineBytes: base.body.length, size: base.body.length } : undefined;
      },
      hotBody: (key: string) => bases.get(key)?.body ?? null,
      loadBody: async (key: string) => bases.get(key)?.body ?? null,
      remove: async (keys: string[]) => {
        for (const key of keys) bases.delete(key), removed.push(key);
      },
      save: async (entry: Promise<{ key: string; body: Uint8Array } | null>) => {
        const ready = await entry;
        if (ready) saved.push({ key: ready.key, body: ready.body });
        return 'saved';
      },
    },
    holds: {
      heldFor: (key: string) => (held.has(key) ? { reason: held.get(key) } : undefined),
      fail: (place: { key: string }, reason: string) => held.set(place.key, reason),
      lift: (key: string) => held.delete(key),
    },
    exchanges: { add: (record: ExchangeRecord) => records.push(record) },
    savings: { record: () => undefined },
  } as unknown as Services;
  const handle: ServiceHandle = { current: services, ready: Promise.resolve(services), whenReady: async () => services };
  return { handle, bases, records, saved, removed, held };
}

const REAL_TIMERS: RebuildTimers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

function settingsWith(change: Partial<SettingsView> = {}): SettingsView {
  return { ...defaultSettings(false), ...emptyLearnedSites(), sites: { [ORIGIN]: true }, acceleratePageLoads: true, ...change };
}

const KEY = storeKeyFor(partitionOf({ url: URL_, type: 'main_frame', tabId: TAB }), ORIGIN, URL_);

function setUp(options: { settings?: SettingsView; tab?: AttachedTab | undefined } = {}) {
  const cdp = new FakeCdp();
  const fake = fakeServices(options.settings ?? settingsWith());
  const reloaded: number[] = [];
  const tab: AttachedTab | undefined = 'tab' in options ? options.tab : { mainFrameId: MAIN_FRAME, incognito: false };
  const exchanges = new NavigationExchanges({
    cdp,
    services: fake.handle,
    tabOf: (tabId) => (tabId === TAB ? tab : undefined),
    tabActivity: { whenQuiet: async () => undefined },
    reloadTab: async (tabId) => void reloaded.push(tabId),
    timers: REAL_TIMERS,
    log: () => undefined,
  });
  return { cdp, exchanges, reloaded, ...fake };
}

const REQUEST_HEADERS = { Accept: 'text/html', 'User-Agent': 'Chromium', 'Accept-Language': 'en' };

function requestPaused(change: Partial<FetchRequestPaused> = {}, requestId = 'r1'): FetchRequestPaused {
  return { requestId, request: { url: URL_, method: 'GET', headers: { ...REQUEST_HEADERS } }, frameId: MAIN_FRAME, resourceType: 'Document', ...change };
}

function responsePaused(status: number, headers: [string, string][], requestId = 'r1'): FetchRequestPaused {
  return { ...requestPaused({}, requestId), responseStatusCode: status, responseHeaders: headers.map(([name, value]) => ({ name, value })) };
}

const DELTA_HEADERS: [string, string][] = [
  ['Content-Type', 'text/html; charset=utf-8'],
  ['Content-Encoding', 'crcsync'],
  ['Content-Length', '1234'],
  ['Vary', 'Accept-Encoding, If-Block'],
  ['Capability', 'crcsync; m=1'],
  ['Set-Cookie', 'session=abc; Path=/'],
  ['Content-Security-Policy', "script-src 'none'"],
  ['ETag', '"v2-crcsync"'],
];

/** Fulfilled body and headers of the one Fetch.fulfillRequest sent. */
function fulfilled(cdp: FakeCdp) {
  const [params] = cdp.commands('Fetch.fulfillRequest');
  const headers = params.responseHeaders as { name: string; value: string }[];
  return { status: params.responseCode, headers, header: (name: string) => headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value, body: decode(base64ToBytes(params.body as string)) };
}

// ---- tests ----

describe('request stage: If-Block added in the interception that decodes the answer', () => {
  test('with a base: continueRequest carries every original header plus If-Block (v=1, no x=1 offer)', async () => {
    const { cdp, exchanges, bases } = setUp();
    const base = page(1);
    bases.set(KEY, { ifBlock: formatIfBlock(base, getDefaultEngine())!, body: base });
    await exchanges.onRequestPaused(TAB, requestPaused());
    const [params] = cdp.commands('Fetch.continueRequest');
    const headers = params.headers as { name: string; value: string }[];
    expect(headers.filter((h) => h.name !== 'If-Block')).toEqual(Object.entries(REQUEST_HEADERS).map(([name, value]) => ({ name, value })));
    const ifBlock = headers.find((h) => h.name === 'If-Block')!.value;
    expect(ifBlock).toBe(formatIfBlock(base, getDefaultEngine()));
    expect(ifBlock).not.toMatch(/x=/);
  });

  test('nothing is added without a base, for a frame, a POST, a site that is off, or a tab that is not attached', async () => {
    const cases: { name: string; setup: Parameters<typeof setUp>[0]; event: Partial<FetchRequestPaused> }[] = [
      { name: 'no base', setup: {}, event: {} },
      { name: 'a sub-frame', setup: {}, event: { frameId: 'CHILD' } },
      { name: 'POST', setup: {}, event: { request: { url: URL_, method: 'POST', headers: {} } } },
      { name: 'site off', setup: { settings: settingsWith({ sites: { [ORIGIN]: false } }) }, event: {} },
      { name: 'not attached', setup: { tab: undefined }, event: {} },
      { name: 'main frame id unknown yet', setup: { tab: { mainFrameId: null, incognito: false } }, event: {} },
    ];
    for (const { name, setup, event } of cases) {
      const { cdp, exchanges, bases } = setUp(setup);
      if (name !== 'no base') bases.set(KEY, { ifBlock: formatIfBlock(page(1), getDefaultEngine())!, body: page(1) });
      await exchanges.onRequestPaused(TAB, requestPaused(event));
      expect({ name, sent: cdp.sent.map((sent) => sent.params) }).toEqual({ name, sent: [{ requestId: 'r1' }] });
    }
  });
});

describe('response stage: a delta becomes the verified page, under its own headers', () => {
  test('the body is read through IO.read in chunks, rebuilt, and fulfilled with Set-Cookie and CSP kept, crcsync headers gone', async () => {
    const { cdp, exchanges, bases, records, saved } = setUp();
    const v1 = page(1);
    const v2 = page(2);
    bases.set(KEY, { ifBlock: formatIfBlock(v1, getDefaultEngine())!, body: v1 });
    await exchanges.onRequestPaused(TAB, requestPaused());
    cdp.body = deltaOf(v1, v2);
    cdp.readChunk = 64; // several reads, as a long delta would take
    await exchanges.onRequestPaused(TAB, responsePaused(200, DELTA_HEADERS));
    expect(cdp.commands('IO.read').length).toBeGreaterThan(2);
    expect(cdp.commands('IO.read').every((params) => params.handle === 'stream-1' && params.size === IO_READ_BYTES)).toBe(true);
    expect(cdp.commands('IO.close')).toEqual([{ handle: 'stream-1' }]);
    const page2 = fulfilled(cdp);
    expect(page2.status).toBe(200);
    expect(page2.body).toBe(decode(v2));
    expect(page2.header('Set-Cookie')).toBe('session=abc; Path=/');
    expect(page2.header('Content-Security-Policy')).toBe("script-src 'none'");
    expect(page2.header('Content-Type')).toBe('text/html; charset=utf-8');
    expect(page2.header('Vary')).toBe('Accept-Encoding');
    for (const gone of ['Content-Encoding', 'Content-Length', 'Capability']) expect(page2.header(gone)).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(records).toEqual([expect.objectContaining({ outcome: 'verified', url: URL_, fullBytes: v2.length, encoding: 'crcsync' })]);
    expect(saved.map((entry) => decode(entry.body))).toEqual([decode(v2)]);
  });

  test.each([
    ['a corrupted delta', (delta: Uint8Array) => delta.map((byte, i) => (i === Math.floor(delta.length / 2) ? byte ^ 0x5a : byte))],
    ['a wrong digest', (delta: Uint8Array) => delta.map((byte, i) => (i === delta.length - 1 ? byte ^ 0xff : byte))],
    ['a truncated delta', (delta: Uint8Array) => delta.subarray(0, delta.length - 7)],
  ])('%s: never a byte of it; a self-redirect, and the retry goes without If-Block', async (_name, damage) => {
    const { cdp, exchanges, bases, records } = setUp();
    const v1 = page(1);
    bases.set(KEY, { ifBlock: formatIfBlock(v1, getDefaultEngine())!, body: v1 });
    await exchanges.onRequestPaused(TAB, requestPaused());
    cdp.body = damage(deltaOf(v1, page(2)));
    await exchanges.onRequestPaused(TAB, responsePaused(200, DELTA_HEADERS));
    const redirect = fulfilled(cdp);
    expect(redirect.status).toBe(307);
    expect(redirect.header('Location')).toBe(URL_);
    expect(redirect.body).toBe('');
    expect(records[0]).toMatchObject({ outcome: 'fell-back' });
    // The browser follows the redirect: the same URL pauses again, and goes out as it came.
    cdp.sent = [];
    bases.set(KEY, { ifBlock: formatIfBlock(v1, getDefaultEngine())!, body: v1 });
    await exchanges.onRequestPaused(TAB, requestPaused({}, 'r2'));
    expect(cdp.sent.map((sent) => sent.params)).toEqual([{ requestId: 'r2' }]);
    // Once only: the load after it offers If-Block again.
    cdp.sent = [];
    await exchanges.onRequestPaused(TAB, requestPaused({}, 'r3'));
    expect((cdp.commands('Fetch.continueRequest')[0].headers as { name: string }[]).some((h) => h.name === 'If-Block')).toBe(true);
    expect(RETRY_WITHHELD).toMatch(/retry/);
  });

  test('a crcsync answer this path has no state for (a worker that restarted) is never shown: self-redirect', async () => {
    const { cdp, exchanges } = setUp();
    await exchanges.onRequestPaused(TAB, responsePaused(200, DELTA_HEADERS, 'unknown'));
    expect(fulfilled(cdp)).toMatchObject({ status: 307, body: '' });
    expect(cdp.commands('IO.read')).toEqual([]);
  });
});

describe('response stage: a plain 200 is kept as the next base, the page unchanged', () => {
  test('read with Fetch.getResponseBody, then the response goes on unchanged (continueRequest), the body stored', async () => {
    const { cdp, exchanges, saved, records } = setUp();
    await exchanges.onRequestPaused(TAB, requestPaused());
    const v1 = page(1);
    cdp.body = v1;
    await exchanges.onRequestPaused(
      TAB,
      responsePaused(200, [
        ['Content-Type', 'text/html'],
        ['Content-Length', String(v1.length)],
        ['Set-Cookie', 'a=1'],
        ['Capability', 'crcsync; m=1'],
      ]),
    );
    // Nothing of the response is rewritten: the browser's own goes to the page.
    expect(cdp.sent.map((sent) => sent.method)).toEqual(['Fetch.continueRequest', 'Fetch.getResponseBody', 'Fetch.continueRequest']);
    expect(cdp.commands('Fetch.continueRequest')[1]).toEqual({ requestId: 'r1' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(decode(saved[0].body)).toBe(decode(v1));
    expect(saved.map((entry) => entry.key)).toEqual([KEY]);
    expect(records[0]).toMatchObject({ outcome: 'stored', wireBytes: v1.length });
  });

  test('a 404 or a no-store answer goes on untouched (continueRequest, no body read)', async () => {
    for (const headers of [[['Cache-Control', 'no-store']], []] as [string, string][][]) {
      const { cdp, exchanges } = setUp();
      await exchanges.onRequestPaused(TAB, requestPaused());
      await exchanges.onRequestPaused(TAB, responsePaused(headers.length ? 200 : 404, headers));
      expect(cdp.sent.map((sent) => sent.method)).toEqual(['Fetch.continueRequest', 'Fetch.continueRequest']);
    }
  });
});

describe('a detach in the middle of a delta', () => {
  test('the stream breaks: nothing is fulfilled, the exchange is abandoned and the tab reloaded (without the debugger: no If-Block)', async () => {
    const { cdp, exchanges, bases, reloaded, records } = setUp();
    const v1 = page(1);
    bases.set(KEY, { ifBlock: formatIfBlock(v1, getDefaultEngine())!, body: v1 });
    await exchanges.onRequestPaused(TAB, requestPaused());
    cdp.body = deltaOf(v1, page(2));
    cdp.readChunk = 16;
    let openGate: () => void = () => undefined;
    cdp.readGate = new Promise<void>((resolve) => (openGate = resolve));
    const handling = exchanges.onRequestPaused(TAB, responsePaused(200, DELTA_HEADERS));
    await new Promise((resolve) => setImmediate(resolve));
    expect(exchanges.pending(TAB)).toBe(1);
    // Chrome ends the session (the user's Cancel): the paused response is resumed by Chrome itself.
    exchanges.tabDetached(TAB, false);
    cdp.breakAtRead = 0;
    openGate();
    await handling;
    expect(cdp.commands('Fetch.fulfillRequest')).toEqual([]);
    expect(reloaded).toEqual([TAB]);
    expect(records).toEqual([expect.objectContaining({ outcome: 'failed', reason: DEBUGGER_DETACHED })]);
    expect(exchanges.pending()).toBe(0);
  });

  test('a closed tab is not reloaded; a tab with nothing under way is not reloaded either', () => {
    const closed = setUp();
    closed.bases.set(KEY, { ifBlock: formatIfBlock(page(1), getDefaultEngine())!, body: page(1) });
    return closed.exchanges.onRequestPaused(TAB, requestPaused()).then(() => {
      expect(closed.exchanges.pending(TAB)).toBe(1);
      closed.exchanges.tabDetached(TAB, true);
      expect(closed.reloaded).toEqual([]);
      const idle = setUp();
      idle.exchanges.tabDetached(TAB, false);
      expect(idle.reloaded).toEqual([]);
    });
  });
});

describe('fulfilledHeaders', () => {
  test('drops Capability and framing headers, keeps every other header, repeated ones included', () => {
    expect(
      fulfilledHeaders([
        { name: 'Set-Cookie', value: 'a=1' },
        { name: 'set-cookie', value: 'b=2' },
        { name: 'capability', value: 'crcsync' },
        { name: 'Transfer-Encoding', value: 'chunked' },
        { name: 'X-Empty' },
      ]),
    ).toEqual([
      { name: 'Set-Cookie', value: 'a=1' },
      { name: 'set-cookie', value: 'b=2' },
      { name: 'X-Empty', value: '' },
    ]);
  });
});

describe('navigations-scope: which tabs are attached, which requests paused', () => {
  test('the mode needs the setting, crcsync on and the permission', () => {
    expect(navigationsWanted(settingsWith(), true)).toBe(true);
    expect(navigationsWanted(settingsWith(), false)).toBe(false);
    expect(navigationsWanted(settingsWith({ acceleratePageLoads: false }), true)).toBe(false);
    expect(navigationsWanted(settingsWith({ enabled: false }), true)).toBe(false);
  });

  test('a tab is attached only on an enabled HTTPS site, never in a private window', () => {
    const settings = settingsWith();
    expect(tabWanted(settings, URL_, false)).toBe(true);
    expect(tabWanted(settings, URL_, true)).toBe(false);
    expect(tabWanted(settings, 'https://other.example/', false)).toBe(false);
    expect(tabWanted(settings, 'http://site.example/', false)).toBe(false);
    expect(tabWanted(settings, 'chrome://newtab/', false)).toBe(false);
    expect(tabWanted(settings, undefined, false)).toBe(false);
  });

  test('patterns: documents of the enabled sites only, both stages; capable sites only with "every site that supports it"', () => {
    const settings = settingsWith({ sites: { [ORIGIN]: true, 'https://off.example': false }, capableOrigins: { 'https://capable.example': 1, 'https://off.example': 1 } });
    expect(enabledUrlPatterns(settings)).toEqual([`${ORIGIN}/*`]);
    expect(enabledUrlPatterns({ ...settings, enableAllCapable: true })).toEqual([`${ORIGIN}/*`, 'https://capable.example/*']);
    expect(enabledUrlPatterns({ ...settings, enabled: false })).toEqual([]);
    expect(documentPatterns(settings)).toEqual([
      { urlPattern: `${ORIGIN}/*`, resourceType: 'Document', requestStage: 'Request' },
      { urlPattern: `${ORIGIN}/*`, resourceType: 'Document', requestStage: 'Response' },
    ]);
    expect(enabledUrlPatterns(settingsWith({ sites: {}, localTestOriginsEnabled: true }))).toContain('http://127.0.0.1:*/*');
  });
});

describe('cdp-body', () => {
  test('base64 both ways, byte-exact, across the chunking of the encoder', () => {
    const bytes = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
    expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
    expect(bytesToBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
  });

  /** The chunks streamResponseBody hands over, joined. */
  async function streamed(cdp: FakeCdp): Promise<string> {
    const chunks: string[] = [];
    await streamResponseBody(cdp, TAB, 'r9', { chunk: (bytes) => chunks.push(decode(bytes)) });
    return chunks.join('');
  }

  test('streamResponseBody: every IO.read chunk in order, then IO.close', async () => {
    const cdp = new FakeCdp();
    cdp.body = page(3);
    cdp.readChunk = 333;
    expect(await streamed(cdp)).toBe(decode(page(3)));
    expect(cdp.sent.map((sent) => sent.method)).toEqual(['Fetch.takeResponseBodyAsStream', ...Array(Math.ceil(page(3).length / 333)).fill('IO.read'), 'IO.close']);
  });

  test('streamResponseBody: a broken stream rejects, and the stream is still closed', async () => {
    const cdp = new FakeCdp();
    cdp.body = page(3);
    cdp.breakAtRead = 2;
    await expect(streamed(cdp)).rejects.toThrow(/Detached/);
    expect(cdp.commands('IO.close')).toEqual([{ handle: 'stream-1' }]);
  });

  test('wholeResponseBody: the base64 body, byte-exact', async () => {
    const cdp = new FakeCdp();
    cdp.body = Uint8Array.from([0, 255, 128, 10, 13]);
    expect(await wholeResponseBody(cdp, TAB, 'r9')).toEqual(cdp.body);
  });
});

describe('navigations-attach: the debugger sessions', () => {
  /** chrome.debugger with sessions per tab; `refuse` tabs cannot be attached (chrome://, another extension's). */
  function fakeDebugger(options: { refuse?: number[]; alreadyOurs?: number[] } = {}) {
    const sessions = new Set<number>(options.alreadyOurs ?? []);
    const calls: string[] = [];
    const api = {
      attach: async ({ tabId }: Debuggee) => {
        calls.push(`attach ${tabId}`);
        if (options.refuse?.includes(tabId!) || sessions.has(tabId!)) throw new Error('Another debugger is already attached to the tab');
        sessions.add(tabId!);
      },
      detach: async ({ tabId }: Debuggee) => {
        calls.push(`detach ${tabId}`);
        if (!sessions.delete(tabId!)) throw new Error('Debugger is not attached');
      },
      sendCommand: async ({ tabId }: Debuggee, method: string, params?: object) => {
        if (!sessions.has(tabId!)) throw new Error('Debugger is not attached');
        calls.push(`${method} ${tabId}${params ? ` ${JSON.stringify(params)}` : ''}`);
        return method === 'Page.getFrameTree' ? { frameTree: { frame: { id: `frame-${tabId}` } } } : {};
      },
    } as unknown as ChromeDebuggerApi;
    return { api, calls, sessions };
  }

  const patternsFor = (origin: string): FetchRequestPattern[] => [{ urlPattern: `${origin}/*`, resourceType: 'Document', requestStage: 'Request' }];

  test('attach: the session, Fetch.enable with the patterns, the main frame; detach ends it', async () => {
    const { api, calls, sessions } = fakeDebugger();
    const attachments = new TabAttachments({ api: () => api, patterns: () => patternsFor(ORIGIN), log: () => undefined });
    expect(await attachments.attach(1, false)).toBe(true);
    expect(attachments.get(1)).toEqual({ mainFrameId: 'frame-1', incognito: false });
    expect(calls).toEqual(['attach 1', `Fetch.enable 1 ${JSON.stringify({ patterns: patternsFor(ORIGIN) })}`, 'Page.getFrameTree 1']);
    expect(await attachments.attach(1, false)).toBe(true);
    expect(calls.filter((call) => call.startsWith('attach'))).toHaveLength(1);
    await attachments.detach(1);
    expect(sessions.has(1)).toBe(false);
    expect(attachments.attachedTabs()).toEqual([]);
  });

  test('no permission, no enabled site, or a tab that refuses: not attached (Fetch.enable without patterns would pause everything)', async () => {
    const none = new TabAttachments({ api: () => null, patterns: () => patternsFor(ORIGIN), log: () => undefined });
    expect(await none.attach(1, false)).toBe(false);
    const { api, calls } = fakeDebugger({ refuse: [2] });
    const empty = new TabAttachments({ api: () => api, patterns: () => [], log: () => undefined });
    expect(await empty.attach(1, false)).toBe(false);
    expect(calls).toEqual([]);
    const refusing = new TabAttachments({ api: () => api, patterns: () => patternsFor(ORIGIN), log: () => undefined });
    expect(await refusing.attach(2, false)).toBe(false);
    expect(refusing.attachedTabs()).toEqual([]);
  });

  test('a session of ours that outlived the worker is taken over', async () => {
    const { api } = fakeDebugger({ alreadyOurs: [3] });
    const attachments = new TabAttachments({ api: () => api, patterns: () => patternsFor(ORIGIN), log: () => undefined });
    expect(await attachments.attach(3, false)).toBe(true);
    expect(attachments.get(3)?.mainFrameId).toBe('frame-3');
  });

  test('new patterns go to every attached tab, once; no enabled site left detaches them all', async () => {
    const { api, calls, sessions } = fakeDebugger();
    let patterns = patternsFor(ORIGIN);
    const attachments = new TabAttachments({ api: () => api, patterns: () => patterns, log: () => undefined });
    await attachments.attach(1, false);
    await attachments.attach(2, false);
    calls.length = 0;
    await attachments.refreshPatterns();
    expect(calls).toEqual([]);
    patterns = patternsFor('https://other.example');
    await attachments.refreshPatterns();
    expect(calls.sort()).toEqual([1, 2].map((tabId) => `Fetch.enable ${tabId} ${JSON.stringify({ patterns })}`));
    patterns = [];
    await attachments.refreshPatterns();
    expect([...sessions]).toEqual([]);
  });
});
