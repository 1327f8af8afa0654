// Chromium, default mode (issue 10 item 6): the page's own fetch() and
// XMLHttpRequest to an enabled site go through the content-script relay and
// the background; headless Chromium with dist/chromium-test and the real
// reference server on 127.0.0.1.
// - a changed resource arrives as a verified delta (the server's access log
//   says crcsync) and the page reads exactly the new body: text(), a streamed
//   response.body, XHR text/json/arraybuffer/blob; headers without the crcsync ones;
// - a corrupted, wrong-digest, truncated or stalled delta, or a full body
//   labelled crcsync (a damaging proxy), still gives the page exactly the new
//   body from the relay's refetch, and never a byte of the delta;
// - a site turned off sends nothing;
// - a peer that labels its delta gzip: the page still gets its body (the
//   browser's own request), and the URL is held;
// - a cross-origin fetch and a POST never carry If-Block;
// - the exchange is in the background's exchange log;
// - a page with CSP script-src 'none' works (content scripts are exempt);
// - a page script posting its own messages to the relay gets no delta byte.

import { createHash } from 'node:crypto';
import type { Page } from 'puppeteer-core';
import type { ExchangeRecord, PopupState, StoreSummary } from '../../extension/shared/messages';
import { LaunchedChromium, WAIT_MS, chromiumPath, launchChromium, openChromiumExtensionPage, sendToBackground, waitFor } from './helpers/chromium';
import { MIN_DELTA_STALL_TIMEOUT_MS } from '../../extension/shared/settings';
import { faultText } from './helpers/faults';
import { DamagingProxy, MislabellingServer, SiteServer, startDamagingProxy, startMislabellingServer, startSiteServer } from './helpers/servers';

const CHROMIUM = chromiumPath();
if (!CHROMIUM) console.warn('chromium is not installed (apt-get install chromium): skipping the Chromium page-fetch tests');
const maybe = CHROMIUM ? describe : describe.skip;

const START_PAGE = '/start.html';

let site: SiteServer;
let chromium: LaunchedChromium;
let page: Page;
let control: Page;

/** What the page's script got, in a form that crosses page.evaluate. */
type Fetched = { status: number; text: string; headers: Record<string, string>; url: string; redirected: boolean; type: string } | { error: string };

function fetchText(target: Page, url: string, init: RequestInit = {}): Promise<Fetched> {
  return target.evaluate(
    (href, options) =>
      fetch(href, options).then(
        async (response) => {
          const headers: Record<string, string> = {};
          response.headers.forEach((value, name) => (headers[name] = value));
          return { status: response.status, text: await response.text(), headers, url: response.url, redirected: response.redirected, type: response.type };
        },
        (error: unknown) => ({ error: String(error) }),
      ),
    url,
    init as Record<string, unknown>,
  );
}

/** Visits `path` on `origin` in the test page (a small page: never a base). */
async function openStart(target: Page, origin: string, path = START_PAGE): Promise<void> {
  await target.goto(`${origin}${path}`, { waitUntil: 'load', timeout: WAIT_MS });
}

/**
 * Waits until the store holds a body of `url` (`origin` + path, fetched from a page of the same
 * origin): its key ends with the SHA-256 of the URL (request-context.ts storeKeyFor).
 */
function stored(origin: string, path: string): Promise<true> {
  const urlHash = createHash('sha256').update(`${origin}${path}`).digest('hex');
  return waitFor(`${origin}${path} stored`, async () => {
    const summary = await sendToBackground<StoreSummary>(control, { type: 'getStoreSummary', request: { settle: true } });
    return summary.entries.some((entry) => entry.topLevelOrigin === origin && entry.key.endsWith(` ${urlHash}`)) ? true : undefined;
  });
}

async function tabIdOf(url: string): Promise<number> {
  const ids = await control.evaluate(
    (prefix) =>
      (globalThis as unknown as { chrome: { tabs: { query(q: unknown): Promise<{ id: number; url?: string }[]> } } }).chrome.tabs
        .query({})
        .then((tabs) => tabs.filter((tab) => (tab.url ?? '').startsWith(prefix)).map((tab) => tab.id)),
    url,
  );
  if (ids.length !== 1) throw new Error(`expected one tab showing ${url}, found ${ids.length}`);
  return ids[0];
}

function exchangesOf(tabId: number): Promise<ExchangeRecord[]> {
  return sendToBackground<ExchangeRecord[]>(control, { type: 'getExchanges', request: { tabId } });
}

const sha256 = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex');

/** The server's access-log lines for `path` from index `from` on. */
const responsesFor = (server: SiteServer, path: string, from = 0) => server.responses.slice(from).filter((entry) => entry.url === path);

maybe('Chromium page fetch() and XHR through the relay (issue 10 item 6)', () => {
  beforeAll(async () => {
    site = await startSiteServer();
    site.write(START_PAGE, '<!doctype html><title>start</title><p>start</p>');
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
    control = await openChromiumExtensionPage(chromium, 'popup/popup.html');
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await site?.close();
  });

  test('first fetch() stores the body, the second of a changed resource is a verified delta with exactly the new body', async () => {
    const path = '/data/first.txt';
    const before = faultText('first', 1);
    const after = faultText('first', 2);
    site.write(path, before);
    await openStart(page, site.origin);
    const first = await fetchText(page, path);
    expect(first).toMatchObject({ status: 200, text: before });
    expect(site.requests.filter((request) => request.path === path).map((request) => request.ifBlock)).toEqual([undefined]);
    await stored(site.origin, path);

    site.write(path, after);
    const from = site.responses.length;
    const second = await fetchText(page, path);
    expect(second).toMatchObject({ status: 200, text: after, url: `${site.origin}${path}`, redirected: false, type: 'basic' });
    const delta = responsesFor(site, path, from);
    expect(delta.map((entry) => entry.encoding)).toEqual(['crcsync']);
    expect(delta[0].sentBytes).toBeLessThan(after.length / 4);
    // The page sees the server's headers without the crcsync ones.
    if ('headers' in second) {
      expect(second.headers['content-encoding']).toBeUndefined();
      expect(second.headers.capability).toBeUndefined();
      expect(second.headers['content-length']).toBeUndefined();
      expect(second.headers['content-type']).toMatch(/^text\/plain/);
    }
    const requests = site.requests.filter((request) => request.path === path);
    expect(requests[1].ifBlock).toMatch(/^v=1; fs=\d+; h=[A-Za-z0-9+/]+$/); // v=1 only: no x=1 offer on this path

    const tabId = await tabIdOf(`${site.origin}${START_PAGE}`);
    const verified = await waitFor('the verified exchange in the log', async () =>
      (await exchangesOf(tabId)).find((record) => record.url === `${site.origin}${path}` && record.outcome === 'verified'),
    );
    expect(verified).toMatchObject({ type: 'xmlhttprequest', encoding: 'crcsync', fullBytes: after.length });
    expect(verified.ifBlock).toBe(requests[1].ifBlock);
    // The bytes it counts are the server's: the delta body exactly, plus headers (Resource Timing's
    // transferSize), against the first download's; the popup's savings are those records'.
    const HEADER_ALLOWANCE = 700;
    expect(verified.bodyBytes).toBe(delta[0].sentBytes);
    expect(verified.wireBytes! - delta[0].sentBytes).toBeGreaterThanOrEqual(0);
    expect(verified.wireBytes! - delta[0].sentBytes).toBeLessThan(HEADER_ALLOWANCE);
    const full = responsesFor(site, path)[0];
    expect(verified.baselineBytes! - full.sentBytes).toBeGreaterThanOrEqual(0);
    expect(verified.baselineBytes! - full.sentBytes).toBeLessThan(HEADER_ALLOWANCE);
    const state = await sendToBackground<PopupState>(control, { type: 'getPopupState', request: { origin: site.origin } });
    expect(state.site!.savings).toMatchObject({ deltas: 1, fallbacks: 0, wireBytes: verified.wireBytes, baselineBytes: verified.baselineBytes });
  });

  test('response.body streamed by the page equals the new body', async () => {
    const path = '/data/stream.txt';
    site.write(path, faultText('stream', 1));
    await openStart(page, site.origin);
    expect(await fetchText(page, path)).toMatchObject({ text: faultText('stream', 1) });
    await stored(site.origin, path);
    const after = faultText('stream', 2);
    site.write(path, after);
    const from = site.responses.length;
    const streamed = await page.evaluate(async (href) => {
      const response = await fetch(href);
      const reader = response.body!.getReader();
      const parts: Uint8Array[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
      }
      const size = parts.reduce((sum, part) => sum + part.length, 0);
      const all = new Uint8Array(size);
      let offset = 0;
      for (const part of parts) {
        all.set(part, offset);
        offset += part.length;
      }
      return { reads: parts.length, text: new TextDecoder().decode(all) };
    }, path);
    expect(streamed.text).toBe(after);
    expect(responsesFor(site, path, from).map((entry) => entry.encoding)).toEqual(['crcsync']);
  });

  test('XMLHttpRequest: text, json, arraybuffer and blob each get exactly the new body, with the usual events', async () => {
    const path = '/data/items.json';
    const version = (n: number) => JSON.stringify({ version: n, items: faultText('items', n).split('\n') }, null, 1);
    site.write(path, version(1));
    await openStart(page, site.origin);
    expect(await fetchText(page, path)).toMatchObject({ text: version(1) });
    await stored(site.origin, path);
    let n = 1;
    for (const responseType of ['', 'text', 'json', 'arraybuffer', 'blob'] as const) {
      n++;
      site.write(path, version(n));
      const from = site.responses.length;
      const got = await page.evaluate(
        (href, type) =>
          new Promise<Record<string, unknown>>((resolve) => {
            const xhr = new XMLHttpRequest();
            const events: string[] = [];
            for (const name of ['loadstart', 'progress', 'load', 'loadend', 'error', 'abort', 'timeout']) xhr.addEventListener(name, () => events.push(name));
            xhr.onreadystatechange = () => events.push(`state ${xhr.readyState}`);
            xhr.open('GET', href);
            xhr.responseType = type;
            xhr.onloadend = async () => {
              let body: string | null = null;
              if (type === '' || type === 'text') body = xhr.responseText;
              else if (type === 'json') body = JSON.stringify(xhr.response, null, 1);
              else if (type === 'arraybuffer') body = xhr.response instanceof ArrayBuffer ? new TextDecoder().decode(xhr.response) : null;
              else if (type === 'blob') body = xhr.response instanceof Blob ? await xhr.response.text() : null;
              resolve({
                status: xhr.status,
                body,
                events: [...new Set(events)],
                contentType: xhr.getResponseHeader('Content-Type'),
                encoding: xhr.getResponseHeader('Content-Encoding'),
                all: xhr.getAllResponseHeaders(),
                responseURL: xhr.responseURL,
              });
            };
            xhr.send();
          }),
        path,
        responseType,
      );
      expect({ type: responseType, status: got.status, body: got.body }).toEqual({ type: responseType, status: 200, body: version(n) });
      expect(got.events).toEqual(expect.arrayContaining(['state 1', 'loadstart', 'state 2', 'state 3', 'progress', 'state 4', 'load', 'loadend']));
      expect(got.events).not.toContain('error');
      expect(got.contentType).toMatch(/^application\/json/);
      expect(got.encoding).toBeNull();
      expect(got.all).toMatch(/content-type: application\/json/);
      expect(got.all).not.toMatch(/capability|content-encoding/i);
      expect(got.responseURL).toBe(`${site.origin}${path}`);
      expect(responsesFor(site, path, from).map((entry) => entry.encoding)).toEqual(['crcsync']);
    }
  });

  test("a same-origin iframe's fetch() gets its delta too (every frame has the wrapper); a sandboxed one sends no If-Block", async () => {
    site.write('/framed.html', '<!doctype html><title>framed</title><iframe id="same" src="/inner.html"></iframe><iframe id="boxed" sandbox="allow-scripts" src="/inner.html"></iframe>');
    site.write('/inner.html', '<!doctype html><p>inner</p>');
    const path = '/data/framed.txt';
    site.write(path, faultText('framed', 1));
    await openStart(page, site.origin, '/framed.html');
    const frames = page.frames().filter((frame) => frame.url().endsWith('/inner.html'));
    expect(frames.length).toBe(2);
    const origins = await Promise.all(frames.map((frame) => frame.evaluate(() => self.origin)));
    expect(origins.sort()).toEqual(['null', site.origin].sort());
    const sameOrigin = frames.find((_, i) => origins[i] === site.origin)!;
    const sandboxed = frames.find((_, i) => origins[i] === 'null')!;
    const fetchIn = (frame: typeof sameOrigin) => frame.evaluate((href) => fetch(href).then((response) => response.text(), (error: unknown) => `error ${String(error)}`), path);
    expect(await fetchIn(sameOrigin)).toBe(faultText('framed', 1));
    await stored(site.origin, path);
    site.write(path, faultText('framed', 2));
    const from = site.responses.length;
    expect(await fetchIn(sameOrigin)).toBe(faultText('framed', 2));
    expect(responsesFor(site, path, from).map((entry) => entry.encoding)).toEqual(['crcsync']);
    // The sandboxed frame's origin is opaque: its fetch is cross-origin to the server and goes out as the browser's own.
    const requestsBefore = site.requests.length;
    await fetchIn(sandboxed);
    expect(site.requests.slice(requestsBefore).filter((request) => request.path === path).map((request) => request.ifBlock)).toEqual([undefined]);
  });

  test("a page with CSP script-src 'none' still gets its deltas (content scripts are exempt)", async () => {
    const cspPage = '/csp.html';
    site.write(cspPage, `<!doctype html><meta http-equiv="Content-Security-Policy" content="script-src 'none'"><title>csp</title><p>strict</p>`);
    const path = '/data/csp.txt';
    site.write(path, faultText('csp', 1));
    await openStart(page, site.origin, cspPage);
    expect(await fetchText(page, path)).toMatchObject({ text: faultText('csp', 1) });
    await stored(site.origin, path);
    site.write(path, faultText('csp', 2));
    const from = site.responses.length;
    expect(await fetchText(page, path)).toMatchObject({ status: 200, text: faultText('csp', 2) });
    expect(responsesFor(site, path, from).map((entry) => entry.encoding)).toEqual(['crcsync']);
  });

  test('a cross-origin fetch and a POST never carry If-Block', async () => {
    const other = await startSiteServer({ host: 'localhost', cors: true });
    try {
      const path = '/data/shared.txt';
      other.write(START_PAGE, '<!doctype html><p>other</p>');
      other.write(path, faultText('shared', 1));
      // Stored under the other site itself (same-origin there)...
      await openStart(page, other.origin);
      expect(await fetchText(page, path)).toMatchObject({ text: faultText('shared', 1) });
      await stored(other.origin, path);
      other.write(path, faultText('shared', 2));
      // ...never offered from 127.0.0.1, where it is cross-origin.
      await openStart(page, site.origin);
      expect(await fetchText(page, `${other.origin}${path}`)).toMatchObject({ status: 200, text: faultText('shared', 2) });
      // A POST to a URL with a stored body, from its own site.
      const posted = '/data/first.txt';
      const postsBefore = site.requests.length;
      await fetchText(page, posted, { method: 'POST', body: 'x' });
      const postRequests = site.requests.slice(postsBefore).filter((request) => request.path === posted);
      expect(postRequests.length).toBe(1);
      expect(postRequests[0].ifBlock).toBeUndefined();
      const fromOther = other.requests.filter((request) => request.path === path);
      expect(fromOther.length).toBe(2);
      expect(fromOther.map((request) => request.ifBlock)).toEqual([undefined, undefined]);
    } finally {
      await other.close();
    }
  });

  test("a fetch asking for no referrer keeps its own request (no If-Block, no Referer); a default one carries the document's Referer and If-Block", async () => {
    const path = '/data/referrer.txt';
    site.write(path, faultText('referrer', 1));
    await openStart(page, site.origin);
    expect(await fetchText(page, path)).toMatchObject({ text: faultText('referrer', 1) });
    await stored(site.origin, path);
    site.write(path, faultText('referrer', 2));
    const before = site.requests.length;
    expect(await fetchText(page, path, { referrerPolicy: 'no-referrer' })).toMatchObject({ status: 200, text: faultText('referrer', 2) });
    expect(await fetchText(page, path)).toMatchObject({ status: 200, text: faultText('referrer', 2) });
    const seen = site.requests.slice(before).filter((request) => request.path === path);
    expect(seen.map((request) => [request.ifBlock === undefined ? 'plain' : 'if-block', request.referer ?? 'no referer'])).toEqual([
      ['plain', 'no referer'],
      ['if-block', `${site.origin}${START_PAGE}`],
    ]);
  });

  test('a page script posting its own messages to the relay gets no byte of a delta', async () => {
    const path = '/data/hostile.txt';
    site.write(path, faultText('hostile', 1));
    await openStart(page, site.origin);
    expect(await fetchText(page, path)).toMatchObject({ text: faultText('hostile', 1) });
    await stored(site.origin, path);
    const after = faultText('hostile', 2);
    site.write(path, after);
    const from = site.responses.length;
    const seen = await page.evaluate(async (href) => {
      const received: unknown[] = [];
      const absolute = new URL(href, location.href).href;
      const ask = (port: MessagePort, label: string) => {
        port.onmessage = (event) => received.push({ [label]: event.data });
        for (let id = 1; id <= 3; id++) port.postMessage({ kind: 'fetch', id, url: absolute, cache: 'default', credentials: 'same-origin', headers: [] });
      };
      // Every window message the page sees while a delta is fetched and rebuilt; a port
      // in one (a hello the MAIN script posts after the fake "ready" below) is taken and asked through.
      window.addEventListener('message', (event) => {
        received.push({ window: event.data });
        if (event.ports.length && !(event.data as { mine?: boolean }).mine) ask(event.ports[0], 'caughtPort');
      });
      // The page's own hello to the relay, with requests on its own port...
      const channel = new MessageChannel();
      window.postMessage({ type: 'crcsync-main-hello', mine: true }, '*', [channel.port2]);
      ask(channel.port1, 'ownPort');
      // ...and a fake "relay ready", which makes the MAIN script post another hello the page can catch.
      window.postMessage({ type: 'crcsync-relay-ready' }, '*');
      const text = await fetch(href).then((response) => response.text());
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return { text, received: JSON.stringify(received) };
    }, path);
    expect(seen.text).toBe(after);
    expect(responsesFor(site, path, from).map((entry) => entry.encoding)).toEqual(['crcsync']);
    // The page saw its own messages and the MAIN script's hellos, nothing else: the relay answered
    // neither the page's own port nor the one it caught, and no body byte went through window messages.
    expect(seen.received).toMatch(/crcsync-relay-ready/);
    expect(seen.received).not.toMatch(/"ownPort":|"caughtPort":/);
    expect(seen.received).not.toMatch(/chunk|bytes|"head"|"end"/);
  });
});

maybe('Chromium page fetch() when the site is off (issue 10 item 6)', () => {
  beforeAll(async () => {
    site = await startSiteServer();
    site.write(START_PAGE, '<!doctype html><title>start</title><p>start</p>');
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
    control = await openChromiumExtensionPage(chromium, 'popup/popup.html');
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await site?.close();
  });

  test('a site turned off sends no If-Block, even with a stored body; turned on again, it does', async () => {
    const path = '/data/toggle.txt';
    site.write(path, faultText('toggle', 1));
    await openStart(page, site.origin);
    expect(await fetchText(page, path)).toMatchObject({ text: faultText('toggle', 1) });
    await stored(site.origin, path);
    await sendToBackground(control, { type: 'setSiteEnabled', request: { origin: site.origin, enabled: false } });
    await openStart(page, site.origin);
    for (const version of [2, 3]) {
      site.write(path, faultText('toggle', version));
      expect(await fetchText(page, path)).toMatchObject({ status: 200, text: faultText('toggle', version) });
    }
    expect(site.requests.filter((request) => request.path === path).map((request) => request.ifBlock)).toEqual([undefined, undefined, undefined]);
    await sendToBackground(control, { type: 'setSiteEnabled', request: { origin: site.origin, enabled: true } });
    await openStart(page, site.origin);
    site.write(path, faultText('toggle', 4));
    expect(await fetchText(page, path)).toMatchObject({ status: 200, text: faultText('toggle', 4) });
    expect(site.requests.filter((request) => request.path === path).at(-1)?.ifBlock).toMatch(/^v=1; /);
  });
});

maybe('Chromium page fetch() from a peer that labels its delta gzip (issue 10 item 6, PROTOCOL.md §5)', () => {
  let peer: MislabellingServer;

  beforeAll(async () => {
    peer = await startMislabellingServer();
    peer.files.set(START_PAGE, { type: 'text/html', body: '<!doctype html><title>start</title><p>start</p>' });
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
    control = await openChromiumExtensionPage(chromium, 'popup/popup.html');
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await peer?.close();
  });

  test('the undecodable answer is handed back: the page gets the new body from its own request, and the URL is held', async () => {
    const path = '/data/labelled.txt';
    peer.files.set(path, { type: 'text/plain', body: faultText('labelled', 1) });
    await openStart(page, peer.origin);
    expect(await fetchText(page, path)).toMatchObject({ status: 200, text: faultText('labelled', 1) });
    await stored(peer.origin, path);
    peer.files.set(path, { type: 'text/plain', body: faultText('labelled', 2) });
    expect(await fetchText(page, path)).toMatchObject({ status: 200, text: faultText('labelled', 2) });
    // The If-Block request (its delta labelled gzip: Chromium cannot read it), then the browser's own.
    expect(peer.requests.filter((request) => request.path === path).map((request) => request.ifBlock !== undefined)).toEqual([false, true, false]);
    const tabId = await tabIdOf(`${peer.origin}${START_PAGE}`);
    const record = await waitFor('the failed exchange in the log', async () => (await exchangesOf(tabId)).find((candidate) => candidate.outcome === 'failed'));
    expect(record.reason).toMatch(/^CONTENT_DECODING_FAILED gzip/);
    // Held: the next fetch goes without If-Block (if-block-holds.ts) and still gets its body.
    peer.files.set(path, { type: 'text/plain', body: faultText('labelled', 3) });
    expect(await fetchText(page, path)).toMatchObject({ status: 200, text: faultText('labelled', 3) });
    expect(peer.requests.filter((request) => request.path === path).at(-1)?.ifBlock).toBeUndefined();
  });
});

maybe('Chromium page fetch() when the delta is damaged (issue 10 item 6, PROTOCOL.md §3, §5)', () => {
  let proxy: DamagingProxy;

  beforeAll(async () => {
    site = await startSiteServer();
    proxy = await startDamagingProxy(site.origin);
    site.write(START_PAGE, '<!doctype html><title>start</title><p>start</p>');
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
    control = await openChromiumExtensionPage(chromium, 'popup/popup.html');
    // A stalled delta falls back after this long (the shortest the settings take).
    await sendToBackground(control, { type: 'setDeltaStallTimeout', request: { ms: MIN_DELTA_STALL_TIMEOUT_MS } });
    await openStart(page, proxy.origin);
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await proxy?.close();
    await site?.close();
  });

  const MODES = ['corrupt', 'wrong-digest', 'truncate', 'lie', 'stall'] as const;
  for (const mode of MODES) {
    test(`${mode}: the page gets exactly the new body from the full refetch, and no byte of the delta`, async () => {
      const path = `/data/${mode}.txt`;
      proxy.mode = 'none';
      site.write(path, faultText(mode, 1));
      expect(await fetchText(page, path)).toMatchObject({ text: faultText(mode, 1) });
      await stored(proxy.origin, path);
      const after = faultText(mode, 2);
      site.write(path, after);
      proxy.mode = mode;
      const requestsBefore = proxy.requests.length;
      const got = await fetchText(page, path);
      proxy.mode = 'none';
      expect(got).toMatchObject({ status: 200, text: after });
      if ('text' in got) expect(sha256(got.text)).toBe(sha256(after));
      // The If-Block request (damaged delta), then the relay's refetch without If-Block.
      const requests = proxy.requests.slice(requestsBefore).filter((request) => request.path === path);
      expect(requests.map((request) => request.ifBlock !== undefined)).toEqual([true, false]);
      const tabId = await tabIdOf(`${proxy.origin}${START_PAGE}`);
      const record = await waitFor('the fell-back exchange in the log', async () =>
        (await exchangesOf(tabId)).find((candidate) => candidate.url === `${proxy.origin}${path}` && candidate.outcome === 'fell-back'),
      );
      expect(record.reason).toMatch(/^DELTA_/);
    });
  }
  test('the page aborting a fetch() and an XHR, or an XHR timing out, while the delta stalls: AbortError / abort / timeout, and nothing after', async () => {
    const path = '/data/aborted.txt';
    proxy.mode = 'none';
    site.write(path, faultText('aborted', 1));
    expect(await fetchText(page, path)).toMatchObject({ text: faultText('aborted', 1) });
    await stored(proxy.origin, path);
    site.write(path, faultText('aborted', 2));
    proxy.mode = 'stall';
    const got = await page.evaluate(async (href) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 150);
      const fetched = await fetch(href, { signal: controller.signal }).then(
        (response) => response.text().then((text) => `text ${text.length}`, (error: unknown) => `body ${String(error)}`),
        (error: unknown) => `rejected ${String(error)}`,
      );
      const xhr = await new Promise<{ events: string[]; readyState: number; status: number }>((resolve) => {
        const request = new XMLHttpRequest();
        const events: string[] = [];
        for (const name of ['load', 'error', 'abort', 'loadend']) request.addEventListener(name, () => events.push(name));
        request.open('GET', href);
        request.send();
        setTimeout(() => {
          request.abort();
          // Anything the relay might still send must not reach it.
          setTimeout(() => resolve({ events, readyState: request.readyState, status: request.status }), 1200);
        }, 150);
      });
      const timedOut = await new Promise<{ events: string[]; readyState: number; status: number; text: string }>((resolve) => {
        const request = new XMLHttpRequest();
        const events: string[] = [];
        for (const name of ['load', 'error', 'abort', 'timeout', 'loadend']) request.addEventListener(name, () => events.push(name));
        request.open('GET', href);
        request.timeout = 150; // shorter than the extension's stall fallback (500 ms)
        request.send();
        setTimeout(() => resolve({ events, readyState: request.readyState, status: request.status, text: request.responseText }), 1500);
      });
      return { fetched, xhr, timedOut };
    }, path);
    proxy.mode = 'none';
    expect(got.fetched).toMatch(/AbortError/);
    expect(got.xhr).toEqual({ events: ['abort', 'loadend'], readyState: 0, status: 0 });
    expect(got.timedOut).toEqual({ events: ['timeout', 'loadend'], readyState: 4, status: 0, text: '' });
  });
});
