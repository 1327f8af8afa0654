// The bench's throttling proxy (scripts/bench-load/throttle-proxy.ts) over
// real loopback sockets: bytes are paced at the link rate per direction, the
// link is shared by all connections of a direction, and each direction adds
// half the RTT. Lower bounds are tight (a link cannot be faster than its
// rate); upper bounds are loose because the machine is shared.

import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { LinkProfile, SEGMENT_BYTES, SEGMENT_OVERHEAD_BYTES, startThrottleProxy, ThrottleProxy } from '../../../scripts/bench-load/throttle-proxy';

type Behaviour = (socket: net.Socket) => void;

const openServers: net.Server[] = [];
const openProxies: ThrottleProxy[] = [];

afterEach(async () => {
  await Promise.all(openProxies.splice(0).map((proxy) => proxy.close()));
  await Promise.all(openServers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

async function startServer(behaviour: Behaviour): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    behaviour(socket);
  });
  openServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

async function proxyTo(port: number, profile: Partial<LinkProfile>, handshake = true): Promise<ThrottleProxy> {
  const proxy = await startThrottleProxy({
    targetPort: port,
    handshake,
    profile: { name: 'test', label: 'test', downBitsPerSecond: null, upBitsPerSecond: null, rttMs: 0, ...profile },
  });
  openProxies.push(proxy);
  return proxy;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Reads until the peer ends; resolves the bytes and when the last one came (ms since `since`). */
function readAll(socket: net.Socket, since: number): Promise<{ bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    socket.once('end', () => resolve({ bytes, ms: performance.now() - since }));
    socket.once('error', reject);
  });
}

/** Link time of `bytes` at `bitsPerSecond`, segment headers included, in ms. */
function linkMs(bytes: number, bitsPerSecond: number): number {
  const segments = Math.ceil(bytes / SEGMENT_BYTES);
  return ((bytes + segments * SEGMENT_OVERHEAD_BYTES) * 8 * 1000) / bitsPerSecond;
}

const sendAndEnd = (size: number): Behaviour => (socket) => socket.end(Buffer.alloc(size, 0x61));

test('server -> browser bytes arrive at the down rate, and are counted', async () => {
  const size = 50_000;
  const rate = 800_000; // 100 KB/s: 50 KB take ~0.51 s
  const proxy = await proxyTo(await startServer(sendAndEnd(size)), { downBitsPerSecond: rate });
  const start = performance.now();
  const got = await readAll(await connect(proxy.port), start);
  expect(got.bytes).toBe(size);
  expect(got.ms).toBeGreaterThanOrEqual(linkMs(size, rate) - 5);
  expect(got.ms).toBeLessThan(linkMs(size, rate) * 2 + 300);
  expect(proxy.counters()).toEqual({ down: size, up: 0, connections: 1 });
});

test('each direction has its own rate: a slow up link does not slow the down link', async () => {
  const size = 25_000;
  const upRate = 400_000; // 50 KB/s: 25 KB take ~0.51 s
  // The server answers "ok" once it has the whole upload; a download of the same size follows on another connection.
  const port = await startServer((socket) => {
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      if (chunk[0] === 0x64 && received === 0 && chunk.length === 1) {
        socket.end(Buffer.alloc(size, 0x62)); // "d": send a download
        return;
      }
      received += chunk.length;
      if (received === size) socket.end('ok');
    });
  });
  const proxy = await proxyTo(port, { upBitsPerSecond: upRate, downBitsPerSecond: null });

  const uploader = await connect(proxy.port);
  const uploadStart = performance.now();
  const uploaded = readAll(uploader, uploadStart);
  uploader.write(Buffer.alloc(size, 0x75));
  const upload = await uploaded;
  expect(upload.bytes).toBe(2);
  expect(upload.ms).toBeGreaterThanOrEqual(linkMs(size, upRate) - 5);
  expect(upload.ms).toBeLessThan(linkMs(size, upRate) * 2 + 300);

  const downloader = await connect(proxy.port);
  const downloadStart = performance.now();
  const downloaded = readAll(downloader, downloadStart);
  downloader.write('d');
  const download = await downloaded;
  expect(download.bytes).toBe(size);
  expect(download.ms).toBeLessThan(linkMs(size, upRate) / 2);

  expect(proxy.counters()).toEqual({ down: 2 + size, up: size + 1, connections: 2 });
});

test('connections share the link: two downloads at once take as long as both in a row', async () => {
  const size = 25_000;
  const rate = 800_000; // one download alone: ~0.26 s; two: ~0.51 s
  const proxy = await proxyTo(await startServer(sendAndEnd(size)), { downBitsPerSecond: rate });
  const start = performance.now();
  const [first, second] = await Promise.all([connect(proxy.port), connect(proxy.port)]);
  const results = await Promise.all([readAll(first, start), readAll(second, start)]);
  const last = Math.max(...results.map((result) => result.ms));
  expect(results.map((result) => result.bytes)).toEqual([size, size]);
  expect(last).toBeGreaterThanOrEqual(linkMs(2 * size, rate) - 5);
  expect(last).toBeLessThan(linkMs(2 * size, rate) * 2 + 300);
  expect(proxy.counters().down).toBe(2 * size);
});

/** Round trip of one small message on an open connection to an echo server, ms. */
async function echoMs(socket: net.Socket): Promise<number> {
  const start = performance.now();
  await new Promise<void>((resolve) => {
    socket.once('data', () => resolve());
    socket.write('ping');
  });
  return performance.now() - start;
}

const echo: Behaviour = (socket) => socket.on('data', (chunk: Buffer) => socket.write(chunk));

test('each direction adds half the RTT; a new connection pays one RTT for its handshake', async () => {
  const rtt = 200;
  const proxy = await proxyTo(await startServer(echo), { rttMs: rtt });
  const socket = await connect(proxy.port);
  const firstMs = await echoMs(socket);
  const secondMs = await echoMs(socket);
  socket.destroy();
  expect(firstMs).toBeGreaterThanOrEqual(2 * rtt - 5);
  expect(firstMs).toBeLessThan(2 * rtt + 400);
  expect(secondMs).toBeGreaterThanOrEqual(rtt - 5);
  expect(secondMs).toBeLessThan(rtt + 300);
});

test('without the handshake charge the first round trip is one RTT', async () => {
  const rtt = 120;
  const proxy = await proxyTo(await startServer(echo), { rttMs: rtt }, false);
  const socket = await connect(proxy.port);
  const firstMs = await echoMs(socket);
  socket.destroy();
  expect(firstMs).toBeGreaterThanOrEqual(rtt - 5);
  expect(firstMs).toBeLessThan(rtt + 300);
});

test('closeConnections closes both sides of every open connection; a profile change applies to the next bytes', async () => {
  let serverSockets = 0;
  let serverClosed = 0;
  const port = await startServer((socket) => {
    serverSockets++;
    socket.on('close', () => serverClosed++);
    echo(socket);
  });
  const proxy = await proxyTo(port, { rttMs: 0 });
  const socket = await connect(proxy.port);
  expect(await echoMs(socket)).toBeLessThan(250);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  proxy.closeConnections();
  await closed;
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(serverSockets).toBe(1);
  expect(serverClosed).toBe(1);

  proxy.setProfile({ ...proxy.profile, rttMs: 150 });
  const next = await connect(proxy.port);
  await echoMs(next); // pays the handshake
  expect(await echoMs(next)).toBeGreaterThanOrEqual(145);
  next.destroy();
  expect(proxy.counters().connections).toBe(2);
});

describe('a charged response (the "ideal" condition: brotli\'s page, its document charged as crcsync\'s)', () => {
  const HEAD = 'HTTP/1.1 200 OK\r\nContent-Length: 40000\r\n\r\n';
  const BODY = 40_000;
  /** Answers every request with HEAD and BODY bytes, keeping the connection open for the next one. */
  const answerEach: Behaviour = (socket) => socket.on('data', () => socket.write(Buffer.concat([Buffer.from(HEAD, 'latin1'), Buffer.alloc(BODY, 0x62)])));

  /** One GET on `socket`: ms until the whole response came. */
  function get(socket: net.Socket, path: string): Promise<number> {
    const start = performance.now();
    return new Promise((resolve) => {
      let got = 0;
      const onData = (chunk: Buffer) => {
        got += chunk.length;
        if (got >= HEAD.length + BODY) {
          socket.off('data', onData);
          resolve(performance.now() - start);
        }
      };
      socket.on('data', onData);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    });
  }

  test('the next request for the path: its body at the charge, headers in full; the request after it and other paths in full', async () => {
    const rate = 1_600_000; // 40 KB take ~0.21 s
    const proxy = await proxyTo(await startServer(answerEach), { downBitsPerSecond: rate }, false);
    const socket = await connect(proxy.port);
    const full = linkMs(HEAD.length + BODY, rate);
    proxy.chargeNext({ path: '/page', bodyCharge: 0.1, extraUpBytes: 0 });
    const other = await get(socket, '/other');
    expect(proxy.chargeApplied()).toBe(false);
    const charged = await get(socket, '/page');
    expect(proxy.chargeApplied()).toBe(true);
    const again = await get(socket, '/page'); // used up: full price
    socket.destroy();
    expect(other).toBeGreaterThanOrEqual(full - 5);
    expect(again).toBeGreaterThanOrEqual(full - 5);
    expect(charged).toBeGreaterThanOrEqual(linkMs(HEAD.length, rate) + 0.1 * linkMs(BODY, rate) - 5);
    expect(charged).toBeLessThan(full / 2);
    expect(proxy.counters().down).toBe(3 * (HEAD.length + BODY)); // counted as carried
  });

  test('extra up bytes hold the request back for their link time', async () => {
    const rate = 80_000; // 1,000 extra bytes take 100 ms
    const proxy = await proxyTo(await startServer(answerEach), { upBitsPerSecond: rate }, false);
    const socket = await connect(proxy.port);
    const plain = await get(socket, '/page');
    proxy.chargeNext({ path: '/page', bodyCharge: 1, extraUpBytes: 1000 });
    const charged = await get(socket, '/page');
    socket.destroy();
    expect(charged - plain).toBeGreaterThanOrEqual(100 - 10);
    expect(charged).toBeLessThan(plain + 100 + 300);
  });
});

test('closeConnections drops a charge no request used: it never falls on a later load', async () => {
  const port = await startServer((socket) => socket.on('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')));
  const proxy = await proxyTo(port, {}, false);
  proxy.chargeNext({ path: '/page', bodyCharge: 0, extraUpBytes: 0 });
  proxy.closeConnections();
  const socket = await connect(proxy.port);
  await new Promise<void>((resolve) => {
    socket.once('data', () => resolve());
    socket.write('GET /page HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  socket.destroy();
  expect(proxy.chargeApplied()).toBe(false);
});
