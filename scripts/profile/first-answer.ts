// How long `crcsync serve` takes to answer the first request for a new
// version of a page (issue 9: unthrottled, the server's first answer was
// seen 3-5 ms later for crcsync than for br). For each changed HTML page of
// the corpus, each round publishes a new version (the pair's new body plus a
// unique comment, so no per-version memo helps) before every request, then
// asks for it once with `Accept-Encoding: gzip, deflate, br` and once more
// (on the next new version) with that plus If-Block of the old body (v=1 or
// the x=1 offer), in alternating order, each on a new connection. Prints per
// page the median time to the response headers and to the last byte, and
// the crcsync - br differences. A profile, not a benchmark.
//
//   node scripts/build.mjs --quiet
//   npx esbuild scripts/profile/first-answer.ts --bundle --platform=node --packages=external --loader:.wasm=binary --target=node20 --outfile=dist/profile/first-answer.js
//   node dist/profile/first-answer.js [--rounds 15] [--pages 078,067] [--offer x1|v1]

import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { offerExtension } from '../../src/protocol/ext-offer';
import { formatIfBlock } from '../../src/protocol/if-block';
import { CorpusPage, corpusPages } from '../bench-load/pages';
import { startReferenceServer } from '../bench-load/reference-server';
import { writeFileSync, mkdirSync } from 'node:fs';

const ROOT = resolve(__dirname, '../..');

interface Timing {
  headersMs: number;
  endMs: number;
  encoding: string;
  bytes: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function fetchTimed(port: number, path: string, headers: Record<string, string>): Promise<Timing> {
  return new Promise((resolvePromise, reject) => {
    const start = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - start) / 1e6;
    const req = request({ host: '127.0.0.1', port, path, headers: { ...headers, Connection: 'close' }, agent: false }, (response) => {
      const headersMs = ms();
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => resolvePromise({ headersMs, endMs: ms(), encoding: String(response.headers['content-encoding'] ?? 'identity'), bytes }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '15' }, pages: { type: 'string', default: '' }, offer: { type: 'string', default: 'x1' } },
  });
  const rounds = Number(values.rounds);
  const filters = values.pages ? values.pages.split(',') : [];
  const pages = corpusPages(resolve(ROOT, '../shared/corpus'), null).filter((page) => filters.length === 0 || filters.some((f) => page.name.startsWith(f)));
  const site = mkdtempSync(join(tmpdir(), 'crcsync-first-answer-'));
  const server = await startReferenceServer(ROOT, ['--root', site]);
  const engine = getDefaultEngine();
  const accept = 'gzip, deflate, br';
  let serial = 0;
  const publishFresh = (page: CorpusPage) => {
    const file = join(site, decodeURIComponent(page.path));
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, Buffer.concat([page.newBody, Buffer.from(`\n<!-- version ${++serial} -->\n`)]));
  };
  const rows: string[] = [];
  const allHeaderDiffs: number[] = [];
  const allEndDiffs: number[] = [];
  try {
    for (const page of pages) {
      const ifBlock = formatIfBlock(page.oldBody, engine)!;
      const offer = values.offer === 'v1' ? ifBlock : offerExtension(ifBlock);
      const br: Timing[] = [];
      const delta: Timing[] = [];
      for (let round = 0; round < rounds + 2; round++) {
        const order = round % 2 === 0 ? ['br', 'delta'] : ['delta', 'br'];
        for (const which of order) {
          publishFresh(page);
          const timing = await fetchTimed(server.port, page.path, which === 'br' ? { 'Accept-Encoding': accept } : { 'Accept-Encoding': accept, 'If-Block': offer });
          if (round < 2) continue; // warm-up: the server's JIT and thread pool
          (which === 'br' ? br : delta).push(timing);
        }
      }
      const h = median(delta.map((t) => t.headersMs)) - median(br.map((t) => t.headersMs));
      const e = median(delta.map((t) => t.endMs)) - median(br.map((t) => t.endMs));
      allHeaderDiffs.push(h);
      allEndDiffs.push(e);
      rows.push(
        `| ${page.name.slice(0, 48)} | ${(page.newBody.length / 1024).toFixed(1)} | ${median(br.map((t) => t.headersMs)).toFixed(2)} / ${median(br.map((t) => t.endMs)).toFixed(2)} | ` +
          `${median(delta.map((t) => t.headersMs)).toFixed(2)} / ${median(delta.map((t) => t.endMs)).toFixed(2)} (${delta[0].encoding}, ${delta[0].bytes} B) | ${h.toFixed(2)} | ${e.toFixed(2)} |`,
      );
    }
  } finally {
    await server.stop();
    rmSync(site, { recursive: true, force: true });
  }
  console.log(`| page | KiB | br headers / end ms | If-Block (${values.offer}) headers / end ms | headers diff | end diff |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  console.log(`median over pages: headers +${median(allHeaderDiffs).toFixed(2)} ms, end +${median(allEndDiffs).toFixed(2)} ms`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
