// glibc's malloc, tuned for a server that compresses (issue 11). Every br-5
// or deflate job allocates its encoder's state (a br-5 hasher alone is
// 1 MiB) and frees it when the body is done. With glibc's defaults the freed
// top of a thread's heap is handed back to the kernel past 128 KiB (its
// adaptive trim threshold stays near twice the largest block it ever
// mmapped), so the next job faults all of it in again, page by page, zeroed:
// under br load at 50 connections on the 2-core test machine a fifth of the
// server's CPU was system time, page faults inside brotli's match finder
// (perf). Keeping up to 32 MiB of freed heap per arena, and taking blocks up
// to 4 MiB from the heap rather than from mmap, cut br-5's CPU per response
// from 4.0 to 2.5 ms and gzip's by ~5% (bench/server-cpu.md).
//
// glibc reads its tunables when a process starts, so `crcsync serve` starts
// its server as a child with GLIBC_TUNABLES set, unless the operator chose
// malloc settings of their own (any glibc.malloc tunable or MALLOC_* variable)
// or this is not glibc (musl, macOS, Windows: nothing to tune). With
// --workers N the primary gives the setting to its workers instead.

import { ChildProcess, spawn } from 'node:child_process';

/** mmap_threshold: blocks up to 4 MiB come from the heap; trim_threshold: up to 32 MiB of freed heap is kept. */
export const SERVER_MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=33554432';

/** Set in the tuned child: it stops when the process that started it goes away. */
const TUNED_CHILD_MARKER = 'CRCSYNC_SERVE_TUNED_CHILD';

/** Signals the parent passes on to the server it started (the child runs in a process group of its own). */
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Whether this process runs on glibc (its tunables mean nothing elsewhere). */
export function runsOnGlibc(): boolean {
  if (process.platform !== 'linux') return false;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return typeof header?.glibcVersionRuntime === 'string';
}

/**
 * The variables to add to a server process's environment, or null when there
 * is nothing to add: not glibc, or malloc was already set by the operator.
 */
export function serverMallocEnv(env: NodeJS.ProcessEnv, glibc: boolean): Record<string, string> | null {
  if (!glibc) return null;
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (/(^|:)glibc\.malloc\./.test(tunables)) return null;
  if (Object.keys(env).some((name) => name.startsWith('MALLOC_'))) return null;
  return { GLIBC_TUNABLES: tunables ? `${tunables}:${SERVER_MALLOC_TUNABLES}` : SERVER_MALLOC_TUNABLES };
}

/** This process is the tuned server a parent started (runTunedServer). */
export function isTunedChild(): boolean {
  return process.env[TUNED_CHILD_MARKER] === '1';
}

/**
 * In the tuned child: stop cleanly if the parent disappears (killed with
 * SIGKILL, say), so no server is left holding the port; the channel to the
 * parent does not keep this process alive on its own.
 */
export function watchParent(): void {
  delete process.env[TUNED_CHILD_MARKER];
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/**
 * Runs this same command (node flags and arguments) as a child with `env`
 * added, and mirrors it: its output goes straight to this process's stdout
 * and stderr, SIGINT / SIGTERM / SIGHUP are passed on, and this process exits
 * as the child does. The child is put in a process group of its own so a
 * terminal's Ctrl-C reaches it once, through here.
 */
export function runTunedServer(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env, [TUNED_CHILD_MARKER]: '1' },
    detached: true,
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  child.on('exit', (code, signal) => {
    for (const each of FORWARDED_SIGNALS) process.off(each, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
  child.on('error', (error) => {
    process.stderr.write(`crcsync serve: could not start the server process: ${error.message}\n`);
    process.exit(2);
  });
  return child;
}
