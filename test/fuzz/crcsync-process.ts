// `crcsync serve` as a separate process for the HTTP fuzz: the CLI bundled
// from the current src/ (test/helpers/bundle-cli.ts), started on
// 127.0.0.1 with --port 0. A process of its own, so a crash shows as an exit
// and its CPU time (all threads, zlib's pool included) can be read from
// /proc/<pid>/stat around batches of requests: of every process of the
// serve's tree, since on glibc the server is a child of the process started
// here (src/server/allocator-tuning.ts), which only waits.

import { ChildProcess, spawn } from 'node:child_process';
import { treeCpuMilliseconds, treeMemoryMiB } from '../../scripts/process-tree';
import { waitFor, withTimeout } from '../server/http-helpers';

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stderr(): string;
  /** CPU time (user + system, all threads) the serve's processes have used, in ms. */
  cpuMilliseconds(): number;
  /** Peak resident memory so far (VmHWM) of the serve's processes together, in MiB. */
  peakRssMiB(): number;
  /** SIGTERM; resolves the exit code. */
  stop(): Promise<number | null>;
}

export async function startServe(cli: string, args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [cli, 'serve', '--host', '127.0.0.1', '--port', '0', '--quiet', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk).slice(-20_000)));
  await waitFor(() => /crcsync serving \S+\n/.test(stdout) || child.exitCode !== null, 'the "crcsync serving" line');
  const match = /crcsync serving (\S+)\n/.exec(stdout);
  if (!match) throw new Error(`crcsync serve did not start: ${stderr}`);
  return {
    child,
    url: match[1].replace(/\/$/, ''),
    stderr: () => stderr,
    cpuMilliseconds: () => treeCpuMilliseconds(child.pid!),
    peakRssMiB: () => treeMemoryMiB(child.pid!, 'VmHWM'),
    stop: () => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      child.kill('SIGTERM');
      return withTimeout(exited, 'crcsync serve to exit');
    },
  };
}
