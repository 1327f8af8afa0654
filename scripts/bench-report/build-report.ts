// From the results in bench/ to bench/REPORT.md and bench/charts/*.svg: read
// every bench's results, draw the charts of those that have some, write the
// markdown. A chart file whose results are gone is removed, so the folder
// never shows a chart the report does not stand behind.

import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_FILES, Chart, loadChart, nativeChart, serverChart, wireChart } from './charts';
import { combinedLoadHeadline, nativeHeadline, serverHeadline, wireHeadline } from './headline';
import { ReportContext, renderReport } from './markdown';
import { BenchResults, readBenchResults } from './results';

export function chartsFor(results: BenchResults): Chart[] {
  const charts: Chart[] = [];
  if (results.wire.state === 'ok') charts.push(wireChart(wireHeadline(results.wire.data), results.wire.data.hasDcb));
  // Firefox's and Chromium's runs in one chart, each link profile's browsers side by side.
  const loadRuns = [results.load, results.loadChromium].flatMap((input) => (input.state === 'ok' && input.data.profiles.length ? [input.data] : []));
  if (loadRuns.length) charts.push(loadChart(combinedLoadHeadline(loadRuns)));
  if (results.native.state === 'ok' && results.native.data.compiler) {
    const cells = nativeHeadline(results.native.data);
    if (cells.length) charts.push(nativeChart(cells));
  }
  if (results.server.state === 'ok') charts.push(serverChart(serverHeadline(results.server.data)));
  return charts;
}

export interface BuiltReport {
  reportPath: string;
  charts: string[];
  removedCharts: string[];
  /** One line per bench without results, and per result file the report could not read. */
  missing: string[];
  unreadable: string[];
}

export function buildReport(benchDir: string, context: Omit<ReportContext, 'markdownFiles'>): BuiltReport {
  const results = readBenchResults(benchDir);
  const charts = chartsFor(results);
  const chartDir = join(benchDir, 'charts');
  mkdirSync(chartDir, { recursive: true });
  for (const chart of charts) writeFileSync(join(chartDir, chart.file), chart.svg);
  const removedCharts = CHART_FILES.filter((file) => !charts.some((chart) => chart.file === file) && existsSync(join(chartDir, file)));
  for (const file of removedCharts) rmSync(join(chartDir, file));
  const markdownFiles = readdirSync(benchDir).filter((name) => name.endsWith('.md'));
  const reportPath = join(benchDir, 'REPORT.md');
  writeFileSync(reportPath, renderReport(results, charts, { ...context, markdownFiles }));
  return {
    reportPath,
    charts: charts.map((chart) => join(chartDir, chart.file)),
    removedCharts: removedCharts.map((file) => join(chartDir, file)),
    missing: Object.values(results).flatMap((input) => (input.state === 'missing' && !input.unreadable ? [input.reason] : [])),
    unreadable: Object.values(results).flatMap((input) => (input.state === 'missing' && input.unreadable ? [input.reason] : [])),
  };
}
