// The in-memory copies of stored bases (extension/background/hot-bodies.ts)
// and the phases of a delta exchange (extension/background/exchange-phases.ts).
// What only Firefox can show (real events, the store kept in step) is in
// test/e2e/exchange-phases.test.ts.

import { PHASE_NAMES, PhaseClock, phasesOf } from '../../../extension/background/exchange-phases';
import { HotBodies } from '../../../extension/background/hot-bodies';
import { nobleSha1 } from '../../../src/protocol/sha1';

const bytes = (length: number, fill = 1) => new Uint8Array(length).fill(fill);

describe('HotBodies', () => {
  it('gives a body back only for the storedAt it was held under', () => {
    const hot = new HotBodies(1000);
    const body = bytes(100);
    hot.put('k', 5, body);
    expect(hot.get('k', 5)).toBe(body);
    expect(hot.get('k', 6)).toBeNull(); // replaced on disk since: not this one
    expect(hot.get('other', 5)).toBeNull();
  });

  it('keeps at most its cap, letting the least recently used go first', () => {
    const hot = new HotBodies(300);
    hot.put('a', 1, bytes(100));
    hot.put('b', 1, bytes(100));
    hot.put('c', 1, bytes(100));
    expect(hot.get('a', 1)).not.toBeNull(); // a is now the most recently used
    hot.put('d', 1, bytes(100));
    expect(hot.get('b', 1)).toBeNull();
    expect(['a', 'c', 'd'].map((key) => hot.get(key, 1) !== null)).toEqual([true, true, true]);
    expect(hot.bytes).toBe(300);
  });

  it('never holds a body over the cap, and a new body for a key replaces the old one', () => {
    const hot = new HotBodies(100);
    hot.put('k', 1, bytes(50));
    hot.put('k', 2, bytes(101));
    expect(hot.get('k', 1)).toBeNull();
    expect(hot.get('k', 2)).toBeNull();
    expect(hot.bytes).toBe(0);
    hot.put('k', 3, bytes(60));
    hot.put('k', 4, bytes(70));
    expect(hot.entries().map(({ key, storedAt }) => [key, storedAt])).toEqual([['k', 4]]);
    expect(hot.bytes).toBe(70);
  });

  it('forgets a deleted key at once', () => {
    const hot = new HotBodies(1000);
    hot.put('k', 1, bytes(10));
    hot.delete('k');
    hot.delete('never-held');
    expect(hot.get('k', 1)).toBeNull();
    expect(hot.bytes).toBe(0);
  });
});

describe('phasesOf', () => {
  function completeClock(): PhaseClock {
    const clock = new PhaseClock();
    Object.assign(clock, {
      requestAt: 1000,
      requestEventEpochMs: 5_000,
      requestSeenEpochMs: 5_001,
      offeredAt: 1000.5,
      headersAt: 1020,
      headersEventEpochMs: 5_019,
      headersSeenEpochMs: 5_021,
      headersDoneAt: 1020.75,
      baseReadStartAt: 1000.2,
      baseReadyAt: 1004,
      baseFromMemory: 0,
      filterStartAt: 1050,
      firstByteAt: 1051,
      lastByteAt: 1060,
      lastDataDoneAt: 1061,
      stopAt: 1063,
      decodeMs: 4,
      verifyMs: 1.5,
      firstReleaseAt: 1058,
      verifiedAt: 1064,
      writtenAt: 1065,
      afterWriteMs: 0.25,
    });
    return clock;
  }

  it('turns the marks into the documented phases; ownMs is the listeners, their dispatch and the tail after the last byte, less the wait for the response to end', () => {
    const phases = phasesOf(completeClock())!;
    expect(phases).toEqual({
      offerMs: 0.5,
      offerDispatchMs: 1,
      waitNetworkMs: 19.5,
      headersMs: 0.75,
      headersDispatchMs: 2,
      baseReadMs: 3.8,
      baseFromMemory: 0,
      baseWaitMs: 0,
      filterStartMs: 50,
      firstByteMs: 51,
      lastByteMs: 60,
      stopGapMs: 3,
      endWaitMs: 2,
      decodeMs: 4,
      verifyMs: 1.5,
      firstReleaseMs: 58,
      writeMs: 1,
      deliveredMs: 65,
      afterWriteMs: 0.25,
      ownMs: 1 + 0.5 + 2 + 0.75 + (65 - 60 - 2),
    });
    // Every name is documented, and every documented name but none is produced here.
    expect(Object.keys(phases).sort()).toEqual(Object.keys(PHASE_NAMES).sort());
  });

  it('counts no wait for the end when onstop came while the last chunk was still being decoded', () => {
    const clock = completeClock();
    clock.lastDataDoneAt = 1064.5; // a long decode in the last ondata; onstop (1063) waited behind it
    clock.verifiedAt = 1065;
    clock.writtenAt = 1065.5;
    const phases = phasesOf(clock)!;
    expect(phases.endWaitMs).toBe(0);
    expect(phases.ownMs).toBe(1 + 0.5 + 2 + 0.75 + (65.5 - 60));
  });

  it('says how long the first byte waited for a base that came late', () => {
    const clock = completeClock();
    clock.baseReadyAt = 1055;
    expect(phasesOf(clock)!.baseWaitMs).toBe(4);
  });

  it('is null for an exchange that wrote no verified body', () => {
    const clock = completeClock();
    clock.writtenAt = NaN;
    expect(phasesOf(clock)).toBeNull();
    expect(phasesOf(new PhaseClock())).toBeNull();
  });

  it('counts the SHA-1 time of a hasher without changing its digest', () => {
    const clock = new PhaseClock();
    const timed = clock.timedSha1(nobleSha1)();
    const plain = nobleSha1();
    const data = bytes(1 << 16, 7);
    timed.update(data);
    plain.update(data);
    expect(Buffer.from(timed.digest())).toEqual(Buffer.from(plain.digest()));
    expect(clock.verifyMs).toBeGreaterThan(0);
  });
});
