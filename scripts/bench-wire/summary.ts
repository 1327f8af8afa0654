// Per category and overall: crcsync's bytes on the wire as shares of the
// baselines (gzip-6, brotli-11, the dictionary-compressed dcb / dcz where the
// corpus has them), for every variant (v=1, x=1 and what the server serves,
// at each block count). bench/wire.json carries these for the report's charts.

import { BlockCountResult, PairResult } from './measure';
import { RatioSummary, median, ratioSummary } from './stats';

export type VariantKind = 'v1' | 'x1' | 'served';
export const VARIANT_KINDS: readonly VariantKind[] = ['v1', 'x1', 'served'];
const KIND_LABELS: Record<VariantKind, string> = { v1: 'v=1', x1: 'x=1', served: 'served' };

export const ALL_CATEGORIES = 'all';

export interface VariantSummary {
  /** e.g. "x=1 n=40". */
  variant: string;
  kind: VariantKind;
  setting: string;
  pairs: number;
  /** Median bytes of the request's If-Block line. */
  medianRequestBytes: number;
  vsGzip6: RatioSummary | null;
  vsBr11: RatioSummary | null;
  vsDcb: RatioSummary | null;
  vsDcz: RatioSummary | null;
  /** Pairs whose crcsync total is smaller than brotli-11 of the new body. */
  beatsBr11: number;
  /** Sums over the pairs: crcsync total, and the baselines of the same pairs. */
  totalBytes: number;
  gzip6Bytes: number;
  br11Bytes: number;
  /** served only (null otherwise): pairs answered with the delta (the rest got the plain br-5 body). */
  servedAsDelta: number | null;
}

/** A variant's total for one pair, or null when the client sends no If-Block or the setting does not apply. */
export function variantTotal(result: BlockCountResult, kind: VariantKind): number {
  return kind === 'served' ? result.served.totalBytes : result[kind].totalBytes;
}

const requestBytes = (result: BlockCountResult, kind: VariantKind) => (kind === 'v1' ? result.v1.requestBytes : result.x1.requestBytes);

export function variantLabel(kind: VariantKind, setting: string): string {
  return `${KIND_LABELS[kind]} ${setting}`;
}

/** The settings measured, in the order of the first pair that has them all. */
export function settingsOf(pairs: readonly PairResult[]): string[] {
  const seen: string[] = [];
  for (const pair of pairs) for (const result of pair.crcsync ?? []) if (!seen.includes(result.setting)) seen.push(result.setting);
  return seen;
}

export function summarizeVariant(pairs: readonly PairResult[], kind: VariantKind, setting: string): VariantSummary {
  const rows = pairs.flatMap((pair) => {
    const result = pair.crcsync?.find((candidate) => candidate.setting === setting);
    return result ? [{ pair, result, total: variantTotal(result, kind) }] : [];
  });
  const against = (baseline: (pair: PairResult) => number | null) => ratioSummary(rows.map((row) => ({ numerator: row.total, denominator: baseline(row.pair) })));
  const summary: VariantSummary = {
    variant: variantLabel(kind, setting),
    kind,
    setting,
    pairs: rows.length,
    medianRequestBytes: rows.length ? median(rows.map((row) => requestBytes(row.result, kind))) : 0,
    vsGzip6: against((pair) => pair.gzip6),
    vsBr11: against((pair) => pair.br11),
    vsDcb: against((pair) => pair.dcb),
    vsDcz: against((pair) => pair.dcz),
    beatsBr11: rows.filter((row) => row.total < row.pair.br11).length,
    totalBytes: rows.reduce((sum, row) => sum + row.total, 0),
    gzip6Bytes: rows.reduce((sum, row) => sum + row.pair.gzip6, 0),
    br11Bytes: rows.reduce((sum, row) => sum + row.pair.br11, 0),
    servedAsDelta: kind === 'served' ? rows.filter((row) => row.result.served.body === 'delta').length : null,
  };
  return summary;
}

/** Every variant, per category (sorted) and for all pairs together (key ALL_CATEGORIES). */
export function summarize(pairs: readonly PairResult[]): Record<string, VariantSummary[]> {
  const settings = settingsOf(pairs);
  const categories = [...new Set(pairs.map((pair) => pair.category))].sort();
  const out: Record<string, VariantSummary[]> = {};
  for (const category of [...categories, ALL_CATEGORIES]) {
    const selected = category === ALL_CATEGORIES ? pairs : pairs.filter((pair) => pair.category === category);
    out[category] = settings.flatMap((setting) => VARIANT_KINDS.map((kind) => summarizeVariant(selected, kind, setting)));
  }
  return out;
}

export interface LargerBlockCountFinding {
  kind: VariantKind;
  baseline: string;
  setting: string;
  /** Bytes summed over the pairs both settings apply to. */
  baselineBytes: number;
  settingBytes: number;
  /** Percent saved over the baseline's bytes (negative: more bytes). */
  savedPercent: number;
  /** Change of the median share of brotli-11, in percentage points (negative: better). */
  medianBr11Points: number;
  pairsSmaller: number;
  pairsLarger: number;
  /** Growth of the median If-Block line, in bytes. */
  requestGrowthBytes: number;
}

/** Each larger block count against `baseline` (n=40), same pairs, for one variant kind. */
export function largerBlockCountFindings(pairs: readonly PairResult[], kind: VariantKind, baseline = 'n=40'): LargerBlockCountFinding[] {
  const all = summarize(pairs)[ALL_CATEGORIES];
  const base = all.find((summary) => summary.kind === kind && summary.setting === baseline);
  return settingsOf(pairs)
    .filter((setting) => setting !== baseline)
    .map((setting) => {
      const both = pairs.flatMap((pair) => {
        const a = pair.crcsync?.find((result) => result.setting === baseline);
        const b = pair.crcsync?.find((result) => result.setting === setting);
        return a && b ? [{ a: variantTotal(a, kind), b: variantTotal(b, kind) }] : [];
      });
      const baselineBytes = both.reduce((sum, row) => sum + row.a, 0);
      const settingBytes = both.reduce((sum, row) => sum + row.b, 0);
      const summary = all.find((candidate) => candidate.kind === kind && candidate.setting === setting);
      return {
        kind,
        baseline,
        setting,
        baselineBytes,
        settingBytes,
        savedPercent: baselineBytes ? (100 * (baselineBytes - settingBytes)) / baselineBytes : 0,
        medianBr11Points: (summary?.vsBr11?.medianPercent ?? NaN) - (base?.vsBr11?.medianPercent ?? NaN),
        pairsSmaller: both.filter((row) => row.b < row.a).length,
        pairsLarger: both.filter((row) => row.b > row.a).length,
        requestGrowthBytes: (summary?.medianRequestBytes ?? 0) - (base?.medianRequestBytes ?? 0),
      };
    });
}
