// The pure pieces of Chromium's page-fetch path (issue 10 item 6): which page
// requests the MAIN-world wrapper relays, what the relay admits from the MAIN
// world (hostile: the page can post anything), the headers the page sees on a
// rebuilt body, the background's reading of its port's sender, and the base64
// chunks of runtime messaging.

import { pageRequestEligibility, PageRequestFacts } from '../../../extension/page/eligibility';
import { base64Chunks, base64ToBytes, bytesToBase64 } from '../../../extension/page/byte-chunks';
import { parseMainMessage } from '../../../extension/page/page-messages';
import { rebuiltPageHeaders } from '../../../extension/page/response-headers';
import { pagePlaceOf, parseRelayRequest } from '../../../extension/background/chromium/page-fetch-place';

const DOC = 'https://app.example/page/index.html';

function facts(overrides: Partial<PageRequestFacts> = {}): PageRequestFacts {
  return {
    method: 'GET',
    url: 'https://app.example/api/items.json',
    documentUrl: DOC,
    mode: 'cors',
    cache: 'default',
    credentials: 'same-origin',
    headerNames: ['Accept'],
    integrity: '',
    keepalive: false,
    ...overrides,
  };
}

describe('pageRequestEligibility: what the MAIN-world wrapper hands to the relay', () => {
  it('relays a same-origin GET, with its cache and credentials modes', () => {
    expect(pageRequestEligibility(facts())).toEqual({ eligible: true, cache: 'default', credentials: 'same-origin' });
    expect(pageRequestEligibility(facts({ mode: 'same-origin', cache: 'no-store', credentials: 'include', method: 'get' }))).toEqual({
      eligible: true,
      cache: 'no-store',
      credentials: 'include',
    });
  });

  it.each<[Partial<PageRequestFacts>, string]>([
    [{ method: 'POST' }, 'method'],
    [{ method: 'HEAD' }, 'method'],
    [{ url: 'https://cdn.example/api/items.json' }, 'cross-origin'],
    [{ url: 'http://app.example/api/items.json' }, 'cross-origin'],
    [{ url: 'https://app.example:8443/x' }, 'cross-origin'],
    [{ url: `https://${'user:pw@'}app.example/x` }, 'cross-origin'],
    [{ url: 'data:text/plain,hello' }, 'scheme'],
    [{ url: 'blob:https://app.example/1234' }, 'scheme'],
    [{ url: 'not a url' }, 'scheme'],
    [{ mode: 'no-cors' }, 'mode'],
    [{ mode: 'navigate' }, 'mode'],
    [{ cache: 'force-cache' }, 'cache'],
    [{ cache: 'only-if-cached' }, 'cache'],
    [{ credentials: 'bogus' }, 'credentials'],
    [{ headerNames: ['if-block'] }, 'if-block'],
    [{ headerNames: ['Accept', 'Range'] }, 'range'],
    [{ integrity: 'sha256-abc' }, 'integrity'],
    [{ keepalive: true }, 'keepalive'],
    [{ referrerPolicy: 'no-referrer' }, 'referrer'],
    [{ referrer: '' }, 'referrer'],
    [{ referrer: 'https://app.example/other' }, 'referrer'],
    [{ synchronous: true }, 'synchronous'],
    [{ responseType: 'document' }, 'response-type'],
  ])('leaves %o to the browser (%s)', (overrides, why) => {
    expect(pageRequestEligibility(facts(overrides))).toEqual({ eligible: false, why });
  });

  it("relays a fetch with the document's referrer and policy (the defaults)", () => {
    expect(pageRequestEligibility(facts({ referrer: 'about:client', referrerPolicy: '' })).eligible).toBe(true);
  });

  it('relays the XHR response types it can play itself', () => {
    for (const responseType of ['', 'text', 'json', 'arraybuffer', 'blob']) expect(pageRequestEligibility(facts({ responseType })).eligible).toBe(true);
  });
});

describe('parseMainMessage: what the relay admits from the MAIN world (hostile)', () => {
  const fetchMessage = (overrides: Record<string, unknown> = {}) => ({
    kind: 'fetch',
    id: 7,
    url: 'https://app.example/api/items.json',
    cache: 'default',
    credentials: 'same-origin',
    headers: [['Accept', 'application/json']],
    ...overrides,
  });

  it('admits a same-origin GET of the document origin and an abort', () => {
    expect(parseMainMessage(fetchMessage(), DOC)).toEqual({
      kind: 'fetch',
      id: 7,
      url: 'https://app.example/api/items.json',
      cache: 'default',
      credentials: 'same-origin',
      headers: [['Accept', 'application/json']],
    });
    expect(parseMainMessage({ kind: 'abort', id: 7 }, DOC)).toEqual({ kind: 'abort', id: 7 });
  });

  it.each<[string, unknown]>([
    ['not an object', 'fetch'],
    ['null', null],
    ['an array', [1, 2]],
    ['an unknown kind', fetchMessage({ kind: 'refetch' })],
    ['an inherited kind', Object.assign(Object.create({ kind: 'fetch' }), { id: 1 })],
    ['a negative id', fetchMessage({ id: -1 })],
    ['a fractional id', fetchMessage({ id: 1.5 })],
    ['a string id', fetchMessage({ id: '1' })],
    ['another origin', fetchMessage({ url: 'https://evil.example/steal' })],
    ['the same host over http', fetchMessage({ url: 'http://app.example/api' })],
    ['a relative URL', fetchMessage({ url: '/api/items.json' })],
    ['credentials in the URL', fetchMessage({ url: `https://${'u:p@'}app.example/api` })],
    ['a javascript: URL', fetchMessage({ url: 'javascript:alert(1)' })],
    ['a huge URL', fetchMessage({ url: `https://app.example/${'a'.repeat(9000)}` })],
    ['a cache mode the relay does not take', fetchMessage({ cache: 'force-cache' })],
    ['an unknown credentials mode', fetchMessage({ credentials: 'all' })],
    ['headers that are not pairs', fetchMessage({ headers: [['Accept']] })],
    ['headers that are an object', fetchMessage({ headers: { Accept: 'x' } })],
    ['a header name with a space', fetchMessage({ headers: [['Bad Name', 'x']] })],
    ['a header value with CRLF', fetchMessage({ headers: [['X-A', 'x\r\nIf-Block: v=1']] })],
    ['the page own If-Block', fetchMessage({ headers: [['If-Block', 'v=1; fs=1; h=AAAA']] })],
    ['a Range header', fetchMessage({ headers: [['range', 'bytes=0-1']] })],
    ['too many headers', fetchMessage({ headers: Array.from({ length: 65 }, (_, i) => [`X-${i}`, 'v']) })],
    ['a non-string header value', fetchMessage({ headers: [['X-A', 1]] })],
  ])('refuses %s', (_what, message) => {
    expect(parseMainMessage(message, DOC)).toBeNull();
  });

  it('never lets a message pick the method: a GET is the only request there is', () => {
    const parsed = parseMainMessage(fetchMessage({ method: 'POST', body: 'x', mode: 'no-cors', redirect: 'follow' }), DOC);
    expect(parsed).not.toHaveProperty('method');
    expect(parsed).not.toHaveProperty('body');
    expect(parsed).not.toHaveProperty('redirect');
  });
});

describe('rebuiltPageHeaders: what the page sees on a rebuilt body', () => {
  it('drops what described the delta or crcsync, keeps the rest as sent', () => {
    expect(
      rebuiltPageHeaders([
        ['content-type', 'application/json'],
        ['content-encoding', 'crcsync'],
        ['Content-Length', '812'],
        ['content-md5', 'x'],
        ['capability', 'crcsync; m=1'],
        ['vary', 'Accept-Encoding, If-Block'],
        ['cache-control', 'max-age=60'],
        ['etag', '"abc-crcsync-identity"'],
        ['x-app', '1'],
      ]),
    ).toEqual([
      ['content-type', 'application/json'],
      ['vary', 'Accept-Encoding'],
      ['cache-control', 'max-age=60'],
      ['etag', '"abc-crcsync-identity"'],
      ['x-app', '1'],
    ]);
  });

  it('drops a Vary that only named If-Block', () => {
    expect(rebuiltPageHeaders([['Vary', 'if-block']])).toEqual([]);
  });
});

describe('the background reads where a relay port comes from, never from its messages', () => {
  const ID = 'abcdefghijklmnop';
  const tab = { id: 5, url: 'https://app.example/page', incognito: false };

  it('top frame: the top-level origin is its own document', () => {
    expect(pagePlaceOf({ id: ID, url: 'https://app.example/page', frameId: 0, tab }, ID)).toEqual({
      tabId: 5,
      documentUrl: 'https://app.example/page',
      topLevelOrigin: 'https://app.example',
      documentOrigin: 'https://app.example',
      incognito: false,
    });
  });

  it("a frame: the top-level origin is the tab's", () => {
    expect(pagePlaceOf({ id: ID, url: 'https://widget.example/w', frameId: 3, tab }, ID)).toMatchObject({ topLevelOrigin: 'https://app.example', documentOrigin: 'https://widget.example' });
  });

  it('refuses another extension, no tab, a tab it cannot see, a document without an origin', () => {
    expect(pagePlaceOf({ id: 'other', url: 'https://app.example/', frameId: 0, tab }, ID)).toBeNull();
    expect(pagePlaceOf({ id: ID, url: 'https://app.example/', frameId: 0 }, ID)).toBeNull();
    expect(pagePlaceOf({ id: ID, url: 'https://app.example/', frameId: 0, tab: { ...tab, id: -1 } }, ID)).toBeNull();
    expect(pagePlaceOf({ id: ID, url: 'https://app.example/', frameId: 2, tab: { id: 5, incognito: false } }, ID)).toBeNull();
    expect(pagePlaceOf({ id: ID, url: 'about:blank', frameId: 0, tab }, ID)).toBeNull();
    expect(pagePlaceOf(undefined, ID)).toBeNull();
  });

  it("takes a relay's request for its own document's origin only", () => {
    const place = pagePlaceOf({ id: ID, url: 'https://app.example/page', frameId: 0, tab }, ID)!;
    const request = { kind: 'request', url: 'https://app.example/a.json', cache: 'default', credentials: 'include', headers: [] };
    expect(parseRelayRequest(request, place)).toEqual({ url: 'https://app.example/a.json', cache: 'default', credentials: 'include', headers: [] });
    expect(parseRelayRequest({ ...request, url: 'https://other.example/a.json' }, place)).toBeNull();
    expect(parseRelayRequest({ ...request, kind: 'head' }, place)).toBeNull();
    expect(parseRelayRequest('request', place)).toBeNull();
  });
});

describe('base64 chunks for runtime messaging', () => {
  it('round-trips every byte value, in chunks of the given size', () => {
    const bytes = new Uint8Array(1000).map((_, i) => (i * 37) & 0xff);
    const chunks = base64Chunks(bytes, 300);
    expect(chunks.length).toBe(4);
    const back = chunks.map(base64ToBytes);
    expect(back.map((chunk) => chunk.length)).toEqual([300, 300, 300, 100]);
    expect(Buffer.concat(back)).toEqual(Buffer.from(bytes));
    expect(bytesToBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
  });

  it('refuses what is not base64', () => {
    expect(() => base64ToBytes('not base64!')).toThrow();
  });
});
