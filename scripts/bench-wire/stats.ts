// Order statistics for the wire and native benches. Percentiles interpolate
// linearly between closest ranks (the common "type 7" definition, as numpy
// and spreadsheets compute them), so the median of an even count is the mean
// of the two middle values and p90 of 10 values lies between the 9th and 10th.

export class EmptySampleError extends Error {
  constructor(what: string) {
    super(`no values to summarise: ${what}`);
    this.name = 'EmptySampleError';
  }
}

/** The q-quantile (0 <= q <= 1) of `values`; throws on an empty list. */
export function quantile(values: readonly number[], q: number, what = 'quantile'): number {
  if (!values.length) throw new EmptySampleError(what);
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} outside 0..1`);
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

export const median = (values: readonly number[], what = 'median') => quantile(values, 0.5, what);
export const p90 = (values: readonly number[], what = 'p90') => quantile(values, 0.9, what);

export interface RatioSummary {
  /** Pairs that have both sizes. */
  pairs: number;
  /** Percent: 100 × total ÷ baseline. */
  medianPercent: number;
  p90Percent: number;
}

/** Median and p90 of 100 × numerator ÷ denominator over the pairs that have both; null when none has. */
export function ratioSummary(rows: ReadonlyArray<{ numerator: number | null; denominator: number | null | undefined }>): RatioSummary | null {
  const percents = rows
    .filter((row): row is { numerator: number; denominator: number } => row.numerator !== null && typeof row.denominator === 'number' && row.denominator > 0)
    .map((row) => (100 * row.numerator) / row.denominator);
  if (!percents.length) return null;
  return { pairs: percents.length, medianPercent: median(percents), p90Percent: p90(percents) };
}
