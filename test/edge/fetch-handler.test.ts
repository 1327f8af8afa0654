// The web-standard handler (src/edge/fetch-handler.ts) in Node, with Node's
// own fetch/Request/Response, in front of a plain origin on 127.0.0.1: what
// a client sees for each kind of request, decoded with the project's client
// decoder. Bodies follow the edge runtimes' Fetch contract (see the
// handler): a body is content, which the host encodes per Content-Encoding,
// except a delta's bytes (encodeBody: 'manual'). The same handler inside
// workerd, over a real HTTP hop: workerd.test.ts.

import { gzipSync } from 'node:zlib';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { createFetchHandler, FetchHandler, acceptsGzip } from '../../src/edge/fetch-handler';
import { DeltaDecoder } from '../../src/protocol/delta-decoder';
import { offerExtension } from '../../src/protocol/ext-offer';
import { formatIfBlock } from '../../src/protocol/if-block';
import { loadCorpus, reportSharedMissing } from '../helpers/shared-data';
import { mutate, newsText, seededRandom } from '../helpers/random';
import { EdgeOrigin, startEdgeOrigin } from './edge-origin';

const engine = getDefaultEngine();
const EDGE = 'http://edge.example';

let origin: EdgeOrigin;
let handler: FetchHandler;
const OLD = newsText(11, 60_000);
const NEW = Buffer.from(mutate(seededRandom(12), OLD, 6));

beforeAll(async () => {
  origin = await startEdgeOrigin();
  origin.pages.set('news', NEW);
  handler = createFetchHandler({ origin: origin.url, engine });
});

afterAll(() => origin.close());

async function get(path: string, headers: Record<string, string>): Promise<{ response: Response; body: Buffer }> {
  const response = await handler(new Request(`${EDGE}${path}`, { headers }));
  return { response, body: Buffer.from(await response.arrayBuffer()) };
}

/** What the client ends up with: the delta rebuilt and verified against `base`; any other body is content already. */
function bodyFor(response: Response, body: Buffer, base: Uint8Array, acceptExtension = false): Buffer {
  if (response.headers.get('content-encoding') !== 'crcsync') return body;
  let rebuilt: Uint8Array | null = null;
  new DeltaDecoder(base, { acceptExtension }, (whole) => (rebuilt = whole)).push(body, true);
  return Buffer.from(rebuilt!);
}

test('Accept-Encoding: gzip is taken when listed with q > 0, or by *', () => {
  expect(acceptsGzip('gzip, deflate, br')).toBe(true);
  expect(acceptsGzip('br;q=1, gzip;q=0')).toBe(false);
  expect(acceptsGzip('*;q=0.5')).toBe(true);
  expect(acceptsGzip('identity')).toBe(false);
  expect(acceptsGzip(null)).toBe(false);
});

test('a changed page with If-Block: a v=1 delta that rebuilds the new page exactly, with the headers of PROTOCOL.md §2', async () => {
  const before = origin.seen.length;
  const { response, body } = await get('/pages/news', { 'if-block': formatIfBlock(OLD, engine)!, 'accept-encoding': 'gzip, deflate, br' });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-encoding')).toBe('crcsync');
  expect(response.headers.get('vary')).toContain('If-Block');
  expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]{16}"-crcsync-identity$/);
  expect(response.headers.get('content-length')).toBeNull();
  expect(response.headers.get('capability')).toBe('crcsync; m=1');
  expect(response.headers.get('set-cookie')).toBe('seen=1; Path=/');
  expect(body[0]).not.toBe(0x58);
  expect(bodyFor(response, body, OLD).equals(NEW)).toBe(true);
  expect(body.length).toBeLessThan(gzipSync(NEW).length / 4);
  // The origin was asked as the client asked, without the If-Block it cannot answer.
  const asked = origin.seen.slice(before);
  expect(asked.map((request) => [request.path, request.headers['if-block'], request.headers['accept-encoding']])).toEqual([['/pages/news', undefined, 'gzip, deflate, br']]);
});

test('an x=1 offer: an x=1 body (X marker) that rebuilds exactly, and Capability names x=1', async () => {
  const { response, body } = await get('/pages/news', { 'if-block': offerExtension(formatIfBlock(OLD, engine)!), 'accept-encoding': 'gzip' });
  expect(response.headers.get('content-encoding')).toBe('crcsync');
  expect(response.headers.get('capability')).toBe('crcsync; m=1; x=1');
  expect(body[0]).toBe(0x58);
  expect(bodyFor(response, body, OLD, true).equals(NEW)).toBe(true);
});

test('never worse: when the delta would not beat gzip by the margin, the client gets the page, for the host to gzip', async () => {
  const stranger = newsText(99, 60_000); // same words, different text: a base the new page shares little with
  const { response, body } = await get('/pages/news', { 'if-block': formatIfBlock(stranger, engine)!, 'accept-encoding': 'gzip' });
  expect(response.headers.get('content-encoding')).toBe('gzip');
  expect(response.headers.get('vary')).toContain('Accept-Encoding');
  expect(response.headers.get('content-length')).toBeNull();
  expect(response.headers.get('capability')).toBe('crcsync; m=1');
  expect(body.equals(NEW)).toBe(true);
});

test('never worse against an origin that compresses: the delta must beat the origin’s own encoded size', async () => {
  const stranger = newsText(99, 60_000);
  const { response, body } = await get('/gzipped/news', { 'if-block': formatIfBlock(stranger, engine)!, 'accept-encoding': 'gzip' });
  expect(response.headers.get('content-encoding')).toBe('gzip');
  expect(body.equals(NEW)).toBe(true);
});

test.each([
  ['garbage', 'x'.repeat(40)],
  ['a v=2 request', `v=2; fs=60000; h=${'A'.repeat(427)}`],
  ['one-byte blocks (bs = 1, PROTOCOL.md §5)', `v=1; fs=40; h=${'A'.repeat(427)}`],
  ['duplicate fields', `${formatIfBlock(OLD, engine)!}; fs=60000`],
  ['a 64 KiB value', `v=1; fs=60000; h=${'A'.repeat(65536)}`],
])('hostile If-Block (%s): the origin gets the client request as it was (minus If-Block), the client the origin answer as it was', async (_case, value) => {
  const before = origin.seen.length;
  const { response, body } = await get('/pages/news', { 'if-block': value, 'accept-encoding': 'gzip, br' });
  expect(response.headers.get('content-encoding')).toBeNull();
  expect(response.headers.get('content-length')).toBe(String(NEW.length));
  expect(response.headers.get('capability')).toBe('crcsync; m=1');
  expect(body.equals(NEW)).toBe(true);
  const asked = origin.seen.slice(before);
  expect(asked.map((request) => [request.headers['if-block'], request.headers['accept-encoding']])).toEqual([[undefined, 'gzip, br']]);
});

test('no If-Block: passed through untouched, with the Capability advertisement', async () => {
  const { response, body } = await get('/pages/news', { 'accept-encoding': 'gzip' });
  expect(response.headers.get('content-encoding')).toBeNull();
  expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]{16}"$/);
  expect(response.headers.get('capability')).toBe('crcsync; m=1');
  expect(body.equals(NEW)).toBe(true);
});

test('a POST with If-Block goes through as a POST with its body; the answer is the origin’s', async () => {
  const response = await handler(new Request(`${EDGE}/echo`, { method: 'POST', body: 'form=1&x=2', headers: { 'if-block': formatIfBlock(OLD, engine)! } }));
  expect(response.status).toBe(200);
  expect(response.headers.get('x-origin-method')).toBe('POST');
  expect(await response.text()).toBe('form=1&x=2');
  expect(origin.seen.at(-1)!.headers['if-block']).toBeUndefined();
});

test('no-store with a valid If-Block: no delta (PROTOCOL.md §2), the origin’s answer as it came', async () => {
  const { response, body } = await get('/no-store/news', { 'if-block': formatIfBlock(OLD, engine)!, 'accept-encoding': 'gzip' });
  expect(response.headers.get('content-encoding')).toBeNull();
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(body.equals(NEW)).toBe(true);
});

test('an origin that gzips: fetch decoded it, so the delta is made from the content; the ETag names the origin’s coding', async () => {
  const { response, body } = await get('/gzipped/news', { 'if-block': formatIfBlock(OLD, engine)!, 'accept-encoding': 'gzip' });
  expect(response.headers.get('content-encoding')).toBe('crcsync');
  expect(response.headers.get('etag')).toMatch(/-crcsync-gzip$/);
  expect(bodyFor(response, body, OLD).equals(NEW)).toBe(true);
});

test('a 404 with If-Block: the origin’s 404', async () => {
  const { response, body } = await get('/missing', { 'if-block': formatIfBlock(OLD, engine)! });
  expect(response.status).toBe(404);
  expect(body.toString()).toBe('not here\n');
});

test('past the decision window the delta streams, and still rebuilds the new page exactly', async () => {
  const bigOld = newsText(21, 400_000);
  const bigNew = Buffer.from(mutate(seededRandom(22), bigOld, 20));
  origin.pages.set('big', bigNew);
  const small = createFetchHandler({ origin: origin.url, engine, decisionWindowBytes: 32 * 1024 });
  const response = await small(new Request(`${EDGE}/pages/big`, { headers: { 'if-block': formatIfBlock(bigOld, engine)!, 'accept-encoding': 'gzip' } }));
  expect(response.headers.get('content-encoding')).toBe('crcsync');
  const reader = response.body!.getReader();
  const pieces: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pieces.push(value);
  }
  expect(pieces.length).toBeGreaterThan(1);
  const body = Buffer.concat(pieces);
  expect(bodyFor(response, body, bigOld).equals(bigNew)).toBe(true);
});

test('an origin that cannot be reached: 502 with a clear message', async () => {
  const nowhere = createFetchHandler({ origin: 'http://127.0.0.1:9', engine });
  const response = await nowhere(new Request(`${EDGE}/pages/news`));
  expect(response.status).toBe(502);
  expect(await response.text()).toMatch(/^origin fetch of http:\/\/127\.0\.0\.1:9\/pages\/news failed/);
});

describe('every pair of ../shared/corpus through the handler', () => {
  const pairs = loadCorpus();
  if (pairs.length === 0) return reportSharedMissing('edge handler over the corpus');
  test('each new version, asked with If-Block of the old, ends exactly as the new body; a delta only when it beats gzip of it', async () => {
    for (const pair of pairs) origin.pages.set(pair.name, pair.new);
    for (const pair of pairs) {
      const { response, body } = await get(`/pages/${encodeURIComponent(pair.name)}`, { 'if-block': formatIfBlock(pair.old, engine)!, 'accept-encoding': 'gzip' });
      expect([pair.name, bodyFor(response, body, pair.old).equals(pair.new)]).toEqual([pair.name, true]);
      if (response.headers.get('content-encoding') === 'crcsync') expect(body.length).toBeLessThan(gzipSync(pair.new).length);
      else expect(response.headers.get('content-encoding')).toBe('gzip');
    }
  });
});
