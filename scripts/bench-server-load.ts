// The load generator of one bench:server cell (scripts/bench-server.ts), in
// a process of its own: reads a LoadJob as JSON on stdin, runs autocannon's
// warm-up and then the measured run, and writes the LoadResult as JSON on
// stdout. A fresh process per cell, because one load generator that had
// run many cells measured worse the longer it ran: in one process, four
// crcsync cells at 500 connections in a row read p99 1.6 s, 2.2 s, 3.4 s
// while the server's own log showed every response within ~1.1 s, and
// identity's p99 went from 0.6 s to 1.1 s (src/server/README.md "Scale").

import { readFileSync } from 'node:fs';

/** One request as autocannon sends it. */
export interface LoadRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

export interface LoadJob {
  url: string;
  connections: number;
  warmupConnections: number;
  warmupSeconds: number;
  seconds: number;
  /** A response slower than this many seconds counts as a timeout. */
  timeoutSeconds: number;
  /** Requested round robin across all connections. */
  requests: LoadRequest[];
}

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  bytesPerResponse: number;
  failures: number;
}

interface AutocannonRequest {
  setupRequest?: (request: Record<string, unknown>) => Record<string, unknown>;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  throughput: { total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

type Autocannon = (options: { url: string; connections: number; duration: number; timeout: number; requests: AutocannonRequest[] }) => Promise<AutocannonResult>;

// autocannon ships no types; the fields used here are documented in its README.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

/**
 * One request definition that walks the requests round-robin across all
 * connections (autocannon's own request list restarts at the first entry on
 * every connection, which at 500 connections and a few seconds would
 * measure only the first pages).
 */
function roundRobin(requests: LoadRequest[]): AutocannonRequest[] {
  let next = 0;
  return [{ setupRequest: (request) => ({ ...request, ...requests[next++ % requests.length] }) }];
}

async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(0, 'utf8')) as LoadJob;
  const requests = roundRobin(job.requests);
  await autocannon({ url: job.url, connections: job.warmupConnections, duration: job.warmupSeconds, timeout: job.timeoutSeconds, requests });
  const result = await autocannon({ url: job.url, connections: job.connections, duration: job.seconds, timeout: job.timeoutSeconds, requests });
  const answer: LoadResult = {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    bytesPerResponse: result.requests.total ? result.throughput.total / result.requests.total : 0,
    failures: result.errors + result.timeouts + result.non2xx,
  };
  process.stdout.write(JSON.stringify(answer));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-server-load: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
