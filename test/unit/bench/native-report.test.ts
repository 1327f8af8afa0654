// What bench/native.md says: the headline ratios, the goal verdict per
// kernel, the reasons when WASM falls short, and an honest line when there
// is no C compiler. Plus the instruction-count arithmetic behind it.

import { COUNTED_BYTES, countedRuns, instructionsPerByte } from '../../../scripts/native/instructions';
import { KernelResult, NativeReportInfo, renderNativeReport } from '../../../scripts/native/report';

const info: NativeReportInfo = {
  date: '2026-12-03T00:00:00.000Z',
  node: 'v20.0.0',
  v8: '11.3',
  cpu: '2 x test CPU',
  loadAverageBefore: [1.5, 1, 1],
  loadAverageAfter: [2, 1, 1],
  compiler: 'cc 12',
  cflags: ['-O2'],
  rounds: 3,
  minMs: 100,
  checks: ['block hashes equal: 3 cases'],
  instructionCounts: 'valgrind',
};

function kernel(group: KernelResult['group'], role: KernelResult['role'], ratio: number, counts: KernelResult['instructionsPerByte'] = null): KernelResult {
  return { group, role, label: `${group} ${role}`, bytesPerRun: 1000, wasmMBps: 1000 * ratio, engineMBps: 900 * ratio, nativeMBps: 1000, wasmToNative: ratio, engineToNative: 0.9 * ratio, instructionsPerByte: counts, samples: { wasm: [], engine: [], native: [] } };
}

describe('renderNativeReport', () => {
  it('quotes typical and worst ratios and explains only when a kernel misses 0.8', () => {
    const markdown = renderNativeReport(info, [
      kernel('hashing', 'typical', 0.9),
      kernel('hashing', 'context', 0.85),
      kernel('matching', 'typical', 0.7, { wasm: 8, native: 4 }),
      kernel('matching', 'worst', 0.6),
    ]);
    expect(markdown).toContain('hashing typical 0.90, worst 0.85; matching typical 0.70, worst 0.60');
    expect(markdown).toMatch(/\| hashing \| typical \|.*\| meets \|/);
    expect(markdown).toMatch(/\| matching \| worst \|.*\| below \|/);
    expect(markdown).toContain('## Why WASM falls short');
    expect(markdown).toContain('matching typical 8.0 vs 4.0 (2.00x)');
    expect(markdown).toContain('"–": not counted');
  });

  it('has no "why" section when every kernel meets the goal', () => {
    expect(renderNativeReport(info, [kernel('hashing', 'typical', 0.95), kernel('matching', 'worst', 0.81)])).not.toContain('Why WASM falls short');
  });

  it('says so when there is no C compiler', () => {
    expect(renderNativeReport({ ...info, compiler: null }, [])).toContain('No C compiler (`cc`) on this machine');
  });
});

describe('instruction counts', () => {
  it('take the difference between 1 run and enough runs to cover the counted bytes', () => {
    expect(countedRuns(COUNTED_BYTES)).toBe(3);
    expect(countedRuns(1_000_000)).toBe(1 + COUNTED_BYTES / 1_000_000);
    // 5 instructions per byte on top of a fixed 1e9 for start-up.
    const countAt = (runs: number) => 1e9 + runs * 5 * 250_000;
    expect(instructionsPerByte(countAt, 250_000)).toBeCloseTo(5);
  });
});
