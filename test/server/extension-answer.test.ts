// The server answers the x=1 extension (docs/extensions.md) over real HTTP:
// a request whose If-Block offers `; x=1` gets an extension body (X 01, C
// checkpoints, D dictionary literals) that decodes exactly with the
// project's DeltaDecoder and with the independent reference decoder
// (node:zlib + node:crypto), byte for byte what the reference encoder
// writes; `Capability: crcsync; m=1; x=1` on every answer to an offer and
// `crcsync; m=1` on every other; malformed offers get v=1; the never-worse
// rule still holds; the body streams from a slow upstream, verified
// prefixes included; a client that goes away frees its memory charge; and
// a hostile If-Block's pieces are deflated a few at a time from a bounded
// copy of the body.

import { runHeld, runLive } from './transform-runs';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { DeltaDecoder } from '../../src/protocol/delta-decoder';
import { pakoDictionaryCompressor } from '../../src/protocol/ext-encoder';
import { offerExtension } from '../../src/protocol/ext-offer';
import { EXT_CAPABILITY_VALUE, MIN_CHECKPOINT_SPACING_BYTES } from '../../src/protocol/ext-wire';
import { formatIfBlock, formatIfBlockFromHashes, parseIfBlock } from '../../src/protocol/if-block';
import { CAPABILITY_VALUE } from '../../src/protocol/wire';
import { formatAccessLog } from '../../src/server/access-log';
import { DEFAULT_COMPRESSION } from '../../src/server/content-coding';
import { deltaMemoryEstimate } from '../../src/server/delta-memory';
import { deltaBeats } from '../../src/server/delta-or-compression';
import { EXT_PIECE_JOBS_IN_FLIGHT, ExtDeltaTransform, ExtDeltaTransformOptions, extLiteralPathMemoryBytes } from '../../src/server/ext-delta-transform';
import { createCrcsyncHandler } from '../../src/server/handler';
import * as nodeCodecs from '../../src/server/node-codecs';
import { nodeSha1 } from '../../src/server/node-codecs';
import { serveConfigFromArgs } from '../../src/server/serve-command';
import { extEncode, nodeDictionaryCompressor } from '../helpers/ext-codec';
import { referenceDecode, referenceSections } from '../helpers/ext-reference-decoder';
import { mutate, randomBytes, randomSplit, seededRandom } from '../helpers/random';
import { CORPUS_DIR, loadCorpus, reportSharedMissing } from '../helpers/shared-data';
import { makeFixtures, textBody } from './fixtures';
import { decodeResponse, fetchLogged, fetchRaw, FetchResult, startCrcsync, startListener, startPlain, TestServer, waitFor, withTimeout } from './http-helpers';

const engine = getDefaultEngine();
const X_MARKER = [0x58, 0x01];
/** A body with at least this many literal bytes carries a checkpoint (spacing starts at 2 KiB; a long run is cut for one). */
const LITERAL_BYTES_FOR_CHECKPOINTS = 8 * 1024;

interface Pair {
  name: string;
  old: Buffer;
  new: Buffer;
}

/** The project's own pairs (fixtures.ts) plus one whose long new passage must be cut by checkpoints. */
function ownPairs(): Pair[] {
  const random = seededRandom(31);
  const old = textBody(random, 40_000);
  const inserted = Buffer.concat([old.subarray(0, 5_000), textBody(seededRandom(32), 60_000), old.subarray(5_000)]);
  return [...makeFixtures(), { name: 'long-insert', old, new: inserted }];
}

function v1IfBlock(old: Uint8Array): string {
  const value = formatIfBlock(old, engine);
  if (value === null) throw new Error('base too small for an If-Block');
  return value;
}

/**
 * What a client that offered ends up with, by both decoders: our
 * DeltaDecoder (which must see an extension body) and the reference
 * decoder written from the spec. Returns the body, the checkpoints the
 * reference verified and the literal bytes of the body's Z and D sections.
 */
function decodeExtensionBody(old: Uint8Array, body: Buffer, blockCount = 40): { decoded: Buffer; checkpoints: number[]; literalBytes: number } {
  let verified: Uint8Array | null = null;
  const decoder = new DeltaDecoder(old, { acceptExtension: true, sha1: nodeSha1, blockCount }, (bytes) => (verified = bytes));
  decoder.push(body, true);
  expect(decoder.isExtensionBody).toBe(true);
  expect(verified).not.toBeNull();
  const reference = referenceDecode(old, body, { acceptExtension: true, blockCount });
  if (!reference.ok) throw new Error(`reference decoder failed: ${reference.code}`);
  expect(reference.extension).toBe(true);
  expect(reference.body.equals(Buffer.from(verified!))).toBe(true);
  const literalBytes = referenceSections(old, body, blockCount)
    .filter((section) => section.tag === 'Z' || section.tag === 'D')
    .reduce((sum, section) => sum + section.added, 0);
  return { decoded: Buffer.from(verified!), checkpoints: reference.checkpoints, literalBytes };
}

/** The reference encoder's body for the pair, pieces deflated as the server deflates them (node zlib, level 6, one stream per piece). */
function referenceEncoding(pair: Pair): Buffer {
  return extEncode(pair.old, pair.new, [pair.new], { compressor: nodeDictionaryCompressor, sha1: nodeSha1 });
}

/** An upstream answering `/<name>` with the pair's new body (with its Content-Length). */
function pairUpstream(pairs: Pair[]): Promise<TestServer> {
  const byPath = new Map(pairs.map((pair) => [`/${pair.name}`, pair]));
  return startPlain((req, res) => {
    const pair = byPath.get(req.url ?? '');
    if (!pair) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such pair\n');
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(pair.new.length), ETag: `"${pair.name}"` });
    res.end(pair.new);
  });
}

/** Checks one pair fetched by a client that offered, and one that did not; returns both body sizes. */
async function checkPairOverHttp(server: TestServer, path: string, pair: Pair): Promise<{ x1: number; v1: number }> {
  const plainIfBlock = v1IfBlock(pair.old);
  const offered = await fetchLogged(server, path, { headers: { 'If-Block': offerExtension(plainIfBlock) } });
  expect(offered.status).toBe(200);
  expect(offered.headers.capability).toBe(EXT_CAPABILITY_VALUE);
  // No Accept-Encoding: the delta competes with the identity body.
  expect(offered.headers['content-encoding']).toBe('crcsync');
  expect(offered.headers.vary).toContain('If-Block');
  expect(offered.headers['content-length']).toBeUndefined();
  expect([...offered.body.subarray(0, 2)]).toEqual(X_MARKER);
  expect(offered.log).toMatchObject({ encoding: 'crcsync', extension: 1 });
  expect(formatAccessLog(offered.log)).toContain(' x=1');

  const { decoded, checkpoints, literalBytes } = decodeExtensionBody(pair.old, offered.body);
  expect(decoded.equals(pair.new)).toBe(true);
  expect(offered.body.equals(referenceEncoding(pair))).toBe(true);
  if (literalBytes >= LITERAL_BYTES_FOR_CHECKPOINTS) expect(checkpoints.length).toBeGreaterThan(0);
  checkpoints.forEach((at, i) => expect(at - (checkpoints[i - 1] ?? 0)).toBeGreaterThanOrEqual(MIN_CHECKPOINT_SPACING_BYTES));

  const plain = await fetchLogged(server, path, { headers: { 'If-Block': plainIfBlock } });
  expect(plain.headers.capability).toBe(CAPABILITY_VALUE);
  expect(plain.headers['content-encoding']).toBe('crcsync');
  expect(plain.body[0]).not.toBe(0x58);
  expect(plain.log.extension).toBeUndefined();
  expect(decodeResponse(plain, pair.old).equals(pair.new)).toBe(true);
  return { x1: offered.body.length, v1: plain.body.length };
}

/**
 * With `Accept-Encoding: gzip, deflate, br` the x=1 body goes out only if it
 * beats the br body by the margin; otherwise the br body, byte for byte what
 * a request without If-Block gets, still with the extension's Capability.
 */
async function checkNeverWorse(server: TestServer, path: string, pair: Pair): Promise<void> {
  const acceptEncoding = 'gzip, deflate, br';
  if (pair.new.length < DEFAULT_COMPRESSION.minBytes) {
    // Tiny bodies are not compressed either and get the delta as before (src/server/README.md, "Delta or plain").
    const tiny = await fetchRaw(`${server.url}${path}`, { headers: { 'Accept-Encoding': acceptEncoding, 'If-Block': offerExtension(v1IfBlock(pair.old)) } });
    expect(tiny.headers['content-encoding']).toBe('crcsync');
    expect(decodeExtensionBody(pair.old, tiny.body).decoded.equals(pair.new)).toBe(true);
    return;
  }
  const normal = await fetchRaw(`${server.url}${path}`, { headers: { 'Accept-Encoding': acceptEncoding } });
  expect(normal.headers.capability).toBe(CAPABILITY_VALUE);
  const offered = await fetchLogged(server, path, { headers: { 'Accept-Encoding': acceptEncoding, 'If-Block': offerExtension(v1IfBlock(pair.old)) } });
  expect(offered.headers.capability).toBe(EXT_CAPABILITY_VALUE);
  if (offered.headers['content-encoding'] === 'crcsync') {
    expect(deltaBeats(offered.body.length, normal.body.length)).toBe(true);
    expect(decodeExtensionBody(pair.old, offered.body).decoded.equals(pair.new)).toBe(true);
  } else {
    expect(offered.headers['content-encoding']).toBe(normal.headers['content-encoding']);
    expect(offered.body.equals(normal.body)).toBe(true);
    expect(offered.log.passReason).toBe('no-gain');
    expect(offered.log.extension).toBeUndefined();
    expect(decodeResponse(offered, null).equals(pair.new)).toBe(true);
  }
}

describe('x=1 answers over HTTP: the project\'s own pairs (reverse proxy)', () => {
  const pairs = ownPairs();
  let upstream: TestServer;
  let proxy: TestServer;
  beforeAll(async () => {
    upstream = await pairUpstream(pairs);
    proxy = await startCrcsync({ upstream: upstream.url });
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  it.each(pairs.map((pair) => [pair.name, pair] as const))('%s: decodes exactly with both decoders, as the reference encoder writes it', async (name, pair) => {
    await checkPairOverHttp(proxy, `/${name}`, pair);
  });

  it('the long new passage is cut by checkpoints, and a decoder releases verified prefixes before the end', async () => {
    const pair = pairs.find((candidate) => candidate.name === 'long-insert')!;
    const offered = await fetchRaw(`${proxy.url}/long-insert`, { headers: { 'If-Block': offerExtension(v1IfBlock(pair.old)) } });
    expect(decodeExtensionBody(pair.old, offered.body).checkpoints.length).toBeGreaterThanOrEqual(3);
    // Pushed as 1460-byte segments: the page gets verified bytes long before the whole delta is in.
    const decoder = new DeltaDecoder(pair.old, { acceptExtension: true, sha1: nodeSha1 });
    let releasedAtHalf = 0;
    let released = 0;
    decoder.onverified = (bytes) => (released += bytes.length);
    for (let at = 0; at < offered.body.length; at += 1460) {
      decoder.push(offered.body.subarray(at, at + 1460), at + 1460 >= offered.body.length);
      if (at < offered.body.length / 2) releasedAtHalf = released;
    }
    expect(releasedAtHalf).toBeGreaterThan(0);
    expect(released).toBe(pair.new.length);
  });

  it.each(pairs.map((pair) => [pair.name, pair] as const))('%s: never worse than the response without If-Block', async (name, pair) => {
    await checkNeverWorse(proxy, `/${name}`, pair);
  });
});

const corpus = loadCorpus();
if (corpus.length === 0) {
  describe('x=1 answers over HTTP: ../shared/corpus', () => reportSharedMissing('x=1 answers over the shared corpus'));
} else {
  describe('x=1 answers over HTTP: ../shared/corpus (static root)', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startCrcsync({ root: CORPUS_DIR });
    });
    afterAll(() => server?.close());

    it.each(corpus.map((pair) => [pair.name, pair] as const))('%s', async (name, pair) => {
      await checkPairOverHttp(server, `/${name}/new`, pair);
      await checkNeverWorse(server, `/${name}/new`, pair);
    });
  });
}

describe('x=1 vectors through the server (pako pieces: byte for byte)', () => {
  const root = join(__dirname, '../vectors-ext');
  const vectors = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'expect.txt')))
    .map((entry) => ({ name: entry.name, dir: join(root, entry.name) }))
    .filter((vector) => readFileSync(join(vector.dir, 'expect.txt'), 'utf8').trim() === 'decode-ok')
    .map((vector) => ({
      name: vector.name,
      old: readFileSync(join(vector.dir, 'old')),
      new: readFileSync(join(vector.dir, 'new')),
      ifBlock: readFileSync(join(vector.dir, 'if-block.txt'), 'utf8').trim(),
      delta: readFileSync(join(vector.dir, 'delta.bin')),
    }));
  let upstream: TestServer;
  let proxy: TestServer;
  beforeAll(async () => {
    upstream = await pairUpstream(vectors);
    proxy = await startCrcsync({ upstream: upstream.url, extensionCompressor: pakoDictionaryCompressor });
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  it('finds the decode-ok vectors', () => expect(vectors.length).toBeGreaterThanOrEqual(7));

  it.each(vectors.map((vector) => [vector.name, vector] as const))('%s', async (name, vector) => {
    const result = await fetchRaw(`${proxy.url}/${name}`, { headers: { 'If-Block': vector.ifBlock } });
    expect(result.headers.capability).toBe(EXT_CAPABILITY_VALUE);
    expect(result.body.equals(vector.delta)).toBe(true);
    expect(decodeExtensionBody(vector.old, result.body).decoded.equals(vector.new)).toBe(true);
  });

  it('`crcsync serve --deflater pako` uses pako for x=1 pieces too', () => {
    expect(serveConfigFromArgs({ root: '.', deflater: 'pako' }).options.extensionCompressor).toBe(pakoDictionaryCompressor);
    expect(serveConfigFromArgs({ root: '.' }).options.extensionCompressor).toBeUndefined();
  });
});

describe('negotiation (docs/extensions.md §1)', () => {
  const pair = ownPairs().find((candidate) => candidate.name === 'page')!;
  const plainIfBlock = v1IfBlock(pair.old);
  let upstream: TestServer;
  let server: TestServer;
  let exact: FetchResult;
  beforeAll(async () => {
    upstream = await pairUpstream([pair]);
    server = await startCrcsync({ upstream: upstream.url });
    exact = await fetchRaw(`${server.url}/page`, { headers: { 'If-Block': plainIfBlock } });
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  it.each(['x=0', 'x=', 'x=abcd', 'x=9999', 'x=-1', 'x=1.0', 'x=0x1'])('a malformed offer `%s` is no offer: the v=1 answer, byte for byte', async (field) => {
    const result = await fetchLogged(server, '/page', { headers: { 'If-Block': `${plainIfBlock}; ${field}` } });
    expect(result.headers.capability).toBe(CAPABILITY_VALUE);
    expect(result.headers['content-encoding']).toBe('crcsync');
    expect(result.body[0]).not.toBe(0x58);
    expect(result.body.equals(exact.body)).toBe(true);
    expect(result.log.extension).toBeUndefined();
    expect(decodeResponse(result, pair.old).equals(pair.new)).toBe(true);
  });

  it.each(['x=2', 'X=1', 'x=001'])('`%s` offers version 1 or more: an x=1 answer', async (field) => {
    const result = await fetchRaw(`${server.url}/page`, { headers: { 'If-Block': `${plainIfBlock}; ${field}` } });
    expect(result.headers.capability).toBe(EXT_CAPABILITY_VALUE);
    expect([...result.body.subarray(0, 2)]).toEqual(X_MARKER);
    expect(decodeExtensionBody(pair.old, result.body).decoded.equals(pair.new)).toBe(true);
  });

  it('an offer in an If-Block that is not valid v=1 is no offer: the normal response, v=1 Capability', async () => {
    const invalid = `v=1; fs=0; h=${plainIfBlock.split('h=')[1]}; x=1`;
    const result = await fetchLogged(server, '/page', { headers: { 'If-Block': invalid } });
    expect(result.headers.capability).toBe(CAPABILITY_VALUE);
    expect(result.headers['content-encoding']).toBeUndefined();
    expect(result.log.passReason).toBe('invalid-if-block');
    expect(result.body.equals(pair.new)).toBe(true);
  });

  it('every answer to an offer says x=1, whatever its body: 404, HEAD, a pass-through; no offer, no x=1', async () => {
    const offer = { 'If-Block': offerExtension(plainIfBlock) };
    const missing = await fetchRaw(`${server.url}/missing`, { headers: offer });
    expect(missing.status).toBe(404);
    expect(missing.headers.capability).toBe(EXT_CAPABILITY_VALUE);
    const head = await fetchRaw(`${server.url}/page`, { method: 'HEAD', headers: offer });
    expect(head.headers.capability).toBe(EXT_CAPABILITY_VALUE);
    expect(head.body.length).toBe(0);
    const none = await fetchRaw(`${server.url}/page`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(none.headers.capability).toBe(CAPABILITY_VALUE);
    expect(none.headers['content-encoding']).toBe('gzip');
    const missingPlain = await fetchRaw(`${server.url}/missing`, { headers: { 'If-Block': plainIfBlock } });
    expect(missingPlain.headers.capability).toBe(CAPABILITY_VALUE);
  });
});

describe('x=1 streaming through the proxy, and the memory budget', () => {
  const random = seededRandom(41);
  const old = Buffer.from(randomBytes(random, 2 * 1024 * 1024, 64).map((byte) => 32 + byte));
  // 8 KiB of new bytes near the start: checkpoints verify the page around them while the upstream is still sending.
  const updated = Buffer.concat([old.subarray(0, 4096), Buffer.from(randomBytes(random, 8192, 64).map((byte) => 32 + byte)), old.subarray(12_288)]);
  const offer = offerExtension(v1IfBlock(old));
  const half = updated.length >> 1;
  /** The open upstream responses (first half sent), and what happened to them. */
  const open: { finish(): void; closedEarly: boolean; ended: boolean }[] = [];
  let upstream: TestServer;
  beforeAll(async () => {
    upstream = await startPlain((_req, res) => {
      const state = { finish: () => undefined as void, closedEarly: false, ended: false };
      state.finish = () => {
        state.ended = true;
        res.end(updated.subarray(half));
      };
      res.on('close', () => {
        if (!res.writableFinished) state.closedEarly = true;
      });
      res.writeHead(200, { 'Content-Type': 'text/html' }); // chunked: no length
      res.write(updated.subarray(0, half));
      open.push(state);
    });
  });
  afterAll(() => upstream?.close());

  it('sends the extension body, and verified prefixes, before the upstream body is complete', async () => {
    const proxy = await startCrcsync({ upstream: upstream.url });
    try {
      const chunks: Buffer[] = [];
      const decoder = new DeltaDecoder(old, { acceptExtension: true, sha1: nodeSha1 });
      let releasedBeforeUpstreamEnded = 0;
      let released = 0;
      decoder.onverified = (bytes) => {
        released += bytes.length;
        if (!open[open.length - 1].ended) releasedBeforeUpstreamEnded += bytes.length;
      };
      const done = new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.get(`${proxy.url}/slow`, { headers: { 'If-Block': offer }, agent: false }, (res) => {
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            decoder.push(chunk);
          });
          res.on('end', () => resolve(res));
          res.on('error', reject);
        });
        req.on('error', reject);
      });
      await waitFor(() => chunks.length > 0 && open.length > 0, 'first delta bytes');
      const upstreamResponse = open[open.length - 1];
      expect(upstreamResponse.ended).toBe(false);
      await waitFor(() => released > 0, 'a verified prefix while the upstream still sends');
      upstreamResponse.finish();
      const res = await withTimeout(done, 'end of response');
      decoder.push(new Uint8Array(0), true);
      expect(res.headers['content-encoding']).toBe('crcsync');
      expect(res.headers.capability).toBe(EXT_CAPABILITY_VALUE);
      const body = Buffer.concat(chunks);
      expect([...body.subarray(0, 2)]).toEqual(X_MARKER);
      expect(releasedBeforeUpstreamEnded).toBeGreaterThan(4096);
      expect(released).toBe(updated.length);
      expect(decodeExtensionBody(old, body).decoded.equals(updated)).toBe(true);
      await waitFor(() => proxy.logs.length > 0, 'access log');
      expect(proxy.logs[0]).toMatchObject({ encoding: 'crcsync', extension: 1, aborted: false });
    } finally {
      await proxy.close();
    }
  });

  it('clients that disconnect mid-response free their x=1 memory charge, and the upstream requests are aborted', async () => {
    const logs: unknown[] = [];
    const handler = createCrcsyncHandler({ upstream: upstream.url, log: (entry) => logs.push(entry) });
    const { url, close } = await startListener(handler);
    const estimate = deltaMemoryEstimate(parseIfBlock(offer).layout, 1);
    expect(estimate).toBeGreaterThan(deltaMemoryEstimate(parseIfBlock(offer).layout));
    try {
      const before = open.length;
      const clients = Array.from({ length: 4 }, () => {
        let request!: http.ClientRequest;
        const firstBytes = new Promise<Buffer>((resolve, reject) => {
          request = http.get(url, { headers: { 'If-Block': offer }, agent: false }, (res) => {
            res.once('data', (chunk: Buffer) => resolve(chunk));
            res.on('error', () => undefined);
          });
          request.on('error', reject);
        });
        firstBytes.catch(() => undefined);
        return { request, firstBytes };
      });
      const first = await withTimeout(Promise.all(clients.map((client) => client.firstBytes)), 'first bytes of every client');
      for (const chunk of first) expect([...chunk.subarray(0, 2)]).toEqual(X_MARKER);
      expect(handler.deltaMemory.reservations).toBe(4);
      expect(handler.deltaMemory.reservedBytes).toBeGreaterThan(4 * estimate);

      for (const client of clients) client.request.destroy();
      await waitFor(() => logs.length === 4, 'four access-log lines');
      await waitFor(() => handler.deltaMemory.reservations === 0, 'every charge returned');
      expect(handler.deltaMemory.reservedBytes).toBe(0);
      expect(logs).toEqual(Array(4).fill(expect.objectContaining({ encoding: 'crcsync', extension: 1, aborted: true })));
      const upstreamResponses = open.slice(before);
      expect(upstreamResponses.length).toBe(4);
      await waitFor(() => upstreamResponses.every((response) => response.closedEarly), 'the upstream responses to be closed by the proxy');
    } finally {
      await close();
    }
  });
});

describe('ExtDeltaTransform', () => {
  const live = (ifBlock: string, chunks: Uint8Array[], options: ExtDeltaTransformOptions) => runLive(new ExtDeltaTransform(parseIfBlock(ifBlock), options), chunks);

  async function held(ifBlock: string, chunks: Uint8Array[], options: ExtDeltaTransformOptions): Promise<Buffer> {
    const { finished, bytes } = await runHeld(new ExtDeltaTransform(parseIfBlock(ifBlock), { ...options, held: true }), chunks);
    expect(finished).toBe(true);
    return bytes;
  }

  it.each(ownPairs().map((pair) => [pair.name, pair] as const))('%s: held or live, thread-pool zlib or pako, any chunking: the reference encoder\'s bytes', async (_name, pair) => {
    const ifBlock = v1IfBlock(pair.old);
    const random = seededRandom(pair.new.length + 1);
    const expected = {
      zlib: referenceEncoding(pair),
      pako: extEncode(pair.old, pair.new, [pair.new], { compressor: pakoDictionaryCompressor, sha1: nodeSha1 }),
    };
    for (const compressor of ['zlib', 'pako'] as const) {
      const options: ExtDeltaTransformOptions = { engine, sha1: nodeSha1, compressor: compressor === 'pako' ? pakoDictionaryCompressor : undefined };
      for (let round = 0; round < 2; round++) {
        const chunks = randomSplit(random, pair.new, 12);
        expect((await live(ifBlock, chunks, options)).equals(expected[compressor])).toBe(true);
        expect((await held(ifBlock, chunks, options)).equals(expected[compressor])).toBe(true);
      }
    }
  });

  it('a hostile If-Block\'s hundreds of pieces: at most EXT_PIECE_JOBS_IN_FLIGHT deflate jobs at once, from a bounded copy of the body', async () => {
    // 256 distinct 320-byte blocks; the body matches them all for 640 KiB (building up the economy
    // guard's allowance of literal runs), then spends it: block, 24 new bytes, block, 24 new bytes...
    const random = seededRandom(43);
    const blocks = Array.from({ length: 256 }, () => Buffer.from(randomBytes(random, 320, 64).map((byte) => 32 + byte)));
    const base = Buffer.concat(blocks);
    const ifBlock = formatIfBlockFromHashes(base.length, engine.blockHashes(base, 256));
    const parts: Buffer[] = [];
    for (let i = 0; i < 2048; i++) parts.push(blocks[(i * 7) % 256]);
    for (let i = 0; i < 400; i++) parts.push(blocks[(i * 11) % 256], Buffer.from(randomBytes(random, 24, 64).map((byte) => 32 + byte)));
    const body = Buffer.concat(parts);

    let running = 0;
    let mostRunning = 0;
    let mostRetained = 0;
    const original = nodeCodecs.deflatePiece;
    const transform = new ExtDeltaTransform(parseIfBlock(ifBlock), { engine, sha1: nodeSha1 });
    const spy = jest.spyOn(nodeCodecs, 'deflatePiece').mockImplementation((piece, dictionary) => {
      running++;
      mostRunning = Math.max(mostRunning, running);
      mostRetained = Math.max(mostRetained, transform.retainedBodyBytes);
      return original(piece, dictionary).finally(() => running--);
    });
    try {
      const delta = await runLive(transform, [body]);
      expect(transform.stats.dictionaryPieces + transform.stats.plainPieces).toBeGreaterThan(100);
      expect(transform.stats.dictionaryPieces).toBeGreaterThan(20);
      expect(spy).toHaveBeenCalledTimes(transform.stats.dictionaryPieces + transform.stats.plainPieces);
      expect(mostRunning).toBe(EXT_PIECE_JOBS_IN_FLIGHT);
      // The whole body is 793 KB; what is kept for the pieces stays within the literal path's estimate.
      expect(mostRetained).toBeGreaterThan(0);
      expect(mostRetained).toBeLessThanOrEqual(extLiteralPathMemoryBytes(parseIfBlock(ifBlock).layout.tailSize));
      expect(mostRetained).toBeLessThan(body.length / 2);
      expect(decodeExtensionBody(base, delta, 256).decoded.equals(body)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('a pass destroyed mid-body drops the pieces not started, and live input is refused while held', async () => {
    const pair = ownPairs().find((candidate) => candidate.name === 'long-insert')!;
    const transform = new ExtDeltaTransform(parseIfBlock(v1IfBlock(pair.old)), { engine, sha1: nodeSha1 });
    transform.write(pair.new.subarray(0, 40_000));
    transform.destroy();
    await new Promise((resolve) => transform.once('close', resolve));
    expect(transform.retainedBodyBytes).toBe(0);

    const heldPass = new ExtDeltaTransform(parseIfBlock(v1IfBlock(pair.old)), { engine, sha1: nodeSha1, held: true });
    const failed = new Promise<Error>((resolve) => heldPass.once('error', resolve));
    heldPass.write(Buffer.from('x'));
    expect((await failed).message).toMatch(/held/);
  });

  it('mutated pairs at random: the server\'s pass and the reference encoder agree', async () => {
    const random = seededRandom(47);
    for (let round = 0; round < 6; round++) {
      const old = textBody(random, 2_000 + Math.floor(random() * 120_000));
      const pair = { name: `round ${round}`, old, new: Buffer.from(mutate(random, old, 1 + Math.floor(random() * 30))) };
      expect((await live(v1IfBlock(old), randomSplit(random, pair.new, 8), { engine, sha1: nodeSha1 })).equals(referenceEncoding(pair))).toBe(true);
    }
  });
});
