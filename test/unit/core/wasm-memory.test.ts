// Memory of the WASM matcher (PROTOCOL.md §5: bounded memory per request):
// what one matcher holds stays within matcherMemoryBound for its window
// whatever the chunk sizes, matchers hand their instance back, and the idle
// pool keeps only small instances (WebAssembly memory never shrinks).

import { wasmCoreBytes } from '../../../src/core/embedded-core';
import { compileCore, createWasmEngine, matcherMemoryBound } from '../../../src/core/wasm-engine';
import { randomBytes, seededRandom } from '../../helpers/random';

const core = compileCore(wasmCoreBytes());

describe('WASM matcher memory', () => {
  it.each([
    ['5-byte blocks', 200, 40],
    ['2 KiB blocks', 80_013, 40],
    ['the largest honest blocks (fs = 4 MiB, n = 40)', 4 * 1024 * 1024, 40],
    ['the largest accepted window (bs = 128 KiB, tail + 255)', 128 * 1024 * 256 + 255, 256],
  ] as const)('%s: stays within matcherMemoryBound for chunks of any size', (_label, fileSize, blockCount) => {
    const random = seededRandom(fileSize);
    const tail = Math.floor(fileSize / blockCount) + (fileSize % blockCount);
    const hashes = randomBytes(random, blockCount * 8);
    // No match (random hashes): the matcher keeps a whole window while new input keeps coming.
    const engine = createWasmEngine(core);
    const matcher = engine.createMatcher(hashes, fileSize);
    for (const size of [1, 1000, 64 * 1024, 17, 65_535, 300_000, 1024 * 1024, 5]) {
      matcher.scan(randomBytes(random, size), () => undefined);
      expect(matcher.memoryBytes).toBeLessThanOrEqual(matcherMemoryBound(tail));
    }
    expect(engine.memoryStats().liveMatchers).toBe(1);
    matcher.dispose();
    expect(engine.memoryStats().liveMatchers).toBe(0);
    expect(matcher.memoryBytes).toBe(0);
  });

  it('keeps only small instances idle, so a reused instance brings little', () => {
    const engine = createWasmEngine(core);
    const random = seededRandom(3);
    const small = Array.from({ length: 3 }, () => engine.createMatcher(randomBytes(random, 320), 20_000));
    const large = engine.createMatcher(randomBytes(random, 8), 128 * 1024);
    for (const matcher of [...small, large]) matcher.scan(randomBytes(random, 256 * 1024), () => undefined);
    for (const matcher of [...small, large]) matcher.dispose();
    const stats = engine.memoryStats();
    expect(stats.liveMatchers).toBe(0);
    expect(stats.idleInstances).toBe(3); // the one grown for a 128 KiB window was dropped
    expect(stats.idleBytes).toBeLessThanOrEqual(3 * matcherMemoryBound(0));
  });

  it('bounds one matcher at under 512 KiB for every window the server accepts', () => {
    expect(matcherMemoryBound(128 * 1024 + 255)).toBeLessThanOrEqual(512 * 1024);
    expect(matcherMemoryBound(5)).toBe(256 * 1024);
  });
});
