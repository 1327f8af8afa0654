// The one timing loop of the core benches (scripts/bench.ts, bench:native).

/** MB/s of `fn`, called until at least `minMs` have passed (each call processes `bytesPerRun` bytes). */
export function mbPerSecond(fn: () => void, bytesPerRun: number, minMs: number): number {
  let runs = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    fn();
    runs++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < minMs / 1000);
  return (bytesPerRun * runs) / elapsed / 1e6;
}
