// Load test of the reference server (`npm run bench:server`): `crcsync serve
// --root ../shared/corpus` in a child process, autocannon in this one, the
// corpus's `new` pages requested round-robin by four kinds of client
// (identity, gzip, brotli, crcsync holding `old`) at 1, 50 and 500
// connections. A fresh server per cell, so its peak RSS belongs to that cell.
// Writes bench/server.md; crcsync requests/s are given as a ratio to gzip
// measured in the same run (STYLE.md habit 4).

import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { getDefaultEngine } from '../src/core/embedded-core';
import { formatIfBlock } from '../src/protocol/if-block';

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** Called before each request is sent; returns the request to send. */
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  throughput: { total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  requests: AutocannonRequest[];
}) => Promise<AutocannonResult>;

// autocannon ships no types; the fields used here are documented in its README.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

const ROOT = resolve(__dirname, '..');
const CORPUS = resolve(ROOT, '../shared/corpus');
const CLI = join(ROOT, 'dist/cli.js');
const SECONDS_PER_CELL = Number(process.env.BENCH_SECONDS ?? 4);
const WARMUP_SECONDS = 1;
/** A response slower than this counts as an error (at 500 connections a slow client waits in line). */
const REQUEST_TIMEOUT_SECONDS = 30;
const CONNECTIONS = [1, 50, 500];

const CLIENTS = ['identity', 'gzip', 'brotli', 'crcsync'] as const;
type Client = (typeof CLIENTS)[number];

interface Cell {
  connections: number;
  client: Client;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  bytesPerResponse: number;
  peakRssMiB: number;
  failures: number;
}

/**
 * One request definition that walks the pages round-robin across all
 * connections (autocannon's own request list restarts at the first entry on
 * every connection, which at 500 connections and a few seconds would
 * measure only the first pages).
 */
function requestsFor(client: Client, pages: Array<{ name: string; old: Buffer }>): AutocannonRequest[] {
  const engine = getDefaultEngine();
  const prepared = pages.map((page) => {
    const headers: Record<string, string> = {
      identity: { 'accept-encoding': 'identity' },
      gzip: { 'accept-encoding': 'gzip' },
      brotli: { 'accept-encoding': 'br' },
      // What a browser with the extension sends: its usual Accept-Encoding plus If-Block.
      crcsync: { 'accept-encoding': 'gzip, br', 'if-block': formatIfBlock(page.old, engine)! },
    }[client];
    return { method: 'GET', path: `/${page.name}/new`, headers };
  });
  let next = 0;
  return [{ setupRequest: (request) => ({ ...request, ...prepared[next++ % prepared.length] }) }];
}

async function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--root', CORPUS, '--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolvePromise, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start within 10 s')), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const match = /crcsync serving (\S+)\n/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1].replace(/\/$/, ''));
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, url };
}

/** Peak resident set of a process so far (Linux /proc), in MiB. */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolvePromise) => setTimeout(resolvePromise, 5000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function measure(client: Client, connections: number, requests: AutocannonRequest[]): Promise<Cell> {
  const { child, url } = await startServer();
  try {
    await autocannon({ url, connections: Math.min(connections, 50), duration: WARMUP_SECONDS, timeout: REQUEST_TIMEOUT_SECONDS, requests });
    const result = await autocannon({ url, connections, duration: SECONDS_PER_CELL, timeout: REQUEST_TIMEOUT_SECONDS, requests });
    return {
      connections,
      client,
      requestsPerSecond: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      bytesPerResponse: result.requests.total ? result.throughput.total / result.requests.total : 0,
      peakRssMiB: peakRssMiB(child.pid!),
      failures: result.errors + result.timeouts + result.non2xx,
    };
  } finally {
    await stopServer(child);
  }
}

function markdown(cells: Cell[], pages: number, corpusBytes: number, seconds: number): string {
  const rows = cells.map((cell) => {
    const gzip = cells.find((other) => other.connections === cell.connections && other.client === 'gzip')!;
    const ratio = cell.client === 'crcsync' ? `**${(cell.requestsPerSecond / gzip.requestsPerSecond).toFixed(2)}×**` : '';
    return `| ${cell.connections} | ${cell.client} | ${cell.requestsPerSecond.toFixed(0)} | ${ratio} | ${cell.p50.toFixed(1)} | ${cell.p99.toFixed(1)} | ${cell.bytesPerResponse.toFixed(0)} | ${cell.peakRssMiB.toFixed(0)} | ${cell.failures} |`;
  });
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `# Server load test

\`npm run bench:server\` (scripts/bench-server.ts), ${new Date().toISOString().slice(0, 10)}.
Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}.
Server and load generator (autocannon 8) share the machine's cores.

Setup: \`crcsync serve --root ../shared/corpus --quiet\` (fresh process per cell), the
${pages} corpus \`new\` pages (${(corpusBytes / 1024).toFixed(0)} KiB together) requested round-robin;
${WARMUP_SECONDS} s warm-up then ${seconds} s per cell. Clients: identity (\`Accept-Encoding: identity\`),
gzip (level 6), brotli (quality 5), crcsync (\`If-Block\` of the pair's \`old\`, delta against it).
Every response is produced per request: no response cache for any client.
"bytes/resp" is what autocannon read per response (headers + body); peak RSS is the
server's VmHWM. "vs gzip" is crcsync requests/s over gzip requests/s at the same concurrency.

| connections | client | req/s | vs gzip | p50 ms | p99 ms | bytes/resp | peak RSS MiB | errors |
|---:|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

Notes. The delta's literal runs are deflated with native zlib on libuv's thread
pool (delta-transform.ts: one raw deflate stream per response, Z_FULL_FLUSH between
runs), as gzip and brotli are; the event loop only matches (WASM) and hashes. A
crcsync response costs less CPU than a gzip one (it deflates about a third of the
bytes), but on this 2-core machine autocannon runs beside the server, and the
match itself runs on the event loop while gzip's work is all on the pool, so under
many connections gzip uses both cores more fully. At 500 connections a cell is
shorter than the queue: only responses that finish inside the window count, which
favours small pages (see bytes/resp) and makes that row noisy. Compare ratios
within a row, not absolute numbers across runs.
`;
}

async function main(): Promise<void> {
  if (!existsSync(CORPUS)) {
    console.log(`bench:server: ${CORPUS} is not present; nothing to measure.`);
    return;
  }
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run node scripts/build.mjs first');
  const pages = readdirSync(CORPUS, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(CORPUS, entry.name, 'new')))
    .map((entry) => ({ name: entry.name, old: readFileSync(join(CORPUS, entry.name, 'old')), size: readFileSync(join(CORPUS, entry.name, 'new')).length }));
  const corpusBytes = pages.reduce((sum, page) => sum + page.size, 0);
  const cells: Cell[] = [];
  for (const connections of CONNECTIONS) {
    for (const client of CLIENTS) {
      const cell = await measure(client, connections, requestsFor(client, pages));
      cells.push(cell);
      console.log(
        `${String(connections).padStart(3)} conn ${client.padEnd(8)} ${cell.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${cell.p50.toFixed(1)} ms  p99 ${cell.p99.toFixed(1)} ms  ${cell.bytesPerResponse.toFixed(0)} B/resp  RSS ${cell.peakRssMiB.toFixed(0)} MiB${cell.failures ? `  ${cell.failures} errors` : ''}`,
      );
    }
    const gzip = cells.find((cell) => cell.connections === connections && cell.client === 'gzip')!;
    const crcsync = cells.find((cell) => cell.connections === connections && cell.client === 'crcsync')!;
    console.log(`${String(connections).padStart(3)} conn crcsync / gzip requests/s: ${(crcsync.requestsPerSecond / gzip.requestsPerSecond).toFixed(2)}×`);
  }
  mkdirSync(join(ROOT, 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/server.md'), markdown(cells, pages.length, corpusBytes, SECONDS_PER_CELL));
  console.log('wrote bench/server.md');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
