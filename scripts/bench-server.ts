// Load test of the reference server (`npm run bench:server`): `crcsync serve
// --root ../shared/corpus` in a child process (one server process, and
// `--workers auto`: one per core), autocannon in a fresh process per cell
// (bench-server-load.ts), the corpus's `new`
// pages requested round-robin by four kinds of client (identity, gzip,
// brotli, crcsync holding `old`) at 1, 50 and 500 connections; then, at 50
// connections, gzip and crcsync over only the pairs where the delta wins
// (the rest get br: see the notes). A fresh server per cell, so its peak RSS
// belongs to that cell. Every cell is measured BENCH_REPEATS times (default
// 3), repeats interleaved. Writes bench/server.md and bench/server.json;
// crcsync requests/s are given as a ratio to gzip measured in the same
// repeat (STYLE.md habit 4), median and range over the repeats.
// `--render` rewrites server.md from server.json without measuring;
// `--pool A.json B.json ...` pools the repeats of several runs into one.

import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { getDefaultEngine } from '../src/core/embedded-core';
import { formatIfBlock } from '../src/protocol/if-block';

import type { LoadJob, LoadRequest, LoadResult } from './bench-server-load';
import { treeMemoryMiB } from './process-tree';

const ROOT = resolve(__dirname, '..');
const CORPUS = resolve(ROOT, '../shared/corpus');
const CLI = join(ROOT, 'dist/cli.js');
/** The load generator, one process per cell (scripts/bench-server-load.ts). */
const LOAD = join(ROOT, 'dist/bench-server-load.js');
const SECONDS_PER_CELL = Number(process.env.BENCH_SECONDS ?? 4);
const WARMUP_SECONDS = 1;
/** A response slower than this counts as an error (at 500 connections a slow client waits in line). */
const REQUEST_TIMEOUT_SECONDS = 30;
const CONNECTIONS = [1, 50, 500];
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
/** `--workers` values: one process, and one per core. */
/**
 * '1': one server process; 'auto': --workers auto; 'pinned': one server
 * process on CPU 0 and the load generator (a child of this process, which
 * is pinned first) on CPU 1, so the
 * two never take each other's core (issue 11: is that steadier?). Pinned
 * only where there are two CPUs and taskset.
 */
const ALL_PROCESSES = ['1', 'auto', 'pinned'] as const;
type Processes = (typeof ALL_PROCESSES)[number];
const PINNING = availableParallelism() >= 2 && hasTaskset();
const PROCESSES: readonly Processes[] = PINNING ? ALL_PROCESSES : ['1', 'auto'];

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Puts every thread of this process on `cpus` (taskset list syntax, e.g. "1" or "0-1"). */
function pinSelf(cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

const ALL_CPUS = `0-${availableParallelism() - 1}`;

const CLIENTS = ['identity', 'gzip', 'brotli', 'crcsync'] as const;
/**
 * 'ample': --max-delta-memory and --max-compression-memory at this many MiB,
 * so that at 500 connections every client gets the encoding it asked for
 * and the cell compares encodings rather than what each falls back to when
 * the default budgets are full.
 */
const AMPLE_MEMORY_MIB = 4096;
type Memory = 'default' | 'ample';
type Client = (typeof CLIENTS)[number];

interface Cell {
  repeat: number;
  processes: Processes;
  /** 'all' pairs, or only the pairs where the delta wins. */
  pages: 'all' | 'delta-wins';
  /** The server's memory budgets: its defaults, or AMPLE_MEMORY_MIB each (absent in runs before there was a choice). */
  memory?: Memory;
  connections: number;
  client: Client;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  bytesPerResponse: number;
  peakRssMiB: number;
  failures: number;
}

/** The requests of one kind of client, one per page, which the load generator sends round robin. */
function requestsFor(client: Client, pages: Array<{ name: string; old: Buffer }>): LoadRequest[] {
  const engine = getDefaultEngine();
  return pages.map((page) => {
    const headers: Record<string, string> = {
      identity: { 'accept-encoding': 'identity' },
      gzip: { 'accept-encoding': 'gzip' },
      brotli: { 'accept-encoding': 'br' },
      // What a browser with the extension sends: its usual Accept-Encoding plus If-Block.
      crcsync: { 'accept-encoding': 'gzip, br', 'if-block': formatIfBlock(page.old, engine)! },
    }[client];
    return { method: 'GET', path: `/${page.name}/new`, headers };
  });
}

/** Runs one cell's load in a fresh load-generator process (inheriting this process's CPU affinity). */
function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [LOAD], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      try {
        resolvePromise(JSON.parse(out) as LoadResult);
      } catch (error) {
        reject(error as Error);
      }
    });
    child.stdin!.end(JSON.stringify(job));
  });
}

async function startServer(processes: Processes, memory: Memory = 'default'): Promise<{ child: ChildProcess; url: string }> {
  const budgets = memory === 'ample' ? ['--max-delta-memory', String(AMPLE_MEMORY_MIB), '--max-compression-memory', String(AMPLE_MEMORY_MIB)] : [];
  const serve = [CLI, 'serve', '--root', CORPUS, '--port', '0', '--quiet', '--workers', processes === 'pinned' ? '1' : processes, ...budgets];
  // taskset execs node: the child's pid is the server's.
  const child =
    processes === 'pinned'
      ? spawn('taskset', ['-c', '0', process.execPath, ...serve], { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn(process.execPath, serve, { stdio: ['ignore', 'pipe', 'inherit'] });
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

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolvePromise) => setTimeout(resolvePromise, 5000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function measure(
  place: Pick<Cell, 'repeat' | 'processes' | 'pages' | 'memory'>,
  client: Client,
  connections: number,
  requests: LoadRequest[],
): Promise<Cell> {
  const { child, url } = await startServer(place.processes, place.memory);
  if (place.processes === 'pinned') pinSelf('1');
  try {
    const result = await runLoad({
      url,
      connections,
      warmupConnections: Math.min(connections, 50),
      warmupSeconds: WARMUP_SECONDS,
      seconds: SECONDS_PER_CELL,
      timeoutSeconds: REQUEST_TIMEOUT_SECONDS,
      requests,
    });
    return { ...place, connections, client, ...result, peakRssMiB: treeMemoryMiB(child.pid!, 'VmHWM') };
  } finally {
    if (place.processes === 'pinned') pinSelf(ALL_CPUS);
    await stopServer(child);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** One row of the summary: a cell's medians over the repeats, and crcsync ÷ gzip per repeat (median, min, max). */
interface Row {
  processes: Processes;
  pages: Cell['pages'];
  memory: Memory;
  connections: number;
  client: Client;
  requestsPerSecond: number;
  requestsPerSecondRange: [number, number];
  p50: number;
  p99: number;
  bytesPerResponse: number;
  peakRssMiB: number;
  failures: number;
  vsGzip: { median: number; min: number; max: number } | null;
}

function summarize(cells: Cell[]): Row[] {
  const keys = new Map<string, Cell[]>();
  for (const cell of cells) {
    const key = [cell.processes, cell.pages, cell.memory ?? 'default', cell.connections, cell.client].join(' ');
    keys.set(key, [...(keys.get(key) ?? []), cell]);
  }
  return [...keys.values()].map((group) => {
    const [first] = group;
    const ratios =
      first.client === 'crcsync'
        ? group.map((cell) => {
            const gzip = cells.find(
              (other) =>
                other.repeat === cell.repeat &&
                other.processes === cell.processes &&
                other.pages === cell.pages &&
                (other.memory ?? 'default') === (cell.memory ?? 'default') &&
                other.connections === cell.connections &&
                other.client === 'gzip',
            );
            return gzip ? cell.requestsPerSecond / gzip.requestsPerSecond : NaN;
          })
        : [];
    const rates = group.map((cell) => cell.requestsPerSecond);
    return {
      processes: first.processes,
      pages: first.pages,
      memory: first.memory ?? 'default',
      connections: first.connections,
      client: first.client,
      requestsPerSecond: median(rates),
      requestsPerSecondRange: [Math.min(...rates), Math.max(...rates)],
      p50: median(group.map((cell) => cell.p50)),
      p99: median(group.map((cell) => cell.p99)),
      bytesPerResponse: median(group.map((cell) => cell.bytesPerResponse)),
      peakRssMiB: Math.max(...group.map((cell) => cell.peakRssMiB)),
      failures: group.reduce((sum, cell) => sum + cell.failures, 0),
      vsGzip: ratios.length ? { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) } : null,
    };
  });
}

/** The processes column: a count, "1 pinned" for the pinned cells. */
function processesLabel(processes: Processes, auto: number): string {
  return processes === 'auto' ? String(auto) : processes === 'pinned' ? '1 pinned' : '1';
}

interface RunInfo {
  pages: number;
  winners: number;
  corpusBytes: number;
  seconds: number;
  processes: number;
  loadBefore: string;
  loadAfter: string;
  /** Repeats of each cell (BENCH_REPEATS, or the sum over pooled runs). */
  repeats?: number;
  /** Runs pooled by `--pool` (absent: one run). */
  runs?: number;
}

function markdown(rows: Row[], info: RunInfo, date = new Date().toISOString()): string {
  const line = (row: Row) => {
    const ratio = row.vsGzip ? `**${row.vsGzip.median.toFixed(2)}×** (${row.vsGzip.min.toFixed(2)}–${row.vsGzip.max.toFixed(2)})` : '';
    return `| ${processesLabel(row.processes, info.processes)}${row.memory === 'ample' ? ', ample memory' : ''} | ${row.pages === 'all' ? 'all' : 'delta wins'} | ${row.connections} | ${row.client} | ${row.requestsPerSecond.toFixed(0)} (${row.requestsPerSecondRange[0].toFixed(0)}–${row.requestsPerSecondRange[1].toFixed(0)}) | ${ratio} | ${row.p50.toFixed(1)} | ${row.p99.toFixed(1)} | ${row.bytesPerResponse.toFixed(0)} | ${row.peakRssMiB.toFixed(0)} | ${row.failures} |`;
  };
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `# Server load test

\`npm run bench:server\` (scripts/bench-server.ts), ${date.slice(0, 10)}.
Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}.
Load average before / after: ${info.loadBefore} / ${info.loadAfter}.
Server and load generator (autocannon 8, a fresh process per cell: one that ran many cells measured worse the
longer it ran) share the machine's cores.

Setup: \`crcsync serve --root ../shared/corpus --quiet --workers P\` (fresh server per cell; P = 1,
and auto = ${info.processes} here; "1 pinned": one server process held to CPU 0 with taskset while the load
generator's process is held to CPU 1, so neither takes the other's core). On glibc one \`crcsync serve\` is a parent and its
server child (malloc tuned: src/server/allocator-tuning.ts). The ${info.pages} corpus \`new\` pages (${(info.corpusBytes / 1024).toFixed(0)} KiB together)
requested round-robin; ${WARMUP_SECONDS} s warm-up then ${info.seconds} s per cell, every cell ${info.repeats ?? REPEATS} times (repeats
interleaved${(info.runs ?? 1) > 1 ? `; ${info.runs} runs of bench:server on the same build, pooled by \`--pool\`: their repeats one after another, load averages run by run` : ''}). Clients: identity (\`Accept-Encoding: identity\`), gzip (level 6), brotli (quality 5),
crcsync (\`If-Block\` of the pair's \`old\`, \`Accept-Encoding: gzip, br\`). Every response is produced per
request: no response cache for any client. "delta wins": only the ${info.winners} pairs whose crcsync answer is a
delta (the others get br by the never-worse rule). "ample memory": the server started with
\`--max-delta-memory ${AMPLE_MEMORY_MIB} --max-compression-memory ${AMPLE_MEMORY_MIB}\` (MiB), so that at 500 connections no
client's encoding falls back for want of budget (the default 256 MiB each does). req/s: median over the repeats (min–max); "vs gzip":
crcsync ÷ gzip requests/s of the same repeat, median (min–max). p50/p99: medians; "bytes/resp" what
autocannon read per response (headers + body); peak RSS: the largest over the repeats of the server's
VmHWM, summed over its processes (parent, servers; threads count in their process).

| processes | pages | connections | client | req/s | vs gzip | p50 ms | p99 ms | bytes/resp | peak RSS MiB | errors |
|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|
${rows.map(line).join('\n')}

Notes.
- What a crcsync response costs (server CPU per response, bench/server-cpu.md): over the corpus
  about 0.55x of a gzip response's; on the pairs where the delta wins about 0.45x (the matcher is
  WASM, the literal runs a fifth of the bytes, deflated inline); on the others the client gets br-5,
  made per request as for a br client (the server remembers per version and If-Block that the delta
  lost, so after the first such request nothing is scanned), about 1.15x of gzip-6 on those pages
  (1.8x before crcsync serve tuned glibc's malloc). See src/server/README.md "Scale".
- With one process per core, HTTP parsing, file reads and every response's CPU spread over the cores;
  the load generator shares them. "1 pinned" gives the server one core of its own and the load
  generator the other: compare its crcsync ÷ gzip range with the unpinned one-process rows to see
  whether pinning makes the figure steadier (gzip's thread pool is held to the server's core too).
- At 500 connections a cell is shorter than the queue: only responses that finish inside the window
  count, which makes that row noisy. Compare ratios within a row, not absolute numbers across runs.
${budgetNote(rows, info.processes)}`;
}

/**
 * Cells whose responses came back much larger than the same client's at one
 * connection: the server's memory budgets were full (--max-compression-memory:
 * br falls back to gzip, gzip to the plain body; --max-delta-memory: a crcsync
 * client gets the normal response), so part of those requests cost no
 * compression at all and their req/s is not that encoding's.
 */
function budgetNote(rows: Row[], processes: number): string {
  const degraded = rows.flatMap((row) => {
    if (row.client === 'identity' || row.connections === 1) return [];
    const alone = rows.find((other) => other.processes === row.processes && other.pages === row.pages && other.memory === 'default' && other.client === row.client && other.connections === 1);
    if (!alone || row.bytesPerResponse < 1.5 * alone.bytesPerResponse) return [];
    return [`${row.client} at ${row.connections} connections (${processesLabel(row.processes, processes)} process${row.processes === 'auto' ? 'es' : ''}${row.memory === 'ample' ? ', ample memory' : ''}): ${(row.bytesPerResponse / 1024).toFixed(1)} KiB per response against ${(alone.bytesPerResponse / 1024).toFixed(1)} KiB at one`];
  });
  if (!degraded.length) return '- No cell ran into the memory budgets: every client got the encoding it asked for.\n';
  return `- The memory budgets were full in these cells (responses much larger than the same client's at one connection: br fell back to gzip, gzip to the plain body, deltas to the normal response, as the defaults of --max-compression-memory and --max-delta-memory say): ${degraded.join('; ')}. Their req/s partly counts uncompressed answers, and the crcsync ÷ gzip ratio there compares budgets, not encodings.\n`;
}

/**
 * `--pool A.json B.json ...`: several runs' bench/server.json (the same
 * build) as one report of all their repeats, so a cell's median and range
 * rest on more than one run's 3 repeats on a noisy machine. Writes
 * bench/server.md and bench/server.json; nothing is measured.
 */
function poolRuns(files: string[]): void {
  const runs = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as { info: RunInfo & { date: string }; cells: Cell[] });
  if (runs.length < 2) throw new Error('--pool wants the bench/server.json of two runs or more');
  const cells: Cell[] = [];
  let repeats = 0;
  for (const run of runs) {
    const offset = repeats;
    for (const cell of run.cells) cells.push({ ...cell, repeat: cell.repeat + offset });
    repeats += Math.max(...run.cells.map((cell) => cell.repeat));
  }
  const info = {
    ...runs[0]!.info,
    repeats,
    runs: runs.length,
    loadBefore: runs.map((run) => run.info.loadBefore).join('; '),
    loadAfter: runs.map((run) => run.info.loadAfter).join('; '),
    date: runs[runs.length - 1]!.info.date,
  };
  const rows = summarize(cells);
  writeFileSync(join(ROOT, 'bench/server.md'), markdown(rows, info, info.date));
  writeFileSync(join(ROOT, 'bench/server.json'), `${JSON.stringify({ info, rows, cells }, null, 2)}\n`);
  console.log(`wrote bench/server.md, bench/server.json: ${runs.length} runs, ${repeats} repeats per cell`);
}

/** `--render`: bench/server.md again from bench/server.json (after a change to this report's text; nothing is measured). */
function renderFromJson(): void {
  const saved = JSON.parse(readFileSync(join(ROOT, 'bench/server.json'), 'utf8')) as { info: RunInfo & { date: string }; cells: Cell[] };
  writeFileSync(join(ROOT, 'bench/server.md'), markdown(summarize(saved.cells), saved.info, saved.info.date));
  console.log('wrote bench/server.md from bench/server.json');
}

async function main(): Promise<void> {
  if (process.argv.includes('--render')) return renderFromJson();
  const pool = process.argv.indexOf('--pool');
  if (pool >= 0) return poolRuns(process.argv.slice(pool + 1));
  if (!existsSync(CORPUS)) {
    console.log(`bench:server: ${CORPUS} is not present; nothing to measure.`);
    return;
  }
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run node scripts/build.mjs first');
  const loadBefore = loadavg().map((value) => value.toFixed(2)).join(' ');
  const pages = readdirSync(CORPUS, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(CORPUS, entry.name, 'new')))
    .map((entry) => ({ name: entry.name, old: readFileSync(join(CORPUS, entry.name, 'old')), size: readFileSync(join(CORPUS, entry.name, 'new')).length }));
  const corpusBytes = pages.reduce((sum, page) => sum + page.size, 0);
  const winners = await deltaWinners(pages);
  console.log(`${winners.length} of ${pages.length} pairs get a delta; the rest br`);
  const cells: Cell[] = [];
  const report = (cell: Cell) =>
    console.log(
      `#${cell.repeat} ${cell.processes.padStart(4)} proc ${cell.pages.padEnd(10)}${cell.memory === 'ample' ? ' ample' : ''} ${String(cell.connections).padStart(3)} conn ${cell.client.padEnd(8)} ${cell.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${cell.p50.toFixed(1)} ms  p99 ${cell.p99.toFixed(1)} ms  ${cell.bytesPerResponse.toFixed(0)} B/resp  RSS ${cell.peakRssMiB.toFixed(0)} MiB${cell.failures ? `  ${cell.failures} errors` : ''}`,
    );
  for (let repeat = 1; repeat <= REPEATS; repeat++) {
    for (const processes of PROCESSES) {
      for (const connections of CONNECTIONS) {
        for (const client of CLIENTS) {
          const cell = await measure({ repeat, processes, pages: 'all', memory: 'default' }, client, connections, requestsFor(client, pages));
          cells.push(cell);
          report(cell);
        }
      }
      for (const client of ['gzip', 'crcsync'] as const) {
        const cell = await measure({ repeat, processes, pages: 'delta-wins', memory: 'default' }, client, 50, requestsFor(client, winners));
        cells.push(cell);
        report(cell);
      }
      if (processes === 'pinned') continue;
      for (const client of ['gzip', 'brotli', 'crcsync'] as const) {
        const cell = await measure({ repeat, processes, pages: 'all', memory: 'ample' }, client, 500, requestsFor(client, pages));
        cells.push(cell);
        report(cell);
      }
    }
  }
  const rows = summarize(cells);
  for (const row of rows.filter((each) => each.vsGzip)) {
    console.log(`${row.processes} proc, ${row.pages}${row.memory === 'ample' ? ', ample memory' : ''}, ${row.connections} conn: crcsync ÷ gzip ${row.vsGzip!.median.toFixed(2)}× (${row.vsGzip!.min.toFixed(2)}–${row.vsGzip!.max.toFixed(2)})`);
  }
  const info = {
    pages: pages.length,
    winners: winners.length,
    corpusBytes,
    seconds: SECONDS_PER_CELL,
    processes: availableParallelism(),
    loadBefore,
    loadAfter: loadavg().map((value) => value.toFixed(2)).join(' '),
  };
  mkdirSync(join(ROOT, 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/server.md'), markdown(rows, info));
  writeFileSync(
    join(ROOT, 'bench/server.json'),
    `${JSON.stringify({ info: { ...info, date: new Date().toISOString(), cpu: cpus()[0]?.model ?? null, cpus: cpus().length, node: process.version, repeats: REPEATS }, rows, cells }, null, 2)}\n`,
  );
  console.log('wrote bench/server.md, bench/server.json');
}

/** The pairs whose answer to a crcsync client is a delta (the never-worse rule sends the rest br). */
async function deltaWinners<T extends { name: string; old: Buffer }>(pages: T[]): Promise<T[]> {
  const { child, url } = await startServer('1');
  try {
    const engine = getDefaultEngine();
    const winners: T[] = [];
    for (const page of pages) {
      const response = await fetch(`${url}/${page.name}/new`, { headers: { 'accept-encoding': 'gzip, br', 'if-block': formatIfBlock(page.old, engine)! } });
      await response.arrayBuffer();
      if (response.headers.get('content-encoding') === 'crcsync') winners.push(page);
    }
    return winners;
  } finally {
    await stopServer(child);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
