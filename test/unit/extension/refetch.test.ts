// The fallback refetch's bounds and checks (extension/background/refetch.ts),
// against a real HTTP server on 127.0.0.1 with Node's fetch standing in for
// the background's. What only Firefox can show (cookies, its redirect
// handling, the page's view) is in test/e2e/fallback-safety.test.ts.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RefetchJob, refetchFull, refetchHeaders } from '../../../extension/background/refetch';

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let server: http.Server;
let origin: string;
const routes = new Map<string, Route>();
const seen: { path: string; headers: http.IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const route = routes.get(req.url ?? '');
    if (route) return route(req, res);
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function job(path: string, change: Partial<RefetchJob> = {}): RefetchJob {
  return { url: `${origin}${path}`, requestHeaders: [], stallTimeoutMs: 2000, deadlineMs: 10_000, maxBytes: 1 << 20, ...change };
}

test('a 200 of the same URL: its body, with the page\'s ordinary headers, without cookies, conditionals or If-Block', async () => {
  routes.set('/ok', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('the full body');
  });
  const result = await refetchFull(
    job('/ok', {
      requestHeaders: [
        { name: 'Accept', value: 'text/plain' },
        { name: 'Authorization', value: 'Bearer page-token' },
        { name: 'Cookie', value: 'session=1' },
        { name: 'If-Block', value: 'v=1; fs=1; h=AA' },
        { name: 'If-None-Match', value: '"x"' },
        { name: 'Range', value: 'bytes=0-1' },
      ],
    }),
  );
  expect(result.refusal).toBeNull();
  expect(new TextDecoder().decode(result.body!)).toBe('the full body');
  const request = seen.filter((entry) => entry.path === '/ok').at(-1)!;
  expect(request.headers.authorization).toBe('Bearer page-token');
  expect(request.headers.accept).toBe('text/plain');
  for (const name of ['cookie', 'if-block', 'if-none-match', 'range']) expect(request.headers[name]).toBeUndefined();
});

test('a redirect is not followed: the target is never fetched, nothing to write', async () => {
  routes.set('/moved', (_req, res) => {
    res.writeHead(302, { Location: '/elsewhere' });
    res.end();
  });
  routes.set('/elsewhere', (_req, res) => {
    res.writeHead(200);
    res.end('another URL');
  });
  const result = await refetchFull(job('/moved'));
  expect(result).toMatchObject({ body: null, refusal: 'REFETCH_REDIRECTED' });
  expect(seen.some((entry) => entry.path === '/elsewhere')).toBe(false);
});

test.each([404, 500, 204])('a %d: nothing to write under the 200 the page has', async (status) => {
  routes.set(`/status-${status}`, (_req, res) => {
    res.writeHead(status);
    res.end(status === 204 ? undefined : 'error page');
  });
  expect(await refetchFull(job(`/status-${status}`))).toMatchObject({ body: null, status, refusal: 'REFETCH_STATUS' });
});

test('a body still labelled crcsync: refused', async () => {
  routes.set('/encoded', (_req, res) => {
    res.writeHead(200, { 'Content-Encoding': 'crcsync' });
    res.end('Bxx');
  });
  expect(await refetchFull(job('/encoded'))).toMatchObject({ body: null, refusal: 'REFETCH_ENCODED' });
});

test('too large: by Content-Length, or by the bytes that came', async () => {
  routes.set('/announced', (_req, res) => {
    res.writeHead(200, { 'Content-Length': String(2048) });
    res.end(Buffer.alloc(2048));
  });
  routes.set('/chunked', (_req, res) => {
    res.writeHead(200);
    for (let i = 0; i < 4; i++) res.write(Buffer.alloc(1024));
    res.end();
  });
  expect(await refetchFull(job('/announced', { maxBytes: 1024 }))).toMatchObject({ body: null, refusal: 'REFETCH_TOO_LARGE' });
  expect(await refetchFull(job('/chunked', { maxBytes: 1024 }))).toMatchObject({ body: null, refusal: 'REFETCH_TOO_LARGE' });
  expect((await refetchFull(job('/chunked', { maxBytes: 4096 }))).body?.length).toBe(4096);
});

test('no headers, or no byte, for the stall timeout: given up (the connection is not waited on)', async () => {
  routes.set('/no-headers', () => undefined); // never answers
  routes.set('/half', (_req, res) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('half');
  });
  const started = Date.now();
  expect(await refetchFull(job('/no-headers', { stallTimeoutMs: 200 }))).toMatchObject({ body: null, refusal: 'REFETCH_TIMEOUT' });
  expect(await refetchFull(job('/half', { stallTimeoutMs: 200 }))).toMatchObject({ body: null, refusal: 'REFETCH_TIMEOUT' });
  expect(Date.now() - started).toBeLessThan(5000);
});

test('bytes that keep trickling in: given up at the deadline', async () => {
  routes.set('/trickle', (_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('x'), 50);
    res.on('close', () => clearInterval(timer));
  });
  expect(await refetchFull(job('/trickle', { stallTimeoutMs: 200, deadlineMs: 600 }))).toMatchObject({ body: null, refusal: 'REFETCH_TIMEOUT' });
});

test('a refused connection: nothing to write', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  expect(await refetchFull({ ...job('/'), url: `http://127.0.0.1:${port}/` })).toMatchObject({ body: null, refusal: 'REFETCH_NETWORK' });
});

test('refetchHeaders keeps the page\'s ordinary headers only', () => {
  expect(
    refetchHeaders([
      { name: 'Accept-Language', value: 'en' },
      { name: 'X-Requested-With', value: 'fetch' },
      { name: 'Cookie', value: 'a=b' },
      { name: 'Sec-Fetch-Mode', value: 'cors' },
      { name: 'If-Modified-Since', value: 'x' },
      { name: 'Empty' },
    ]),
  ).toEqual([
    ['Accept-Language', 'en'],
    ['X-Requested-With', 'fetch'],
  ]);
});
