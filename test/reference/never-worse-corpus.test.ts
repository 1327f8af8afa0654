// Issue 9 on real page versions: for every old/new pair, a client holding
// `old` that asks for `new` with If-Block and Firefox's Accept-Encoding
// (gzip, deflate, br) never gets a bigger body than the br body the same
// server sends without If-Block. Either the delta beats br by the margin
// (delta-or-compression.ts) and decodes to `new`, or the response is the
// br response byte for byte. Runs over ../shared/corpus when it is there
// (and says so when not), and over the project's own pages always.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { DEFAULT_COMPRESSION } from '../../src/server/content-coding';
import { deltaBeats } from '../../src/server/delta-or-compression';
import { CORPUS_DIR, loadCorpus, reportSharedMissing } from '../helpers/shared-data';
import { mutate, newsText, seededRandom } from '../helpers/random';
import { makeFixtures, textBody } from '../server/fixtures';
import { decodeResponse, fetchRaw, FetchResult, startCrcsync, TestServer } from '../server/http-helpers';

const engine = getDefaultEngine();
const FIREFOX = 'gzip, deflate, br';
const CONNECTION_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

interface Pair {
  name: string;
  path: string;
  old: Buffer;
  new: Buffer;
}

interface Row {
  name: string;
  /** What Firefox got before issue 9: the delta, whatever its size (the server's delta for a client without Accept-Encoding, unchanged). */
  before: number;
  after: number;
  br: number;
  switched: boolean;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function visibleHeaders(result: FetchResult): [string, string][] {
  return Object.entries(result.headers)
    .filter(([name]) => !CONNECTION_HEADERS.has(name))
    .map(([name, value]): [string, string] => [name, String(value)])
    .sort();
}

/** Registers one test per pair against `server()`, and a summary of the bytes before and after. */
function neverWorseThanBrotli(label: string, pairs: () => Pair[], server: () => TestServer): void {
  const rows: Row[] = [];

  afterAll(() => {
    if (rows.length === 0) return;
    const total = (pick: (row: Row) => number) => rows.reduce((sum, row) => sum + pick(row), 0);
    const worst = Math.max(...rows.map((row) => row.after / row.br));
    const worstBefore = Math.max(...rows.map((row) => row.before / row.br));
    console.log(
      [
        `${label}: ${rows.length} pairs, Accept-Encoding: ${FIREFOX}, If-Block of old`,
        `  switched to the plain response: ${rows.filter((row) => row.switched).length} (${rows.filter((row) => row.switched).map((row) => row.name.slice(0, 3)).join(' ')})`,
        `  body bytes before (always the delta): total ${total((row) => row.before)}, median ${median(rows.map((row) => row.before))}, worst ${worstBefore.toFixed(2)}x br`,
        `  body bytes after: total ${total((row) => row.after)}, median ${median(rows.map((row) => row.after))}, worst ${worst.toFixed(2)}x br` +
          ` (largest delta still sent: ${Math.max(0, ...rows.filter((row) => !row.switched).map((row) => row.after / row.br)).toFixed(2)}x br)`,
        `  br without If-Block: total ${total((row) => row.br)}, median ${median(rows.map((row) => row.br))}`,
      ].join('\n'),
    );
  });

  it.each(pairs().map((pair) => [pair.name, pair] as const))('%s', async (_name, pair) => {
    const url = `${server().url}${pair.path}`;
    const ifBlock = formatIfBlock(pair.old, engine);
    expect(ifBlock).not.toBeNull();
    const withIf = await fetchRaw(url, { headers: { 'If-Block': ifBlock!, 'Accept-Encoding': FIREFOX } });
    const plain = await fetchRaw(url, { headers: { 'Accept-Encoding': FIREFOX } });
    const before = await fetchRaw(url, { headers: { 'If-Block': ifBlock! } });
    expect(withIf.status).toBe(200);
    expect(before.headers['content-encoding']).toBe('crcsync');

    if (pair.new.length < DEFAULT_COMPRESSION.minBytes) {
      // Not compressed either way: the delta as before (README "Delta or plain"), at most the body plus its digest and framing.
      expect(withIf.headers['content-encoding']).toBe('crcsync');
      expect(withIf.body.length).toBeLessThanOrEqual(pair.new.length + 40);
      return;
    }
    expect(withIf.body.length).toBeLessThanOrEqual(plain.body.length);
    if (withIf.headers['content-encoding'] === 'crcsync') {
      expect(deltaBeats(withIf.body.length, plain.body.length)).toBe(true);
      expect(decodeResponse(withIf, pair.old).equals(pair.new)).toBe(true);
    } else {
      expect(visibleHeaders(withIf)).toEqual(visibleHeaders(plain));
      expect(withIf.body.equals(plain.body)).toBe(true);
      expect(decodeResponse(withIf, null).equals(pair.new)).toBe(true);
    }
    rows.push({ name: pair.name, before: before.body.length, after: withIf.body.length, br: plain.body.length, switched: withIf.headers['content-encoding'] !== 'crcsync' });
  });
}

const corpus = loadCorpus();
if (corpus.length === 0) {
  describe('never worse than brotli: ../shared/corpus', () => reportSharedMissing('never worse than brotli over the corpus'));
} else {
  describe('never worse than brotli: ../shared/corpus (static root)', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startCrcsync({ root: CORPUS_DIR });
    });
    afterAll(() => server?.close());
    neverWorseThanBrotli(
      'corpus',
      () => corpus.map((pair) => ({ ...pair, path: `/${pair.name}/new` })),
      () => server,
    );
  });
}

/** The project's own pages: the fixtures of the server tests plus pages on both sides of the margin. */
function projectPairs(): Pair[] {
  const pairs = makeFixtures().map((pair) => ({ ...pair, path: `/${pair.name}.html` }));
  const news = newsText(41, 120_000);
  const page = textBody(seededRandom(42), 60_000);
  const extra: Omit<Pair, 'path'>[] = [
    { name: 'news-story-added', old: news, new: Buffer.concat([newsText(43, 3_000), news.subarray(0, 117_000)]) },
    { name: 'news-half-rewritten', old: news, new: Buffer.concat([news.subarray(0, 60_000), newsText(44, 60_000)]) },
    { name: 'news-rewritten', old: news, new: newsText(45, 120_000) },
    { name: 'page-many-small-edits', old: page, new: Buffer.from(mutate(seededRandom(46), page, 60)) },
  ];
  return [...pairs, ...extra.map((pair) => ({ ...pair, path: `/${pair.name}.html` }))];
}

describe('never worse than brotli: the project pages (no ../shared needed)', () => {
  let server: TestServer;
  let root: string;
  const pairs = projectPairs();
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'crcsync-never-worse-corpus-'));
    for (const pair of pairs) writeFileSync(join(root, pair.path), pair.new);
    server = await startCrcsync({ root });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });
  neverWorseThanBrotli(
    'project pages',
    () => pairs,
    () => server,
  );
});
