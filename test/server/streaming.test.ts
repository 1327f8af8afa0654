// Streaming through the reverse proxy: delta bytes leave before the
// upstream has finished, and a client that goes away mid-response makes the
// proxy abort its upstream request (issue 4, PROTOCOL.md §5 bounded memory).

import type { ServerResponse } from 'node:http';
import * as http from 'node:http';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { mutate, randomBytes, seededRandom } from '../helpers/random';
import { decodeResponse, startCrcsync, startPlain, TestServer, waitFor, withTimeout } from './http-helpers';

const random = seededRandom(7);
const old = Buffer.from(randomBytes(random, 2 * 1024 * 1024, 64).map((byte) => 32 + byte));
const updated = Buffer.concat([Buffer.from(mutate(random, old.subarray(0, 4096), 5)), old.subarray(4096)]);
const ifBlock = formatIfBlock(old.subarray(0, 4 * 1024 * 1024), getDefaultEngine())!;
const half = updated.length / 2;

describe('streaming through the proxy', () => {
  let upstream: TestServer;
  let proxy: TestServer;
  /** The open upstream response of the current test, and what happened to it. */
  let current: { res: ServerResponse; closedEarly: boolean; ended: boolean } | null = null;
  let release: () => void = () => undefined;

  beforeAll(async () => {
    upstream = await startPlain((_req, res) => {
      const state = { res, closedEarly: false, ended: false };
      current = state;
      res.on('close', () => {
        if (!res.writableFinished) state.closedEarly = true;
      });
      res.writeHead(200, { 'Content-Type': 'text/html' });
      // First half now; the second only once the test says so.
      res.write(updated.subarray(0, half));
      release = () => {
        state.ended = true;
        res.end(updated.subarray(half));
      };
    });
    proxy = await startCrcsync({ upstream: upstream.url });
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  it('sends delta bytes before the upstream body is complete', async () => {
    const chunks: Buffer[] = [];
    let bytesBeforeUpstreamEnded = 0;
    const done = new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(`${proxy.url}/slow`, { headers: { 'If-Block': ifBlock }, agent: false }, (res) => {
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (!current?.ended) bytesBeforeUpstreamEnded += chunk.length;
        });
        res.on('end', () => resolve(res));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    await waitFor(() => chunks.length > 0, 'first delta bytes');
    expect(current?.ended).toBe(false);
    release();
    const res = await withTimeout(done, 'end of response');
    expect(bytesBeforeUpstreamEnded).toBeGreaterThan(0);
    expect(res.headers['content-encoding']).toBe('crcsync');
    const body = decodeResponse({ status: 200, headers: res.headers, body: Buffer.concat(chunks) }, old);
    expect(body.equals(updated)).toBe(true);
  });

  it('aborts the upstream request when the client disconnects mid-response', async () => {
    const before = proxy.logs.length;
    let received = 0;
    const req = http.get(`${proxy.url}/slow`, { headers: { 'If-Block': ifBlock }, agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => (received += chunk.length));
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    await waitFor(() => received > 0, 'first delta bytes');
    const upstreamResponse = current!;
    expect(upstreamResponse.ended).toBe(false);
    req.destroy();
    await waitFor(() => upstreamResponse.closedEarly, 'the upstream response to be closed by the proxy');
    await waitFor(() => proxy.logs.length > before, 'access log of the aborted response');
    expect(proxy.logs[before]).toMatchObject({ encoding: 'crcsync', aborted: true });
  });
});
