// `npm run bench`: throughput of the core and the codec, each beside the
// plain-TypeScript twin and a plain memory copy measured in the same run
// (the machine is shared and noisy: ratios travel, absolute numbers don't);
// then the worst cases of PROTOCOL.md §5: the CPU and size of the server's
// response to each hostile If-Block, as ratios to gzip-6 of the same body.
// Writes bench/core.md and bench/core.json.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { unzlibSync, zlibSync } from 'fflate';
import { CrcEngine } from '../src/core/crc-engine';
import { createTwinEngine } from '../src/core/crc64-twin';
import { wasmCoreBytes } from '../src/core/embedded-core';
import { compileCore, createWasmEngine } from '../src/core/wasm-engine';
import { DeltaDecoder } from '../src/protocol/delta-decoder';
import { DeltaEncoder } from '../src/protocol/delta-encoder';
import { formatIfBlock, parseIfBlock } from '../src/protocol/if-block';
import { decideDeltaEncoding } from '../src/protocol/response-policy';
import { nobleSha1 } from '../src/protocol/sha1';
import { DeltaTransform } from '../src/server/delta-transform';
import { nodeSha1 } from '../src/server/node-codecs';
import { realisticBody, worstCases } from './bench-bodies';
import { mbPerSecond } from './bench-timing';

const ROOT = resolve(__dirname, '..');
const CORPUS = resolve(ROOT, '../shared/corpus');
const MIN_SECONDS = Number(process.env.BENCH_SECONDS ?? 0.4);

interface Row {
  group: string;
  name: string;
  mbPerSecond: number;
  ratioTo: string;
  ratio: number;
  target?: string;
}

/** Runs fn (processing `bytes` bytes) repeatedly for MIN_SECONDS, several rounds; returns the best MB/s. */
function throughput(bytes: number, fn: () => void): number {
  fn(); // warm up
  let best = 0;
  for (let round = 0; round < 5; round++) best = Math.max(best, mbPerSecond(fn, bytes, (MIN_SECONDS / 5) * 1000));
  return best;
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

function randomBytes(length: number, seed: number): Uint8Array {
  const random = seeded(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (random() * 256) | 0;
  return out;
}

interface Pair {
  name: string;
  old: Uint8Array;
  new: Uint8Array;
}

function corpusPairs(): Pair[] {
  if (!existsSync(CORPUS)) return [];
  return readdirSync(CORPUS)
    .filter((name) => existsSync(join(CORPUS, name, 'old')))
    .map((name) => ({ name, old: readFileSync(join(CORPUS, name, 'old')), new: readFileSync(join(CORPUS, name, 'new')) }));
}

/** Synthetic stand-in when ../shared/corpus is absent: edited text-like pages. */
function syntheticPairs(): Pair[] {
  const pairs: Pair[] = [];
  for (let i = 0; i < 8; i++) {
    const random = seeded(i + 1);
    const words = ['<div>', 'news', 'crcsync', '</div>\n', 'the', 'page', 'delta'];
    let text = '';
    while (text.length < 60000 + i * 20000) text += words[(random() * words.length) | 0] + ' ';
    const old = new TextEncoder().encode(text);
    const edited = text.slice(0, 1000) + 'EDIT ' + text.slice(1000, 30000) + text.slice(30100) + ' tail';
    pairs.push({ name: `synthetic-${i}`, old, new: new TextEncoder().encode(edited) });
  }
  return pairs;
}

function copyBaseline(data: Uint8Array): number {
  const target = new Uint8Array(data.length);
  return throughput(data.length, () => target.set(data));
}

function matchAll(engine: CrcEngine, hashes: Uint8Array, fileSize: number, body: Uint8Array): number {
  let matches = 0;
  const matcher = engine.createMatcher(hashes, fileSize);
  matcher.scan(body, () => matches++);
  matcher.dispose();
  return matches;
}

function encode(pair: Pair, engine: CrcEngine): Uint8Array {
  const out: Uint8Array[] = [];
  const encoder = new DeltaEncoder(parseIfBlock(formatIfBlock(pair.old, engine)!), { engine, sha1: nodeSha1 }, (chunk) => out.push(chunk));
  encoder.push(pair.new, true);
  return Buffer.concat(out);
}

function decode(base: Uint8Array, delta: Uint8Array, sha1 = nodeSha1): Uint8Array {
  let body: Uint8Array | null = null;
  const decoder = new DeltaDecoder(base, { sha1 }, (verified) => {
    body = verified;
  });
  decoder.push(delta, true);
  return body!;
}

interface Cost {
  cpuMs: number;
  bytes: number;
  economyStop: boolean;
}

interface WorstRow {
  name: string;
  gzip: Cost;
  before: Cost | null;
  guardOnly: Cost | null;
  server: Cost & { response: string };
}

/** The body as a file or socket would deliver it: 64 KiB chunks. */
function chunksOf(body: Uint8Array): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; at += 64 * 1024) chunks.push(Buffer.from(body.buffer, body.byteOffset + at, Math.min(64 * 1024, body.length - at)));
  return chunks;
}

/** CPU time (all threads: process.cpuUsage counts zlib's thread pool) and output of one streamed response; best of `runs`. */
async function responseCost(body: Uint8Array, stage: () => NodeJS.ReadWriteStream & { stats?: { economyStopAt: number | null } }, runs: number): Promise<Cost> {
  let best: Cost | null = null;
  for (let run = 0; run < runs; run++) {
    let bytes = 0;
    const transform = stage();
    const started = process.cpuUsage();
    await pipeline(
      Readable.from(chunksOf(body)),
      transform,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          callback();
        },
      }),
    );
    const used = process.cpuUsage(started);
    const cost = { cpuMs: (used.user + used.system) / 1000, bytes, economyStop: (transform.stats?.economyStopAt ?? null) !== null };
    if (!best || cost.cpuMs < best.cpuMs) best = cost;
  }
  return best!;
}

/**
 * PROTOCOL.md §5 worst cases: for each hostile If-Block against a 4 MiB
 * realistic body, what producing the server's response costs (the server's
 * encode path: DeltaTransform with zlib on the thread pool; or the normal
 * gzip-6 response when the policy passes it through), beside gzip-6 of the
 * same body in the same run. "before" is the greedy encoder without the
 * economy guard (today's code before issue 8), "guard only" the guard without
 * the block-size rule.
 */
async function worstCaseRows(engine: CrcEngine): Promise<{ rows: WorstRow[]; source: string }> {
  const { body, source } = realisticBody();
  const rows: WorstRow[] = [];
  const skipBefore = process.env.BENCH_SKIP_BEFORE === '1';
  for (const worst of worstCases(engine, body)) {
    const gzip = await responseCost(worst.body, () => createGzip({ level: 6 }), 3);
    let ifBlock;
    try {
      ifBlock = parseIfBlock(worst.ifBlock);
    } catch {
      ifBlock = null;
    }
    const delta = (economyGuard: boolean) => () => new DeltaTransform(ifBlock!, { engine, sha1: nodeSha1, economyGuard });
    const guardOnly = ifBlock ? await responseCost(worst.body, delta(true), 3) : null;
    const before = ifBlock && !skipBefore ? await responseCost(worst.body, delta(false), 1) : null;
    const decision = decideDeltaEncoding({ method: 'GET', status: 200, ifBlock: worst.ifBlock, contentEncoding: undefined, contentRange: undefined, cacheControl: undefined, decodable: [] });
    const server = decision.encode ? { ...guardOnly!, response: 'delta' } : { ...gzip, response: `gzip (pass=${decision.reason})` };
    rows.push({ name: worst.name, gzip, before, guardOnly, server });
    const show = (cost: Cost | null) => (cost ? `${(cost.cpuMs / gzip.cpuMs).toFixed(2)}x cpu ${(cost.bytes / worst.body.length).toFixed(3)} size` : '-');
    console.log(`${worst.name.padEnd(52)} gzip ${gzip.cpuMs.toFixed(0)} ms | before ${show(before)} | guard only ${show(guardOnly)} | server: ${server.response} ${show(server)}`);
  }
  return { rows, source };
}

function worstCaseLines(rows: WorstRow[], source: string): string[] {
  const ratio = (cost: Cost | null, gzip: Cost) => (cost ? `${(cost.cpuMs / gzip.cpuMs).toFixed(2)}x` : '-');
  const size = (cost: Cost | null, body: number) => (cost ? `${(cost.bytes / body).toFixed(3)}${cost.economyStop ? ' (stop)' : ''}` : '-');
  const bodyBytes = 4 * 1024 * 1024;
  return [
    '## Worst cases (PROTOCOL.md §5): hostile If-Blocks against a 4 MiB body',
    '',
    `Body: ${source}, 4 MiB, streamed in 64 KiB chunks. CPU = process.cpuUsage (user + system, all threads, so zlib's thread pool counts)`,
    'of producing the whole response, as a ratio to gzip-6 of the same body measured in the same run (best of 3; "before" 1 run).',
    'Size = response body bytes / body bytes. "before": greedy §4 without the economy guard (the encoder before issue 8);',
    '"guard only": with the economy guard, without the block-size rule; "server": what `crcsync serve` sends (the policy first:',
    'a pass-through is the normal gzip response). "(stop)": the economy guard stopped matching. Target: server CPU <= 3x gzip,',
    'size <= body + a small constant.',
    '',
    '| If-Block | gzip-6 ms | gzip-6 size | before: CPU | before: size | guard only: CPU | guard only: size | server sends | server: CPU | server: size |',
    '|---|---:|---:|---:|---:|---:|---:|---|---:|---:|',
    ...rows.map(
      (row) =>
        `| ${row.name} | ${row.gzip.cpuMs.toFixed(0)} | ${size(row.gzip, bodyBytes)} | ${ratio(row.before, row.gzip)} | ${size(row.before, bodyBytes)} | ${ratio(row.guardOnly, row.gzip)} | ${size(row.guardOnly, bodyBytes)} | ${row.server.response} | **${ratio(row.server, row.gzip)}** | ${size(row.server, bodyBytes)} |`,
    ),
    '',
  ];
}

async function main(): Promise<void> {
  const wasm = createWasmEngine(compileCore(wasmCoreBytes()));
  const twin = createTwinEngine();
  const rows: Row[] = [];
  const sharedCorpus = corpusPairs();
  const pairs = sharedCorpus.length ? sharedCorpus : syntheticPairs();
  const corpusNote = sharedCorpus.length ? `../shared/corpus (${pairs.length} pairs)` : `synthetic pairs (../shared/corpus absent)`;
  const usable = pairs.filter((pair) => pair.old.length >= 200 && pair.old.length <= 4 << 20);
  const typicalBytes = usable.reduce((sum, pair) => sum + pair.new.length, 0);

  // Baseline: a plain copy of 4 MiB.
  const big = randomBytes(4 << 20, 7);
  const copy = copyBaseline(big);
  rows.push({ group: 'baseline', name: 'memory copy (Uint8Array.set, 4 MiB)', mbPerSecond: copy, ratioTo: 'copy', ratio: 1 });

  // Block hashing: 40 block hashes of a 4 MiB body (the largest a client hashes).
  const hashWasm = throughput(big.length, () => wasm.blockHashes(big, 40));
  const hashTwin = throughput(big.length, () => twin.blockHashes(big, 40));
  rows.push({ group: 'block hashing', name: 'WASM, 4 MiB body, 40 blocks', mbPerSecond: hashWasm, ratioTo: 'copy', ratio: hashWasm / copy, target: '>= 1400 MB/s' });
  rows.push({ group: 'block hashing', name: 'TS twin', mbPerSecond: hashTwin, ratioTo: 'WASM', ratio: hashTwin / hashWasm });

  // Rolling match, typical: every corpus pair, new scanned against old's hashes.
  const prepared = usable.map((pair) => ({ pair, hashes: wasm.blockHashes(pair.old, 40) }));
  const typicalWasm = throughput(typicalBytes, () => {
    for (const { pair, hashes } of prepared) matchAll(wasm, hashes, pair.old.length, pair.new);
  });
  const typicalTwin = throughput(typicalBytes, () => {
    for (const { pair, hashes } of prepared) matchAll(twin, hashes, pair.old.length, pair.new);
  });
  rows.push({ group: 'rolling match, typical', name: `WASM, ${corpusNote}`, mbPerSecond: typicalWasm, ratioTo: 'copy', ratio: typicalWasm / copy, target: '>= 850 MB/s' });
  rows.push({ group: 'rolling match, typical', name: 'TS twin', mbPerSecond: typicalTwin, ratioTo: 'WASM', ratio: typicalTwin / typicalWasm });

  // Rolling match, worst case: no block matches (unrelated random data); bs 2 KiB and tail != bs.
  const unrelatedOld = randomBytes(80013, 8);
  const worstHashes = wasm.blockHashes(unrelatedOld, 40);
  const worstBody = randomBytes(2 << 20, 9);
  if (matchAll(wasm, worstHashes, unrelatedOld.length, worstBody) !== 0) throw new Error('worst case found a match');
  const worstWasm = throughput(worstBody.length, () => matchAll(wasm, worstHashes, unrelatedOld.length, worstBody));
  const worstTwin = throughput(worstBody.length, () => matchAll(twin, worstHashes, unrelatedOld.length, worstBody));
  rows.push({ group: 'rolling match, worst (no match)', name: 'WASM, 2 MiB random vs 40 unrelated blocks', mbPerSecond: worstWasm, ratioTo: 'copy', ratio: worstWasm / copy, target: '>= 320 MB/s' });
  rows.push({ group: 'rolling match, worst (no match)', name: 'TS twin', mbPerSecond: worstTwin, ratioTo: 'WASM', ratio: worstTwin / worstWasm });

  // Decode. All-literal: a delta that is one Z section of the whole body, against fflate inflating the same zlib stream.
  const text = usable.length ? Buffer.concat(usable.map((pair) => pair.new)).subarray(0, 4 << 20) : big;
  const literalDelta = encode({ name: 'unrelated', old: randomBytes(1000, 10), new: text }, wasm);
  const zlibStream = zlibSync(text, { level: 6 });
  const fflateInflate = throughput(text.length, () => unzlibSync(zlibStream));
  const decodeLiteral = throughput(text.length, () => decode(randomBytes(1000, 10), literalDelta));
  const decodeLiteralNoble = throughput(text.length, () => decode(randomBytes(1000, 10), literalDelta, nobleSha1));
  rows.push({ group: 'decode', name: `fflate unzlibSync of ${(text.length / 1e6).toFixed(1)} MB (baseline)`, mbPerSecond: fflateInflate, ratioTo: 'copy', ratio: fflateInflate / copy });
  rows.push({ group: 'decode', name: 'DeltaDecoder, all-literal delta (node:crypto SHA-1)', mbPerSecond: decodeLiteral, ratioTo: 'fflate', ratio: decodeLiteral / fflateInflate, target: '>= 0.8x fflate' });
  rows.push({ group: 'decode', name: 'DeltaDecoder, all-literal delta (@noble SHA-1, browser default)', mbPerSecond: decodeLiteralNoble, ratioTo: 'fflate', ratio: decodeLiteralNoble / fflateInflate });

  // Typical decode: corpus deltas, output bytes per second, beside fflate inflating zlib(new) of the same pairs.
  const deltas = usable.map((pair) => ({ pair, delta: encode(pair, wasm) }));
  const fullStreams = usable.map((pair) => zlibSync(pair.new, { level: 6 }));
  const fflateTypical = throughput(typicalBytes, () => {
    for (const stream of fullStreams) unzlibSync(stream);
  });
  const decodeTypical = throughput(typicalBytes, () => {
    for (const { pair, delta } of deltas) decode(pair.old, delta);
  });
  rows.push({ group: 'decode', name: 'fflate unzlibSync of every corpus new (baseline)', mbPerSecond: fflateTypical, ratioTo: 'copy', ratio: fflateTypical / copy });
  rows.push({ group: 'decode', name: `DeltaDecoder, ${corpusNote} deltas`, mbPerSecond: decodeTypical, ratioTo: 'fflate', ratio: decodeTypical / fflateTypical, target: '>= 0.8x fflate' });

  const deltaBytes = deltas.reduce((sum, { delta }) => sum + delta.length, 0);
  const lines = [
    '# crcsync core benchmark',
    '',
    `Run ${new Date().toISOString()} on ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}.`,
    `Corpus: ${corpusNote}: ${(typicalBytes / 1e6).toFixed(2)} MB of new bodies, ${(deltaBytes / 1e6).toFixed(3)} MB of deltas.`,
    'MB/s = 10^6 bytes of input (match, hash) or rebuilt output (decode) per second, best of 5 rounds; ratios are to a baseline measured in the same run.',
    '',
    '| group | measurement | MB/s | ratio | target |',
    '|---|---|---:|---:|---|',
    ...rows.map((row) => `| ${row.group} | ${row.name} | ${row.mbPerSecond.toFixed(0)} | ${row.ratio.toFixed(2)}x ${row.ratioTo} | ${row.target ?? ''} |`),
    '',
  ];
  const worst = await worstCaseRows(wasm);
  lines.push(...worstCaseLines(worst.rows, worst.source));
  const out = join(ROOT, 'bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'core.md'), lines.join('\n'));
  writeFileSync(
    join(out, 'core.json'),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, corpus: corpusNote, rows, worstCases: worst.rows }, null, 2) + '\n',
  );
  console.log(lines.join('\n'));
  console.log('written to bench/core.md and bench/core.json');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
