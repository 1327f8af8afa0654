// Where a crcsync response's time goes, page by page (issue 11: crcsync ÷
// gzip requests/s stays near 1.2x at one connection, short of 1.5x). One
// keep-alive connection to `crcsync serve --root ../shared/corpus`, every
// corpus pair's `new` asked for in turn by a gzip client and by a crcsync
// client holding the pair's `old` (v=1 If-Block, `Accept-Encoding: gzip,
// br`, as bench:server's crcsync client), --rounds times, the first two
// rounds not counted. Prints per pair the median ms per response of each,
// what the crcsync client got (a delta, or br by the never-worse rule), and
// the sums: the one-connection ratio of bench:server split into the pairs
// where the delta wins and those where it loses, and the floor every
// response pays (the median of the smallest pages). A profile, not a
// benchmark: the client shares the machine.
//
//   node scripts/build.mjs --quiet
//   npx esbuild scripts/profile/server-per-page.ts --bundle --platform=node --packages=external --loader:.wasm=binary --target=node20 --outfile=dist/profile/server-per-page.js
//   node dist/profile/server-per-page.js [--rounds 12] [--corpus DIR]

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { startReferenceServer } from '../bench-load/reference-server';
import { median } from '../bench-load/report';

const ROOT = resolve(__dirname, '../..');

interface Answer {
  ms: number;
  encoding: string;
  bytes: number;
}

function fetchTimed(agent: Agent, port: number, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolvePromise, reject) => {
    const start = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, path, headers, agent }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () =>
        resolvePromise({ ms: Number(process.hrtime.bigint() - start) / 1e6, encoding: String(response.headers['content-encoding'] ?? 'identity'), bytes }),
      );
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface PairResult {
  name: string;
  newBytes: number;
  gzipMs: number;
  crcsyncMs: number;
  crcsyncEncoding: string;
  crcsyncBytes: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '12' }, corpus: { type: 'string' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 3) throw new Error('--rounds wants a whole number >= 3');
  const corpus = values.corpus ? resolve(values.corpus) : resolve(ROOT, '../shared/corpus');
  if (!existsSync(corpus)) throw new Error(`${corpus} does not exist (../shared/corpus, or --corpus DIR)`);
  const names = readdirSync(corpus)
    .filter((name) => existsSync(join(corpus, name, 'old')) && existsSync(join(corpus, name, 'new')))
    .sort();
  const engine = getDefaultEngine();
  const server = await startReferenceServer(ROOT, ['--root', corpus]);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const results: PairResult[] = [];
  try {
    for (const name of names) {
      const ifBlock = formatIfBlock(readFileSync(join(corpus, name, 'old')), engine);
      const path = `/${name}/new`;
      const gzip: number[] = [];
      const crcsync: number[] = [];
      let last: Answer | null = null;
      for (let round = 0; round < rounds; round++) {
        const plain = await fetchTimed(agent, server.port, path, { 'accept-encoding': 'gzip' });
        const delta = await fetchTimed(agent, server.port, path, { 'accept-encoding': 'gzip, br', ...(ifBlock ? { 'if-block': ifBlock } : {}) });
        if (round < 2) continue; // warm-up: the memo of plain sizes, the JIT
        gzip.push(plain.ms);
        crcsync.push(delta.ms);
        last = delta;
      }
      results.push({
        name,
        newBytes: readFileSync(join(corpus, name, 'new')).length,
        gzipMs: median(gzip)!,
        crcsyncMs: median(crcsync)!,
        crcsyncEncoding: last!.encoding,
        crcsyncBytes: last!.bytes,
      });
    }
  } finally {
    agent.destroy();
    await server.stop();
  }

  const lines = ['| pair | new KiB | gzip ms | crcsync ms | crcsync got | crcsync KiB | gzip ÷ crcsync |', '|---|---:|---:|---:|---|---:|---:|'];
  for (const pair of [...results].sort((a, b) => b.crcsyncMs - a.crcsyncMs)) {
    lines.push(
      `| ${pair.name} | ${(pair.newBytes / 1024).toFixed(0)} | ${pair.gzipMs.toFixed(2)} | ${pair.crcsyncMs.toFixed(2)} | ${pair.crcsyncEncoding} | ${(pair.crcsyncBytes / 1024).toFixed(1)} | ${(pair.gzipMs / pair.crcsyncMs).toFixed(2)}× |`,
    );
  }
  const sum = (pairs: PairResult[], pick: (pair: PairResult) => number) => pairs.reduce((total, pair) => total + pick(pair), 0);
  const group = (label: string, pairs: PairResult[]) =>
    `${label} (${pairs.length} pairs): gzip ${sum(pairs, (pair) => pair.gzipMs).toFixed(1)} ms, crcsync ${sum(pairs, (pair) => pair.crcsyncMs).toFixed(1)} ms, gzip ÷ crcsync ${(sum(pairs, (pair) => pair.gzipMs) / sum(pairs, (pair) => pair.crcsyncMs)).toFixed(2)}×`;
  const wins = results.filter((pair) => pair.crcsyncEncoding === 'crcsync');
  const smallest = [...results].sort((a, b) => a.newBytes - b.newBytes).slice(0, 5);
  lines.push(
    '',
    `One keep-alive connection, ${rounds - 2} counted rounds per pair, medians; the sum over the pairs is one round of bench:server's round robin.`,
    group('all', results),
    group('the delta wins', wins),
    group('br by the never-worse rule', results.filter((pair) => pair.crcsyncEncoding !== 'crcsync')),
    `Floor per response (median over the ${smallest.length} smallest new bodies, ${smallest.map((pair) => (pair.newBytes / 1024).toFixed(0)).join(', ')} KiB): gzip ${median(smallest.map((pair) => pair.gzipMs))!.toFixed(2)} ms, crcsync ${median(smallest.map((pair) => pair.crcsyncMs))!.toFixed(2)} ms.`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`server-per-page: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
