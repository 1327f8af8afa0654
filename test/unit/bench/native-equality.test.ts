// The C port of the core's kernels (scripts/native/crc64.c) gives what the
// WASM core gives: the same block hashes and the same matches, or the native
// bench would compare different work. Needs a C compiler: skipped with a
// warning where there is none.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { NativeMismatchError, checkHashes, checkMatches } from '../../../scripts/native/equality';
import { randomBytes, writeInput } from '../../../scripts/native/inputs';
import { compileNative, findCompiler } from '../../../scripts/native/native-core';
import { WasmHashKernel, WasmMatchKernel } from '../../../scripts/native/wasm-kernels';
import { getDefaultEngine, wasmCoreBytes } from '../../../src/core/embedded-core';
import { compileCore } from '../../../src/core/wasm-engine';

const compiler = findCompiler();
const describeWithCompiler = compiler ? describe : describe.skip;
if (!compiler) console.warn('native-equality: no C compiler (cc): the C-vs-WASM check is skipped');

describeWithCompiler('C port vs WASM core', () => {
  let binary: string;
  let work: string;
  beforeAll(() => {
    binary = compileNative(compiler!, resolve(__dirname, '../../../scripts/native/crc64.c'));
    work = mkdtempSync(join(tmpdir(), 'native-equality-'));
  });
  afterAll(() => {
    rmSync(dirname(binary), { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  // A page whose new version moves, drops and edits blocks, with a tail block (fs mod n != 0).
  const old = randomBytes(30_011, 3);
  const body = Buffer.concat([old.subarray(12_000, 20_000), Buffer.from('edit'), old.subarray(0, 11_999), randomBytes(20_000, 4), old.subarray(old.length - 900)]);

  it('gives the same block hashes for 1 to 256 blocks', () => {
    const file = writeInput(work, 'old', old);
    for (const blockCount of [1, 2, 3, 7, 40, 255, 256]) checkHashes(binary, getDefaultEngine(), old, file, blockCount, 'old');
  });

  it('finds the same blocks at the same offsets, through the engine and through the raw exports', () => {
    const pair = { old, new: body, oldFile: writeInput(work, 'pair.old', old), newFile: writeInput(work, 'pair.new', body) };
    expect(checkMatches(binary, getDefaultEngine(), pair, 40, 'edited')).toBeGreaterThan(10);
    checkMatches(binary, getDefaultEngine(), pair, 256, 'edited');
    // The raw-export driver the bench times finds what the engine finds.
    const module = compileCore(wasmCoreBytes());
    const hashes = new WasmHashKernel(module, old).hash(40).slice();
    const found: number[] = [];
    new WasmMatchKernel(module, hashes, old.length, body).match((block) => found.push(block.end));
    const again: number[] = [];
    new WasmMatchKernel(module, hashes, old.length, body).match((block) => again.push(block.end));
    expect(found.length).toBeGreaterThan(10);
    expect(again).toEqual(found);
  });

  it('reports a difference as a mismatch', () => {
    const other = randomBytes(old.length, 5);
    const file = writeInput(work, 'other', other);
    expect(() => checkHashes(binary, getDefaultEngine(), old, file, 40, 'swapped')).toThrow(NativeMismatchError);
  });
});
