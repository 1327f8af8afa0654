// `npm run bench:memory`: memory of the real server (`crcsync serve --root
// DIR` in its own process) while 500 slow clients on 127.0.0.1 each hold a
// response open, reading a few bytes at a time (PROTOCOL.md §5: bounded
// memory per request, and a budget for all delta encodings in flight).
// Reads the server's VmRSS / VmHWM from /proc/<pid>/status while they are
// connected and after they have left, and how long an ordinary client waits
// for a small page meanwhile (beside the same client on the idle server, in
// the same cell). One cell has slow-loris clients instead, which trickle
// their request headers. One fresh server per cell. Writes bench/memory.md
// and bench/memory.json.
//
// BENCH_BEFORE_CLI=/path/to/other/dist/cli.js also measures that build
// (e.g. one made from an older commit; BENCH_BEFORE_NOTE describes it) in
// the same run, for a before/after;
// BENCH_CLI replaces dist/cli.js; BENCH_FLAGS adds server flags;
// BENCH_CLIENTS and BENCH_SECONDS change the load; BENCH_ONLY=text keeps
// the cells whose name contains text.

import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { getDefaultEngine } from '../src/core/embedded-core';
import { formatIfBlock, formatIfBlockFromHashes } from '../src/protocol/if-block';
import { olderVersion, realisticBody, WORST_CASE_BODY_BYTES } from './bench-bodies';
import { treeMemoryMiB } from './process-tree';

const ROOT = resolve(__dirname, '..');
const CLI = process.env.BENCH_CLI ?? join(ROOT, 'dist/cli.js');
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 500);
const HOLD_SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
/** Each client reads this many bytes per tick: a slow reader. */
const READ_BYTES = 64;
const READ_EVERY_MS = 100;
/**
 * The page: large enough that its response (gzip or delta, ~2.5 MB) cannot
 * all sit in the kernel's socket buffers, so every response really stays
 * open in the server instead of finishing into the kernel.
 */
const PAGE_BYTES = Number(process.env.BENCH_PAGE_MIB ?? 12) * 1024 * 1024;
const CONNECT_BATCH = 50;
const WAIT_MS = 120_000;

interface Cell {
  build: string;
  name: string;
  clients: number;
  /** An ordinary client's time for a small page, ms: median on the idle server, median and worst while the slow clients are connected. */
  probeIdleMs: number;
  probeLoadedMs: number;
  probeLoadedMaxMs: number;
  crcsync: number;
  normal: number;
  failed: number;
  /** Slow-loris clients the server closed with 408 before the bench let go of them. */
  cutOff: number;
  idleMiB: number;
  duringMiB: number;
  peakMiB: number;
  after1MiB: number;
  after5MiB: number;
}

interface Kind {
  name: string;
  headers: Record<string, string>;
  /** Slow-loris: the client trickles its request headers instead of reading slowly. */
  trickleHeaders?: boolean;
}

/** Requests of the ordinary client, one after another, on the idle server and again under load. */
const PROBE_REQUESTS = 20;
const PROBE_PAGE_BYTES = 30 * 1024;

/** One ordinary GET of the small page (a browser's Accept-Encoding); resolves its time in ms. */
function probeOnce(port: number): Promise<number> {
  const started = performance.now();
  return new Promise((done, fail) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.write(`GET /small.html HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nConnection: close\r\n\r\n`);
    socket.on('data', () => undefined);
    socket.once('error', fail);
    socket.once('close', () => done(performance.now() - started));
  });
}

async function probe(port: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < PROBE_REQUESTS; i++) times.push(await probeOnce(port));
  return times;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A slow-loris client: a request line, then one header byte every second; it never finishes its headers. */
function trickleClient(port: number): { socket: Socket; head: Promise<string> } {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.write(`GET /page.html HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);
  const timer = setInterval(() => socket.writable && socket.write('a'), 1000);
  const head = new Promise<string>((done) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearInterval(timer);
      done(/^HTTP\/1\.1 408 /.test(received) ? 'timed out (408)' : 'closed');
    });
  });
  return { socket, head };
}

/** VmRSS / VmHWM of the serve's processes together (on glibc the server is a child of the one started: src/server/allocator-tuning.ts). */
function status(pid: number): { rss: number; hwm: number } {
  return { rss: treeMemoryMiB(pid, 'VmRSS'), hwm: treeMemoryMiB(pid, 'VmHWM') };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function startServer(cli: string, root: string, flags: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [cli, 'serve', '--root', root, '--port', '0', '--quiet', ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((done, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error('server did not start within 10 s')), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const match = /crcsync serving http:\/\/[^:]+:(\d+)\//.exec(out);
      if (match) {
        clearTimeout(timer);
        done(Number(match[1]));
      }
    });
    child.once('exit', (code) => fail(new Error(`server exited with ${code}`)));
  });
  return { child, port };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** One slow client: sends the request, then reads READ_BYTES every READ_EVERY_MS; resolves its Content-Encoding once the headers are in. */
function slowClient(port: number, headers: Record<string, string>): { socket: Socket; head: Promise<string> } {
  const socket = connect({ port, host: '127.0.0.1' });
  const lines = Object.entries({ Host: `127.0.0.1:${port}`, ...headers, Connection: 'close' }).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.write(`GET /page.html HTTP/1.1\r\n${lines.join('')}\r\n`);
  socket.pause();
  let received = '';
  const head = new Promise<string>((done, fail) => {
    socket.once('error', fail);
    socket.once('close', () => fail(new Error('closed before the headers')));
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      // read(0) only asks the socket to fetch from the kernel (a paused stream does not by itself).
      const available = Math.min(READ_BYTES, socket.readableLength);
      const chunk = socket.read(available) as Buffer | null;
      if (chunk && !received.includes('\r\n\r\n')) {
        received += chunk.toString('latin1');
        const end = received.indexOf('\r\n\r\n');
        if (end >= 0) done(/\r\ncontent-encoding: *([^\r]+)/i.exec(received.slice(0, end))?.[1] ?? 'identity');
      }
    }, READ_EVERY_MS);
    socket.once('close', () => clearInterval(timer));
  });
  head.catch(() => undefined);
  return { socket, head };
}

async function measure(build: string, cli: string, root: string, kind: Kind, flags: string[]): Promise<Cell> {
  const { child, port } = await startServer(cli, root, flags);
  const pid = child.pid!;
  try {
    await sleep(500);
    const probeIdle = await probe(port);
    await sleep(200);
    const idle = status(pid).rss;
    const clients: Array<ReturnType<typeof slowClient>> = [];
    for (let i = 0; i < CLIENTS; i += CONNECT_BATCH) {
      for (let j = i; j < Math.min(CLIENTS, i + CONNECT_BATCH); j++) clients.push(kind.trickleHeaders ? trickleClient(port) : slowClient(port, kind.headers));
      await sleep(20);
    }
    const deadline = sleep(WAIT_MS).then(() => 'timeout');
    // Slow-loris clients never get headers while connected: their outcome is read when they are closed.
    const codings = kind.trickleHeaders ? [] : await Promise.all(clients.map((client) => Promise.race([client.head, deadline]).catch(() => 'failed')));
    let during = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        during = Math.max(during, status(pid).rss);
        await sleep(100);
      }
    })();
    const probeLoaded = await probe(port);
    // Slow-loris clients are held past the server's header timeout (20 s), to see it cut them off.
    const holdUntil = Date.now() + (kind.trickleHeaders ? Math.max(HOLD_SECONDS, 24) : HOLD_SECONDS) * 1000;
    while (Date.now() < holdUntil) await sleep(100);
    sampling = false;
    await sampler;
    const peak = status(pid).hwm;
    for (const client of clients) client.socket.destroy();
    if (kind.trickleHeaders) codings.push(...(await Promise.all(clients.map((client) => client.head))));
    await sleep(1000);
    const after1 = status(pid).rss;
    await sleep(4000);
    const after5 = status(pid).rss;
    return {
      build,
      name: kind.name,
      clients: CLIENTS,
      probeIdleMs: median(probeIdle),
      probeLoadedMs: median(probeLoaded),
      probeLoadedMaxMs: Math.max(...probeLoaded),
      crcsync: codings.filter((coding) => coding === 'crcsync').length,
      normal: kind.trickleHeaders ? 0 : codings.filter((coding) => coding !== 'crcsync' && coding !== 'failed' && coding !== 'timeout').length,
      failed: kind.trickleHeaders ? 0 : codings.filter((coding) => coding === 'failed' || coding === 'timeout').length,
      cutOff: codings.filter((coding) => coding === 'timed out (408)').length,
      idleMiB: idle,
      duringMiB: during,
      peakMiB: peak,
      after1MiB: after1,
      after5MiB: after5,
    };
  } finally {
    await stopServer(child);
  }
}

function markdown(cells: Cell[], source: string, budgetNote: string): string {
  const outcome = (cell: Cell) =>
    cell.name.startsWith('slow-loris') ? `${cell.cutOff} cut off (408)` : `${cell.crcsync} / ${cell.normal}${cell.failed ? ` / ${cell.failed} failed` : ''}`;
  const rows = cells.map(
    (cell) =>
      `| ${cell.build} | ${cell.name} | ${outcome(cell)} | ${cell.idleMiB.toFixed(0)} | ${cell.duringMiB.toFixed(0)} | **${cell.peakMiB.toFixed(0)}** | ${cell.after1MiB.toFixed(0)} | ${cell.after5MiB.toFixed(0)} | ${cell.probeIdleMs.toFixed(1)} | ${cell.probeLoadedMs.toFixed(1)} (${(cell.probeLoadedMs / cell.probeIdleMs).toFixed(1)}×), worst ${cell.probeLoadedMaxMs.toFixed(0)} |`,
  );
  return `# Server memory with ${CLIENTS} slow clients

\`npm run bench:memory\` (scripts/bench-memory.ts), ${new Date().toISOString().slice(0, 10)}.
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}.

Setup: \`crcsync serve --root DIR --port 0 --quiet\` in its own process, fresh per cell, serving one
${(PAGE_BYTES / 2 ** 20).toFixed(0)} MiB page (${source}), large enough that no response fits in the kernel's socket buffers. ${CLIENTS} clients on 127.0.0.1 connect (${CONNECT_BATCH} at a time), send
\`GET /page.html\` with the cell's Accept-Encoding (\`gzip\` unless it says otherwise) and If-Block, and then read ${READ_BYTES} bytes every
${READ_EVERY_MS} ms, so every response stays open; after ${HOLD_SECONDS} s they disconnect.
"crcsync / normal" counts what the clients got (delta, or the normal gzip response; "failed": no response
headers within ${WAIT_MS / 1000} s). RSS figures are the
server's, MiB, from /proc/<pid>/status: idle before the clients, the highest VmRSS sampled while they were
connected, VmHWM (peak), and VmRSS 1 s and 5 s after they left. ${budgetNote}

"ordinary client": one more client fetching a ${PROBE_PAGE_BYTES / 1024} KiB page ${PROBE_REQUESTS} times in a row with a browser's
Accept-Encoding, on the idle server and then while the slow clients are connected: median ms (ratio to idle), worst.
The slow-loris cell: ${CLIENTS} clients send a request line and then one header byte a second; they are held 24 s,
past the server's 20 s header timeout.

| build | clients | crcsync / normal | idle | during | peak | after 1 s | after 5 s | ordinary client, idle ms | ordinary client, loaded ms |
|---|---|---:|---:|---:|---:|---:|---:|---:|---|
${rows.join('\n')}
`;
}

async function main(): Promise<void> {
  const engine = getDefaultEngine();
  const { body, source } = realisticBody(PAGE_BYTES);
  const root = mkdtempSync(join(tmpdir(), 'crcsync-bench-memory-'));
  writeFileSync(join(root, 'page.html'), body);
  writeFileSync(join(root, 'small.html'), body.subarray(0, PROBE_PAGE_BYTES));
  const older = olderVersion(body).subarray(0, WORST_CASE_BODY_BYTES);
  // The delta cells ask for gzip only, so a delta that falls back (busy) costs a gzip
  // stream; the browser cell shows what brotli costs, within the compression budget.
  const accept = { 'Accept-Encoding': 'gzip' };
  const kinds: Kind[] = [
    { name: 'none (normal gzip response)', headers: accept },
    { name: 'none, a browser\'s Accept-Encoding (normal br response)', headers: { 'Accept-Encoding': 'gzip, deflate, br, zstd' } },
    { name: 'honest: 40 hashes of an older version of its first 4 MiB', headers: { ...accept, 'If-Block': formatIfBlock(older, engine)! } },
    { name: 'n=1, fs=4 MiB (one 4 MiB block), no match', headers: { ...accept, 'If-Block': formatIfBlockFromHashes(WORST_CASE_BODY_BYTES, engine.blockHashes(older, 1)) } },
    { name: 'n=1, fs=128 KiB (largest accepted bs), no match', headers: { ...accept, 'If-Block': formatIfBlockFromHashes(128 * 1024, engine.blockHashes(older.subarray(0, 128 * 1024), 1)) } },
    { name: 'slow-loris: request headers trickled, never finished', headers: {}, trickleHeaders: true },
  ];
  const only = process.env.BENCH_ONLY;
  if (only) kinds.splice(0, kinds.length, ...kinds.filter((kind) => kind.name.includes(only)));
  const builds: Array<[string, string, string[]]> = [['this build', CLI, (process.env.BENCH_FLAGS ?? '').split(' ').filter(Boolean)]];
  if (process.env.BENCH_BEFORE_CLI) builds.unshift(['before', process.env.BENCH_BEFORE_CLI, []]);
  const cells: Cell[] = [];
  try {
    for (const kind of kinds) {
      for (const [build, cli, flags] of builds) {
        const cell = await measure(build, cli, root, kind, flags);
        cells.push(cell);
        console.log(
          `${build.padEnd(10)} ${kind.name.padEnd(50)} crcsync ${cell.crcsync} normal ${cell.normal} failed ${cell.failed} cut off ${cell.cutOff}  probe ${cell.probeIdleMs.toFixed(1)} -> ${cell.probeLoadedMs.toFixed(1)} ms  idle ${cell.idleMiB.toFixed(0)}  during ${cell.duringMiB.toFixed(0)}  peak ${cell.peakMiB.toFixed(0)}  after ${cell.after1MiB.toFixed(0)} / ${cell.after5MiB.toFixed(0)} MiB`,
        );
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const flagsNote = process.env.BENCH_FLAGS ? `Server flags: \`${process.env.BENCH_FLAGS}\`.` : 'Server flags: defaults.';
  const beforeNote = process.env.BENCH_BEFORE_CLI ? ` "before": ${process.env.BENCH_BEFORE_NOTE ?? process.env.BENCH_BEFORE_CLI}, default flags.` : '';
  const budgetNote = flagsNote + beforeNote;
  mkdirSync(join(ROOT, 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/memory.md'), markdown(cells, source, budgetNote));
  writeFileSync(join(ROOT, 'bench/memory.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, clients: CLIENTS, cells }, null, 2) + '\n');
  console.log('wrote bench/memory.md and bench/memory.json');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
