// The demo site: deterministic for a seed and clock, tens of KB, changing on
// every request while most bytes stay, so deltas are small; and served over
// HTTP with its assets.

import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { DemoSite } from '../../src/server/demo-site';
import { decodeResponse, fetchRaw, startCrcsync, TestServer } from './http-helpers';

function fakeClock(start = Date.UTC(2024, 4, 1, 6, 0, 0), step = 37_000): () => number {
  let now = start;
  return () => (now += step);
}

describe('demo site content', () => {
  it('is the same for the same seed and clock, different for another seed', () => {
    const first = new DemoSite({ seed: 3, now: fakeClock() });
    const second = new DemoSite({ seed: 3, now: fakeClock() });
    const other = new DemoSite({ seed: 4, now: fakeClock() });
    const page = first.renderPage();
    expect(second.renderPage()).toBe(page);
    expect(other.renderPage()).not.toBe(page);
    expect(first.renderFeed()).toBe(second.renderFeed());
  });

  it('changes on every request, and a new story appears now and then', () => {
    const site = new DemoSite({ seed: 1, now: fakeClock(), newStoryEvery: 3 });
    const pages = Array.from({ length: 6 }, () => site.renderPage());
    expect(new Set(pages).size).toBe(6);
    const newest = (page: string) => Number(/data-story-id="(\d+)"/.exec(page)![1]);
    expect(newest(pages[5])).toBeGreaterThan(newest(pages[0]));
    for (const page of pages) {
      expect(page.length).toBeGreaterThan(30_000);
      expect(page.length).toBeLessThan(100_000);
    }
  });

  it('serves a valid JSON feed whose items rotate', () => {
    const site = new DemoSite({ seed: 1, now: fakeClock(), newStoryEvery: 1 });
    const first = JSON.parse(site.renderFeed());
    const second = JSON.parse(site.renderFeed());
    expect(first.version).toBe('https://jsonfeed.org/version/1.1');
    expect(first.items.length).toBe(30);
    expect(second.items[0].id).not.toBe(first.items[0].id);
    expect(second.items[1].title).toBe(first.items[0].title);
  });
});

describe('demo site over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startCrcsync({ demo: { seed: 2, now: fakeClock() } });
  });
  afterAll(() => server?.close());

  it.each(['/', '/feed.json'])('%s: a revisit is a small delta that decodes', async (path) => {
    const first = await fetchRaw(`${server.url}${path}`);
    expect(first.status).toBe(200);
    const revisit = await fetchRaw(`${server.url}${path}`, { headers: { 'If-Block': formatIfBlock(first.body, getDefaultEngine())!, 'Accept-Encoding': 'gzip' } });
    expect(revisit.headers['content-encoding']).toBe('crcsync');
    const body = decodeResponse(revisit, first.body);
    expect(body.equals(first.body)).toBe(false);
    const gzip = await fetchRaw(`${server.url}${path}`, { headers: { 'Accept-Encoding': 'gzip' } });
    // What the change is worth: the delta is a fraction of even the gzip response.
    expect(revisit.body.length).toBeLessThan(gzip.body.length / 2);
  });

  it.each([
    ['/static/site.css', 'text/css; charset=utf-8'],
    ['/static/app.js', 'application/javascript; charset=utf-8'],
  ])('%s is static, with an ETag', async (path, type) => {
    const first = await fetchRaw(`${server.url}${path}`);
    const second = await fetchRaw(`${server.url}${path}`);
    expect(first.headers['content-type']).toBe(type);
    expect(first.headers.etag).toMatch(/^"[0-9a-f]{16}"$/);
    expect(first.body.length).toBeGreaterThan(2000);
    expect(second.body.equals(first.body)).toBe(true);
  });

  it('answers 404 elsewhere and 405 to POST', async () => {
    expect((await fetchRaw(`${server.url}/missing`)).status).toBe(404);
    expect((await fetchRaw(`${server.url}/`, { method: 'POST', body: 'x' })).status).toBe(405);
  });
});
