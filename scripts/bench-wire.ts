// `npm run bench:wire [-- --corpus DIR]`: bytes on the wire with crcsync
// (request If-Block line + delta body; v=1, x=1 and what the server really
// serves, at 40 and at larger block counts) beside gzip-6, brotli-11 and,
// when the corpus has a baselines.csv, Compression Dictionary Transport,
// for every pair of a corpus folder (default ../shared/corpus; layout in its
// README). Writes bench/wire.md (the tables, also printed) and
// bench/wire.json (every pair and every summary, for the report's charts).

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getDefaultEngine } from '../src/core/embedded-core';
import { readCorpus } from './bench-wire/corpus';
import { BLOCK_COUNT_SETTINGS, PairResult, measurePair } from './bench-wire/measure';
import { RunInfo, largerBlockCountVerdict, renderWireReport } from './bench-wire/report';
import { largerBlockCountFindings, summarize } from './bench-wire/summary';

const ROOT = resolve(__dirname, '..');

function main(): void {
  const { values } = parseArgs({ options: { corpus: { type: 'string', default: resolve(ROOT, '../shared/corpus') }, out: { type: 'string', default: join(ROOT, 'bench') } } });
  const corpusDir = resolve(values.corpus!);
  const started = process.hrtime.bigint();
  const loadBefore = loadavg();
  const corpus = readCorpus(corpusDir);
  if (!corpus.length) throw new Error(`no pairs (directories with old and new) in ${corpusDir}`);
  const engine = getDefaultEngine();
  const pairs: PairResult[] = [];
  for (const pair of corpus) {
    pairs.push(measurePair(pair, engine, BLOCK_COUNT_SETTINGS));
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  const summaries = summarize(pairs);
  const info: RunInfo = {
    date: new Date().toISOString(),
    corpus: corpusDir,
    node: process.version,
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}`,
    loadAverage: loadBefore,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    hasDcb: pairs.some((pair) => pair.dcb !== null),
    hasDcz: pairs.some((pair) => pair.dcz !== null),
  };
  const markdown = renderWireReport(pairs, summaries, info);
  const findings = { x1: largerBlockCountFindings(pairs, 'x1'), v1: largerBlockCountFindings(pairs, 'v1'), served: largerBlockCountFindings(pairs, 'served') };
  mkdirSync(values.out!, { recursive: true });
  writeFileSync(join(values.out!, 'wire.md'), markdown);
  writeFileSync(
    join(values.out!, 'wire.json'),
    `${JSON.stringify({ ...info, settings: BLOCK_COUNT_SETTINGS.map((setting) => setting.label), largerBlockCounts: { verdict: largerBlockCountVerdict(findings.x1), ...findings }, summaries, pairs }, null, 1)}\n`,
  );
  console.log(markdown);
  console.log(`written to ${join(values.out!, 'wire.md')} and wire.json`);
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
}
