// `npm run bench:native [-- --rounds N --min-ms MS --corpus DIR --no-count]`:
// the WASM core's CRC-64 kernels beside the same kernels in C
// (scripts/native/crc64.c, a line-for-line port), compiled in this run with
// the system's C compiler (`cc -O2`). First both must agree: the same block
// hashes and the same matches on every input. Then each kernel is timed on
// the same bytes, WASM and native alternating within each round (STYLE.md
// habit 4): median MB/s and the median per-round WASM ÷ native ratio
// (issue 12's goal: >= 0.8). Where valgrind is installed, instructions per
// byte of both sides say why they differ. Writes bench/native.md and
// bench/native.json.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { wasmCoreBytes } from '../src/core/embedded-core';
import { compileCore, createWasmEngine } from '../src/core/wasm-engine';
import { CorpusPair, readCorpus } from './bench-wire/corpus';
import { median } from './bench-wire/stats';
import { checkHashes, checkMatches } from './native/equality';
import { COUNTED_BYTES, InstructionCountError, countInstructions, hasValgrind, instructionsPerByte } from './native/instructions';
import { mbPerSecond } from './bench-timing';
import { BenchInputs, Kernel, buildKernels, prepareInputs } from './native/kernels';
import { NATIVE_CFLAGS, compileNative, findCompiler } from './native/native-core';
import { KernelResult, NativeReportInfo, renderNativeReport } from './native/report';

const ROOT = resolve(__dirname, '..');

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    'min-ms': { type: 'string', default: '200' },
    corpus: { type: 'string', default: resolve(ROOT, '../shared/corpus') },
    out: { type: 'string', default: join(ROOT, 'bench') },
    'no-count': { type: 'boolean', default: false },
    // Internal: run one WASM kernel `runs` times and exit (this script under valgrind).
    'count-kernel': { type: 'string' },
    runs: { type: 'string', default: '1' },
  },
});

function loadCorpus(): CorpusPair[] {
  return existsSync(values.corpus!) ? readCorpus(values.corpus!).filter((pair) => pair.old.length >= 256) : [];
}

/** Same block hashes and same matches on every input, or the bench stops here. */
function checkEquality(binary: string, engine: ReturnType<typeof createWasmEngine>, inputs: BenchInputs): string[] {
  const { page, worst, shuffled, large, corpusPairs } = inputs;
  const hashInputs = [
    { label: 'typical old', body: page.old, file: page.oldFile },
    { label: 'typical new', body: page.new, file: page.newFile },
    { label: 'worst old', body: worst.old, file: worst.oldFile },
    { label: '4 MiB random', body: large.body, file: large.file },
    ...corpusPairs.map((pair) => ({ label: `${pair.name} old`, body: pair.old, file: pair.oldFile })),
  ];
  const blockCounts = [1, 2, 3, 40, 127, 255, 256];
  let hashCases = 0;
  for (const input of hashInputs) {
    for (const blockCount of blockCounts.filter((count) => input.body.length >= count)) {
      checkHashes(binary, engine, input.body, input.file, blockCount, input.label);
      hashCases++;
    }
  }
  let matchCases = 0;
  let matches = 0;
  for (const [label, pair] of [['typical', page], ['worst', worst], ['shuffled', shuffled], ...corpusPairs.map((entry) => [entry.name, entry] as const)] as const) {
    for (const blockCount of [40, 256].filter((count) => pair.old.length >= count * 5)) {
      matches += checkMatches(binary, engine, pair, blockCount, label);
      matchCases++;
    }
  }
  if (checkMatches(binary, engine, worst, 40, 'worst') !== 0) throw new Error('the worst case found a match: it would not be the worst case');
  return [
    `block hashes equal: ${hashCases} (input, n) cases (n = ${blockCounts.join(', ')} over ${hashInputs.length} inputs)`,
    `matches equal (same end offset, block, length): ${matchCases} (pair, n) cases, ${matches} matches (n = 40 and 256: the typical page, the worst case, a shuffled page, every corpus pair); none in the worst case`,
  ];
}

interface Samples {
  wasm: number[];
  engine: number[];
  native: number[];
}

/** Interleaved rounds: in each, every kernel is timed on both sides, alternating which side goes first. */
function timeRounds(kernels: readonly Kernel[], binary: string, rounds: number, minMs: number): Samples[] {
  const samples = kernels.map((): Samples => ({ wasm: [], engine: [], native: [] }));
  // Warm-up: V8 compiles WASM with Liftoff first and tiers up to TurboFan in the background.
  kernels.forEach((kernel) => {
    for (let i = 0; i < 3; i++) {
      kernel.wasm();
      kernel.engine();
    }
  });
  for (let round = 0; round < rounds; round++) {
    kernels.forEach((kernel, index) => {
      const native = () => {
        const timing = kernel.native(binary, minMs);
        samples[index].native.push(timing.bytes / timing.seconds / 1e6);
      };
      const wasm = () => samples[index].wasm.push(mbPerSecond(kernel.wasm, kernel.bytesPerRun, minMs));
      if (round % 2) {
        native();
        wasm();
      } else {
        wasm();
        native();
      }
      samples[index].engine.push(mbPerSecond(kernel.engine, kernel.bytesPerRun, minMs));
    });
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  return samples;
}

/** Instructions per byte of each kernel, WASM (TurboFan code, as after tier-up) and C, under valgrind. */
function countKernels(kernels: readonly Kernel[], binary: string): Array<{ wasm: number; native: number } | null> {
  return kernels.map((kernel, index) => {
    try {
      const wasm = instructionsPerByte(
        (runs) => countInstructions(process.execPath, ['--no-liftoff', '--single-threaded', process.argv[1], '--count-kernel', String(index), '--runs', String(runs), '--corpus', values.corpus!]),
        kernel.bytesPerRun,
      );
      const native = instructionsPerByte((runs) => countInstructions(binary, kernel.nativeCountArgs(runs)), kernel.bytesPerRun);
      process.stderr.write('i');
      return { wasm, native };
    } catch (error) {
      // Under valgrind the address space is smaller: a kernel of many WASM instances (the whole corpus) may not fit.
      if (!(error instanceof InstructionCountError)) throw error;
      console.warn(`instructions not counted for "${kernel.label}": ${error.message.split('\n').find((line) => /Error/.test(line)) ?? error.message.slice(0, 200)}`);
      return null;
    }
  });
}

/** The --count-kernel mode: this process only runs one WASM kernel a fixed number of times. */
function runOneKernel(index: number, runs: number): void {
  const module = compileCore(wasmCoreBytes());
  const work = mkdtempSync(join(tmpdir(), 'crcsync-native-count-'));
  try {
    const kernel = buildKernels(module, createWasmEngine(module), prepareInputs(loadCorpus(), work))[index];
    for (let run = 0; run < runs; run++) kernel.wasm();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function main(): void {
  if (values['count-kernel'] !== undefined) return runOneKernel(Number(values['count-kernel']), Number(values.runs));
  const rounds = Number(values.rounds);
  const minMs = Number(values['min-ms']);
  const outDir = values.out!;
  mkdirSync(outDir, { recursive: true });
  const info: NativeReportInfo = {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}`,
    loadAverageBefore: loadavg(),
    loadAverageAfter: [],
    compiler: null,
    cflags: [...NATIVE_CFLAGS],
    rounds,
    minMs,
    checks: [],
    instructionCounts: null,
  };
  const write = (results: readonly KernelResult[]) => {
    const markdown = renderNativeReport(info, results);
    writeFileSync(join(outDir, 'native.md'), markdown);
    writeFileSync(join(outDir, 'native.json'), `${JSON.stringify({ ...info, kernels: results }, null, 1)}\n`);
    console.log(markdown);
    console.log(`written to ${join(outDir, 'native.md')} and native.json`);
  };

  const compiler = findCompiler();
  if (!compiler) {
    info.loadAverageAfter = loadavg();
    return write([]);
  }
  info.compiler = compiler.version;
  const binary = compileNative(compiler, join(ROOT, 'scripts/native/crc64.c'));
  const work = mkdtempSync(join(tmpdir(), 'crcsync-native-inputs-'));
  try {
    const module = compileCore(wasmCoreBytes());
    const engine = createWasmEngine(module);
    const inputs = prepareInputs(loadCorpus(), work);
    info.checks = checkEquality(binary, engine, inputs);
    const kernels = buildKernels(module, engine, inputs);
    const samples = timeRounds(kernels, binary, rounds, minMs);
    info.loadAverageAfter = loadavg();
    const counts = !values['no-count'] && hasValgrind() ? countKernels(kernels, binary) : null;
    info.instructionCounts = counts ? `valgrind --tool=callgrind: (Ir at 1 + k runs - Ir at 1 run) / (k × bytes per run), k runs covering >= ${COUNTED_BYTES / 1e6} MB; WASM under node --no-liftoff --single-threaded (the TurboFan code the timed rounds run after tier-up, without background threads)` : null;
    write(
      kernels.map((kernel, index): KernelResult => {
        const sample = samples[index];
        return {
          group: kernel.group,
          role: kernel.role,
          label: kernel.label,
          bytesPerRun: kernel.bytesPerRun,
          wasmMBps: median(sample.wasm),
          engineMBps: median(sample.engine),
          nativeMBps: median(sample.native),
          wasmToNative: median(sample.wasm.map((rate, round) => rate / sample.native[round])),
          engineToNative: median(sample.engine.map((rate, round) => rate / sample.native[round])),
          instructionsPerByte: counts ? counts[index] : null,
          samples: sample,
        };
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(dirname(binary), { recursive: true, force: true });
  }
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
}
