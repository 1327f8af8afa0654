// `npm run bench:report [-- --from-results]`: every bench in turn (`npm run
// bench`, `bench:wire`, `bench:native`, `bench:server`, `bench:load` in
// Firefox and in Chromium, each in its own process, output shown; the first
// failure stops here), then
// bench/REPORT.md and bench/charts/*.svg from their JSON results.
// `--from-results` runs nothing and rebuilds the report from the results
// already in bench/.

import { cpus, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildReport } from './bench-report/build-report';
import { BENCHES } from './bench-report/markdown';
import { runBenches } from './bench-report/run-benches';

const ROOT = resolve(__dirname, '..');

function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}`;
}

function main(): void {
  const { values } = parseArgs({ options: { 'from-results': { type: 'boolean', default: false }, bench: { type: 'string', default: join(ROOT, 'bench') } } });
  const fromResults = values['from-results']!;
  if (!fromResults) {
    const runs = runBenches(BENCHES, ROOT);
    console.log(`\nbench:report: all benches ran (${runs.map((run) => `${run.command.replace(/^npm run /, '')} ${(run.seconds / 60).toFixed(1)} min`).join(', ')})`);
  }
  const built = buildReport(resolve(values.bench!), { date: new Date().toISOString().slice(0, 10), machine: machine(), fromResults });
  const shown = (path: string) => relative(process.cwd(), path) || path;
  console.log(`bench:report: wrote ${shown(built.reportPath)} and ${built.charts.length} chart${built.charts.length === 1 ? '' : 's'}: ${built.charts.map(shown).join(', ') || 'none'}`);
  if (built.removedCharts.length) console.log(`bench:report: removed charts without results: ${built.removedCharts.map(shown).join(', ')}`);
  for (const reason of built.missing) console.warn(`bench:report: not measured yet: ${reason}`);
  // A result file the report cannot read is an error to fix, not a gap to wait for: the report is written, and the exit code says so.
  for (const reason of built.unreadable) console.error(`bench:report: not usable: ${reason}`);
  if (built.unreadable.length) process.exitCode = 1;
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
}
