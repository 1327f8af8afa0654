// What one response costs the server in CPU, by client and by kind of page
// (issue 11): under load the server is CPU-bound, so crcsync ÷ gzip
// requests/s there is at most gzip's CPU per response ÷ crcsync's. Splits the
// corpus into the pairs whose crcsync answer is a delta and those that get br
// by the never-worse rule, and counts V8's full collections (Mark-Compact,
// from --trace-gc) per 1000 responses, which is where a per-response
// allocation shows up. With --against DIR the same cells run for another
// checkout's build (DIR/dist/cli.js), interleaved round by round, so a change
// is measured against its baseline on the same noisy machine.
//
//   node scripts/build.mjs --quiet
//   npx esbuild scripts/profile/server-cpu.ts --bundle --platform=node --packages=external --loader:.wasm=binary --target=node20 --outfile=dist/profile/server-cpu.js
//   node dist/profile/server-cpu.js [--connections 50] [--seconds 5] [--rounds 3] [--against DIR] [--out FILE]

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { ReferenceServer, startReferenceServer } from '../bench-load/reference-server';
import { median } from '../bench-load/report';
import { treeCpuMilliseconds } from '../process-tree';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: object) => Promise<{ requests: { total: number }; throughput: { total: number } }>;

const ROOT = resolve(__dirname, '../..');
const CLIENTS = ['gzip', 'brotli', 'crcsync'] as const;
type Client = (typeof CLIENTS)[number];

interface Page {
  name: string;
  ifBlock: string;
}

interface Cell {
  build: string;
  pages: string;
  client: Client;
  requestsPerSecond: number;
  cpuMsPerResponse: number;
  fullGcsPer1000: number;
  bytesPerResponse: number;
}

function headersFor(client: Client, page: Page): Record<string, string> {
  if (client === 'gzip') return { 'accept-encoding': 'gzip' };
  if (client === 'brotli') return { 'accept-encoding': 'br' };
  return { 'accept-encoding': 'gzip, br', 'if-block': page.ifBlock };
}

interface Server {
  reference: ReferenceServer;
  /** Full collections (Mark-Compact lines of --trace-gc) so far. */
  fullGcs(): number;
}

async function startServer(checkout: string, corpus: string): Promise<Server> {
  let fullGcs = 0;
  const reference = await startReferenceServer(checkout, ['--root', corpus, '--quiet'], {
    nodeFlags: ['--trace-gc'],
    onStdout: (text) => (fullGcs += text.split('Mark-Compact').length - 1),
  });
  return { reference, fullGcs: () => fullGcs };
}

function load(url: string, client: Client, pages: Page[], connections: number, seconds: number) {
  const prepared = pages.map((page) => ({ method: 'GET', path: `/${page.name}/new`, headers: headersFor(client, page) }));
  let next = 0;
  return autocannon({ url, connections, duration: seconds, requests: [{ setupRequest: (request: object) => ({ ...request, ...prepared[next++ % prepared.length] }) }] });
}

async function measure(server: Server, build: string, label: string, client: Client, pages: Page[], connections: number, seconds: number): Promise<Cell> {
  await load(server.reference.url, client, pages, connections, 1);
  const cpuBefore = treeCpuMilliseconds(server.reference.pid);
  const gcsBefore = server.fullGcs();
  const result = await load(server.reference.url, client, pages, connections, seconds);
  const responses = Math.max(1, result.requests.total);
  return {
    build,
    pages: label,
    client,
    requestsPerSecond: responses / seconds,
    cpuMsPerResponse: (treeCpuMilliseconds(server.reference.pid) - cpuBefore) / responses,
    fullGcsPer1000: ((server.fullGcs() - gcsBefore) * 1000) / responses,
    bytesPerResponse: result.throughput.total / responses,
  };
}

/** The pairs whose crcsync answer is a delta, and the rest (br by the never-worse rule). */
async function splitByAnswer(server: Server, pages: Page[]): Promise<{ deltas: Page[]; plain: Page[] }> {
  const deltas: Page[] = [];
  const plain: Page[] = [];
  for (const page of pages) {
    const response = await fetch(`${server.reference.url}/${page.name}/new`, { headers: headersFor('crcsync', page) });
    await response.arrayBuffer();
    (response.headers.get('content-encoding') === 'crcsync' ? deltas : plain).push(page);
  }
  return { deltas, plain };
}

/** " (abc1234)": the commit a checkout is at, for the report's labels; "" outside git. */
function commitOf(directory: string): string {
  try {
    return ` (${execFileSync('git', ['-C', directory, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()})`;
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      against: { type: 'string' },
      corpus: { type: 'string', default: resolve(ROOT, '../shared/corpus') },
      out: { type: 'string' },
    },
  });
  const corpus = values.corpus!;
  if (!existsSync(corpus)) throw new Error(`no corpus at ${corpus} (../shared/corpus)`);
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const builds = [{ name: `this build${commitOf(ROOT)}`, checkout: ROOT }];
  if (values.against) builds.unshift({ name: `baseline${commitOf(resolve(values.against))}`, checkout: resolve(values.against) });
  const engine = getDefaultEngine();
  const pages: Page[] = readdirSync(corpus)
    .filter((name) => existsSync(join(corpus, name, 'new')) && existsSync(join(corpus, name, 'old')))
    .sort()
    .map((name) => ({ name, ifBlock: formatIfBlock(readFileSync(join(corpus, name, 'old')), engine)! }));
  const probe = await startServer(builds[builds.length - 1]!.checkout, corpus);
  const { deltas, plain } = await splitByAnswer(probe, pages);
  await probe.reference.stop();
  const groups: Array<[string, Page[]]> = [
    ['all', pages],
    [`${deltas.length} delta pairs`, deltas],
    [`${plain.length} br pairs`, plain],
  ];
  const load0 = loadavg().map((value) => value.toFixed(2)).join(' ');
  const cells: Cell[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const build of builds) {
      // A fresh server per round and build: each starts with the same empty memos and heap.
      const server = await startServer(build.checkout, corpus);
      try {
        for (const [label, group] of groups) {
          for (const client of CLIENTS) {
            if (label !== 'all' && client === 'brotli') continue;
            const cell = await measure(server, build.name, label, client, group, connections, seconds);
            cells.push(cell);
            console.log(`round ${round + 1} ${build.name} ${label} ${client}: ${cell.requestsPerSecond.toFixed(0)} req/s, ${cell.cpuMsPerResponse.toFixed(2)} ms CPU/resp, ${cell.fullGcsPer1000.toFixed(1)} full GCs/1000`);
          }
        }
      } finally {
        await server.reference.stop();
      }
    }
  }
  const rows: string[] = [];
  for (const build of builds) {
    for (const [label] of groups) {
      for (const client of CLIENTS) {
        const same = cells.filter((cell) => cell.build === build.name && cell.pages === label && cell.client === client);
        if (!same.length) continue;
        const range = (pick: (cell: Cell) => number, digits: number) => {
          const values = same.map(pick);
          return `${median(values)!.toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
        };
        rows.push(`| ${build.name} | ${label} | ${client} | ${range((cell) => cell.requestsPerSecond, 0)} | ${range((cell) => cell.cpuMsPerResponse, 2)} | ${range((cell) => cell.fullGcsPer1000, 1)} | ${median(same.map((cell) => cell.bytesPerResponse))!.toFixed(0)} |`);
      }
    }
  }
  const report = [
    `# Server CPU per response`,
    '',
    `\`scripts/profile/server-cpu.ts\`, ${new Date().toISOString().slice(0, 10)}: one \`crcsync serve --root ../shared/corpus\` process (fresh per round and build, started with --trace-gc),`,
    `${connections} connections of autocannon in this process, ${seconds} s per cell after 1 s of warm-up, ${rounds} rounds${builds.length > 1 ? ', the builds interleaved' : ''}.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}; load average before: ${load0}.`,
    'CPU: the server process\'s utime + stime (all its threads: event loop, thread pool, V8\'s helpers) over the cell ÷ responses.',
    'Full GCs: Mark-Compact collections per 1000 responses. Median (min–max) over the rounds.',
    '',
    '| build | pages | client | req/s | CPU ms / response | full GCs / 1000 responses | bytes / response |',
    '|---|---|---|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
  console.log(`\n${report}`);
  if (values.out) writeFileSync(values.out, report);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
