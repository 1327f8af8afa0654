// `crcsync serve` as a user runs it: the CLI bundled with esbuild (as
// scripts/build.mjs does), started as a child process on 127.0.0.1 with
// --port 0; it prints the URL, serves, logs, and stops cleanly on SIGTERM.

import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { runsOnGlibc } from '../../src/server/allocator-tuning';
import { childrenOf } from '../../scripts/process-tree';
import { bundleCli } from '../helpers/bundle-cli';
import { decodeResponse, fetchRaw, waitFor, withTimeout } from './http-helpers';
import { makeFixtures } from './fixtures';

const pair = makeFixtures()[1];
let work: string;
let cli: string;

interface Running {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

async function serve(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Running> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  await waitFor(() => /crcsync serving \S+\n/.test(stdout) || child.exitCode !== null, 'the "crcsync serving" line');
  const match = /crcsync serving (\S+)\n/.exec(stdout);
  if (!match) throw new Error(`serve did not start: ${stderr}`);
  return { child, url: match[1].replace(/\/$/, ''), stderr: () => stderr };
}

function stop(running: Running): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => running.child.once('exit', (code) => resolve(code)));
  running.child.kill('SIGTERM');
  return withTimeout(exited, 'serve to exit');
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  return withTimeout(new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr }))), `crcsync ${args.join(' ')}`);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'crcsync-cli-'));
  cli = await bundleCli(work);
  writeFileSync(join(work, 'page.html'), pair.new);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('crcsync serve', () => {
  it('serves --root on the port it prints, logs each response, exits 0 on SIGTERM', async () => {
    const running = await serve(['--root', work, '--host', '127.0.0.1']);
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const result = await fetchRaw(`${running.url}/page.html`, { headers: { 'If-Block': formatIfBlock(pair.old, getDefaultEngine())! } });
      expect(result.headers['content-encoding']).toBe('crcsync');
      expect(decodeResponse(result, pair.old).equals(pair.new)).toBe(true);
      await waitFor(() => running.stderr().includes('GET /page.html 200 crcsync'), 'the access-log line');
    } finally {
      expect(await stop(running)).toBe(0);
    }
  });

  it('--log FILE writes the access log there, --quiet writes none', async () => {
    const logFile = join(work, 'access.log');
    const logged = await serve(['--demo', '--log', logFile]);
    await fetchRaw(`${logged.url}/feed.json`);
    await stop(logged);
    expect(readFileSync(logFile, 'utf8')).toMatch(/GET \/feed\.json 200 identity sent=\d+ full=\d+ [\d.]+ms\n$/);
    const quiet = await serve(['--demo', '--quiet']);
    await fetchRaw(`${quiet.url}/`);
    await stop(quiet);
    expect(quiet.stderr()).toBe('');
  });

  it('rejects bad flags with exit 2 and the usage text', async () => {
    for (const args of [['serve'], ['serve', '--root', work, '--demo'], ['serve', '--demo', '--port', 'x'], ['serve', '--upstream', 'ftp://x/'], ['serve', '--demo', '--cert', 'a'], ['serve', '--demo', '--helper-nice', '20'], ['serve', '--demo', '--helper-nice', '-1']]) {
      const result = await run(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('usage: crcsync serve');
    }
  });

  it('exits 2 when the port is taken', async () => {
    const first = await serve(['--demo']);
    try {
      const port = new URL(first.url).port;
      const second = spawn(process.execPath, [cli, 'serve', '--demo', '--port', port], { stdio: 'ignore' });
      const code = await withTimeout(new Promise((resolve) => second.once('exit', resolve)), 'second server to fail');
      expect(code).toBe(2);
    } finally {
      await stop(first);
    }
  });

  // On glibc the server runs as a child whose malloc keeps freed memory (allocator-tuning.ts).
  const glibc = runsOnGlibc();
  if (!glibc) console.log('serve-command: not glibc here: the tuned-malloc child checks are skipped');
  (glibc ? it : it.skip)('on glibc serves from a child with malloc tuned; SIGTERM stops both, and the child never outlives its parent', async () => {
    const running = await serve(['--root', work]);
    const [server] = childrenOf(running.child.pid!);
    expect(server).toBeDefined();
    // glibc cuts the variable at its first ':' in the process's own copy, which /proc shows.
    expect(readFileSync(`/proc/${server}/environ`, 'latin1').split('\0')).toContain('GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304');
    const result = await fetchRaw(`${running.url}/page.html`, { headers: { 'If-Block': formatIfBlock(pair.old, getDefaultEngine())! } });
    expect(decodeResponse(result, pair.old).equals(pair.new)).toBe(true);
    expect(await stop(running)).toBe(0);
    await waitFor(() => !isAlive(server!), 'the server process to stop with its parent');

    const killed = await serve(['--root', work]);
    const [orphan] = childrenOf(killed.child.pid!);
    try {
      killed.child.kill('SIGKILL');
      await waitFor(() => !isAlive(orphan!) || readFileSync(`/proc/${orphan}/stat`, 'utf8').split(') ')[1]!.startsWith('Z'), 'the server to stop when its parent is killed');
      await expect(fetchRaw(`${killed.url}/page.html`)).rejects.toThrow();
    } finally {
      if (orphan !== undefined && isAlive(orphan)) process.kill(orphan, 'SIGKILL');
    }
  });

  (glibc ? it : it.skip)("keeps the operator's own malloc setting: the server runs in the process started", async () => {
    const running = await serve(['--root', work], { ...process.env, MALLOC_ARENA_MAX: '2' });
    try {
      expect(childrenOf(running.child.pid!)).toEqual([]);
      const result = await fetchRaw(`${running.url}/page.html`);
      expect(result.status).toBe(200);
    } finally {
      expect(await stop(running)).toBe(0);
    }
  });

  /** Nice of each thread of `pid`, from /proc (field 19 of stat). */
  const threadNice = (pid: number): Map<number, number> =>
    new Map(readdirSync(`/proc/${pid}/task`).map((tid) => [Number(tid), Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16])]));
  const linux = process.platform === 'linux';
  if (!linux) console.log('serve-command: not Linux: the thread priority check is skipped');
  (linux ? it : it.skip)('runs every thread of the server process but its event loop 10 nice steps below it, or as told by --helper-nice', async () => {
    for (const [args, steps] of [[[], 10], [['--helper-nice', '0'], 0]] as const) {
      const running = await serve(['--root', work, ...args]);
      try {
        const server = childrenOf(running.child.pid!)[0] ?? running.child.pid!;
        // A delta starts the thread pool's threads; the priorities are set before the URL is printed.
        const result = await fetchRaw(`${running.url}/page.html`, { headers: { 'If-Block': formatIfBlock(pair.old, getDefaultEngine())! } });
        expect(decodeResponse(result, pair.old).equals(pair.new)).toBe(true);
        const nice = threadNice(server);
        const loop = nice.get(server)!;
        const helpers = [...nice].filter(([tid]) => tid !== server).map(([, value]) => value);
        expect(helpers.length).toBeGreaterThanOrEqual(3); // V8's platform threads and the pool's, at least
        expect(new Set(helpers)).toEqual(new Set([Math.min(19, loop + steps)]));
      } finally {
        expect(await stop(running)).toBe(0);
      }
    }
  });

  const openssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  (openssl ? it : it.skip)('serves HTTPS with --cert/--key, and proxies to an HTTPS upstream with --upstream-ca', async () => {
    const cert = join(work, 'cert.pem');
    const key = join(work, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const origin = await serve(['--root', work, '--cert', cert, '--key', key]);
    const proxy = await serve(['--upstream', origin.url, '--upstream-ca', cert]);
    try {
      expect(origin.url).toMatch(/^https:/);
      const direct = await fetchRaw(`${origin.url}/page.html`, { ca: readFileSync(cert), headers: { 'If-Block': formatIfBlock(pair.old, getDefaultEngine())! } });
      expect(decodeResponse(direct, pair.old).equals(pair.new)).toBe(true);
      const proxied = await fetchRaw(`${proxy.url}/page.html`, { headers: { 'If-Block': formatIfBlock(pair.old, getDefaultEngine())! } });
      expect(proxied.headers['content-encoding']).toBe('crcsync');
      expect(decodeResponse(proxied, pair.old).equals(pair.new)).toBe(true);
    } finally {
      await stop(proxy);
      await stop(origin);
    }
  });
});
