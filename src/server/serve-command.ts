// `crcsync serve`: the reference server from the command line. cli.ts parses
// the flags (SERVE_OPTIONS) and calls startServe; on success one line
// `crcsync serving <url>` goes to stdout so scripts can read the port.

import { createWriteStream, readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fflateCompressor, fflateDictionaryCompressor, pakoCompressor, pakoDictionaryCompressor } from '../protocol/index';
import { AccessLogSink, lineLogger } from './access-log';
import { CrcsyncHandlerOptions } from './handler';
import { DEFAULT_MAX_COMPRESSION_BUFFER_BYTES } from './content-coding';
import { DEFAULT_MAX_DELTA_BUFFER_BYTES } from './delta-memory';
import { CrcsyncServer, closeServer, createCrcsyncServer, listen } from './server';
import { isServeWorker, listeningUrlOf, reportListening, runServePrimary, workerCount } from './serve-workers';
import { DEFAULT_HELPER_NICE, lowerHelperThreads } from './thread-priority';
import { SERVER_MALLOC_TUNABLES, isTunedChild, runTunedServer, runsOnGlibc, serverMallocEnv, watchParent } from './allocator-tuning';

export const SERVE_USAGE = `usage: crcsync serve (--root DIR | --upstream URL | --demo) [options]

Serves http-crcsync v=1: a client sending If-Block gets a delta
(Content-Encoding: crcsync), any other client gzip/br per Accept-Encoding.
Prints "crcsync serving URL" on stdout once listening; one access-log line
per response on stderr. Stops on SIGINT / SIGTERM.

  --root DIR           serve the files under DIR
  --file-cache N       with --root: keep up to N MiB of small files (each up to
                       1 MiB) in memory while they are unchanged, per server
                       process (default 32; 0 reads every file every time)
  --upstream URL       reverse proxy to an http:// or https:// origin
  --demo               built-in demo site: news page, JSON feed, CSS, JS
  --host HOST          address to listen on (default 127.0.0.1)
  --port N             port (default 8080; 0 picks a free one)
  --cert FILE --key FILE   serve HTTPS with this PEM certificate and key:
                       HTTP/2 to clients that offer it (ALPN h2), HTTP/1.1
                       to the rest
  --upstream-ca FILE   also trust this PEM CA for an https upstream
  --trust-forwarded    the clients are your own proxies (a load balancer):
                       extend their X-Forwarded-For / Forwarded chain instead
                       of replacing it (default: replaced, a client's claim)
  --deflater NAME      zlib (native, default), fflate, or pako (byte-exact with
                       the reference vectors, v=1 and x=1) for the delta's
                       literal runs and the x=1 extension's literal pieces
  --demo-seed N        seed for the demo site's content (default 1)
  --max-delta-memory N memory all deltas in flight may hold, in MiB (default
                       256); a delta that does not fit gets the normal response
  --max-compression-memory N  memory all gzip / br streams in flight may hold,
                       in MiB (default 256); past it br falls back to gzip,
                       gzip to the plain body
  --no-delta PATTERN   never answer paths matching PATTERN with a delta (repeat
                       for more; * matches anything, e.g. '/account/*'): for
                       responses that reflect request input beside a secret
                       (BREACH, see SECURITY.md); they still get gzip / br
  --workers N|auto     N server processes on the one port (auto: one per
                       core; default 1); the memory budgets above are
                       shared out among them, and each process's thread
                       pool gets its share of the cores, at least 2 (unless
                       UV_THREADPOOL_SIZE is set)
  --helper-nice N      on Linux, run every thread of a server process but its
                       event loop N nice steps below it (default ${DEFAULT_HELPER_NICE};
                       0 leaves them as they are): the loop, which every
                       response waits on, goes first
  --log FILE           append the access log to FILE instead of stderr
  --quiet              no access log

On Linux with glibc the server runs in a child process whose malloc keeps
freed memory for the next compression (GLIBC_TUNABLES
${SERVER_MALLOC_TUNABLES});
set any glibc.malloc tunable or MALLOC_* variable yourself to choose otherwise.`;

export const SERVE_OPTIONS = {
  root: { type: 'string' },
  upstream: { type: 'string' },
  demo: { type: 'boolean' },
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '8080' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'upstream-ca': { type: 'string' },
  'trust-forwarded': { type: 'boolean' },
  deflater: { type: 'string', default: 'zlib' },
  'demo-seed': { type: 'string' },
  'max-delta-memory': { type: 'string' },
  'file-cache': { type: 'string' },
  'max-compression-memory': { type: 'string' },
  'no-delta': { type: 'string', multiple: true },
  log: { type: 'string' },
  quiet: { type: 'boolean' },
  workers: { type: 'string' },
  'helper-nice': { type: 'string' },
} as const;

type FlagValue<Flag> = Flag extends { type: 'boolean' } ? boolean : Flag extends { multiple: true } ? string[] : string;
export type ServeValues = { [Name in keyof typeof SERVE_OPTIONS]?: FlagValue<(typeof SERVE_OPTIONS)[Name]> };

/** A flag combination that cannot work; cli.ts shows it with the usage text. */
export class ServeArgumentError extends Error {}

function wholeNumber(text: string | undefined, flag: string, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value > max) throw new ServeArgumentError(`${flag} wants a whole number up to ${max}, got "${text}"`);
  return value;
}

function mebibytes(value: number | undefined): number | undefined {
  return value === undefined ? undefined : value * 1024 * 1024;
}

function deltaExclusionPatterns(patterns: string[] | undefined): string[] | undefined {
  for (const pattern of patterns ?? []) {
    if (!pattern.startsWith('/')) throw new ServeArgumentError(`--no-delta wants a path pattern starting with "/", got "${pattern}"`);
  }
  return patterns;
}

export interface ServeConfig {
  options: Parameters<typeof createCrcsyncServer>[0];
  host: string;
  port: number;
  logFile: string | null;
  quiet: boolean;
  /** Server processes (serve-workers.ts); 1: this process serves. */
  workers: number;
  /** Nice steps of a serving process's other threads below its event loop (thread-priority.ts). */
  helperNice: number;
}

/** Checks the flags and reads the files they name; throws ServeArgumentError for a usage mistake. */
export function serveConfigFromArgs(values: ServeValues): ServeConfig {
  const sources = [values.root !== undefined, values.upstream !== undefined, values.demo === true].filter(Boolean).length;
  if (sources !== 1) throw new ServeArgumentError('serve needs exactly one of --root DIR, --upstream URL, --demo');
  if ((values.cert === undefined) !== (values.key === undefined)) throw new ServeArgumentError('--cert and --key go together');
  const port = wholeNumber(values.port, '--port', 65535) ?? 8080;
  // zlib: undefined = native zlib on the thread pool (delta-transform.ts).
  const deflaters = { zlib: undefined, fflate: fflateCompressor, pako: pakoCompressor } as const;
  const extensionDeflaters = { zlib: undefined, fflate: fflateDictionaryCompressor, pako: pakoDictionaryCompressor } as const;
  const deflater = values.deflater ?? 'zlib';
  if (!Object.hasOwn(deflaters, deflater)) throw new ServeArgumentError(`unknown --deflater ${deflater}`);

  let origin: CrcsyncHandlerOptions;
  if (values['file-cache'] !== undefined && values.root === undefined) throw new ServeArgumentError('--file-cache goes with --root (it keeps files of the static root)');
  if (values.root !== undefined) {
    origin = { root: values.root, fileCacheBytes: mebibytes(wholeNumber(values['file-cache'], '--file-cache', 1024 * 1024)) };
  } else if (values.upstream !== undefined) {
    let url: URL;
    try {
      url = new URL(values.upstream);
    } catch {
      throw new ServeArgumentError(`--upstream is not a URL: "${values.upstream}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ServeArgumentError('--upstream must be http:// or https://');
    origin = {
      upstream: url,
      ca: values['upstream-ca'] === undefined ? undefined : readFileSync(values['upstream-ca']),
      trustForwarded: values['trust-forwarded'] === true,
    };
  } else {
    origin = { demo: { seed: wholeNumber(values['demo-seed'], '--demo-seed', 2 ** 31) ?? 1 } };
  }
  const workers = workerCount(values.workers);
  if (workers === null) throw new ServeArgumentError(`--workers wants a whole number from 1 to 256 or "auto", got "${values.workers}"`);
  // The budgets bound the whole server: each of N processes gets its share.
  const share = (bytes: number | undefined, fallback: number) => (workers === 1 ? bytes : Math.floor((bytes ?? fallback) / workers));
  return {
    workers,
    helperNice: wholeNumber(values['helper-nice'], '--helper-nice', 19) ?? DEFAULT_HELPER_NICE,
    options: {
      ...origin,
      literalCompressor: deflaters[deflater as keyof typeof deflaters],
      extensionCompressor: extensionDeflaters[deflater as keyof typeof deflaters],
      maxDeltaBufferBytes: share(mebibytes(wholeNumber(values['max-delta-memory'], '--max-delta-memory', 1024 * 1024)), DEFAULT_MAX_DELTA_BUFFER_BYTES),
      maxCompressionBufferBytes: share(
        mebibytes(wholeNumber(values['max-compression-memory'], '--max-compression-memory', 1024 * 1024)),
        DEFAULT_MAX_COMPRESSION_BUFFER_BYTES,
      ),
      noDelta: deltaExclusionPatterns(values['no-delta']),
      cert: values.cert === undefined ? undefined : readFileSync(values.cert),
      key: values.key === undefined ? undefined : readFileSync(values.key),
    },
    host: values.host ?? '127.0.0.1',
    port,
    logFile: values.log ?? null,
    quiet: values.quiet === true,
  };
}

export interface RunningServe {
  /** This process's server; null in the primary of --workers N (its workers serve). */
  server: CrcsyncServer | null;
  url: string;
  close(): Promise<void>;
}

/**
 * Node's thread pool has 4 threads whatever the machine. Unless the operator
 * set UV_THREADPOOL_SIZE, this process's pool gets its share of the cores
 * (at least 2, so a file read never waits behind one compression): on 2
 * cores, 4 threads took CPU from the event loop that delta responses wait
 * on (src/server/README.md "Scale"). libuv reads it when the pool first
 * starts, which is after this; --workers processes inherit it.
 */
function sizeThreadPool(processes: number): void {
  if (process.env.UV_THREADPOOL_SIZE) return;
  process.env.UV_THREADPOOL_SIZE = String(Math.max(2, Math.ceil(availableParallelism() / processes)));
}

/**
 * Starts the server (or N of them), prints `crcsync serving URL`, and stops
 * cleanly on SIGINT / SIGTERM. On glibc the server is a child started with
 * malloc tuned (allocator-tuning.ts), or with --workers N the workers are.
 */
export async function startServe(config: ServeConfig): Promise<RunningServe> {
  sizeThreadPool(config.workers);
  const tunedChild = isTunedChild();
  const serving = isServeWorker() || tunedChild;
  // The server processes need malloc tuned before they start (allocator-tuning.ts).
  const mallocEnv = serving ? null : serverMallocEnv(process.env, runsOnGlibc());
  const closeThisProcess = async () => void process.kill(process.pid, 'SIGTERM');
  if (config.workers > 1 && !serving) {
    const url = await runServePrimary(config.workers, (line) => process.stderr.write(line), mallocEnv ?? {});
    process.stdout.write(`crcsync serving ${url}\n`);
    return { server: null, url, close: closeThisProcess };
  }
  if (mallocEnv) {
    // The child prints its own URL; this process only passes signals on and exits as it does.
    const child = runTunedServer(mallocEnv);
    const url = await new Promise<string>((resolve) =>
      child.on('message', (message: unknown) => {
        const reported = listeningUrlOf(message);
        if (reported !== null) resolve(reported);
      }),
    );
    return { server: null, url, close: closeThisProcess };
  }
  if (tunedChild) watchParent();
  let log: AccessLogSink | null = null;
  let logStream: ReturnType<typeof createWriteStream> | null = null;
  if (!config.quiet) {
    if (config.logFile) {
      logStream = createWriteStream(config.logFile, { flags: 'a' });
      const stream = logStream;
      log = lineLogger((line) => stream.write(line));
    } else {
      log = lineLogger((line) => process.stderr.write(line));
    }
  }
  const server = createCrcsyncServer({ ...config.options, log });
  const url = await listen(server, config.port, config.host);
  const stopPriorityRescan = await lowerHelperThreads(config.helperNice, () => access(process.cwd()).catch(() => undefined));
  const worker = isServeWorker();
  if (worker) reportListening(url);
  else process.stdout.write(`crcsync serving ${url}\n`);
  if (tunedChild) reportListening(url);
  const close = () =>
    new Promise<void>((resolve) => {
      process.off('SIGINT', close);
      process.off('SIGTERM', close);
      stopPriorityRescan();
      void closeServer(server).then(() => (logStream ? logStream.end(resolve) : resolve()));
    }).then(() => {
      // A worker's channel to the primary would keep it alive.
      if (worker) process.exit(0);
    });
  process.once('SIGINT', close);
  process.once('SIGTERM', close);
  return { server, url, close };
}
