// Instructions per byte of a kernel, counted with valgrind (callgrind's Ir):
// the profile that says why one side is slower when timing alone cannot —
// this VM exposes no hardware counters to perf. The process runs the kernel
// `low` and then `high` times; the difference cancels start-up, compilation
// and input preparation, leaving the kernel's own instructions.

import { spawnSync } from 'node:child_process';

export class InstructionCountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstructionCountError';
  }
}

export function hasValgrind(): boolean {
  const result = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  return !result.error && result.status === 0;
}

/** Instructions executed by `command args` under callgrind (the "Collected" line). */
export function countInstructions(command: string, args: readonly string[]): number {
  const result = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', command, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const match = /Collected\s*:\s*([0-9]+)/.exec(result.stderr ?? '');
  if (result.error || result.status !== 0 || !match) throw new InstructionCountError(`valgrind ${command} ${args.slice(0, 4).join(' ')}: ${result.error?.message ?? result.stderr?.slice(-500)}`);
  return Number(match[1]);
}

/**
 * Bytes the extra runs must cover: a node process's own count varies by a
 * few million instructions from run to run even single-threaded, which must
 * stay small beside the kernel's (measured: ±3 M against ~8 per byte).
 */
export const COUNTED_BYTES = 32_000_000;

/** Runs for the second count: enough extra runs to cover COUNTED_BYTES. */
export const countedRuns = (bytesPerRun: number) => 1 + Math.max(2, Math.ceil(COUNTED_BYTES / bytesPerRun));

/** (count at `high` runs - count at 1 run) / ((high - 1) × bytes per run). */
export function instructionsPerByte(countAt: (runs: number) => number, bytesPerRun: number, high = countedRuns(bytesPerRun)): number {
  return (countAt(high) - countAt(1)) / ((high - 1) * bytesPerRun);
}
