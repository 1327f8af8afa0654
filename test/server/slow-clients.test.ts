// Slow-loris clients (request headers trickled a byte at a time) cannot hold
// the server: each gets 408 and a closed socket once its header time is up,
// and other clients are served meanwhile. Memory with 500 of them:
// `npm run bench:memory` (bench/memory.md).

import * as net from 'node:net';
import { fetchRaw, startCrcsync, TestServer, withTimeout } from './http-helpers';

const HEADERS_TIMEOUT_MS = 500;

describe('slow-loris clients', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startCrcsync({ demo: true, headersTimeoutMs: HEADERS_TIMEOUT_MS });
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Sends a request line and then one header byte every 50 ms, forever; resolves what the server answered and when it closed. */
  function trickle(): Promise<{ answer: string; closedAfterMs: number }> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const socket = net.connect(server.port, '127.0.0.1');
      let answer = '';
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      const timer = setInterval(() => socket.writable && socket.write('a'), 50);
      socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ answer, closedAfterMs: Date.now() - started });
      });
      setTimeout(() => reject(new Error('the server kept a slow-loris socket open for 10 s')), 10_000).unref();
    });
  }

  it('each gets 408 and a closed socket shortly after its header time, while other clients are served', async () => {
    const slow = Array.from({ length: 20 }, () => trickle());
    const served = await fetchRaw(`${server.url}/`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(served.status).toBe(200);
    const outcomes = await withTimeout(Promise.all(slow), 'the slow-loris sockets to close');
    for (const outcome of outcomes) {
      expect(outcome.answer).toMatch(/^HTTP\/1\.1 408 /);
      // The header timeout, plus at most one check of Node's (1 s here), plus scheduling.
      expect(outcome.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 3000);
    }
  });
});
