// `crcsync serve --workers N`: N server processes on one port. A delta is
// the same whichever process answers (the server is stateless); a process
// that dies is replaced and the port keeps answering; SIGTERM stops every
// process; the budgets are shared out.

import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { serveConfigFromArgs, ServeArgumentError } from '../../src/server/serve-command';
import { workerCount } from '../../src/server/serve-workers';
import { runsOnGlibc } from '../../src/server/allocator-tuning';
import { childrenOf } from '../../scripts/process-tree';
import { bundleCli } from '../helpers/bundle-cli';
import { decodeResponse, fetchRaw, waitFor, withTimeout } from './http-helpers';
import { makeFixtures } from './fixtures';

const pair = makeFixtures()[1];
let work: string;
let cli: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'crcsync-workers-'));
  cli = await bundleCli(work);
  writeFileSync(join(work, 'page.html'), pair.new);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('--workers: a whole number from 1 to 256, or auto (at least one)', () => {
  expect(workerCount(undefined)).toBe(1);
  expect(workerCount('3')).toBe(3);
  expect(workerCount('auto')).toBeGreaterThanOrEqual(1);
  for (const bad of ['0', '257', '-1', '1.5', 'many', '']) expect(workerCount(bad)).toBeNull();
  expect(() => serveConfigFromArgs({ root: '.', workers: 'many' })).toThrow(ServeArgumentError);
});

test('the memory budgets are for the whole server: each of N processes gets its share', () => {
  const config = serveConfigFromArgs({ root: '.', workers: '4', 'max-delta-memory': '64', 'max-compression-memory': '32' });
  expect(config.options.maxDeltaBufferBytes).toBe(16 * 1024 * 1024);
  expect(config.options.maxCompressionBufferBytes).toBe(8 * 1024 * 1024);
  const defaults = serveConfigFromArgs({ root: '.', workers: '2' });
  expect(defaults.options.maxDeltaBufferBytes).toBe(128 * 1024 * 1024);
  expect(serveConfigFromArgs({ root: '.' }).options.maxDeltaBufferBytes).toBeUndefined();
});

test('two processes on one port: deltas from either; one killed is replaced and the port keeps answering; SIGTERM stops all', async () => {
  const child: ChildProcess = spawn(process.execPath, [cli, 'serve', '--root', work, '--port', '0', '--workers', '2', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  try {
    await waitFor(() => /crcsync serving \S+\n/.test(stdout) || child.exitCode !== null, 'the "crcsync serving" line');
    const url = /crcsync serving (\S+)\n/.exec(stdout)![1].replace(/\/$/, '');
    expect(stdout.match(/crcsync serving/g)).toHaveLength(1);
    const workers = childrenOf(child.pid!);
    expect(workers).toHaveLength(2);
    // The workers, not the primary, run with malloc tuned (allocator-tuning.ts; glibc cuts the value at its first ':').
    if (runsOnGlibc()) for (const pid of workers) expect(readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')).toContain('GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304');

    const ask = () => fetchRaw(`${url}/page.html`, { headers: { 'if-block': formatIfBlock(pair.old, getDefaultEngine())!, 'accept-encoding': 'gzip, br' } });
    // Each process accepts for itself: whichever answers, the delta is the same.
    for (let i = 0; i < 6; i++) {
      const result = await ask();
      expect(result.headers['content-encoding']).toBe('crcsync');
      expect(decodeResponse(result, pair.old).equals(pair.new)).toBe(true);
    }

    process.kill(workers[0], 'SIGKILL');
    for (let i = 0; i < 6; i++) expect((await ask()).status).toBe(200);
    await waitFor(() => childrenOf(child.pid!).length === 2 && !childrenOf(child.pid!).includes(workers[0]), 'a replacement process');
    expect(stderr).toMatch(/a server process exited \(SIGKILL\); starting another/);
    expect((await ask()).status).toBe(200);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const running = childrenOf(child.pid!);
    child.kill('SIGTERM');
    expect(await withTimeout(exited, 'serve to exit')).toBe(0);
    for (const pid of running) expect(() => process.kill(pid, 0)).toThrow();
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 30_000);
