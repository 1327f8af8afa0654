// The server deflates short literal runs inline only while its event loop
// has room (loop-load.ts): a loop kept running reads as busy, an idle one not.
import { setTimeout as sleep } from 'node:timers/promises';
import { LoopLoad } from '../../src/server/loop-load';

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // keep the loop running
  }
}

describe('LoopLoad', () => {
  it('reads a loop that ran all the last window as busy, and an idle one as not', async () => {
    const load = new LoopLoad();
    await sleep(150);
    expect(load.busy()).toBe(false);
    spin(150);
    expect(load.busy()).toBe(true);
    // Within the next window the last reading stands.
    expect(load.busy()).toBe(true);
    await sleep(250);
    expect(load.busy()).toBe(false);
  });
});
