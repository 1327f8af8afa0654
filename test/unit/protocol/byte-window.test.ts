// ByteWindow (byte-buffers.ts): the scanner's window of pending bytes, whose
// storage passes to the next window when one is released. Checked against a
// plain array model, with several windows alive at once and released in any
// order, so reused storage can never show one window's bytes in another.

import fc from 'fast-check';
import { ByteWindow } from '../../../src/protocol/byte-buffers';

/** One window beside its model: the bytes at absolute offsets [start, end). */
interface Tracked {
  window: ByteWindow;
  model: number[];
  start: number;
}

const step = fc.oneof(
  fc.record({ kind: fc.constant('open' as const) }),
  fc.record({ kind: fc.constant('append' as const), which: fc.nat(), bytes: fc.uint8Array({ maxLength: 90_000 }) }),
  fc.record({ kind: fc.constant('discard' as const), which: fc.nat(), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('release' as const), which: fc.nat() }),
);

function expectSame(tracked: Tracked): void {
  const { window, model, start } = tracked;
  expect(window.start).toBe(start);
  expect(window.end).toBe(start + model.length);
  expect(Array.from(window.view(start, start + model.length))).toEqual(model);
}

describe('ByteWindow', () => {
  it('holds exactly its own bytes, however windows before it were used and released', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const open: Tracked[] = [];
        for (const action of steps) {
          if (action.kind === 'open' || open.length === 0) {
            open.push({ window: new ByteWindow(), model: [], start: 0 });
            continue;
          }
          const index = action.which % open.length;
          const tracked = open[index]!;
          if (action.kind === 'append') {
            tracked.window.append(action.bytes);
            tracked.model.push(...action.bytes);
          } else if (action.kind === 'discard') {
            const drop = Math.floor(tracked.model.length * action.fraction);
            tracked.window.discardBefore(tracked.start + drop);
            tracked.model.splice(0, drop);
            tracked.start += drop;
          } else {
            tracked.window.release();
            open.splice(index, 1);
          }
          for (const each of open) expectSame(each);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('starts empty on reused storage', () => {
    const first = new ByteWindow();
    first.append(new Uint8Array(50_000).fill(7));
    first.release();
    const second = new ByteWindow();
    expect(second.end).toBe(0);
    second.append(Uint8Array.of(1, 2, 3));
    expect(Array.from(second.view(0, 3))).toEqual([1, 2, 3]);
  });
});
