// The memory budget of gzip / br streams in flight, over real HTTP: a slow
// reader holds a brotli encoder (~11 MiB for a large body) for as long as it
// reads, so past the budget br falls back to gzip and gzip to the identity
// body; every answer stays exact, and the charges return to zero however
// the responses end.

import * as http from 'node:http';
import { PassThrough } from 'node:stream';
import { compressionMemoryEstimate, DEFAULT_MAX_COMPRESSION_BUFFER_BYTES, WHOLE_BODY_COMPRESS_BYTES } from '../../src/server/content-coding';
import { createCrcsyncHandler, CrcsyncHandler } from '../../src/server/handler';
import type { Origin } from '../../src/server/origin';
import { ServeArgumentError, serveConfigFromArgs } from '../../src/server/serve-command';
import { decodeResponse, fetchRaw, startListener, waitFor, withTimeout } from './http-helpers';

const page = Buffer.from('<p>a page that streams without a Content-Length</p>\n'.repeat(4000));
const BR = compressionMemoryEstimate('br', undefined);
const GZIP = compressionMemoryEstimate('gzip', undefined);

/**
 * `/page`: the whole body; `/held`: the first half now, the rest when the
 * test says. No Content-Length either way, except for `/held-known` (held
 * like `/held`) and `/page-known`.
 */
function testOrigin(held: Array<() => void>): Origin {
  return async (req) => {
    const headers = new Map([['content-type', 'text/html; charset=utf-8']]);
    if (req.url?.endsWith('-known')) headers.set('content-length', String(page.length));
    const body = new PassThrough();
    if (req.url === '/page' || req.url === '/page-known') body.end(page);
    else {
      body.write(page.subarray(0, page.length >> 1));
      held.push(() => body.end(page.subarray(page.length >> 1)));
    }
    return { status: 200, headers, body };
  };
}

async function start(maxCompressionBufferBytes?: number) {
  const held: Array<() => void> = [];
  const handler: CrcsyncHandler = createCrcsyncHandler({ origin: testOrigin(held), maxCompressionBufferBytes, log: null });
  const { url, close } = await startListener(handler);
  return { url, handler, held, close };
}

/** A browser-like client that gets the headers of /held and then waits (brotli may hold its first bytes until the end). */
function openHeld(url: string, path = '/held', acceptEncoding = 'gzip, deflate, br'): { request: http.ClientRequest; coding: Promise<string> } {
  let request!: http.ClientRequest;
  const coding = new Promise<string>((resolve, reject) => {
    request = http.get(`${url}${path}`, { headers: { 'Accept-Encoding': acceptEncoding }, agent: false }, (res) => {
      resolve(res.headers['content-encoding'] ?? 'identity');
      res.on('error', () => undefined);
    });
    request.on('error', reject);
  });
  coding.catch(() => undefined);
  return { request, coding };
}

describe('compression memory budget', () => {
  it('past the budget br falls back to gzip, then to identity; exact bodies; the charges return to zero', async () => {
    const server = await start(BR + GZIP + 1024);
    try {
      // The charge is taken when the response is planned; brotli may send nothing (headers included) before the end.
      const first = openHeld(server.url);
      await waitFor(() => server.handler.compressionMemory.reservations === 1, 'the first held response planned');
      const second = openHeld(server.url);
      await waitFor(() => server.handler.compressionMemory.reservations === 2, 'the second held response planned');
      expect(server.handler.compressionMemory.reservedBytes).toBe(BR + GZIP);
      const third = await fetchRaw(`${server.url}/page`, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
      expect(third.headers['content-encoding']).toBeUndefined();
      expect(third.body.equals(page)).toBe(true);

      for (const finish of server.held) finish();
      expect(await withTimeout(Promise.all([first.coding, second.coding]), 'the held responses')).toEqual(['br', 'gzip']);
      await waitFor(() => server.handler.compressionMemory.reservations === 0, 'every charge returned');
      expect(server.handler.compressionMemory.reservedBytes).toBe(0);
      const again = await fetchRaw(`${server.url}/page`, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
      expect(again.headers['content-encoding']).toBe('br');
      expect(decodeResponse(again, null).equals(page)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('a client that goes away returns its charge', async () => {
    const server = await start();
    try {
      expect(server.handler.compressionMemory.limitBytes).toBe(DEFAULT_MAX_COMPRESSION_BUFFER_BYTES);
      const client = openHeld(server.url);
      await waitFor(() => server.handler.compressionMemory.reservedBytes === BR, 'the held br response planned');
      client.request.destroy();
      await waitFor(() => server.handler.compressionMemory.reservedBytes === 0, 'the charge returned');
    } finally {
      await server.close();
    }
  });

  it('estimates a body made whole at its input and output (the running encoders are the queue\'s), a streamed one by its encoder', () => {
    expect(compressionMemoryEstimate('gzip', 100 * 1024)).toBe(200 * 1024);
    expect(compressionMemoryEstimate('br', 100 * 1024)).toBe(200 * 1024);
    expect(compressionMemoryEstimate('gzip', WHOLE_BODY_COMPRESS_BYTES)).toBe(2 * WHOLE_BODY_COMPRESS_BYTES);
    expect(compressionMemoryEstimate('gzip', WHOLE_BODY_COMPRESS_BYTES + 1)).toBe(GZIP); // streamed: its buffers, whatever the size
    expect(compressionMemoryEstimate('br', WHOLE_BODY_COMPRESS_BYTES + 1)).toBeLessThan(compressionMemoryEstimate('br', 4 * 1024 * 1024));
    expect(compressionMemoryEstimate('br', 64 * 1024 * 1024)).toBe(BR);
  });

  it('gzip bodies of known size are charged what they hold: more of them get gzip within the budget', async () => {
    const known = compressionMemoryEstimate('gzip', page.length);
    expect(known).toBeLessThan(GZIP / 2);
    const server = await start(2 * known + 1024); // under the flat estimate not even one would fit
    try {
      const first = openHeld(server.url, '/held-known', 'gzip');
      const second = openHeld(server.url, '/held-known', 'gzip');
      await waitFor(() => server.handler.compressionMemory.reservations === 2, 'two held gzip responses planned');
      expect(server.handler.compressionMemory.reservedBytes).toBe(2 * known);
      const third = await fetchRaw(`${server.url}/page-known`, { headers: { 'Accept-Encoding': 'gzip' } });
      expect(third.headers['content-encoding']).toBeUndefined();
      expect(third.body.equals(page)).toBe(true);
      for (const finish of server.held) finish();
      expect(await withTimeout(Promise.all([first.coding, second.coding]), 'the held responses')).toEqual(['gzip', 'gzip']);
      await waitFor(() => server.handler.compressionMemory.reservations === 0, 'every charge returned');
      const again = await fetchRaw(`${server.url}/page-known`, { headers: { 'Accept-Encoding': 'gzip' } });
      expect(again.headers['content-encoding']).toBe('gzip');
      expect(decodeResponse(again, null).equals(page)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('crcsync serve --max-compression-memory sets the budget in MiB', () => {
    expect(serveConfigFromArgs({ root: '.', 'max-compression-memory': '32' }).options.maxCompressionBufferBytes).toBe(32 * 1024 * 1024);
    expect(() => serveConfigFromArgs({ root: '.', 'max-compression-memory': 'x' })).toThrow(ServeArgumentError);
  });
});
