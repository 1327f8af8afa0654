// Every thread of a serving process but its event loop yields to the loop
// (thread-priority.ts): which threads are lowered, by how much, and once.
// The real process is checked through /proc in serve-command.test.ts.

import { HelperThreadPriority, ThreadPriorityOps } from '../../src/server/thread-priority';

function fakeThreads(priorities: Record<number, number>, loopThread = 100): ThreadPriorityOps & { priorities: Record<number, number>; sets: number } {
  const ops = {
    priorities,
    sets: 0,
    loopThread,
    threads: () => Object.keys(ops.priorities).map(Number),
    getPriority: (thread: number) => {
      if (!(thread in ops.priorities)) throw new Error('ESRCH');
      return ops.priorities[thread]!;
    },
    setPriority: (thread: number, priority: number) => {
      if (!(thread in ops.priorities)) throw new Error('ESRCH');
      ops.sets++;
      ops.priorities[thread] = priority;
    },
  };
  return ops;
}

describe('HelperThreadPriority', () => {
  it("puts every thread but the loop's the given steps below the loop", () => {
    const threads = fakeThreads({ 100: 0, 101: 0, 102: 0, 103: 0 });
    expect(new HelperThreadPriority(5, threads).apply()).toBe(3);
    expect(threads.priorities).toEqual({ 100: 0, 101: 5, 102: 5, 103: 5 });
  });

  it("counts from the loop's own priority, and stops at 19", () => {
    const threads = fakeThreads({ 100: 3, 101: 3, 102: 3 });
    new HelperThreadPriority(5, threads).apply();
    expect(threads.priorities).toEqual({ 100: 3, 101: 8, 102: 8 });
    const low = fakeThreads({ 100: 17, 101: 17 });
    new HelperThreadPriority(5, low).apply();
    expect(low.priorities).toEqual({ 100: 17, 101: 19 });
  });

  it('finds threads started later, and leaves alone a thread already done or already lower', () => {
    const threads = fakeThreads({ 100: 0, 101: 0, 102: 12 });
    const priority = new HelperThreadPriority(5, threads);
    expect(priority.apply()).toBe(1);
    threads.priorities[101] = 1; // an operator reniced it since
    threads.priorities[104] = 0; // the literal-deflate thread starts
    expect(priority.apply()).toBe(1);
    expect(threads.priorities).toEqual({ 100: 0, 101: 1, 102: 12, 104: 5 });
  });

  it('skips a thread that exits between the listing and the call', () => {
    const threads = fakeThreads({ 100: 0, 101: 0, 102: 0 });
    const listed = threads.threads;
    threads.threads = () => {
      const ids = listed();
      delete threads.priorities[101];
      return ids;
    };
    expect(new HelperThreadPriority(5, threads).apply()).toBe(1);
    expect(threads.priorities).toEqual({ 100: 0, 102: 5 });
  });

  it('changes nothing with 0 steps', () => {
    const threads = fakeThreads({ 100: 0, 101: 0 });
    expect(new HelperThreadPriority(0, threads).apply()).toBe(0);
    expect(threads.sets).toBe(0);
  });
});
