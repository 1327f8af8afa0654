// The reverse proxy against a local upstream: decoding an upstream's gzip /
// br before the delta, and every pass-through of PROTOCOL.md §2 plus
// Cache-Control no-transform / no-store (see src/protocol/response-policy.ts).

import * as zlib from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { decodeResponse, fetchLogged, fetchRaw, startCrcsync, startPlain, TestServer } from './http-helpers';
import { makeFixtures } from './fixtures';

const pair = makeFixtures()[1];
const ifBlock = formatIfBlock(pair.old, getDefaultEngine())!;

/** Upstream routes: each answers like an origin with one particular behaviour. */
const ROUTES: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/plain': (_req, res) => res.writeHead(200, { 'Content-Type': 'text/html', ETag: '"p1"', 'Content-Length': pair.new.length, 'Set-Cookie': ['a=1', 'b=2'] }).end(pair.new),
  '/gzip': (_req, res) => res.writeHead(200, { 'Content-Type': 'text/html', ETag: '"g1"', 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' }).end(zlib.gzipSync(pair.new)),
  '/br': (_req, res) => res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'br', 'Content-MD5': 'x' }).end(zlib.brotliCompressSync(pair.new)),
  '/zstd': (_req, res) => res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'zstd' }).end(Buffer.from('not really zstd')),
  '/no-transform': (_req, res) => res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'public, no-transform', 'Content-Length': pair.new.length }).end(pair.new),
  '/no-transform-gzip': (_req, res) => res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-transform', 'Content-Encoding': 'gzip' }).end(zlib.gzipSync(pair.new)),
  '/no-store': (_req, res) => res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'private, no-store' }).end(pair.new),
  '/not-modified': (_req, res) => res.writeHead(304, { ETag: '"p1"' }).end(),
  '/partial': (_req, res) => res.writeHead(206, { 'Content-Type': 'text/html', 'Content-Range': `bytes 0-99/${pair.new.length}` }).end(pair.new.subarray(0, 100)),
  '/range-200': (_req, res) => res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Range': `bytes 0-${pair.new.length - 1}/${pair.new.length}` }).end(pair.new),
  '/echo': (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () =>
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }),
      ),
    );
  },
};

describe('reverse proxy', () => {
  let upstream: TestServer;
  let proxy: TestServer;
  let upstreamRequests = 0;

  beforeAll(async () => {
    upstream = await startPlain((req, res) => {
      upstreamRequests++;
      const path = (req.url ?? '').split('?')[0];
      const route = ROUTES[path] ?? (path.startsWith('/echo/') ? ROUTES['/echo'] : undefined);
      if (route) route(req, res);
      else res.writeHead(404).end();
    });
    proxy = await startCrcsync({ upstream: `${upstream.url}/` });
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  it('encodes an identity upstream and keeps its other headers', async () => {
    const result = await fetchLogged(proxy, `/plain`, { headers: { 'If-Block': ifBlock } });
    expect(result.headers['content-encoding']).toBe('crcsync');
    expect(result.headers.etag).toBe('"p1"-crcsync-identity');
    expect(result.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(result.headers['content-length']).toBeUndefined();
    expect(decodeResponse(result, pair.old).equals(pair.new)).toBe(true);
  });

  it.each([
    ['gzip', '"g1"-crcsync-gzip', 'Accept-Encoding, If-Block'],
    ['br', undefined, 'If-Block'],
  ])('decodes a %s upstream body first, then encodes', async (coding, etag, vary) => {
    const result = await fetchLogged(proxy, `/${coding}`, { headers: { 'If-Block': ifBlock, 'Accept-Encoding': 'gzip, br' } });
    expect(result.headers['content-encoding']).toBe('crcsync');
    expect(result.headers.etag).toBe(etag);
    expect(result.headers.vary).toBe(vary);
    expect(result.headers['content-md5']).toBeUndefined();
    expect(decodeResponse(result, pair.old).equals(pair.new)).toBe(true);
    expect(result.log).toMatchObject({ encoding: 'crcsync', fullBytes: pair.new.length });
  });

  it('passes a gzip upstream body through to a client without If-Block, untouched', async () => {
    const result = await fetchLogged(proxy, `/gzip`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(result.headers['content-encoding']).toBe('gzip');
    expect(result.headers.etag).toBe('"g1"');
    expect(result.body.equals(zlib.gzipSync(pair.new))).toBe(true);
  });

  it('passes through a coding it cannot decode (§2), with Capability', async () => {
    const result = await fetchLogged(proxy, `/zstd`, { headers: { 'If-Block': ifBlock, 'Accept-Encoding': 'zstd' } });
    expect(result.headers['content-encoding']).toBe('zstd');
    expect(result.headers.capability).toBe('crcsync; m=1');
    expect(result.body.toString()).toBe('not really zstd');
    expect(result.log.passReason).toBe('encoded');
  });

  it.each([
    ['/no-transform', undefined, 'no-transform'],
    ['/no-transform-gzip', 'gzip', 'no-transform'],
  ])('no-transform (%s): bytes as the upstream sent them, never re-encoded', async (path, coding, reason) => {
    const upstreamBytes = (await fetchRaw(`${upstream.url}${path}`)).body;
    for (const headers of [{ 'If-Block': ifBlock, 'Accept-Encoding': 'gzip, br' }, { 'Accept-Encoding': 'br' }] as Array<Record<string, string>>) {
      const result = await fetchLogged(proxy, path, { headers });
      expect(result.headers['content-encoding']).toBe(coding);
      expect(result.headers.capability).toBe('crcsync; m=1');
      expect(result.body.equals(upstreamBytes)).toBe(true);
      expect(result.log.passReason).toBe('If-Block' in headers ? reason : undefined);
    }
  });

  it('no-store: no delta, but the normal compressed response', async () => {
    const result = await fetchLogged(proxy, `/no-store`, { headers: { 'If-Block': ifBlock, 'Accept-Encoding': 'gzip' } });
    expect(result.headers['content-encoding']).toBe('gzip');
    expect(result.headers['cache-control']).toBe('private, no-store');
    expect(decodeResponse(result, null).equals(pair.new)).toBe(true);
    expect(result.log.passReason).toBe('no-store');
  });

  it.each([
    ['/not-modified', 304, 'status'],
    ['/partial', 206, 'status'],
    ['/range-200', 200, 'partial'],
  ])('passes %s through (status %d)', async (path, status, reason) => {
    const result = await fetchLogged(proxy, `${path}`, { headers: { 'If-Block': ifBlock, 'Accept-Encoding': 'gzip' } });
    expect(result.status).toBe(status);
    expect(result.headers['content-encoding']).toBeUndefined();
    expect(result.headers.capability).toBe('crcsync; m=1');
    expect(result.log.passReason).toBe(reason);
  });

  it('passes HEAD through (§2: not GET)', async () => {
    const result = await fetchLogged(proxy, `/plain`, { method: 'HEAD', headers: { 'If-Block': ifBlock } });
    expect(result.status).toBe(200);
    expect(result.headers['content-encoding']).toBeUndefined();
    expect(result.headers['content-length']).toBe(String(pair.new.length));
    expect(result.body.length).toBe(0);
    expect(result.log.passReason).toBe('method');
  });

  it('forwards POST with its body and passes the answer through', async () => {
    const result = await fetchLogged(proxy, `/echo?x=1`, { method: 'POST', body: 'name=value', headers: { 'If-Block': ifBlock, 'Content-Type': 'text/plain', Connection: 'keep-alive, X-Secret', 'X-Secret': 'hop' } });
    const echoed = JSON.parse(result.body.toString());
    expect(echoed).toMatchObject({ method: 'POST', url: '/echo?x=1', body: 'name=value' });
    expect(echoed.headers.host).toBe(`127.0.0.1:${upstream.port}`);
    expect(echoed.headers['x-forwarded-host']).toBe(`127.0.0.1:${proxy.port}`);
    expect(echoed.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echoed.headers['if-block']).toBeUndefined();
    expect(echoed.headers['x-secret']).toBeUndefined();
    expect(result.headers['content-encoding']).toBeUndefined();
    expect(result.headers.capability).toBe('crcsync; m=1');
  });

  it('answers 502 with Capability when the upstream is down', async () => {
    const dead = await startPlain((_req, res) => res.end());
    const deadUrl = dead.url;
    await dead.close();
    const orphan = await startCrcsync({ upstream: deadUrl });
    try {
      const result = await fetchRaw(`${orphan.url}/plain`, { headers: { 'If-Block': ifBlock } });
      expect(result.status).toBe(502);
      expect(result.headers.capability).toBe('crcsync; m=1');
    } finally {
      await orphan.close();
    }
  });

  it('keeps the upstream path prefix', async () => {
    const prefixed = await startCrcsync({ upstream: `${upstream.url}/echo` });
    try {
      const result = await fetchRaw(`${prefixed.url}/a/b?c=d`);
      expect(JSON.parse(result.body.toString()).url).toBe('/echo/a/b?c=d');
    } finally {
      await prefixed.close();
    }
    expect(upstreamRequests).toBeGreaterThan(0);
  });
});
