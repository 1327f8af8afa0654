// The kernels `npm run bench:native` compares, each runnable three ways on the
// same bytes: the WASM core through its raw exports, the WASM engine the
// adapters use, and the C port (timed in its own process, or run a fixed
// number of times for an instruction count).

import { CrcEngine } from '../../src/core/crc-engine';
import { CorpusPair } from '../bench-wire/corpus';
import { randomBytes, syntheticPair, typicalPair, writeInput } from './inputs';
import { NativeTiming, nativeBenchHash, nativeBenchMatch } from './native-core';
import { WasmHashKernel, WasmMatchKernel } from './wasm-kernels';

export interface FilePair {
  old: Uint8Array;
  new: Uint8Array;
  oldFile: string;
  newFile: string;
}

/** Everything the bench checks and times, with the files the C side reads. */
export interface BenchInputs {
  pageName: string;
  page: FilePair;
  corpusPairs: Array<FilePair & { name: string }>;
  worst: FilePair;
  /** A page rebuilt from moved, dropped and edited blocks of its old version: many matches, every matcher branch. */
  shuffled: FilePair;
  large: { body: Uint8Array; file: string };
}

export function prepareInputs(corpus: readonly CorpusPair[], work: string): BenchInputs {
  const typical = typicalPair(corpus) ?? syntheticPair();
  const withFiles = (name: string, pair: { old: Uint8Array; new: Uint8Array }): FilePair => ({
    old: pair.old,
    new: pair.new,
    oldFile: writeInput(work, `${name}.old`, pair.old),
    newFile: writeInput(work, `${name}.new`, pair.new),
  });
  const page = withFiles('typical', typical);
  const large = randomBytes(4 << 20, 7);
  return {
    pageName: typical.name,
    page,
    corpusPairs: corpus.map((pair, index) => ({ name: pair.name, ...withFiles(`corpus-${index}`, pair) })),
    worst: withFiles('worst', { old: randomBytes(80013, 8), new: randomBytes(2 << 20, 9) }),
    shuffled: withFiles('shuffled', {
      old: page.old,
      new: Buffer.concat([
        page.old.subarray(Math.floor(page.old.length * 0.2), Math.floor(page.old.length * 0.4)),
        Buffer.from('inserted'),
        page.old.subarray(0, Math.floor(page.old.length * 0.2) - 1),
        page.old.subarray(page.old.length - 7_000),
        page.old.subarray(Math.floor(page.old.length * 0.4) + 1, Math.floor(page.old.length * 0.6)),
      ]),
    }),
    large: { body: large, file: writeInput(work, 'large', large) },
  };
}

export interface Kernel {
  group: 'hashing' | 'matching';
  /** typical / worst: what the headline quotes; context rows explain them. */
  role: 'typical' | 'worst' | 'context';
  label: string;
  bytesPerRun: number;
  /** The raw WASM kernel, input already in linear memory. */
  wasm: () => void;
  /** The engine adapters use (copies the input in, JS glue): the figure a user gets. */
  engine: () => void;
  /** The C kernel timed in its own process for at least minMs. */
  native: (binary: string, minMs: number) => NativeTiming;
  /** crc64's arguments to run it exactly `runs` times (instruction counts). */
  nativeCountArgs: (runs: number) => string[];
}

const kb = (bytes: number) => `${Math.round(bytes / 1000)} KB`;

export function buildKernels(module: WebAssembly.Module, engine: CrcEngine, inputs: BenchInputs): Kernel[] {
  const hashKernel = (role: Kernel['role'], label: string, body: Uint8Array, file: string, blockCount: number): Kernel => {
    // Instances are made on first use: a process that runs one kernel (under valgrind) makes only its own.
    let wasm: WasmHashKernel | null = null;
    return {
      group: 'hashing',
      role,
      label,
      bytesPerRun: body.length,
      wasm: () => void (wasm ??= new WasmHashKernel(module, body)).hash(blockCount),
      engine: () => void engine.blockHashes(body, blockCount),
      native: (binary, ms) => nativeBenchHash(binary, ms, blockCount, file),
      nativeCountArgs: (runs) => ['count-hash', String(runs), String(blockCount), file],
    };
  };
  const matchKernel = (role: Kernel['role'], label: string, pairs: readonly FilePair[], blockCount: number): Kernel => {
    const prepared = pairs.map((pair) => ({ pair, hashes: engine.blockHashes(pair.old, blockCount) }));
    let kernels: WasmMatchKernel[] | null = null;
    return {
      group: 'matching',
      role,
      label,
      bytesPerRun: pairs.reduce((sum, pair) => sum + pair.new.length, 0),
      wasm: () => (kernels ??= prepared.map(({ pair, hashes }) => new WasmMatchKernel(module, hashes, pair.old.length, pair.new))).forEach((kernel) => kernel.match()),
      engine: () =>
        prepared.forEach(({ pair, hashes }) => {
          const matcher = engine.createMatcher(hashes, pair.old.length);
          matcher.scan(pair.new, () => undefined);
          matcher.dispose();
        }),
      native: (binary, ms) => nativeBenchMatch(binary, ms, blockCount, pairs),
      nativeCountArgs: (runs) => ['count-match', String(runs), String(blockCount), ...pairs.flatMap((pair) => [pair.oldFile, pair.newFile])],
    };
  };
  const { page, corpusPairs, worst, large } = inputs;
  const corpusBytes = corpusPairs.reduce((sum, pair) => sum + pair.new.length, 0);
  return [
    hashKernel('typical', `page ${inputs.pageName} (old, ${kb(page.old.length)}), n=40`, page.old, page.oldFile, 40),
    hashKernel('context', 'same page, n=256 (small blocks)', page.old, page.oldFile, 256),
    hashKernel('context', '4 MiB random, n=40 (bench/core.md)', large.body, large.file, 40),
    matchKernel('typical', `page ${inputs.pageName} (new ${kb(page.new.length)} vs old's 40 hashes)`, [page], 40),
    ...(corpusPairs.length ? [matchKernel('context', `whole corpus: ${corpusPairs.length} pairs, ${kb(corpusBytes)} (bench/core.md typical)`, corpusPairs, 40)] : []),
    matchKernel('worst', 'worst (bench/core.md): 2 MiB random vs 40 unrelated blocks (bs 2000, tail 2013)', [worst], 40),
  ];
}

