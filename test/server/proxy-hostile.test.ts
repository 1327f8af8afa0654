// The reverse proxy against hostile clients and misbehaving upstreams
// (security issue, part A): the upstream sees exactly the requests clients
// sent, with their framing; a request path never leaves the upstream's
// prefix; client-supplied forwarding headers are not passed on as trusted;
// a stale pooled connection does not turn into a 502; an upstream gzip bomb
// is cut off at the decoded-size cap. Raw sockets on both sides, so nothing
// in between normalises what the test sends.

import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { MAX_DECODED_UPSTREAM_BYTES } from '../../src/server/content-coding';
import { serveConfigFromArgs } from '../../src/server/serve-command';
import { fetchLogged, fetchRaw, startCrcsync, startPlain, TestServer, waitFor, withTimeout } from './http-helpers';
import { makeFixtures } from './fixtures';

const pair = makeFixtures()[1];
const ifBlock = formatIfBlock(pair.old, getDefaultEngine())!;

interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  socket: net.Socket;
}

/** An upstream that records every request it parsed, with its body, and answers each with its own URL. */
async function startRecordingUpstream(): Promise<TestServer & { seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  const upstream = await startPlain((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString(), socket: req.socket });
      const body = `you asked for ${req.method} ${req.url} with cookie ${req.headers.cookie ?? 'none'}\n`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
    });
  });
  return Object.assign(upstream, { seen });
}

/**
 * Sends raw bytes on one connection and collects what comes back until the
 * server closes it or `until` says the answer is complete.
 */
function rawExchange(port: number, request: string, until: (received: string) => boolean = () => false): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        if (until(received)) socket.destroy();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      socket.write(request, 'latin1');
    }),
    'raw exchange',
  );
}

/**
 * Whether a raw HTTP/1.1 response text holds this many complete responses
 * (all with Content-Length here; the answer to a HEAD has none of its body).
 */
function holdsResponses(count: number, method = 'GET'): (received: string) => boolean {
  return (received) => {
    let at = 0;
    for (let found = 0; found < count; found++) {
      const headEnd = received.indexOf('\r\n\r\n', at);
      if (headEnd < 0) return false;
      const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(at, headEnd));
      at = headEnd + 4 + (length && method !== 'HEAD' ? Number(length[1]) : 0);
      if (at > received.length) return false;
    }
    return true;
  };
}

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: upstream\r\nX-Padding: ';

describe('request smuggling through the reverse proxy', () => {
  let upstream: Awaited<ReturnType<typeof startRecordingUpstream>>;
  let proxy: TestServer;

  beforeEach(async () => {
    upstream = await startRecordingUpstream();
    proxy = await startCrcsync({ upstream: `${upstream.url}/` });
  });
  afterEach(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  /** After the attack, a victim's ordinary request over the proxy's pooled connection. */
  async function victimGets(): Promise<string> {
    const result = await fetchRaw(`${proxy.url}/victim`, { headers: { Cookie: 'session=victim-secret' } });
    return result.body.toString();
  }

  it.each(['GET', 'HEAD', 'DELETE', 'OPTIONS'])('%s with Transfer-Encoding: chunked: the upstream sees one request, with the body framed', async (method) => {
    const chunk = `${SMUGGLED}`;
    const attack = `${method} /attacker HTTP/1.1\r\nHost: proxy\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
    await rawExchange(proxy.port, attack, holdsResponses(1, method));
    await waitFor(() => upstream.seen.length >= 1, 'the attacker request upstream');
    expect(await victimGets()).toBe('you asked for GET /victim with cookie session=victim-secret\n');
    await waitFor(() => upstream.seen.length >= 2, 'the victim request upstream');
    expect(upstream.seen.map((request) => `${request.method} ${request.url}`)).toEqual([`${method} /attacker`, 'GET /victim']);
    // Framed, not dropped: the upstream got the client's body as a body (RFC 9112 §6.1).
    expect(upstream.seen[0].body).toBe(chunk);
    expect(upstream.seen[0].headers['transfer-encoding']).toBe('chunked');
  });

  it('a Content-Length body on a GET keeps its Content-Length', async () => {
    const attack = `GET /attacker HTTP/1.1\r\nHost: proxy\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`;
    await rawExchange(proxy.port, attack, holdsResponses(1));
    expect(await victimGets()).toContain('GET /victim with cookie session=victim-secret');
    expect(upstream.seen.map((request) => request.url)).toEqual(['/attacker', '/victim']);
    expect(upstream.seen[0].headers['content-length']).toBe(String(SMUGGLED.length));
    expect(upstream.seen[0].body).toBe(SMUGGLED);
  });

  it.each(['content-length', 'transfer-encoding', 'Content-Length, Keep-Alive'])('Connection: %s cannot strip the framing of a body', async (listed) => {
    const framing = listed.toLowerCase().startsWith('transfer')
      ? `Transfer-Encoding: chunked\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`
      : `Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`;
    await rawExchange(proxy.port, `GET /attacker HTTP/1.1\r\nHost: proxy\r\nConnection: ${listed}\r\n${framing}`, holdsResponses(1));
    expect(await victimGets()).toContain('GET /victim with cookie session=victim-secret');
    expect(upstream.seen.map((request) => request.url)).toEqual(['/attacker', '/victim']);
    expect(upstream.seen[0].body).toBe(SMUGGLED);
  });

  it('a transfer coding other than chunked is refused with 501, nothing reaches the upstream', async () => {
    const body = zlib.gzipSync(SMUGGLED);
    const head = `POST /attacker HTTP/1.1\r\nHost: proxy\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n`;
    const answer = await rawExchange(proxy.port, `${head}${body.toString('latin1')}\r\n0\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 (501|400) /);
    expect(upstream.seen).toEqual([]);
  });

  it('pipelined requests on one client connection reach the upstream as the same requests, in order', async () => {
    const requests = ['/one', '/two', '/three'].map((path) => `GET ${path} HTTP/1.1\r\nHost: proxy\r\n\r\n`).join('');
    const answer = await rawExchange(proxy.port, requests, holdsResponses(3));
    expect(answer.match(/you asked for GET \/(one|two|three)/g)).toEqual(['you asked for GET /one', 'you asked for GET /two', 'you asked for GET /three']);
    expect(upstream.seen.map((request) => request.url)).toEqual(['/one', '/two', '/three']);
  });
});

describe('the upstream path prefix', () => {
  let upstream: Awaited<ReturnType<typeof startRecordingUpstream>>;
  let proxy: TestServer;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    proxy = await startCrcsync({ upstream: `${upstream.url}/app/` });
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  it.each(['/../x', '/%2e%2e/x', '/.%2e/x', '/%2E%2E/x', '/..\\x', '/a/../../x', '/..%2fx', '/..%2Fx', '/..%5cx', '/%252e%252e/x', '/./x', '/x/..', '/..'])(
    '%s is refused (400) and never reaches the upstream',
    async (path) => {
      const before = upstream.seen.length;
      const answer = await rawExchange(proxy.port, `GET ${path} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n`);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(upstream.seen.length).toBe(before);
    },
  );

  it.each([
    ['/a/b?c=../d', '/app/a/b?c=../d'],
    ['/a..b/c.d', '/app/a..b/c.d'],
    ['/%7Euser/x%20y', '/app/%7Euser/x%20y'],
    ['/', '/app/'],
  ])('%s reaches the upstream as %s, byte for byte', async (path, expected) => {
    const answer = await rawExchange(proxy.port, `GET ${path} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(upstream.seen[upstream.seen.length - 1].url).toBe(expected);
  });

  it('an absolute-form request target is refused', async () => {
    const before = upstream.seen.length;
    const answer = await rawExchange(proxy.port, `GET http://elsewhere.example/x HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(upstream.seen.length).toBe(before);
  });
});

describe('forwarding headers', () => {
  let upstream: Awaited<ReturnType<typeof startRecordingUpstream>>;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
  });

  const spoofed = {
    'X-Forwarded-For': '203.0.113.9',
    'X-Forwarded-Host': 'bank.example',
    'X-Forwarded-Proto': 'https',
    Forwarded: 'for=203.0.113.9;proto=https',
    'X-Real-IP': '203.0.113.9',
  };

  it('client-supplied X-Forwarded-* / Forwarded / X-Real-IP are replaced, not trusted', async () => {
    const proxy = await startCrcsync({ upstream: upstream.url });
    try {
      await fetchRaw(`${proxy.url}/who`, { headers: { ...spoofed, Host: 'site.example' } });
      const seen = upstream.seen[upstream.seen.length - 1].headers;
      expect(seen['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen['x-forwarded-host']).toBe('site.example');
      expect(seen['x-forwarded-proto']).toBe('http');
      expect(seen.forwarded).toBe('for=127.0.0.1;host=site.example;proto=http');
      expect(seen['x-real-ip']).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  it('behind a trusted proxy (trustForwarded) the chain is extended instead', async () => {
    const proxy = await startCrcsync({ upstream: upstream.url, trustForwarded: true });
    try {
      await fetchRaw(`${proxy.url}/who`, { headers: { ...spoofed, Host: 'site.example' } });
      const seen = upstream.seen[upstream.seen.length - 1].headers;
      expect(seen['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
      expect(seen['x-forwarded-host']).toBe('bank.example');
      expect(seen['x-forwarded-proto']).toBe('https');
      expect(seen.forwarded).toBe('for=203.0.113.9;proto=https, for=127.0.0.1;host=site.example;proto=http');
      expect(seen['x-real-ip']).toBe('203.0.113.9');
    } finally {
      await proxy.close();
    }
  });

  it('crcsync serve trusts forwarding headers only with --trust-forwarded', () => {
    expect(serveConfigFromArgs({ upstream: upstream.url }).options).toMatchObject({ trustForwarded: false });
    expect(serveConfigFromArgs({ upstream: upstream.url, 'trust-forwarded': true }).options).toMatchObject({ trustForwarded: true });
  });
});

describe('a stale pooled upstream connection', () => {
  /**
   * An upstream that answers the first request on each connection with
   * keep-alive, and drops the connection without a word when a second
   * request arrives on it: what a restarted (or idle-timed-out) upstream
   * looks like to a pooled socket.
   */
  async function startForgetfulUpstream(): Promise<{ port: number; requests: string[]; close(): Promise<void> }> {
    const requests: string[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      let served = 0;
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        while (buffered.includes('\r\n\r\n')) {
          const head = buffered.slice(0, buffered.indexOf('\r\n\r\n'));
          buffered = buffered.slice(head.length + 4);
          if (served++ > 0) return void socket.destroy();
          requests.push(head.split(' ').slice(0, 2).join(' '));
          const length = /\r\ncontent-length: *(\d+)/i.exec(head);
          buffered = buffered.slice(length ? Number(length[1]) : 0);
          socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n`);
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as AddressInfo).port,
      requests,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        }),
    };
  }

  it('a GET is retried once on a fresh connection: no 502', async () => {
    const upstream = await startForgetfulUpstream();
    const proxy = await startCrcsync({ upstream: `http://127.0.0.1:${upstream.port}` });
    try {
      expect((await fetchRaw(`${proxy.url}/first`)).status).toBe(200);
      const second = await fetchRaw(`${proxy.url}/second`);
      expect(second.status).toBe(200);
      expect(second.body.toString()).toBe('ok\n');
      expect(upstream.requests).toEqual(['GET /first', 'GET /second']);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('a POST is not retried (it is not idempotent): 502, and the upstream saw it at most once', async () => {
    const upstream = await startForgetfulUpstream();
    const proxy = await startCrcsync({ upstream: `http://127.0.0.1:${upstream.port}` });
    try {
      expect((await fetchRaw(`${proxy.url}/first`)).status).toBe(200);
      const post = await fetchRaw(`${proxy.url}/order`, { method: 'POST', body: 'buy=1' });
      expect(post.status).toBe(502);
      expect(upstream.requests).toEqual(['GET /first']);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});

/** An upstream that answers whatever it is sent with `response` (raw bytes, latin1) and closes the connection. */
async function startCannedUpstream(response: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = net.createServer((socket) => {
    socket.once('data', () => socket.end(response, 'latin1'));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('a close-delimited upstream body', () => {
  it('is never made into a delta: a body cut short would verify', async () => {
    // HTTP/1.1 without Content-Length or chunking: the body ends when the connection does (RFC 9112 §6.3).
    const upstream = await startCannedUpstream(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n${pair.new.toString('latin1')}`);
    const proxy = await startCrcsync({ upstream: upstream.url });
    try {
      const result = await fetchLogged(proxy, '/page', { headers: { 'If-Block': ifBlock, 'Accept-Encoding': 'gzip' } });
      expect(result.headers['content-encoding']).toBe('gzip');
      expect(zlib.gunzipSync(result.body).equals(pair.new)).toBe(true);
      expect(result.log.passReason).toBe('close-delimited');
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});

describe('an upstream body shorter than its Content-Length', () => {
  it('gets a 502 when nothing was sent yet, not a dropped connection that browsers retry', async () => {
    const upstream = await startCannedUpstream(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${pair.new.length + 100}\r\n\r\n${pair.new.toString('latin1')}`);
    const proxy = await startCrcsync({ upstream: upstream.url });
    try {
      const result = await fetchLogged(proxy, '/page', { headers: { 'Accept-Encoding': 'gzip' } });
      expect(result.status).toBe(502);
      expect(result.headers.capability).toBe('crcsync; m=1');
      expect(result.log).toMatchObject({ status: 502, aborted: true });
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});

describe('an upstream gzip bomb', () => {
  it('is decoded only up to the cap: the response is cut there, not after seconds of inflate', async () => {
    // 256 MiB of zeros in ~260 KB of gzip: decoded in full it costs the server seconds.
    // A gzip body may hold several members (RFC 1952 §2.2); Node decodes them all.
    const member = zlib.gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
    const bombSize = 256 * 1024 * 1024;
    const bomb = Buffer.concat(Array.from({ length: bombSize / (1024 * 1024) }, () => member));
    const upstream = await startPlain((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip', 'Content-Length': bomb.length }).end(bomb));
    const proxy = await startCrcsync({ upstream: upstream.url });
    try {
      const before = proxy.logs.length;
      // A client holding zeros, so the delta pays and the body is decoded on (issue 9: otherwise the gzip goes on as it came).
      const zeros = formatIfBlock(Buffer.alloc(1024 * 1024), getDefaultEngine())!;
      const outcome = await fetchRaw(`${proxy.url}/bomb`, { headers: { 'If-Block': zeros } }).then(
        (result) => ({ cut: false, result }),
        () => ({ cut: true, result: null }),
      );
      await waitFor(() => proxy.logs.length > before, 'the access log of the bomb');
      const log = proxy.logs[before];
      // Never a complete, verified answer built from a body the cap refused.
      expect(outcome.cut).toBe(true);
      expect(log.aborted).toBe(true);
      expect(log.fullBytes).toBeLessThanOrEqual(MAX_DECODED_UPSTREAM_BYTES + 1024 * 1024);
      expect(log.fullBytes).toBeLessThan(bombSize / 4);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('a client without If-Block gets the gzip bytes as they came: nothing is decoded', async () => {
    const body = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024));
    const upstream = await startPlain((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip' }).end(body));
    const proxy = await startCrcsync({ upstream: upstream.url });
    try {
      const result = await fetchLogged(proxy, '/plain-gzip', { headers: { 'Accept-Encoding': 'gzip' } });
      expect(result.body.equals(body)).toBe(true);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});
