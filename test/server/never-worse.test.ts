// Issue 9: a client that sends If-Block never pays more body bytes than it
// would without it. Over real HTTP with the project's own pages: a delta
// goes out only when it beats the response the same request gets without
// If-Block by the margin; otherwise that response, byte for byte, logged
// pass=no-gain. Each branch of the choice (delta-response.ts) is reached,
// the streaming of large and pausing bodies is kept, and the held scan
// reproduces the live delta byte for byte.

import * as http from 'node:http';
import { runHeld, runLive } from './transform-runs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { pakoCompressor } from '../../src/protocol/deflaters';
import { formatIfBlock, parseIfBlock } from '../../src/protocol/if-block';
import { AccessLogEntry, formatAccessLog } from '../../src/server/access-log';
import {
  DECISION_WINDOW_BYTES,
  DELTA_MIN_GAIN_BYTES,
  deltaBeats,
  guessedRatio,
  heldDeltaMemoryBytes,
  isMostlyNew,
  MIN_RACE_BYTES,
  nextRaceBytes,
  requiredGainBytes,
} from '../../src/server/delta-or-compression';
import { DeltaTransform, DeltaTransformOptions } from '../../src/server/delta-transform';
import { createCrcsyncHandler, CrcsyncHandler } from '../../src/server/handler';
import { headersFromObject } from '../../src/server/headers';
import { nodeSha1 } from '../../src/server/node-codecs';
import { PlainSizeMemo } from '../../src/server/plain-size-memo';
import type { Origin } from '../../src/server/origin';
import { mutate, newsText, randomSplit, seededRandom } from '../helpers/random';
import { textBody } from './fixtures';
import { decodeResponse, fetchRaw, FetchResult, startListener, waitFor, withTimeout } from './http-helpers';

const engine = getDefaultEngine();
const FIREFOX = 'gzip, deflate, br';
/** Added per connection by Node: left out when two responses are compared. */
const CONNECTION_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** The new body with every block of `old` edited except every `keepEvery`-th. */
function editBlocks(old: Buffer, keepEvery: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const size = Math.floor(old.length / 40);
  const parts: Buffer[] = [];
  for (let block = 0; block < 40; block++) {
    const bytes = old.subarray(block * size, block === 39 ? old.length : (block + 1) * size);
    parts.push(block % keepEvery === 0 ? bytes : Buffer.from(mutate(random, bytes, 1)));
  }
  return Buffer.concat(parts);
}

interface Page {
  old: Buffer;
  new: Buffer;
}

/**
 * A body br shrinks ~100:1 (one 20-40 KB stretch of text, repeated), and a
 * copy in which every other block is other text. The delta's literal runs
 * are pieces of the stretch, deflated each on its own: a few percent of the
 * body, yet several times br, which finds every repeat.
 */
function repeated(stretchBytes: number, times: number, seed: number): Page {
  const stretch = newsText(seed, stretchBytes);
  const body = Buffer.concat(Array(times).fill(stretch));
  const other = newsText(seed + 1, body.length);
  const old = Buffer.from(body);
  const block = Math.floor(body.length / 40);
  for (let index = 1; index < 40; index += 2) other.copy(old, index * block, index * block, (index + 1) * block);
  return { old, new: body };
}

const page = textBody(seededRandom(1), 40_000);
const news = newsText(8, 60_000);
const bigNews = newsText(11, DECISION_WINDOW_BYTES + 512 * 1024);
/** Pages by path, each reaching one branch of the choice (checked with the access log below). */
const PAGES: Record<string, Page> = {
  // Three edits: the delta is clearly small, no br is made to compare.
  '/few-edits.html': { old: page, new: Buffer.from(mutate(seededRandom(2), page, 3)) },
  // Nothing in common: mostly new bytes, br without deflating a literal.
  '/unrelated.html': { old: page, new: textBody(seededRandom(3), 40_000) },
  // Every block but every third edited: the delta is 0.94x br, inside the margin: raced to the whole body, br wins.
  '/mostly-edited.html': { old: page, new: editBlocks(page, 3, 5) },
  // A delta at 3% of the body that br still beats 2.7x: raced to the whole body, br wins.
  '/repeated.html': repeated(23_000, 36, 50),
  // The second half rewritten: not clearly small, compared, the delta wins (about half of br).
  '/half-new.html': { old: news, new: Buffer.concat([news.subarray(0, 30_000), newsText(9, 30_000)]) },
  // Under compression.minBytes: the delta as before, even when it is bigger than the body (vector 07).
  '/emptied.html': { old: page, new: Buffer.alloc(0) },
  // Past the decision window: decided on the first MiB, then streamed.
  '/big-few-edits.html': { old: bigNews, new: Buffer.from(mutate(seededRandom(13), bigNews, 6)) },
  '/big-unrelated.html': { old: bigNews, new: newsText(14, bigNews.length) },
  '/big-repeated.html': repeated(40_000, 38, 52),
};

function sameResponse(a: FetchResult, b: FetchResult): void {
  const visible = (result: FetchResult) => Object.entries(result.headers).filter(([name]) => !CONNECTION_HEADERS.has(name)).sort();
  expect(visible(a)).toEqual(visible(b));
  expect(a.body.equals(b.body)).toBe(true);
}

describe('never worse than without If-Block, over HTTP (issue 9)', () => {
  let root: string;
  let handler: CrcsyncHandler;
  let server: { url: string; close(): Promise<void> };
  const logs: AccessLogEntry[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'crcsync-never-worse-'));
    for (const [path, pair] of Object.entries(PAGES)) writeFileSync(join(root, path), pair.new);
    handler = createCrcsyncHandler({ root, log: (entry) => logs.push(entry) });
    server = await startListener(handler);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** The response with If-Block (and its access-log line) and the one the same client gets without it. */
  async function exchange(path: string, acceptEncoding?: string): Promise<{ withIf: FetchResult; log: AccessLogEntry; without: FetchResult }> {
    const headers: Record<string, string> = acceptEncoding === undefined ? {} : { 'Accept-Encoding': acceptEncoding };
    const before = logs.length;
    const withIf = await fetchRaw(`${server.url}${path}`, { headers: { ...headers, 'If-Block': formatIfBlock(PAGES[path].old, engine)! } });
    await waitFor(() => logs.length > before, `access log of ${path}`);
    const log = logs[before];
    const without = await fetchRaw(`${server.url}${path}`, { headers });
    return { withIf, log, without };
  }

  it('a small delta is settled by compressing a prefix of the body, and goes out', async () => {
    const { withIf, log, without } = await exchange('/few-edits.html', FIREFOX);
    expect(withIf.headers['content-encoding']).toBe('crcsync');
    expect(withIf.headers.vary).toBe('If-Block');
    expect(decodeResponse(withIf, PAGES['/few-edits.html'].old).equals(PAGES['/few-edits.html'].new)).toBe(true);
    expect(without.headers['content-encoding']).toBe('br');
    expect(deltaBeats(withIf.body.length, without.body.length)).toBe(true);
    expect(log).toMatchObject({ encoding: 'crcsync', passReason: undefined, plainBytes: undefined });
  });

  it.each([
    ['/unrelated.html', undefined],
    ['/mostly-edited.html', 'delta'],
    ['/repeated.html', 'delta'],
  ] as const)('%s: a delta that would not beat br gets exactly the br response, logged pass=no-gain', async (path, compared) => {
    const { withIf, log, without } = await exchange(path, FIREFOX);
    expect(withIf.headers['content-encoding']).toBe('br');
    sameResponse(withIf, without);
    expect(String(withIf.headers.vary)).toBe('Accept-Encoding');
    expect(withIf.headers.capability).toBe('crcsync; m=1');
    expect(decodeResponse(withIf, null).equals(PAGES[path].new)).toBe(true);
    expect(log).toMatchObject({ encoding: 'br', passReason: 'no-gain', sentBytes: withIf.body.length });
    if (compared) {
      // The delta was made and lost: the log shows its size.
      expect(log.deltaBytes).toBeGreaterThan(withIf.body.length - requiredGainBytes(withIf.body.length));
      expect(log.economy).toBeUndefined();
      expect(formatAccessLog(log)).toMatch(/ pass=no-gain delta=\d+$/);
      if (path === '/repeated.html') {
        // Small next to the body, big next to br: only making the plain body tells.
        expect(log.deltaBytes!).toBeLessThan(PAGES[path].new.length / 16);
        expect(log.deltaBytes!).toBeGreaterThan(2 * withIf.body.length);
      }
    } else {
      // Mostly new bytes: no literal was deflated.
      expect(log.deltaBytes).toBeUndefined();
    }
  });

  it('a delta near br is raced to the whole body, and goes out when it wins', async () => {
    const { withIf, log, without } = await exchange('/half-new.html', FIREFOX);
    expect(withIf.headers['content-encoding']).toBe('crcsync');
    expect(decodeResponse(withIf, PAGES['/half-new.html'].old).equals(PAGES['/half-new.html'].new)).toBe(true);
    expect(log.plainBytes).toBe(without.body.length);
    expect(deltaBeats(withIf.body.length, without.body.length)).toBe(true);
    expect(formatAccessLog(log)).toMatch(/ plain=\d+$/);
  });

  it('against gzip the same rule holds (a gzip-only client)', async () => {
    for (const path of ['/few-edits.html', '/unrelated.html', '/half-new.html']) {
      const { withIf, without } = await exchange(path, 'gzip');
      expect(without.headers['content-encoding']).toBe('gzip');
      if (withIf.headers['content-encoding'] === 'crcsync') expect(deltaBeats(withIf.body.length, without.body.length)).toBe(true);
      else sameResponse(withIf, without);
      expect(withIf.body.length).toBeLessThanOrEqual(without.body.length);
    }
    expect((await exchange('/unrelated.html', 'gzip')).withIf.headers['content-encoding']).toBe('gzip');
  });

  it('a client without Accept-Encoding compares with the identity body: there the delta of an unrelated page wins', async () => {
    const { withIf, without } = await exchange('/unrelated.html');
    expect(without.headers['content-encoding']).toBeUndefined();
    expect(withIf.headers['content-encoding']).toBe('crcsync');
    expect(deltaBeats(withIf.body.length, without.body.length)).toBe(true);
    expect(decodeResponse(withIf, PAGES['/unrelated.html'].old).equals(PAGES['/unrelated.html'].new)).toBe(true);
  });

  it('a body under compression.minBytes keeps its delta, as the reference vectors expect (07-empty-new)', async () => {
    const { withIf, log } = await exchange('/emptied.html', FIREFOX);
    expect(withIf.headers['content-encoding']).toBe('crcsync');
    expect(withIf.body.length).toBe(21); // the S section alone
    expect(decodeResponse(withIf, PAGES['/emptied.html'].old).length).toBe(0);
    expect(log.passReason).toBeUndefined();
  });

  it('past the decision window: a small delta streams, decided on the first MiB', async () => {
    const { withIf, without } = await exchange('/big-few-edits.html', FIREFOX);
    expect(withIf.headers['content-encoding']).toBe('crcsync');
    expect(withIf.headers['content-length']).toBeUndefined();
    expect(decodeResponse(withIf, PAGES['/big-few-edits.html'].old).equals(PAGES['/big-few-edits.html'].new)).toBe(true);
    expect(withIf.body.length).toBeLessThan(without.body.length / 4);
  });

  it('past the decision window: a mostly new body gets the br stream, byte for byte', async () => {
    const { withIf, log, without } = await exchange('/big-unrelated.html', FIREFOX);
    sameResponse(withIf, without);
    expect(withIf.headers['content-encoding']).toBe('br');
    expect(log.passReason).toBe('no-gain');
  });

  it('past the decision window: raced on the prefix, br wins and streams from the first byte, byte for byte', async () => {
    const { withIf, log, without } = await exchange('/big-repeated.html', FIREFOX);
    expect(withIf.headers['content-encoding']).toBe('br');
    expect(log.passReason).toBe('no-gain');
    sameResponse(withIf, without);
  });

  it('the plain sizes made are remembered per version (strong ETag), so the next client is decided without compressing again', async () => {
    // Every page above was compared at least once with br: each has an entry.
    expect(handler.plainSizes.size).toBeGreaterThanOrEqual(5);
    const before = handler.plainSizes.size;
    const again = await exchange('/half-new.html', FIREFOX);
    expect(again.withIf.headers['content-encoding']).toBe('crcsync');
    expect(handler.plainSizes.size).toBe(before);
  });

  it('a delta that lost is remembered per version and If-Block: the next client holding that copy gets the same plain response, nothing scanned', async () => {
    const first = await exchange('/mostly-edited.html', FIREFOX);
    expect(first.withIf.headers['content-encoding']).toBe('br');
    const remembered = handler.deltaSizes.size;
    const settled = handler.deltaSizes.knownLosses;
    expect(remembered).toBeGreaterThanOrEqual(1);
    const again = await exchange('/mostly-edited.html', FIREFOX);
    expect(handler.deltaSizes.knownLosses).toBe(settled + 1);
    expect(handler.deltaSizes.size).toBe(remembered);
    sameResponse(again.withIf, first.withIf);
    sameResponse(again.withIf, again.without);
    expect(again.log.passReason).toBe('no-gain');
    expect(again.log.deltaBytes).toBe(first.log.deltaBytes);
    // Another cached copy of the same page is its own question: a copy of the new body itself gets its (tiny) delta.
    const current = await fetchRaw(`${server.url}/mostly-edited.html`, { headers: { 'Accept-Encoding': FIREFOX, 'If-Block': formatIfBlock(PAGES['/mostly-edited.html'].new, engine)! } });
    expect(current.headers['content-encoding']).toBe('crcsync');
    expect(handler.deltaSizes.knownLosses).toBe(settled + 1);
    // A delta not even made (most of the body new) is remembered too, as losing to a compressed body only.
    await exchange('/unrelated.html', FIREFOX);
    const beforeUnrelated = handler.deltaSizes.knownLosses;
    const unrelated = await exchange('/unrelated.html', FIREFOX);
    expect(handler.deltaSizes.knownLosses).toBe(beforeUnrelated + 1);
    sameResponse(unrelated.withIf, unrelated.without);
    expect(unrelated.log.deltaBytes).toBeUndefined();
    const identityClient = await exchange('/unrelated.html');
    expect(identityClient.withIf.headers['content-encoding']).toBe('crcsync');
    expect(handler.deltaSizes.knownLosses).toBe(beforeUnrelated + 1);
    // A gzip-only client compares with gzip, which this delta may beat: decided by the sizes, never by the br answer.
    const gzipOnly = await exchange('/mostly-edited.html', 'gzip');
    if (gzipOnly.withIf.headers['content-encoding'] === 'crcsync') expect(deltaBeats(gzipOnly.withIf.body.length, gzipOnly.without.body.length)).toBe(true);
    else sameResponse(gzipOnly.withIf, gzipOnly.without);
  });

  it('every charge goes back to the memory budgets', async () => {
    await waitFor(() => handler.deltaMemory.reservations === 0 && handler.compressionMemory.reservations === 0, 'the budgets to be credited');
    expect(handler.deltaMemory.reservedBytes).toBe(0);
    expect(handler.compressionMemory.reservedBytes).toBe(0);
  });
});

describe('origins that pause or encode (issue 9)', () => {
  const old = newsText(21, 300_000);
  const updated = Buffer.from(mutate(seededRandom(22), old, 4));
  const unrelated = newsText(23, 300_000);
  const gzipOld = newsText(24, 80_000);
  let release: () => void = () => undefined;
  /** Who listened for the failing origin's error when it failed (no one: the process would have crashed). */
  let failingListeners = -1;
  let server: { url: string; close(): Promise<void> };
  const logs: AccessLogEntry[] = [];
  const origin: Origin = async (req) => {
    const headers = headersFromObject({ 'content-type': 'text/html; charset=utf-8', etag: '"v2"' });
    if (req.url === '/pausing') {
      // A page that flushes its first 200 KB and then waits (no Content-Length): chunked.
      const body = new PassThrough();
      body.write(updated.subarray(0, 200_000));
      release = () => body.end(updated.subarray(200_000));
      return { status: 200, headers, body };
    }
    if (req.url === '/failing') {
      // Past the window, then the origin fails while the server is still deciding.
      const body = new PassThrough();
      const content = newsText(26, DECISION_WINDOW_BYTES + 64 * 1024);
      for (let at = 0; at < content.length; at += 64 * 1024) body.write(content.subarray(at, at + 64 * 1024));
      // The server pauses the body once it has the window; it fails right then.
      body.once('pause', () =>
        setImmediate(() => {
          failingListeners = body.listenerCount('error');
          body.destroy(new Error('origin failed mid-body'));
        }),
      );
      return { status: 200, headers, body };
    }
    const content = req.url === '/gzip-unrelated' ? unrelated.subarray(0, 80_000) : Buffer.from(mutate(seededRandom(25), gzipOld, 2));
    const gzipped = zlib.gzipSync(content);
    headers.set('content-encoding', 'gzip');
    headers.set('content-length', String(gzipped.length));
    return { status: 200, headers, body: Readable.from([gzipped]) };
  };
  beforeAll(async () => {
    server = await startListener(createCrcsyncHandler({ origin, log: (entry) => logs.push(entry) }));
  });
  afterAll(() => server?.close());

  it('a body of unknown length that pauses is decided on what came, and the delta streams before the origin finishes', async () => {
    const chunks: Buffer[] = [];
    let releasedAt = -1;
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = http.get(`${server.url}/pausing`, { headers: { 'If-Block': formatIfBlock(old, engine)!, 'Accept-Encoding': FIREFOX }, agent: false }, (res) => {
        res.on('data', (chunk: Buffer) => {
          if (releasedAt < 0) {
            releasedAt = chunks.length;
            release();
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve(res));
      });
      request.on('error', reject);
    });
    const res = await withTimeout(response, 'the paused page');
    expect(releasedAt).toBe(0); // the first delta bytes came while the origin still held the rest
    expect(res.headers['content-encoding']).toBe('crcsync');
    expect(decodeResponse({ status: 200, headers: res.headers, body: Buffer.concat(chunks) }, old).equals(updated)).toBe(true);
  });

  it('an origin that fails while the choice is made gets a 502 or a cut response, and the server serves on', async () => {
    const before = logs.length;
    const outcome = await fetchRaw(`${server.url}/failing`, { headers: { 'If-Block': formatIfBlock(old, engine)!, 'Accept-Encoding': FIREFOX } }).then(
      (result) => result.status,
      () => 'cut',
    );
    expect(failingListeners).toBeGreaterThan(0);
    expect([502, 'cut']).toContain(outcome);
    await waitFor(() => logs.length > before, 'the access log of the failed response');
    expect(logs[before].aborted).toBe(true);
    const next = await fetchRaw(`${server.url}/gzip-edited`, { headers: { 'If-Block': formatIfBlock(gzipOld, engine)!, 'Accept-Encoding': FIREFOX } });
    expect(next.status).toBe(200);
  });

  it("an upstream's gzip body is passed on as it came when the delta would not beat it", async () => {
    const headers = { 'If-Block': formatIfBlock(old.subarray(0, 80_000), engine)!, 'Accept-Encoding': FIREFOX };
    const before = logs.length;
    const withIf = await fetchRaw(`${server.url}/gzip-unrelated`, { headers });
    const without = await fetchRaw(`${server.url}/gzip-unrelated`, { headers: { 'Accept-Encoding': FIREFOX } });
    sameResponse(withIf, without);
    expect(withIf.headers['content-encoding']).toBe('gzip');
    expect(withIf.body.equals(zlib.gzipSync(unrelated.subarray(0, 80_000)))).toBe(true);
    await waitFor(() => logs.length > before, 'the access log');
    expect(logs[before]).toMatchObject({ encoding: 'gzip', passReason: 'no-gain' });
  });

  it("an upstream's gzip body still becomes a delta when the delta beats it", async () => {
    const result = await fetchRaw(`${server.url}/gzip-edited`, { headers: { 'If-Block': formatIfBlock(gzipOld, engine)!, 'Accept-Encoding': FIREFOX } });
    expect(result.headers['content-encoding']).toBe('crcsync');
    expect(result.headers.etag).toBe('"v2"-crcsync-gzip');
    expect(decodeResponse(result, gzipOld).equals(Buffer.from(mutate(seededRandom(25), gzipOld, 2)))).toBe(true);
  });
});

describe('the choice, as arithmetic', () => {
  it('a delta must save 1/8 of the plain body and at least 64 bytes; a tie goes to the plain body', () => {
    expect(requiredGainBytes(400)).toBe(DELTA_MIN_GAIN_BYTES);
    expect(requiredGainBytes(80_000)).toBe(10_000);
    expect(deltaBeats(70_000, 80_000)).toBe(true);
    expect(deltaBeats(70_001, 80_000)).toBe(false);
    expect(deltaBeats(80_000, 80_000)).toBe(false);
    expect(deltaBeats(336, 400)).toBe(true);
    expect(deltaBeats(337, 400)).toBe(false);
    expect(deltaBeats(21, 0)).toBe(false);
  });

  it('mostly new: three quarters of the body in literal runs', () => {
    expect(isMostlyNew({ bodyBytes: 1000, literalBytes: 750, blocks: 3 })).toBe(true);
    expect(isMostlyNew({ bodyBytes: 1000, literalBytes: 749, blocks: 3 })).toBe(false);
    expect(isMostlyNew({ bodyBytes: 0, literalBytes: 0, blocks: 0 })).toBe(false);
  });

  it('the race compresses enough of the body to settle it, half as much again as the last prefix at least, the whole body past half', () => {
    // Before anything is compressed the ratio is guessed (at most 0.2): a 10,000-byte delta needs 11,429 plain bytes, a quarter to spare.
    expect(nextRaceBytes(1_000, 1_000_000, null)).toBe(MIN_RACE_BYTES);
    expect(nextRaceBytes(10_000, 1_000_000, null)).toBe(Math.ceil((1.25 * 10_000 * 8) / 7 / 0.2));
    expect(nextRaceBytes(10_000, 1_000_000, null, 0.1)).toBe(Math.ceil((1.25 * 10_000 * 8) / 7 / 0.1));
    // 64 KiB compressed to 6,400 bytes (0.1): 100,000 bytes of delta need ~1.43 MB of body: the whole one.
    expect(nextRaceBytes(100_000, 1_000_000, { input: 65_536, compressed: 6_400 })).toBe(1_000_000);
    expect(nextRaceBytes(5_000, 1_000_000, { input: 16_384, compressed: 4_000 })).toBe(Math.ceil((1.25 * ((5_000 * 8) / 7)) / (4_000 / 16_384)));
    expect(nextRaceBytes(1_000, 1_000_000, { input: 16_384, compressed: 4_000 })).toBe(24_576); // 1.5x the last prefix
    expect(nextRaceBytes(500, 20_000, null)).toBe(20_000); // a small body: at once
  });

  it('the first guess is half the ratio the literal runs deflated to, at most 0.2', () => {
    expect(guessedRatio({ bodyBytes: 100_000, literalBytes: 40_000, blocks: 20 }, 12_061)).toBeCloseTo(0.15);
    expect(guessedRatio({ bodyBytes: 100_000, literalBytes: 40_000, blocks: 20 }, 30_000)).toBe(0.2);
    expect(guessedRatio({ bodyBytes: 100_000, literalBytes: 1_000, blocks: 39 }, 500)).toBe(0.2); // too few literal bytes to tell
  });

  it('held memory: up to the window three times (four for an upstream-encoded body), plus a slice', () => {
    expect(heldDeltaMemoryBytes(10_000, false)).toBe(30_000 + 64 * 1024);
    expect(heldDeltaMemoryBytes(undefined, false)).toBe(3 * DECISION_WINDOW_BYTES + 64 * 1024);
    expect(heldDeltaMemoryBytes(50 * 1024 * 1024, true)).toBe(4 * DECISION_WINDOW_BYTES + 64 * 1024);
  });
});

describe('PlainSizeMemo', () => {
  const headers = (etag: string | undefined) => headersFromObject({ etag, 'content-length': 1000 });
  it('keys only a representation with a strong ETag, per URL, length and coding', () => {
    const memo = new PlainSizeMemo(4);
    expect(memo.keyOf('/a', headers(undefined), 'br', 5)).toBeNull();
    expect(memo.keyOf('/a', headers('W/"x"'), 'br', 5)).toBeNull();
    const key = memo.keyOf('/a', headers('"x"'), 'br', 5);
    expect(key).not.toBeNull();
    expect(memo.keyOf('/a', headers('"x"'), 'gzip', 6)).not.toBe(key);
    expect(memo.keyOf('/b', headers('"x"'), 'br', 5)).not.toBe(key);
    expect(new PlainSizeMemo(0).keyOf('/a', headers('"x"'), 'br', 5)).toBeNull();
  });

  it('a lower bound only grows, an exact size stays, the least recently used go first', () => {
    const memo = new PlainSizeMemo(2);
    memo.noteAtLeast('a', 100);
    memo.noteAtLeast('a', 50);
    expect(memo.get('a')).toEqual({ exact: null, atLeast: 100 });
    memo.noteExact('a', 300);
    memo.noteAtLeast('a', 400);
    expect(memo.get('a')).toEqual({ exact: 300, atLeast: 300 });
    memo.noteExact('b', 1);
    memo.get('a');
    memo.noteExact('c', 2);
    expect(memo.get('b')).toBeUndefined();
    expect(memo.get('a')).toBeDefined();
    expect(memo.size).toBe(2);
  });
});

describe('a held DeltaTransform replays to exactly the live delta', () => {
  const live = (ifBlock: string, chunks: Uint8Array[], options: DeltaTransformOptions) => runLive(new DeltaTransform(parseIfBlock(ifBlock), options), chunks);

  async function held(ifBlock: string, chunks: Uint8Array[], options: DeltaTransformOptions): Promise<Buffer> {
    const { finished, bytes } = await runHeld(new DeltaTransform(parseIfBlock(ifBlock), { ...options, held: true }), chunks);
    expect(finished).toBe(true);
    return bytes;
  }

  const pairs: [string, Page][] = [
    ['few edits', PAGES['/few-edits.html']],
    ['mostly edited', PAGES['/mostly-edited.html']],
    ['repeated', PAGES['/repeated.html']],
    ['unrelated, one literal run over 128 KiB', { old: page, new: newsText(31, 300_000) }],
  ];
  it.each(pairs)('%s, thread-pool zlib and pako, random chunkings', async (_name, pair) => {
    const ifBlock = formatIfBlock(pair.old, engine)!;
    const random = seededRandom(pair.new.length);
    for (const compressor of [undefined, pakoCompressor]) {
      for (let round = 0; round < 3; round++) {
        const chunks = randomSplit(random, pair.new, 12);
        const options: DeltaTransformOptions = { engine, sha1: nodeSha1, compressor };
        const expected = await live(ifBlock, chunks, options);
        const replayed = await held(ifBlock, chunks, options);
        expect(replayed.equals(expected)).toBe(true);
        expect(decodeResponse({ status: 200, headers: { 'content-encoding': 'crcsync' }, body: replayed }, pair.old).equals(pair.new)).toBe(true);
      }
    }
  });

  it('live input is refused while held', async () => {
    const delta = new DeltaTransform(parseIfBlock(formatIfBlock(page, engine)!), { engine, sha1: nodeSha1, held: true });
    const failed = new Promise<Error>((resolve) => delta.once('error', resolve));
    delta.write(Buffer.from('x'));
    expect((await failed).message).toMatch(/held/);
  });
});
