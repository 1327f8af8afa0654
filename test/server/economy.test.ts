// PROTOCOL.md §5 "encoding must pay, whatever the client sent", over real
// HTTP against the real server: each hostile If-Block gets either the normal
// response (bs outside 5 B .. 128 KiB: pass=block-size) or a delta that
// decodes exactly, is no bigger than the body plus a small constant and has
// a bounded number of sections (the economy guard: logged economy=stop).
// Before issue 8 the server answered every one of them with a delta: twice
// the body for bs = 1, tens of thousands of sections for the others.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { ECONOMY_BYTES_PER_BLOCK, ECONOMY_BYTES_PER_RUN, ECONOMY_FREE_RUNS, ECONOMY_SLACK_BYTES, Z_SECTION_OVERHEAD_BYTES } from '../../src/protocol/delta-sections';
import { formatIfBlock, formatIfBlockFromHashes, parseIfBlock } from '../../src/protocol/if-block';
import { formatAccessLog } from '../../src/server/access-log';
import { DeltaTransform } from '../../src/server/delta-transform';
import { nodeSha1 } from '../../src/server/node-codecs';
import { readSections } from '../helpers/delta-sections';
import { newsText, randomBytes, randomSplit, seededRandom } from '../helpers/random';
import { decodeResponse, fetchLogged, startCrcsync, TestServer } from './http-helpers';

const engine = getDefaultEngine();
const SMALL_CONSTANT = ECONOMY_SLACK_BYTES + Z_SECTION_OVERHEAD_BYTES + 64;


const page = newsText(21, 1024 * 1024);

function hashesOf(blocks: Uint8Array[]): Uint8Array {
  const hashes = new Uint8Array(blocks.length * 8);
  blocks.forEach((block, i) => hashes.set(engine.blockHashes(block, 1), i * 8));
  return hashes;
}

/** The 256 most frequent 5-grams of the page's first 128 KiB. */
function frequentGrams(): Buffer[] {
  const seen = new Map<string, number>();
  const text = page.subarray(0, 128 * 1024).toString('latin1');
  for (let i = 0; i + 5 <= text.length; i++) seen.set(text.slice(i, i + 5), (seen.get(text.slice(i, i + 5)) ?? 0) + 1);
  return [...seen.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 256)
    .map(([gram]) => Buffer.from(gram, 'latin1'));
}

/** A body of 256 distinct 24-byte pieces, each followed by one '~': every match is followed by a 1-byte literal run. */
function alternatingBody(): { pieces: Buffer[]; body: Buffer } {
  const pieces: Buffer[] = [];
  const seen = new Set<string>();
  for (let at = 0; pieces.length < 256; at += 37) {
    const piece = page.subarray(at, at + 24);
    if (piece.includes(0x7e) || seen.has(piece.toString('latin1'))) continue;
    seen.add(piece.toString('latin1'));
    pieces.push(piece);
  }
  const body = Buffer.alloc(1024 * 1024);
  let at = 0;
  for (let i = 0; at < body.length; i++) {
    at += pieces[(i * 97) % 256].copy(body, at);
    if (at < body.length) body[at++] = 0x7e;
  }
  return { pieces, body };
}

interface Hostile {
  name: string;
  path: string;
  body: Buffer;
  /** The cached body the hashes describe (to decode a delta against), with its block count. */
  base: Uint8Array;
  blockCount: number;
  ifBlock: string;
  expected: 'block-size' | 'stop';
}

function hostileCases(): Hostile[] {
  const oneByte = Buffer.from(Array.from({ length: 256 }, (_, value) => value));
  const grams = frequentGrams();
  const alternating = alternatingBody();
  const equal = Buffer.concat(Array(256).fill(grams[0]));
  const fourMiB = Buffer.concat([page, page, page, page]);
  return [
    {
      name: 'bs = 1: fs = 256 and the CRCs of the 256 one-byte values',
      path: '/page.html',
      body: page,
      base: oneByte,
      blockCount: 256,
      ifBlock: formatIfBlockFromHashes(256, engine.blockHashes(oneByte, 256)),
      expected: 'block-size',
    },
    {
      name: 'bs = 5: hashes of the 256 most frequent 5-grams of the body',
      path: '/page.html',
      body: page,
      base: Buffer.concat(grams),
      blockCount: 256,
      ifBlock: formatIfBlockFromHashes(5 * 256, hashesOf(grams)),
      expected: 'stop',
    },
    {
      name: 'blocks chosen so matches alternate with 1-byte literal runs',
      path: '/alternating.html',
      body: alternating.body,
      base: Buffer.concat(alternating.pieces),
      blockCount: 256,
      ifBlock: formatIfBlockFromHashes(24 * 256, hashesOf(alternating.pieces)),
      expected: 'stop',
    },
    {
      name: 'n = 1 with one 4 MiB block',
      path: '/page.html',
      body: page,
      base: fourMiB,
      blockCount: 1,
      ifBlock: formatIfBlockFromHashes(fourMiB.length, engine.blockHashes(fourMiB, 1)),
      expected: 'block-size',
    },
    {
      name: '256 equal hashes (the most frequent 5-gram)',
      path: '/page.html',
      body: page,
      base: equal,
      blockCount: 256,
      ifBlock: formatIfBlockFromHashes(equal.length, engine.blockHashes(equal, 256)),
      expected: 'stop',
    },
    {
      name: 'huge fs: 64 MiB with 256 hashes (bs = 256 KiB)',
      path: '/page.html',
      body: page,
      base: new Uint8Array(0),
      blockCount: 256,
      ifBlock: formatIfBlockFromHashes(64 * 1024 * 1024, randomBytes(seededRandom(5), 256 * 8)),
      expected: 'block-size',
    },
  ];
}

describe('hostile If-Blocks over HTTP (PROTOCOL.md §5: encoding must pay)', () => {
  let server: TestServer;
  let root: string;
  const cases = hostileCases();

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'crcsync-economy-'));
    writeFileSync(join(root, 'page.html'), page);
    writeFileSync(join(root, 'alternating.html'), cases[2].body);
    server = await startCrcsync({ root });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it.each(cases.map((hostile) => [hostile.name, hostile] as const))('%s', async (_name, hostile) => {
    for (const acceptEncoding of ['gzip', '']) {
      const result = await fetchLogged(server, hostile.path, { headers: { 'If-Block': hostile.ifBlock, 'Accept-Encoding': acceptEncoding } });
      expect(result.status).toBe(200);
      if (hostile.expected === 'block-size') {
        // The normal response, exactly as a client without If-Block gets it.
        expect(result.headers['content-encoding']).toBe(acceptEncoding || undefined);
        expect(String(result.headers.vary ?? '')).not.toContain('If-Block');
        expect(decodeResponse(result, null).equals(hostile.body)).toBe(true);
        expect(result.log.passReason).toBe('block-size');
        continue;
      }
      if (acceptEncoding) {
        // Issue 9: a delta whose guard stopped would not beat the gzip body, so the
        // client gets exactly the gzip response it would get without If-Block.
        expect(result.headers['content-encoding']).toBe('gzip');
        expect(String(result.headers.vary ?? '')).not.toContain('If-Block');
        expect(decodeResponse(result, null).equals(hostile.body)).toBe(true);
        expect(result.log).toMatchObject({ passReason: 'no-gain', economy: 'stop' });
        continue;
      }
      expect(result.headers['content-encoding']).toBe('crcsync');
      expect(decodeResponse(result, hostile.base, hostile.blockCount).equals(hostile.body)).toBe(true);
      expect(result.body.length).toBeLessThanOrEqual(hostile.body.length + SMALL_CONSTANT);
      const sections = readSections(result.body);
      expect(sections.filter((section) => section.kind === 'B').length).toBeLessThanOrEqual(2 * hostile.blockCount + hostile.body.length / ECONOMY_BYTES_PER_BLOCK);
      expect(sections.filter((section) => section.kind === 'Z').length).toBeLessThanOrEqual(ECONOMY_FREE_RUNS + hostile.body.length / ECONOMY_BYTES_PER_RUN + 1);
      expect(result.log.economy).toBe('stop');
      expect(formatAccessLog(result.log)).toMatch(/ economy=stop$/);
    }
  });

  it('an honest If-Block still gets its full greedy delta, without economy=stop', async () => {
    const older = Buffer.concat([page.subarray(0, 300_000), Buffer.from('<p>edited</p>'), page.subarray(300_100)]);
    const result = await fetchLogged(server, '/page.html', { headers: { 'If-Block': formatIfBlock(older, engine)! } });
    expect(result.headers['content-encoding']).toBe('crcsync');
    expect(decodeResponse(result, older).equals(page)).toBe(true);
    expect(result.body.length).toBeLessThan(page.length / 10);
    expect(result.log.economy).toBeUndefined();
    expect(formatAccessLog(result.log)).not.toContain('economy=');
  });
});

describe('the economy bound holds for the server thread-pool path', () => {
  // Z sections of random (incompressible) bytes of every size class, between
  // matches, in random chunking: zlib on the thread pool never emits more
  // than the bound the scanner kept (guard off, so every run goes out).
  it('delta bytes <= stats.boundBytes', async () => {
    const random = seededRandom(9);
    const blocks = Array.from({ length: 256 }, () => randomBytes(random, 16));
    const ifBlock = parseIfBlock(formatIfBlockFromHashes(16 * 256, hashesOf(blocks)));
    const parts: Uint8Array[] = [];
    for (const length of [0, 1, 2, 7, 100, 863, 1000, 5000, 16_385, 70_000, 131_073, 300_000]) parts.push(randomBytes(random, length), blocks[parts.length % 256]);
    const body = Buffer.concat(parts);
    for (const economyGuard of [false, true]) {
      const transform = new DeltaTransform(ifBlock, { engine, sha1: nodeSha1, economyGuard });
      let bytes = 0;
      const chunks = randomSplit(random, body, 60).map((piece) => Buffer.from(piece));
      await pipeline(
        Readable.from(chunks),
        transform,
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            bytes += chunk.length;
            callback();
          },
        }),
      );
      expect(bytes).toBeLessThanOrEqual(transform.stats.boundBytes);
      expect(bytes).toBeGreaterThan(body.length);
    }
  });
});
