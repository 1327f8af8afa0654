// `crcsync serve` as its users run it (node dist/cli.js serve ... --port 0),
// in a child process of its own, so the server's work never delays the
// throttling proxy's timers in the bench process. Its access log (stderr,
// one line per response, src/server/access-log.ts) is parsed as it comes:
// it tells which encoding each measured response had and how many body
// bytes went out.

import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export interface LoggedResponse {
  method: string;
  /** Request target as logged (path and query). */
  url: string;
  status: number;
  encoding: string;
  sentBytes: number;
  fullBytes: number;
  passReason: string | null;
  aborted: boolean;
}

export interface ReferenceServer {
  /** http://127.0.0.1:PORT (the server itself; the browser goes through the proxy). */
  url: string;
  port: number;
  /** The server process (for its CPU time in /proc). */
  pid: number;
  /** Every response logged so far, in order. */
  log: LoggedResponse[];
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

/** `<ISO time> <method> <url> <status> <encoding> sent=<n> full=<n> <ms>ms [pass=<reason>] [economy=stop] [aborted]` */
export function parseAccessLogLine(line: string): LoggedResponse | null {
  const match = /^\S+ (\S+) (\S+) (\d{3}) (\S+) sent=(\d+) full=(\d+) \S+ms(.*)$/.exec(line.trim());
  if (!match) return null;
  const rest = match[7];
  return {
    method: match[1],
    url: match[2],
    status: Number(match[3]),
    encoding: match[4],
    sentBytes: Number(match[5]),
    fullBytes: Number(match[6]),
    passReason: /\bpass=(\S+)/.exec(rest)?.[1] ?? null,
    aborted: /\baborted\b/.test(rest),
  };
}

export interface ReferenceServerOptions {
  /** Flags for node itself, before the script (e.g. --trace-gc). */
  nodeFlags?: string[];
  /** Everything the server prints on stdout after its URL (what node's flags make it print). */
  onStdout?: (text: string) => void;
}

/** Starts `node dist/cli.js serve <args> --port 0` of the checkout at `root` and resolves once it prints its URL. */
export function startReferenceServer(root: string, args: string[], options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeFlags ?? []), join(root, 'dist/cli.js'), 'serve', ...args, '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: LoggedResponse[] = [];
  let pending = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const entry = parseAccessLogLine(line);
      if (entry) log.push(entry);
      else if (line.trim()) process.stderr.write(`bench-load: server: ${line}\n`);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`crcsync serve ${args.join(' ')} did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    let stdout: string | null = ''; // until the URL line, then null
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      if (stdout === null) return options.onStdout?.(text);
      stdout += text;
      const match = /crcsync serving (http:\/\/127\.0\.0\.1:(\d+))\/?/.exec(stdout);
      if (!match) return;
      stdout = null;
      clearTimeout(timer);
      resolve({ url: match[1], port: Number(match[2]), pid: child.pid!, log, stop });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`crcsync serve ${args.join(' ')} exited (${code}) before it was ready`));
    });
  });
}
