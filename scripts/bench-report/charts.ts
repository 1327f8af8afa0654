// The report's four charts, each from one bench's headline numbers: bytes per
// category (bench:wire), load time per link profile (bench:load), core
// throughput beside native C (bench:native), server requests/s
// (bench:server). A chart whose results are missing is not drawn.

import { BarSeries, groupedBarChart } from './bar-chart';
import { LoadProfileHeadline, NativeHeadlineCell, ServerHeadlineRow, WireCategoryHeadline } from './headline';
import { ratioChart } from './ratio-chart';

export interface Chart {
  /** File name under bench/charts/. */
  file: string;
  alt: string;
  svg: string;
}

/** Every chart file the report writes: a stale one whose results went missing is removed. */
export const CHART_FILES = ['wire-bytes.svg', 'load-time.svg', 'core-native.svg', 'server-requests.svg'] as const;

const GREY = '#6e7781';
const PURPLE = '#8250df';
const LIGHT_BLUE = '#54aeff';
const BLUE = '#0969da';

/** Percent with one decimal below 10 (where a point matters), whole above. */
export const formatPercent = (value: number) => `${value < 10 ? value.toFixed(1) : value.toFixed(0)}%`;
const formatRate = (value: number) => value.toFixed(0);

export function wireChart(rows: readonly WireCategoryHeadline[], hasDcb: boolean): Chart {
  const series: BarSeries[] = [
    { name: 'brotli-11', colour: GREY },
    ...(hasDcb ? [{ name: 'dictionary brotli (dcb, old as dictionary)', colour: PURPLE }] : []),
    { name: 'crcsync x=1 delta', colour: LIGHT_BLUE },
    { name: 'crcsync as served to Firefox', colour: BLUE },
  ];
  return {
    file: 'wire-bytes.svg',
    alt: 'Bytes on the wire per category, as a share of gzip-6',
    svg: groupedBarChart({
      title: 'Bytes on the wire per category, % of gzip-6 (median over pairs)',
      subtitle: 'crcsync: If-Block request line + response body, 40 block hashes; lower is better',
      yLabel: '% of gzip-6 bytes',
      series,
      groups: rows.map((row) => ({
        label: `${row.category === 'all' ? 'all pairs' : row.category} (${row.pairs})`,
        values: [row.br11OfGzip6, ...(hasDcb ? [row.dcbOfGzip6] : []), row.x1.vsGzip6?.medianPercent ?? null, row.served.vsGzip6?.medianPercent ?? null],
      })),
      formatValue: formatPercent,
      formatTick: (value) => `${value}%`,
      reference: { value: 100, label: 'gzip-6 = 100%' },
    }),
  };
}

export function loadChart(profiles: readonly LoadProfileHeadline[]): Chart {
  return {
    file: 'load-time.svg',
    alt: 'Page load time per link profile, brotli ÷ crcsync',
    svg: ratioChart({
      title: 'Changed page load time per link profile: brotli ÷ crcsync',
      subtitle: 'loadEventEnd, corpus pages, medians of each page\'s runs; above 1× crcsync was sooner',
      xLabel: 'brotli load time ÷ crcsync load time',
      valueName: 'median',
      dotName: 'one page',
      markers: [
        { key: 'bound', name: 'bound (saved bytes at zero cost)', shortName: 'bound', colour: BLUE, shape: 'diamond' },
        { key: 'floor', name: 'floor (browser hooks alone)', shortName: 'floor', colour: PURPLE, shape: 'triangle' },
      ],
      rows: profiles.map((profile) => ({
        label: profile.link,
        sublabel: [profile.browser, `${profile.pagesAhead} of ${profile.pages} pages sooner`],
        value: profile.loadRatio,
        markers: { bound: profile.boundRatio, floor: profile.floorRatio },
        dots: profile.pageRatios,
      })),
    }),
  };
}

export function nativeChart(cells: readonly NativeHeadlineCell[]): Chart {
  return {
    file: 'core-native.svg',
    alt: 'Core throughput, WASM beside native C',
    svg: groupedBarChart({
      title: 'Core throughput: WASM beside the same kernels in C (MB/s)',
      subtitle: 'same inputs, same run, median of interleaved rounds; higher is better',
      yLabel: 'MB/s of input',
      series: [
        { name: 'WASM core', colour: BLUE },
        { name: 'WASM via the engine adapters use', colour: LIGHT_BLUE },
        { name: 'C (cc -O2)', colour: GREY },
      ],
      // When the typical input is also the group's worst, one group says so instead of the same bars twice.
      groups: cells
        .filter((cell, index) => !cells.slice(0, index).some((earlier) => earlier.kernel === cell.kernel))
        .map((cell) => ({
          label: `${cell.group}, ${cells.filter((other) => other.kernel === cell.kernel).map((other) => other.role).join(' = ')}`,
          values: [cell.kernel.wasmMBps, cell.kernel.engineMBps, cell.kernel.nativeMBps],
          note: `WASM ÷ C ${cell.kernel.wasmToNative.toFixed(2)}×`,
        })),
      formatValue: formatRate,
      height: 400,
    }),
  };
}

export function serverChart(rows: readonly ServerHeadlineRow[]): Chart {
  const hasBrotli = rows.some((row) => row.brotli !== null);
  return {
    file: 'server-requests.svg',
    alt: 'Reference server requests per second, gzip beside crcsync',
    svg: groupedBarChart({
      title: 'Reference server: requests/s per concurrency',
      subtitle: 'every response made per request (no cache); load generator on the same machine; higher is better',
      yLabel: 'requests per second',
      series: [{ name: 'gzip-6', colour: GREY }, ...(hasBrotli ? [{ name: 'brotli-5', colour: PURPLE }] : []), { name: 'crcsync delta', colour: BLUE }],
      groups: rows.map((row) => ({
        label: `${row.connections} connection${row.connections === 1 ? '' : 's'}${row.processes === null ? '' : `, ${row.processes} process${row.processes === 1 ? '' : 'es'}`}`,
        values: [row.gzip, ...(hasBrotli ? [row.brotli] : []), row.crcsync],
        note: row.crcsyncToGzip === null ? 'crcsync ÷ gzip: n/a' : `crcsync ÷ gzip ${row.crcsyncToGzip.toFixed(2)}×`,
      })),
      formatValue: formatRate,
      height: 400,
    }),
  };
}
