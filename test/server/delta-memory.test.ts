// The memory budget of deltas in flight (PROTOCOL.md §5: "bounds the bytes
// that all delta encodings in flight buffer together (beyond it: answer
// normally)"), over real HTTP: each delta is charged when it is planned and
// credited when its response ends, whether it finishes, the client goes
// away or the upstream fails; a delta that does not fit gets the normal,
// exact response, logged pass=busy.

import * as http from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock, parseIfBlock } from '../../src/protocol/if-block';
import type { AccessLogEntry } from '../../src/server/access-log';
import { DEFAULT_MAX_DELTA_BUFFER_BYTES, deltaMemoryEstimate, wholeBodyBytes, wholeBodyDeltaMemoryBytes } from '../../src/server/delta-memory';
import { SCAN_SLICE_BYTES } from '../../src/protocol/delta-sections';
import { DECISION_WINDOW_BYTES, heldDeltaMemoryBytes } from '../../src/server/delta-or-compression';
import { MemoryBudget } from '../../src/server/memory-budget';
import { createCrcsyncHandler, CrcsyncHandler } from '../../src/server/handler';
import type { Origin } from '../../src/server/origin';
import { ServeArgumentError, serveConfigFromArgs } from '../../src/server/serve-command';
import { mutate, randomBytes, seededRandom } from '../helpers/random';
import { decodeResponse, fetchRaw, startListener, waitFor, withTimeout } from './http-helpers';

const random = seededRandom(12);
const old = Buffer.from(randomBytes(random, 2 * 1024 * 1024, 64).map((byte) => 32 + byte));
const updated = Buffer.from(mutate(random, old, 20));
const ifBlock = formatIfBlock(old, getDefaultEngine())!;
const estimate = deltaMemoryEstimate(parseIfBlock(ifBlock).layout);
const half = updated.length >> 1;
/** A 60 KB page of known length: its delta is made whole. */
const smallOld = old.subarray(0, 60_000);
const smallUpdated = Buffer.from(mutate(random, smallOld, 6));
const smallIfBlock = formatIfBlock(smallOld, getDefaultEngine())!;

/** An upstream response held open by the test: the first half is sent at once. */
interface Held {
  finish(): void;
  fail(): void;
}

/** `/page`: the whole body at once. `/held`: half now, the rest (or an error) when the test says. */
function testOrigin(held: Held[]): Origin {
  return async (req) => {
    const headers = new Map([['content-type', 'text/html; charset=utf-8']]);
    if (req.url === '/page') return { status: 200, headers, body: Readable.from([updated]) };
    const smallHeaders = new Map([...headers, ['content-length', String(smallUpdated.length)]]);
    if (req.url === '/small') return { status: 200, headers: smallHeaders, body: Readable.from([smallUpdated]) };
    if (req.url === '/small-paused') {
      // Its stated size promises a delta made whole, but it pauses past KNOWN_LENGTH_PAUSE_MS: the delta would stream.
      const paused = new PassThrough();
      paused.write(smallUpdated.subarray(0, 40_000));
      setTimeout(() => paused.end(smallUpdated.subarray(40_000)), 600);
      return { status: 200, headers: smallHeaders, body: paused };
    }
    const body = new PassThrough();
    body.write(updated.subarray(0, half));
    held.push({ finish: () => body.end(updated.subarray(half)), fail: () => body.destroy(new Error('upstream failed mid-body')) });
    return { status: 200, headers, body };
  };
}

interface Running {
  url: string;
  handler: CrcsyncHandler;
  logs: AccessLogEntry[];
  held: Held[];
  close(): Promise<void>;
}

async function start(maxDeltaBufferBytes?: number): Promise<Running> {
  const held: Held[] = [];
  const logs: AccessLogEntry[] = [];
  const handler = createCrcsyncHandler({ origin: testOrigin(held), maxDeltaBufferBytes, log: (entry) => logs.push(entry) });
  const { url, close } = await startListener(handler);
  return { url, handler, logs, held, close };
}

/** A client that reads the first delta bytes of /held and then stays (or is destroyed by the test). */
function openHeld(url: string): { request: http.ClientRequest; firstBytes: Promise<string | undefined> } {
  let request!: http.ClientRequest;
  const firstBytes = new Promise<string | undefined>((resolve, reject) => {
    request = http.get(`${url}/held`, { headers: { 'If-Block': ifBlock, 'Accept-Encoding': 'gzip' }, agent: false }, (res) => {
      res.once('data', () => resolve(res.headers['content-encoding']));
      res.on('error', () => undefined);
    });
    request.on('error', (error) => reject(error));
  });
  firstBytes.catch(() => undefined);
  return { request, firstBytes };
}

describe('delta memory budget (PROTOCOL.md §5)', () => {
  it('charges each delta its estimate and returns to zero however the responses end', async () => {
    const server = await start();
    try {
      expect(server.handler.deltaMemory.limitBytes).toBe(DEFAULT_MAX_DELTA_BUFFER_BYTES);
      const clients = Array.from({ length: 6 }, () => openHeld(server.url));
      expect(await withTimeout(Promise.all(clients.map((client) => client.firstBytes)), 'first delta bytes')).toEqual(Array(6).fill('crcsync'));
      expect(server.handler.deltaMemory.reservations).toBe(6);
      // Streaming now: each is charged its estimate plus the delta bytes made before the choice (issue 9, delta-response.ts).
      expect(server.handler.deltaMemory.reservedBytes).toBeGreaterThan(6 * estimate);
      expect(server.handler.deltaMemory.reservedBytes).toBeLessThanOrEqual(6 * (estimate + DECISION_WINDOW_BYTES));

      // Four clients go away mid-stream, one upstream fails mid-body, one response finishes.
      for (const client of clients.slice(0, 4)) client.request.destroy();
      server.held[4].fail();
      server.held[5].finish();
      await waitFor(() => server.logs.length === 6, 'six access-log lines');
      await waitFor(() => server.handler.deltaMemory.reservations === 0, 'every charge returned');
      expect(server.handler.deltaMemory.reservedBytes).toBe(0);
      expect(server.logs.filter((entry) => entry.aborted).length).toBe(5);
    } finally {
      await server.close();
    }
  });

  it('over budget: the extra concurrent request gets the normal, exact response (pass=busy), and a delta again once there is room', async () => {
    const server = await start(estimate + heldDeltaMemoryBytes(undefined, false)); // room for exactly one delta while it is decided
    try {
      const first = openHeld(server.url);
      expect(await withTimeout(first.firstBytes, 'first delta bytes')).toBe('crcsync');

      const busy = await fetchRaw(`${server.url}/page`, { headers: { 'If-Block': ifBlock, 'Accept-Encoding': 'gzip' } });
      expect(busy.status).toBe(200);
      expect(busy.headers['content-encoding']).toBe('gzip');
      expect(String(busy.headers.vary ?? '')).not.toContain('If-Block');
      expect(decodeResponse(busy, null).equals(updated)).toBe(true);
      await waitFor(() => server.logs.some((entry) => entry.url === '/page'), 'access log of the busy response');
      expect(server.logs.find((entry) => entry.url === '/page')).toMatchObject({ encoding: 'gzip', passReason: 'busy' });

      first.request.destroy();
      await waitFor(() => server.handler.deltaMemory.reservedBytes === 0, 'the held delta to be credited');
      const delta = await fetchRaw(`${server.url}/page`, { headers: { 'If-Block': ifBlock } });
      expect(delta.headers['content-encoding']).toBe('crcsync');
      expect(decodeResponse(delta, old).equals(updated)).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('a delta of a body of known size made whole', () => {
  it('is charged what it holds: a page gets its delta within a budget the flat estimate does not fit in, a streamed body still does not', async () => {
    const layout = parseIfBlock(smallIfBlock).layout;
    expect(wholeBodyDeltaMemoryBytes(smallUpdated.length)).toBe(smallUpdated.length + SCAN_SLICE_BYTES);
    const budget = 1024 * 1024;
    expect(deltaMemoryEstimate(layout)).toBeGreaterThan(budget);
    const server = await start(budget);
    try {
      for (let round = 0; round < 3; round++) {
        const delta = await fetchRaw(`${server.url}/small`, { headers: { 'If-Block': smallIfBlock, 'Accept-Encoding': 'gzip' } });
        expect(delta.headers['content-encoding']).toBe('crcsync');
        expect(decodeResponse(delta, smallOld).equals(smallUpdated)).toBe(true);
      }
      const streamed = await fetchRaw(`${server.url}/page`, { headers: { 'If-Block': ifBlock, 'Accept-Encoding': 'gzip' } });
      expect(streamed.headers['content-encoding']).toBe('gzip');
      expect(decodeResponse(streamed, null).equals(updated)).toBe(true);
      await waitFor(() => server.logs.length === 4, 'four access-log lines');
      expect(server.logs.map((entry) => entry.passReason ?? null)).toEqual([null, null, null, 'busy']);
      await waitFor(() => server.handler.deltaMemory.reservations === 0, 'every charge returned');
    } finally {
      await server.close();
    }
  });

  it('a body of stated size that pauses, whose delta would stream, is charged the streaming estimate, and over budget gets the normal response', async () => {
    const server = await start(1024 * 1024); // room for the delta made whole, not for a streaming one
    try {
      const response = await fetchRaw(`${server.url}/small-paused`, { headers: { 'If-Block': smallIfBlock, 'Accept-Encoding': 'gzip' } });
      expect(response.headers['content-encoding']).toBe('gzip');
      expect(decodeResponse(response, null).equals(smallUpdated)).toBe(true);
      await waitFor(() => server.logs.length === 1, 'the access-log line');
      expect(server.logs[0]).toMatchObject({ encoding: 'gzip', passReason: 'busy' });
      await waitFor(() => server.handler.deltaMemory.reservations === 0, 'every charge returned');
    } finally {
      await server.close();
    }
    // With room for it, the same response is a streamed delta.
    const roomy = await start();
    try {
      const response = await fetchRaw(`${roomy.url}/small-paused`, { headers: { 'If-Block': smallIfBlock, 'Accept-Encoding': 'gzip' } });
      expect(response.headers['content-encoding']).toBe('crcsync');
      expect(response.headers['content-length']).toBeUndefined();
      expect(decodeResponse(response, smallOld).equals(smallUpdated)).toBe(true);
    } finally {
      await roomy.close();
    }
  });

  it('is charged its body while it waits for its turn; streamed and x=1 bodies keep the flat estimate', () => {
    const layout = parseIfBlock(smallIfBlock).layout;
    expect(wholeBodyDeltaMemoryBytes(100 * 1024)).toBe(100 * 1024 + SCAN_SLICE_BYTES);
    expect(wholeBodyDeltaMemoryBytes(DECISION_WINDOW_BYTES)).toBeLessThan(deltaMemoryEstimate(layout));
    expect(wholeBodyBytes(1000, 0)).toBe(1000);
    expect(wholeBodyBytes(DECISION_WINDOW_BYTES + 1, 0)).toBeUndefined();
    expect(wholeBodyBytes(undefined, 0)).toBeUndefined();
    expect(wholeBodyBytes(1000, 1)).toBeUndefined();
  });
});

describe('deltaMemoryEstimate', () => {
  it('bounds every accepted If-Block (bs 5 B .. 128 KiB) at under 2 MiB, and grows with the window', () => {
    const small = deltaMemoryEstimate({ blockCount: 40, blockSize: 5, tailSize: 5 });
    const largest = deltaMemoryEstimate({ blockCount: 256, blockSize: 128 * 1024, tailSize: 128 * 1024 + 255 });
    expect(small).toBeLessThan(largest);
    expect(largest).toBeLessThan(2 * 1024 * 1024);
  });

  it('a budget never charges past its limit and releases each charge once', () => {
    const budget = new MemoryBudget(1000);
    const a = budget.tryReserve(600)!;
    expect(budget.tryReserve(600)).toBeNull();
    const b = budget.tryReserve(400)!;
    expect(budget.reservedBytes).toBe(1000);
    a.release();
    a.release();
    expect(budget.reservedBytes).toBe(400);
    b.release();
    expect({ bytes: budget.reservedBytes, count: budget.reservations }).toEqual({ bytes: 0, count: 0 });
  });
});

describe('crcsync serve --max-delta-memory', () => {
  it('sets the budget in MiB, and refuses what is not a whole number', () => {
    expect(serveConfigFromArgs({ root: '.', 'max-delta-memory': '64' }).options.maxDeltaBufferBytes).toBe(64 * 1024 * 1024);
    expect(serveConfigFromArgs({ root: '.' }).options.maxDeltaBufferBytes).toBeUndefined();
    for (const bad of ['-1', '1.5', 'lots', '']) expect(() => serveConfigFromArgs({ root: '.', 'max-delta-memory': bad })).toThrow(ServeArgumentError);
  });
});
