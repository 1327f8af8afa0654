// The C port of the core's kernels (crc64.c): compiled with the system's C
// compiler in the same run, driven through its small command line. Used by
// `npm run bench:native` and by the C-vs-WASM equality test.

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The flags the bench compiles with (issue 12: "cc -O2"). */
export const NATIVE_CFLAGS: readonly string[] = ['-O2'];

export class NativeCoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NativeCoreError';
  }
}

export interface NativeCompiler {
  command: string;
  /** First line of `cc --version`. */
  version: string;
}

/** The system C compiler (`cc`, or $CC), or null when there is none. */
export function findCompiler(command = process.env.CC ?? 'cc'): NativeCompiler | null {
  const result = spawnSync(command, ['--version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return null;
  return { command, version: result.stdout.split('\n')[0].trim() };
}

/** Compiles `source` (scripts/native/crc64.c) into a fresh temporary directory; returns the binary's path. */
export function compileNative(compiler: NativeCompiler, source: string, flags: readonly string[] = NATIVE_CFLAGS): string {
  const binary = join(mkdtempSync(join(tmpdir(), 'crcsync-native-')), 'crc64');
  const result = spawnSync(compiler.command, [...flags, '-o', binary, source], { encoding: 'utf8' });
  if (result.error || result.status !== 0) throw new NativeCoreError(`${compiler.command} ${flags.join(' ')} ${source} failed: ${result.error?.message ?? result.stderr}`);
  return binary;
}

function run(binary: string, args: readonly string[]): string {
  const result = spawnSync(binary, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error || result.status !== 0) throw new NativeCoreError(`${binary} ${args.slice(0, 3).join(' ')}: ${result.error?.message ?? `exit ${result.status}: ${result.stderr}`}`);
  return result.stdout;
}

/** n block hashes of the file, 8 bytes little-endian each: the layout of CrcEngine.blockHashes. */
export function nativeBlockHashes(binary: string, file: string, blockCount: number): Uint8Array {
  const lines = run(binary, ['hashes', String(blockCount), file]).trim().split('\n');
  const out = new Uint8Array(blockCount * 8);
  const view = new DataView(out.buffer);
  lines.forEach((line, index) => view.setBigUint64(index * 8, BigInt(`0x${line}`), true));
  return out;
}

/** One block found in the new body: `end` is the offset just past it (the MatchListener's arguments). */
export interface FoundBlock {
  end: number;
  block: number;
  length: number;
}

/** Every block the C matcher finds in `newFile` against `oldFile`'s n block hashes. */
export function nativeMatches(binary: string, blockCount: number, oldFile: string, newFile: string): FoundBlock[] {
  const text = run(binary, ['match', String(blockCount), oldFile, newFile]).trim();
  if (!text) return [];
  return text.split('\n').map((line) => {
    const [end, block, length] = line.split(' ').map(Number);
    return { end, block, length };
  });
}

/** One timed native round: `bytes` processed in `seconds` (the kernel repeated for at least the asked time). */
export interface NativeTiming {
  bytes: number;
  seconds: number;
  runs: number;
}

function parseTiming(text: string): NativeTiming {
  const [bytes, seconds, runs] = text.trim().split(' ').map(Number);
  if (!(bytes > 0 && seconds > 0 && runs > 0)) throw new NativeCoreError(`unexpected timing line: ${text}`);
  return { bytes, seconds, runs };
}

export function nativeBenchHash(binary: string, minMs: number, blockCount: number, file: string): NativeTiming {
  return parseTiming(run(binary, ['bench-hash', String(minMs), String(blockCount), file]));
}

/** Matches every pair's new against its old's hashes (hashed outside the timing), repeated for at least minMs. */
export function nativeBenchMatch(binary: string, minMs: number, blockCount: number, pairs: ReadonlyArray<{ oldFile: string; newFile: string }>): NativeTiming {
  return parseTiming(run(binary, ['bench-match', String(minMs), String(blockCount), ...pairs.flatMap((pair) => [pair.oldFile, pair.newFile])]));
}
