// The wire bench's arithmetic: percentiles, shares of a baseline, the
// server's never-worse choice, and the per-variant summaries bench/wire.md
// and bench/wire.json are made of. One real measurement too: a small pair
// through the project's encoders and decoder.

import { BlockCountResult, PairResult, ifBlockLineBytes, measurePair } from '../../../scripts/bench-wire/measure';
import { largerBlockCountVerdict } from '../../../scripts/bench-wire/report';
import { servedChoice } from '../../../scripts/bench-wire/served';
import { EmptySampleError, median, p90, quantile, ratioSummary } from '../../../scripts/bench-wire/stats';
import { largerBlockCountFindings, summarize, summarizeVariant } from '../../../scripts/bench-wire/summary';
import { getDefaultEngine } from '../../../src/core/embedded-core';

describe('quantiles', () => {
  it('interpolate between closest ranks', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(p90([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toBeCloseTo(9.1);
    expect(quantile([5], 0.9)).toBe(5);
  });

  it('refuse an empty sample', () => {
    expect(() => median([])).toThrow(EmptySampleError);
  });

  it('ratioSummary gives percent of the baseline over the pairs that have one', () => {
    const summary = ratioSummary([
      { numerator: 50, denominator: 100 },
      { numerator: 30, denominator: 100 },
      { numerator: 10, denominator: null },
    ]);
    expect(summary).toEqual({ pairs: 2, medianPercent: 40, p90Percent: 48 });
    expect(ratioSummary([{ numerator: 1, denominator: null }])).toBeNull();
  });
});

describe('servedChoice (what crcsync serve sends a client that offered its copy)', () => {
  const base = { bodyBytes: 100_000, literalBytes: 5_000, economyStopped: false, plainBytes: 20_000, plainIsCompressed: true, minCompressBytes: 256 };

  it('sends the delta only when it beats the plain body by the margin', () => {
    expect(servedChoice({ ...base, deltaBytes: 17_000 })).toEqual({ body: 'delta', reason: 'delta-beats-plain', bodyBytes: 17_000 });
    // 20,000 / 8 = 2,500 bytes of gain required: 18,000 is smaller but not by enough.
    expect(servedChoice({ ...base, deltaBytes: 18_000 })).toEqual({ body: 'plain', reason: 'no-gain', bodyBytes: 20_000 });
  });

  it('goes plain when most of the body is new or the economy guard stopped, whatever the sizes', () => {
    expect(servedChoice({ ...base, deltaBytes: 100, literalBytes: 80_000 }).reason).toBe('mostly-new');
    expect(servedChoice({ ...base, deltaBytes: 100, economyStopped: true }).reason).toBe('economy-stop');
  });

  it('keeps the delta for a body too small to compress', () => {
    expect(servedChoice({ ...base, bodyBytes: 200, deltaBytes: 150, plainBytes: 200, plainIsCompressed: false })).toEqual({ body: 'delta', reason: 'tiny', bodyBytes: 150 });
  });
});

function result(setting: string, blockCount: number, v1Total: number, x1Total: number, servedTotal: number, served: 'delta' | 'plain' = 'delta'): BlockCountResult {
  const encoded = (total: number) => ({ requestBytes: 400 + blockCount, deltaBytes: total - 400 - blockCount, totalBytes: total, literalBytes: 0, economyStopped: false });
  return { setting, blockCount, v1: encoded(v1Total), x1: encoded(x1Total), served: { body: served, reason: served === 'delta' ? 'delta-beats-plain' : 'no-gain', bodyBytes: servedTotal - 400 - blockCount, totalBytes: servedTotal } };
}

function pairResult(name: string, category: string, gzip6: number, br11: number, dcb: number | null, results: BlockCountResult[] | null): PairResult {
  return { name, category, oldBytes: 10_000, newBytes: 10_000, gzip6, br11, plainForFirefox: { coding: 'br', bytes: br11 + 100 }, dcb, dcz: null, crcsync: results };
}

describe('summaries', () => {
  const pairs = [
    pairResult('a', 'css', 1000, 800, 100, [result('n=40', 40, 500, 400, 400), result('n=256', 256, 600, 500, 500)]),
    pairResult('b', 'css', 1000, 800, null, [result('n=40', 40, 900, 850, 900, 'plain'), result('n=256', 256, 700, 650, 650)]),
    pairResult('c', 'text', 2000, 1600, 200, [result('n=40', 40, 400, 300, 300), result('n=256', 256, 500, 400, 400)]),
    pairResult('d', 'text', 2000, 1600, 200, null),
  ];

  it('share of each baseline, pairs beating brotli-11, and bytes summed, per variant', () => {
    const x1 = summarizeVariant(pairs, 'x1', 'n=40');
    expect(x1.pairs).toBe(3);
    expect(x1.vsGzip6).toEqual({ pairs: 3, medianPercent: 40, p90Percent: 76 });
    expect(x1.vsDcb?.pairs).toBe(2);
    expect(x1.vsDcb?.medianPercent).toBe(275);
    expect(x1.beatsBr11).toBe(2);
    expect(x1.totalBytes).toBe(1550);
    expect(summarizeVariant(pairs, 'served', 'n=40').servedAsDelta).toBe(2);
    expect(x1.servedAsDelta).toBeNull();
  });

  it('groups by category with an "all" row, leaving out pairs whose old version is never offered', () => {
    const summaries = summarize(pairs);
    expect(Object.keys(summaries)).toEqual(['css', 'text', 'all']);
    expect(summaries.text.find((summary) => summary.variant === 'v=1 n=40')?.pairs).toBe(1);
    expect(summaries.all.map((summary) => summary.variant)).toEqual(['v=1 n=40', 'x=1 n=40', 'served n=40', 'v=1 n=256', 'x=1 n=256', 'served n=256']);
  });

  it('compares larger block counts with n=40 on the same pairs and says whether they save much', () => {
    const [finding] = largerBlockCountFindings(pairs, 'x1');
    expect(finding).toMatchObject({ setting: 'n=256', baselineBytes: 1550, settingBytes: 1550, savedPercent: 0, pairsSmaller: 1, pairsLarger: 2, requestGrowthBytes: 216 });
    expect(largerBlockCountVerdict([finding])).toMatch(/n=256, saves 0.0% .* not much more/);
  });
});

describe('measurePair', () => {
  it('counts the If-Block line plus a delta that decodes to new, beside gzip-6 and brotli-11', () => {
    const words = ['delta', 'page', 'cache', 'browser', 'block', 'hash', 'server', 'wire', 'bytes', 'brotli'];
    let state = 1;
    const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
    const old = Buffer.from(Array.from({ length: 4000 }, () => `${words[next() % words.length]}${next() % 1000}`).join(' '));
    const edited = Buffer.concat([old.subarray(0, 9000), Buffer.from('<an edit in the middle of the page>'), old.subarray(9000)]);
    const measured = measurePair({ name: 'p', category: 'text', contentType: 'text/plain', old, new: edited, baselines: { dcb: 77 } }, getDefaultEngine());
    expect(measured.dcb).toBe(77);
    expect(measured.gzip6).toBeGreaterThan(0);
    expect(measured.br11).toBeGreaterThan(0);
    const n40 = measured.crcsync!.find((entry) => entry.setting === 'n=40')!;
    expect(n40.v1.requestBytes).toBe(ifBlockLineBytes(`v=1; fs=${old.length}; h=${'A'.repeat(427)}`));
    expect(n40.x1.requestBytes).toBe(n40.v1.requestBytes + '; x=1'.length);
    expect(n40.v1.totalBytes).toBe(n40.v1.requestBytes + n40.v1.deltaBytes);
    // A small edit: the delta is mostly block references, far below the compressed body.
    expect(n40.x1.deltaBytes).toBeLessThan(measured.br11 / 4);
    expect(n40.served).toMatchObject({ body: 'delta', totalBytes: n40.x1.totalBytes });
    expect(measured.crcsync!.map((entry) => entry.blockCount)).toEqual([40, 128, 256, 40]);
  });

  it('leaves crcsync out for a cached copy too small to offer', () => {
    const tiny = Buffer.from('tiny');
    expect(measurePair({ name: 't', category: 'other', contentType: undefined, old: tiny, new: tiny, baselines: undefined }, getDefaultEngine()).crcsync).toBeNull();
  });
});
