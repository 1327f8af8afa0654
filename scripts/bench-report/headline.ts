// The report's headline numbers, taken from the benches' results as they
// computed them (their medians and ratios, measured within one run), plus the
// few figures the charts need that the benches left per pair (brotli's and the
// dictionary's share of gzip per category, medians over the same pairs).

import { median } from '../bench-wire/stats';
import { ALL_CATEGORIES, HEADLINE_SETTING, LoadResults, NativeKernelView, NativeResults, PercentSummary, ServerResults, WireResults, WireVariantView } from './results';

export interface WireCategoryHeadline {
  category: string;
  pairs: number;
  /** What `crcsync serve` sends the Firefox extension (x=1 delta, or br-5 when the delta would not pay), request line included. */
  served: { vsGzip6: PercentSummary | null; vsBr11: PercentSummary | null; vsDcb: PercentSummary | null; beatsBr11: number; asDelta: number | null };
  x1: { vsGzip6: PercentSummary | null; vsBr11: PercentSummary | null; vsDcb: PercentSummary | null; beatsBr11: number };
  v1: { vsGzip6: PercentSummary | null; vsBr11: PercentSummary | null; beatsBr11: number };
  /** Medians over the category's pairs of brotli-11 ÷ gzip-6 and dcb ÷ gzip-6, percent (null: no pair has the size). */
  br11OfGzip6: number | null;
  dcbOfGzip6: number | null;
}

/** readWire checked every category has the headline variants; a caller with other data gets this. */
export class MissingVariantError extends Error {
  constructor(category: string, variant: string) {
    super(`bench/wire.json: category ${category} has no "${variant}" summary`);
    this.name = 'MissingVariantError';
  }
}

function variantOf(variants: readonly WireVariantView[], category: string, kind: WireVariantView['kind']): WireVariantView {
  const found = variants.find((variant) => variant.kind === kind && variant.setting === HEADLINE_SETTING);
  if (!found) throw new MissingVariantError(category, `${kind} ${HEADLINE_SETTING}`);
  return found;
}

function medianPercentOfGzip(pairs: WireResults['pairs'], pick: (pair: WireResults['pairs'][number]) => number | null): number | null {
  const percents = pairs.flatMap((pair) => {
    const bytes = pick(pair);
    return bytes !== null && pair.gzip6 > 0 ? [(100 * bytes) / pair.gzip6] : [];
  });
  return percents.length ? median(percents) : null;
}

/** One row per category in the file's order, "all" last. */
export function wireHeadline(wire: WireResults): WireCategoryHeadline[] {
  const ordered = [...wire.summaries.filter((entry) => entry.category !== ALL_CATEGORIES), ...wire.summaries.filter((entry) => entry.category === ALL_CATEGORIES)];
  return ordered.map(({ category, variants }) => {
    const served = variantOf(variants, category, 'served');
    const x1 = variantOf(variants, category, 'x1');
    const v1 = variantOf(variants, category, 'v1');
    const pairs = category === ALL_CATEGORIES ? wire.pairs : wire.pairs.filter((pair) => pair.category === category);
    return {
      category,
      pairs: served.pairs,
      served: { vsGzip6: served.vsGzip6, vsBr11: served.vsBr11, vsDcb: served.vsDcb, beatsBr11: served.beatsBr11, asDelta: served.servedAsDelta },
      x1: { vsGzip6: x1.vsGzip6, vsBr11: x1.vsBr11, vsDcb: x1.vsDcb, beatsBr11: x1.beatsBr11 },
      v1: { vsGzip6: v1.vsGzip6, vsBr11: v1.vsBr11, beatsBr11: v1.beatsBr11 },
      br11OfGzip6: medianPercentOfGzip(pairs, (pair) => pair.br11),
      dcbOfGzip6: medianPercentOfGzip(pairs, (pair) => pair.dcb),
    };
  });
}

export interface LoadProfileHeadline {
  profile: string;
  label: string;
  /** e.g. "1 Mbit/s, 100 ms RTT", or "no throttling". */
  link: string;
  browser: string;
  /** Corpus pages: median over pages of brotli's load ÷ crcsync's. */
  loadRatio: number | null;
  /** The same with crcsync's bytes at zero cost: the most these bytes can give on this link. */
  boundRatio: number | null;
  /** brotli ÷ the browser's request hooks alone (no crcsync work): what the mechanism costs. */
  floorRatio: number | null;
  /** brotli ÷ the browser without hooks with crcsync's bytes, measured ("ideal"); null when not measured. */
  idealRatio: number | null;
  pagesAhead: number;
  pages: number;
  /** Each corpus page's ratio, for the chart's dots. */
  pageRatios: number[];
}

/** A link profile in a few words: its down rate and round trip. */
export function linkName(downBitsPerSecond: number | null, rttMs: number): string {
  if (downBitsPerSecond === null) return rttMs ? `no rate limit, ${rttMs} ms RTT` : 'no throttling';
  const rate = downBitsPerSecond >= 1e6 ? `${+(downBitsPerSecond / 1e6).toFixed(2)} Mbit/s` : `${+(downBitsPerSecond / 1e3).toFixed(1)} kbit/s`;
  return `${rate}, ${rttMs} ms RTT`;
}

export function loadHeadline(load: LoadResults): LoadProfileHeadline[] {
  return load.profiles.map((profile) => ({
    profile: profile.name,
    label: profile.label,
    link: linkName(profile.downBitsPerSecond, profile.rttMs),
    browser: profile.browser,
    loadRatio: profile.corpus.medianLoadRatio,
    boundRatio: profile.corpus.medianBoundLoadRatio,
    floorRatio: profile.corpus.medianFloorLoadRatio,
    idealRatio: profile.corpus.medianIdealLoadRatio,
    pagesAhead: profile.corpus.pagesAhead,
    pages: profile.corpus.pages,
    pageRatios: profile.pages.filter((page) => page.kind === 'corpus' && page.loadRatio !== null).map((page) => page.loadRatio!),
  }));
}

/**
 * The rows of several browsers' runs in one list, grouped by link profile
 * (in the order the profiles first appear), each profile's rows in the order
 * the runs are given: the same link's browsers side by side.
 */
export function combinedLoadHeadline(runs: readonly LoadResults[]): LoadProfileHeadline[] {
  const rows = runs.flatMap((run) => loadHeadline(run));
  const profileOrder = [...new Set(rows.map((row) => row.profile))];
  return profileOrder.flatMap((profile) => rows.filter((row) => row.profile === profile));
}

export interface NativeHeadlineCell {
  group: 'hashing' | 'matching';
  role: 'typical' | 'worst';
  kernel: NativeKernelView;
}

/**
 * Typical and worst per kernel group, as bench/native.md states them: the
 * "typical" row; the "worst" row where the bench has one (matching: the
 * no-match input), else the group's lowest WASM ÷ native (hashing).
 */
export function nativeHeadline(native: NativeResults): NativeHeadlineCell[] {
  const out: NativeHeadlineCell[] = [];
  for (const group of ['hashing', 'matching'] as const) {
    const rows = native.kernels.filter((kernel) => kernel.group === group);
    const typical = rows.find((kernel) => kernel.role === 'typical');
    const worst = rows.find((kernel) => kernel.role === 'worst') ?? [...rows].sort((a, b) => a.wasmToNative - b.wasmToNative)[0];
    if (typical) out.push({ group, role: 'typical', kernel: typical });
    if (worst) out.push({ group, role: 'worst', kernel: worst });
  }
  return out;
}

export interface ServerHeadlineRow {
  connections: number;
  processes: number | null;
  gzip: number | null;
  brotli: number | null;
  crcsync: number | null;
  /** crcsync req/s ÷ gzip req/s, same connections and processes (same run). */
  crcsyncToGzip: number | null;
}

export function serverHeadline(server: ServerResults): ServerHeadlineRow[] {
  const keys: Array<{ connections: number; processes: number | null }> = [];
  for (const cell of server.cells) {
    if (!keys.some((key) => key.connections === cell.connections && key.processes === cell.processes)) keys.push({ connections: cell.connections, processes: cell.processes });
  }
  keys.sort((a, b) => (a.processes ?? 1) - (b.processes ?? 1) || a.connections - b.connections);
  return keys.map((key) => {
    const cellOf = (client: string) => server.cells.find((cell) => cell.connections === key.connections && cell.processes === key.processes && cell.client === client);
    const gzip = cellOf('gzip')?.requestsPerSecond ?? null;
    const crcsync = cellOf('crcsync')?.requestsPerSecond ?? null;
    // The bench's own ratio when it wrote one: it divided the unrounded rates.
    const recorded = cellOf('crcsync')?.recordedRatioToGzip ?? null;
    return { ...key, gzip, brotli: cellOf('brotli')?.requestsPerSecond ?? null, crcsync, crcsyncToGzip: recorded ?? (gzip && crcsync !== null ? crcsync / gzip : null) };
  });
}
