// Hostile If-Block fuzz over real HTTP (security issue item 10; PROTOCOL.md
// §1, §2, §5): `crcsync serve --root DIR` and `crcsync serve --upstream URL`
// (a plain upstream on 127.0.0.1), each its own process, get batches of
// concurrent requests whose If-Block values come from if-block-values.ts.
// Properties, for every response:
//   - answered, status 200, Capability on it, and the server still running;
//   - the body a client rebuilds is the page exactly: a crcsync delta decoded
//     against the base the If-Block was hashed from (as the server reads the
//     header), any other response as it is (gzip / br undone);
//   - crcsync only for an If-Block that §1 accepts and whose block size §5
//     lets a server encode (5 B .. 128 KiB);
//   - never bigger than the plain body plus a small constant (§5: encoding
//     must pay, whatever the client sent);
//   - the server's CPU per hostile request, by class of value, against plain
//     requests for the same page and Accept-Encoding in the same run: figures
//     in both modes, a generous bound asserted in long mode only (§5: no
//     If-Block may cost more than a small multiple of gzip-6 of the body).

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { DeltaDecoder } from '../../src/protocol/delta-decoder';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { CrcsyncError } from '../../src/protocol/errors';
import { nodeSha1 } from '../../src/server/node-codecs';
import { readSections } from '../helpers/delta-sections';
import { mutate, seededRandom } from '../helpers/random';
import { startPlain, TestServer, withTimeout } from '../server/http-helpers';
import { bundleCli } from '../helpers/bundle-cli';
import { textBody } from '../server/fixtures';
import { ServeProcess, startServe } from './crcsync-process';
import { describeSeed, FUZZ_LONG, FUZZ_SEED, fuzzParameters, fuzzRuns, fuzzTimeoutMs, recordLongRun } from './fuzz-settings';
import {
  baseForModel,
  CLASS_WEIGHTS,
  HostileValue,
  makePages,
  modelAllowsDelta,
  modelIfBlock,
  ModelIfBlock,
  Page,
  VALUE_CLASSES,
  ValueClass,
} from './if-block-values';

/** Requests in flight at once (one batch). */
const BATCH = 8;
/** Hostile values per mode: 100,000 in long mode. */
const VALUES = fuzzRuns(320, 100_000);
/** A batch of plain requests (no If-Block) after every this many hostile batches: the CPU baseline. */
const PLAIN_EVERY = 3;
/** "The plain body plus a small constant" (§5): what any response may add to the page. */
const SIZE_SLACK_BYTES = 1024;
/** Long mode only: CPU per hostile request, by class, at most this many times a plain request's for the same page. */
const CPU_RATIO_BOUND = 8;

const ACCEPT_ENCODINGS = ['gzip', 'gzip', 'gzip', '', 'br', 'gzip, br'] as const;

interface Batch {
  page: number;
  acceptEncoding: string;
  className: ValueClass;
  makers: Array<(page: Page) => HostileValue>;
}

function batchArbitrary(pageCount: number): fc.Arbitrary<Batch> {
  // Most batches on the realistic 48 KB page, where hostile matching costs most.
  const page = fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.nat(pageCount - 1) });
  const classes = (Object.keys(VALUE_CLASSES) as ValueClass[]).map((className) => ({
    weight: CLASS_WEIGHTS[className],
    arbitrary: fc.record({
      page,
      acceptEncoding: fc.constantFrom(...ACCEPT_ENCODINGS),
      className: fc.constant(className),
      makers: fc.array(VALUE_CLASSES[className] as fc.Arbitrary<(page: Page) => HostileValue>, { minLength: BATCH, maxLength: BATCH }),
    }),
  }));
  return fc.oneof(...classes);
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  milliseconds: number;
}

function request(agent: http.Agent, url: string, headers: Record<string, string | string[]>): Promise<Answer> {
  const started = performance.now();
  return withTimeout(
    new Promise<Answer>((resolve, reject) => {
      const req = http.request(url, { agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), milliseconds: performance.now() - started }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    `GET ${url}`,
  );
}

function fail(message: string): never {
  throw new Error(message);
}

/** A header value for a message: JSON-quoted, obs-text (0x7F..0xFF, NBSP among them) escaped, long ones cut. */
const shown = (value: HostileValue['value'], max = 1000) => {
  const text = typeof value === 'string' ? value : value.join(' / second line: ');
  const quoted = JSON.stringify(text.length > max ? text.slice(0, max) : text).replace(/[\u007f-\u00ff]/g, (char) => `\\x${char.charCodeAt(0).toString(16)}`);
  return text.length > max ? `${quoted}... (${text.length} chars)` : quoted;
};

/**
 * Whether a delta describes the page exactly as the server could know it
 * (§4): its literal bytes are the page's at their place, each `B i` stands
 * where the page's window has the CRC-64 the If-Block gave for block i, and
 * S is the page's SHA-1. Returns what is wrong, or null. A delta that passes
 * but does not rebuild is a CRC-64 false match: §4 has encoders trust the
 * CRC (the server does not hold the client's base) and the S digest catch it.
 */
function crcDescriptionProblem(delta: Uint8Array, page: Buffer, model: ModelIfBlock): string | null {
  let sections;
  try {
    sections = readSections(delta);
  } catch (error) {
    return `unreadable delta: ${(error as Error).message}`;
  }
  const engine = getDefaultEngine();
  let at = 0;
  for (const section of sections) {
    if (section.kind === 'B') {
      if (section.index >= model.blockCount) return `B ${section.index} of ${model.blockCount} blocks`;
      const size = section.index === model.blockCount - 1 ? model.tailSize : model.blockSize;
      const crc = engine.crc64(page.subarray(at, at + size));
      if (at + size > page.length || crc !== model.hashes.readBigUInt64LE(section.index * 8)) return `B ${section.index} at offset ${at}: the page's window there does not have that block's CRC`;
      at += size;
    } else if (section.kind === 'Z' || section.kind === 'L') {
      if (!section.literal.equals(page.subarray(at, at + section.literal.length))) return `literal bytes at offset ${at} are not the page's`;
      at += section.literal.length;
    } else if (!section.digest.equals(createHash('sha1').update(page).digest())) {
      return 'S is not the SHA-1 of the page';
    }
  }
  return at === page.length ? null : `the sections cover ${at} of ${page.length} bytes`;
}

/**
 * What a client ends up with, checked against the page: 'delta', 'normal',
 * or 'CRC-64 false match' for a delta that describes the page correctly by
 * CRC (crcDescriptionProblem) but whose rebuild the S digest refuses: the
 * client then refetches (§5).
 */
function checkAnswer(page: Page, hostile: HostileValue, answer: Answer, className: ValueClass): 'delta' | 'normal' | 'CRC-64 false match' {
  const what = `${page.path} with If-Block ${shown(hostile.value)}`;
  if (answer.status !== 200) fail(`${what}: status ${answer.status}`);
  if (answer.headers.capability !== 'crcsync; m=1') fail(`${what}: no Capability header`);
  if (answer.body.length > page.body.length + SIZE_SLACK_BYTES) {
    fail(`${what}: ${answer.headers['content-encoding'] ?? 'identity'} response of ${answer.body.length} bytes for a ${page.body.length}-byte page (more than ${SIZE_SLACK_BYTES} bytes over)`);
  }
  const encoding = answer.headers['content-encoding'];
  if (encoding === 'crcsync') {
    const model = modelIfBlock(hostile.value);
    if (!model) fail(`${what}: answered with a delta, but §1 makes this If-Block invalid`);
    if (!modelAllowsDelta(model)) fail(`${what}: answered with a delta for bs = ${model.blockSize} (§5: only 5 B .. 128 KiB)`);
    let rebuilt: Uint8Array | null = null;
    try {
      const decoder = new DeltaDecoder(baseForModel(model, hostile.origin), { blockCount: model.blockCount, sha1: nodeSha1 }, (body) => (rebuilt = body));
      decoder.push(answer.body, true);
    } catch (error) {
      const digestMismatch = error instanceof CrcsyncError && error.code === 'DELTA_DIGEST_MISMATCH';
      const problem = digestMismatch ? crcDescriptionProblem(answer.body, page.body, model) : null;
      if (digestMismatch && problem === null) return 'CRC-64 false match';
      fail(`${what}: the delta does not decode: ${error instanceof CrcsyncError ? error.message : String(error)}${problem ? `; ${problem}` : ''}`);
    }
    if (!rebuilt || !Buffer.from(rebuilt).equals(page.body)) fail(`${what}: the rebuilt body is not the page`);
    return 'delta';
  }
  if (className === 'honest (control)' && page.path === '/page.html') fail(`${what}: an honest If-Block for the page got no delta`);
  const plain = encoding === 'gzip' ? gunzipSync(answer.body) : encoding === 'br' ? brotliDecompressSync(answer.body) : encoding === undefined ? answer.body : fail(`${what}: Content-Encoding ${encoding}`);
  if (!plain.equals(page.body)) fail(`${what}: the ${encoding ?? 'identity'} body is not the page`);
  return 'normal';
}

interface ClassStats {
  values: number;
  deltas: number;
  cpuMilliseconds: number;
  /** Plain requests' CPU for the same pages and Accept-Encodings, request for request (filled in at the end). */
  requestsByPlainKey: Map<string, number>;
  maxOverPlainBytes: number;
  maxMilliseconds: number;
}

function runStats() {
  return {
    values: 0,
    deltas: 0,
    /** Deltas the S digest refused after a CRC-64 false match (see crcDescriptionProblem). */
    falseMatches: [] as string[],
    plainRequests: 0,
    plainCpu: new Map<string, { requests: number; cpuMilliseconds: number }>(),
    byClass: new Map<ValueClass, ClassStats>(),
    hostileCpu: 0,
    maxMilliseconds: 0,
  };
}

describe.each(['root', 'upstream'] as const)('If-Block fuzz over HTTP, crcsync serve --%s (PROTOCOL.md §1, §5)', (mode) => {
  const pages = makePages(FUZZ_SEED);
  let work: string;
  let upstream: TestServer | null = null;
  let serve: ServeProcess;
  let agent: http.Agent;
  const stats = runStats();

  if (mode === 'upstream') {
    // An upstream that sends its page gzip-encoded: the proxy decodes it before making a delta (§2).
    const random = seededRandom(FUZZ_SEED + 1);
    const body = textBody(random, 20_000);
    pages.push({ path: '/gzipped.html', body, old: Buffer.from(mutate(random, body, 8)) });
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'crcsync-fuzz-'));
    const root = join(work, 'root');
    mkdirSync(root);
    for (const page of pages) writeFileSync(join(root, page.path), page.body);
    const cli = await bundleCli(work);
    if (mode === 'upstream') {
      upstream = await startPlain((req, res) => {
        const page = pages.find((candidate) => candidate.path === req.url);
        if (!page) return void res.writeHead(404, { 'content-length': '0' }).end();
        const gzipped = page.path === '/gzipped.html';
        const body = gzipped ? gzipSync(page.body) : page.body;
        const type = page.path.endsWith('.html') ? 'text/html; charset=utf-8' : page.path.endsWith('.txt') ? 'text/plain; charset=utf-8' : 'application/octet-stream';
        res.writeHead(200, { 'content-type': type, 'content-length': String(body.length), ...(gzipped ? { 'content-encoding': 'gzip' } : {}) });
        res.end(body);
      });
      serve = await startServe(cli, ['--upstream', upstream.url]);
    } else {
      serve = await startServe(cli, ['--root', root]);
    }
    agent = new http.Agent({ keepAlive: true, maxSockets: BATCH });
  });

  afterAll(async () => {
    agent?.destroy();
    const exit = await serve?.stop();
    await upstream?.close();
    rmSync(work, { recursive: true, force: true });
    expect(exit).toBe(0);
  });

  function plainKey(page: Page, acceptEncoding: string): string {
    return `${page.path}|${acceptEncoding}`;
  }

  async function plainBatch(page: Page, acceptEncoding: string, count: number): Promise<void> {
    const headers: Record<string, string> = acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {};
    const before = serve.cpuMilliseconds();
    const answers = await Promise.all(Array.from({ length: count }, () => request(agent, `${serve.url}${page.path}`, headers)));
    const cpu = serve.cpuMilliseconds() - before;
    for (const answer of answers) if (answer.status !== 200) fail(`plain GET ${page.path}: status ${answer.status}`);
    const entry = stats.plainCpu.get(plainKey(page, acceptEncoding)) ?? { requests: 0, cpuMilliseconds: 0 };
    entry.requests += count;
    entry.cpuMilliseconds += cpu;
    stats.plainCpu.set(plainKey(page, acceptEncoding), entry);
    stats.plainRequests += count;
  }

  let batches = 0;
  async function hostileBatch(batch: Batch): Promise<void> {
    const page = pages[batch.page % pages.length];
    const values = batch.makers.map((make) => make(page));
    const before = serve.cpuMilliseconds();
    let answers: Answer[];
    try {
      answers = await Promise.all(
        values.map((hostile) => request(agent, `${serve.url}${page.path}`, { 'If-Block': hostile.value, ...(batch.acceptEncoding ? { 'Accept-Encoding': batch.acceptEncoding } : {}) })),
      );
    } catch (error) {
      fail(`a request of this batch got no answer (${(error as Error).message}); server ${serve.child.exitCode === null ? 'running' : `exited ${serve.child.exitCode}`}; stderr: ${serve.stderr().slice(-2000)}`);
    }
    const cpu = serve.cpuMilliseconds() - before;
    if (serve.child.exitCode !== null) fail(`the server exited (${serve.child.exitCode}): ${serve.stderr().slice(-2000)}`);

    const entry: ClassStats = stats.byClass.get(batch.className) ?? { values: 0, deltas: 0, cpuMilliseconds: 0, requestsByPlainKey: new Map(), maxOverPlainBytes: -Infinity, maxMilliseconds: 0 };
    stats.byClass.set(batch.className, entry);
    entry.values += values.length;
    entry.cpuMilliseconds += cpu;
    const key = plainKey(page, batch.acceptEncoding);
    entry.requestsByPlainKey.set(key, (entry.requestsByPlainKey.get(key) ?? 0) + values.length);
    stats.values += values.length;
    stats.hostileCpu += cpu;
    values.forEach((hostile, i) => {
      const kind = checkAnswer(page, hostile, answers[i], batch.className);
      const delta = kind !== 'normal';
      if (kind === 'CRC-64 false match') stats.falseMatches.push(`${shown(hostile.value, 80)} (${batch.className} ${fc.stringify(batch.makers[i])})`);
      entry.deltas += delta ? 1 : 0;
      stats.deltas += delta ? 1 : 0;
      entry.maxOverPlainBytes = Math.max(entry.maxOverPlainBytes, answers[i].body.length - page.body.length);
      entry.maxMilliseconds = Math.max(entry.maxMilliseconds, answers[i].milliseconds);
      stats.maxMilliseconds = Math.max(stats.maxMilliseconds, answers[i].milliseconds);
    });
    if (++batches % PLAIN_EVERY === 0) await plainBatch(page, batch.acceptEncoding, BATCH);
  }

  /** CPU per request of a class over the plain requests' CPU for the same page / Accept-Encoding mix. */
  function cpuRatio(entry: ClassStats): { perRequest: number; plainPerRequest: number; ratio: number } {
    let plainExpected = 0;
    for (const [key, requests] of entry.requestsByPlainKey) {
      const plain = stats.plainCpu.get(key);
      const perRequest = plain && plain.requests ? plain.cpuMilliseconds / plain.requests : NaN;
      plainExpected += requests * perRequest;
    }
    const perRequest = entry.cpuMilliseconds / entry.values;
    const plainPerRequest = plainExpected / entry.values;
    return { perRequest, plainPerRequest, ratio: perRequest / plainPerRequest };
  }

  let peakRssMiB = NaN;
  function summary(wallSeconds: number): string {
    const plainCpu = [...stats.plainCpu.values()].reduce((sum, entry) => sum + entry.cpuMilliseconds, 0);
    const rows = [...stats.byClass.entries()].map(([name, entry]) => {
      const { perRequest, plainPerRequest, ratio } = cpuRatio(entry);
      return `| ${name} | ${entry.values} | ${entry.deltas} | ${entry.maxOverPlainBytes} | ${perRequest.toFixed(3)} | ${plainPerRequest.toFixed(3)} | ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'}x | ${entry.maxMilliseconds.toFixed(0)} |`;
    });
    return [
      `If-Block fuzz over HTTP, crcsync serve --${mode}, ${describeSeed()}`,
      `${stats.values} hostile values in batches of ${BATCH} concurrent requests (${stats.deltas} answered with a delta, ${stats.deltas - stats.falseMatches.length} of them rebuilt exactly${stats.falseMatches.length ? ` and ${stats.falseMatches.length} refused by the client after a CRC-64 false match` : ''}; the rest the normal response), ${stats.plainRequests} plain requests for the CPU baseline; wall time ${wallSeconds.toFixed(0)} s.`,
      ...(stats.falseMatches.length
        ? [`${stats.falseMatches.length} delta(s) refused by the client's SHA-1 check after a CRC-64 false match (a page window with a block's CRC but not its bytes; §4: the S digest catches it, the client refetches), e.g. ${stats.falseMatches.slice(0, 2).join('; ')}.`]
        : []),
      `Server CPU (/proc/<pid>/stat, 10 ms ticks summed over batches): hostile ${(stats.hostileCpu / Math.max(stats.values, 1)).toFixed(3)} ms/request, plain ${(plainCpu / Math.max(stats.plainRequests, 1)).toFixed(3)} ms/request; slowest answer ${stats.maxMilliseconds.toFixed(0)} ms; server peak RSS ${peakRssMiB.toFixed(0)} MiB.`,
      '',
      '| class | values | deltas | max bytes over the plain body | CPU ms/request | plain CPU ms/request (same pages, Accept-Encoding) | ratio | slowest answer ms |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n');
  }

  it(
    `answers ${VALUES} hostile If-Block values with the page, a delta only when §1 and §5 allow one, never bigger than the body, at bounded CPU`,
    async () => {
      const started = performance.now();
      // fast-check counts runs; a run is one batch of BATCH values.
      const runs = Math.ceil(VALUES / BATCH);
      // A plain baseline for every page and Accept-Encoding first; more plain batches go between the hostile ones.
      for (const page of pages) for (const acceptEncoding of new Set(ACCEPT_ENCODINGS)) await plainBatch(page, acceptEncoding, BATCH);
      let result = 'FAILED (see the test output)';
      try {
        // First, one batch of CRC-64 collisions on the main page, so every run takes the false-match path.
        const collisions: Batch = {
          page: 0,
          acceptEncoding: 'gzip',
          className: 'CRC-64 collisions',
          makers: fc.sample(VALUE_CLASSES['CRC-64 collisions'] as fc.Arbitrary<(page: Page) => HostileValue>, { seed: FUZZ_SEED, numRuns: BATCH }),
        };
        await fc.assert(
          fc.asyncProperty(batchArbitrary(pages.length), (batch) => hostileBatch(batch)),
          { ...fuzzParameters(runs), examples: [[collisions]] },
        );
        result = 'passed';
      } catch (error) {
        const cause = (error as Error).message.split('\n').find((line) => /If-Block|server|request/.test(line));
        result = `FAILED: ${cause?.trim().slice(0, 400) ?? 'see the test output'}`;
        throw error;
      } finally {
        if (serve.child.exitCode === null) peakRssMiB = serve.peakRssMiB();
        const text = `${summary((performance.now() - started) / 1000)}\n\nresult: ${result}`;
        console.log(text);
        if (FUZZ_LONG) recordLongRun(`http-${mode}`, `## If-Block over HTTP, --${mode}\n\nRun ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model.trim()}.\n\n${text}`);
      }
      // A replay (CRCSYNC_FUZZ_PATH) runs just the one case.
      if (!process.env.CRCSYNC_FUZZ_PATH) expect(stats.values).toBeGreaterThanOrEqual(VALUES);
      // The collision class makes sure the false-match path is taken (and checked) in every run.
      if (!process.env.CRCSYNC_FUZZ_PATH) expect(stats.falseMatches.length).toBeGreaterThan(0);
      // The CPU figures count the server itself (on glibc a child of the process started: they read 0 when they did not).
      if (!process.env.CRCSYNC_FUZZ_PATH) expect([...stats.plainCpu.values()].reduce((sum, entry) => sum + entry.cpuMilliseconds, 0)).toBeGreaterThan(0);
      // No bug surfaced as a warning either (the handler answers 500 and warns "crcsync handler: ..." on one).
      expect(serve.stderr()).not.toMatch(/crcsync handler|Unhandled|uncaught/i);
      if (FUZZ_LONG) {
        // Generous on purpose: per-request overhead is in both; only runaway work (bs = 1, dense matches, quadratic matching) should fail it.
        const overBound = [...stats.byClass.entries()]
          .filter(([, entry]) => entry.values >= 1000 && !(cpuRatio(entry).ratio <= CPU_RATIO_BOUND))
          .map(([name, entry]) => `${name}: ${cpuRatio(entry).ratio.toFixed(1)}x the CPU of a plain request (bound ${CPU_RATIO_BOUND}x)`);
        expect(overBound).toEqual([]);
      }
    },
    fuzzTimeoutMs(60_000),
  );
});
