// The WASM core against its plain-TypeScript twin and against the §4
// pseudo-code run literally (a CRC computed afresh for every window).

import { CrcEngine } from '../../../src/core/crc-engine';
import { createTwinEngine } from '../../../src/core/crc64-twin';
import { wasmCoreBytes } from '../../../src/core/embedded-core';
import { compileCore, createWasmEngine } from '../../../src/core/wasm-engine';
import { randomBytes, randomSplit, seededRandom } from '../../helpers/random';

const wasm = createWasmEngine(compileCore(wasmCoreBytes()));
const twin = createTwinEngine();
const engines: Array<[string, CrcEngine]> = [
  ['wasm', wasm],
  ['typescript', twin],
];

type Match = [end: number, block: number, length: number];

function matchAll(engine: CrcEngine, hashes: Uint8Array, fileSize: number, pieces: Uint8Array[]): Match[] {
  const matches: Match[] = [];
  const matcher = engine.createMatcher(hashes, fileSize);
  for (const piece of pieces) matcher.scan(piece, (end, block, length) => matches.push([end, block, length]));
  matcher.dispose();
  return matches;
}

/** PROTOCOL.md §4 as written: greedy, normal blocks first, highest index wins, restart after a match. */
function referenceMatches(hashes: Uint8Array, fileSize: number, data: Uint8Array): Match[] {
  const n = hashes.length / 8;
  const view = new DataView(hashes.buffer, hashes.byteOffset, hashes.byteLength);
  const hash = (i: number) => view.getBigUint64(i * 8, true);
  const bs = Math.floor(fileSize / n);
  const tail = bs + (fileSize % n);
  const normalCount = tail === bs ? n : n - 1;
  const matches: Match[] = [];
  let start = 0;
  for (let end = 1; end <= data.length; end++) {
    const k = end - start;
    let found: Match | null = null;
    if (k >= bs) {
      const crc = twin.crc64(data.subarray(end - bs, end));
      for (let i = normalCount - 1; i >= 0; i--) {
        if (hash(i) === crc) {
          found = [end, i, bs];
          break;
        }
      }
    }
    if (!found && tail !== bs && k >= tail && twin.crc64(data.subarray(end - tail, end)) === hash(n - 1)) {
      found = [end, n - 1, tail];
    }
    if (found) {
      matches.push(found);
      start = end;
    }
  }
  return matches;
}

describe('CRC-64 (PROTOCOL.md §1)', () => {
  it.each(engines)('%s: check value of "123456789" is 0x46A5A9388A5BEFFE', (_name, engine) => {
    expect(engine.crc64(new TextEncoder().encode('123456789'))).toBe(0x46a5a9388a5beffen);
  });

  it.each(engines)('%s: CRC of nothing and of zero bytes is 0 (init 0, no final xor)', (_name, engine) => {
    expect(engine.crc64(new Uint8Array(0))).toBe(0n);
    expect(engine.crc64(new Uint8Array(1000))).toBe(0n);
  });

  it('wasm and twin agree on random inputs of every length 0..300, and when continued', () => {
    const random = seededRandom(1);
    for (let length = 0; length <= 300; length++) {
      const data = randomBytes(random, length);
      expect(wasm.crc64(data)).toBe(twin.crc64(data));
      const cut = Math.floor(random() * (length + 1));
      expect(wasm.crc64(data.subarray(cut), wasm.crc64(data.subarray(0, cut)))).toBe(twin.crc64(data));
    }
  });

  it('block hashes agree for many sizes and block counts, the last block taking the remainder', () => {
    const random = seededRandom(2);
    for (const size of [200, 201, 239, 240, 1079, 4360, 65537, 300000]) {
      const body = randomBytes(random, size);
      for (const n of [1, 7, 40, 256]) {
        const hashes = wasm.blockHashes(body, n);
        expect(Buffer.from(hashes).equals(Buffer.from(twin.blockHashes(body, n)))).toBe(true);
        const bs = Math.floor(size / n);
        const view = new DataView(hashes.buffer);
        expect(view.getBigUint64((n - 1) * 8, true)).toBe(twin.crc64(body.subarray((n - 1) * bs)));
        expect(view.getBigUint64(0, true)).toBe(twin.crc64(body.subarray(0, bs)));
      }
    }
  });
});

describe('rolling block matcher (PROTOCOL.md §4)', () => {
  function check(old: Uint8Array, data: Uint8Array, n: number, seed: number): Match[] {
    const hashes = twin.blockHashes(old, n);
    const expected = referenceMatches(hashes, old.length, data);
    const random = seededRandom(seed);
    for (const [name, engine] of engines) {
      expect([name, matchAll(engine, hashes, old.length, [data])]).toEqual([name, expected]);
      expect([name, matchAll(engine, hashes, old.length, randomSplit(random, data, 20))]).toEqual([name, expected]);
    }
    return expected;
  }

  it('finds moved, repeated and edited blocks in random data, whatever the chunking', () => {
    const random = seededRandom(3);
    for (let round = 0; round < 20; round++) {
      const old = randomBytes(random, 200 + Math.floor(random() * 3000), round % 2 ? 4 : 256);
      const pieces: Uint8Array[] = [];
      for (let i = 0; i < 8; i++) {
        const start = Math.floor(random() * old.length);
        pieces.push(random() < 0.7 ? old.subarray(start, start + Math.floor(random() * 400)) : randomBytes(random, 30, 4));
      }
      const data = Buffer.concat(pieces);
      check(old, data, [40, 40, 7, 1, 256][round % 5] > old.length ? 40 : [40, 40, 7, 1, 256][round % 5], round);
    }
  });

  it('identical body: every block in order, the tail last', () => {
    const old = randomBytes(seededRandom(4), 1079);
    const matches = check(old, old, 40, 4);
    expect(matches.map((match) => match[1])).toEqual([...Array(40).keys()]);
    expect(matches[39][2]).toBe(26 + 39); // bs 26, tail 26 + 1079 mod 40
  });

  it('all-equal blocks: the highest index wins every time', () => {
    const old = new Uint8Array(4000).fill(0x61);
    const matches = check(old, new Uint8Array(2000).fill(0x61), 40, 5);
    expect(matches.length).toBe(20);
    expect(new Set(matches.map((match) => match[1]))).toEqual(new Set([39]));
  });

  it('periodic data with a period that divides and one that does not divide the block size', () => {
    for (const period of [5, 7, 100, 13]) {
      const old = Uint8Array.from({ length: 5000 }, (_v, i) => (i % period) * 17);
      const shifted = Uint8Array.from({ length: 6000 }, (_v, i) => ((i + 3) % period) * 17);
      check(old, shifted, 40, period);
    }
  });

  it('no match at all: a body with nothing in common yields no match', () => {
    const random = seededRandom(6);
    const old = randomBytes(random, 8000, 128);
    const data = Uint8Array.from(randomBytes(random, 20000, 128), (byte) => byte | 0x80);
    expect(check(old, data, 40, 6)).toEqual([]);
  });

  it('fs mod n == 0: the last block is a normal block and equal blocks pick the highest index', () => {
    const old = new Uint8Array(4000);
    old.fill(1, 0, 100);
    check(old, old, 40, 7);
  });

  it('a zero block (hash 0) is matched only by a full window of zeros', () => {
    const old = new Uint8Array(400);
    old.fill(9, 0, 10);
    const data = Buffer.concat([Buffer.from([1, 2, 3]), Buffer.alloc(5), Buffer.from([4]), Buffer.alloc(30)]);
    check(old, data, 40, 8);
  });

  it('long no-match stretches (scanned in two lanes) with blocks planted anywhere, the tail block too', () => {
    const random = seededRandom(10);
    const old = randomBytes(random, 40 * 1000 + 17); // bs 1000, tail 1017
    const hashes = twin.blockHashes(old, 40);
    const block = (index: number) => old.subarray(index * 1000, index === 39 ? old.length : (index + 1) * 1000);
    for (let round = 0; round < 12; round++) {
      const length = 60000 + Math.floor(random() * 200000);
      const body = randomBytes(random, length);
      const plants = round === 0 ? 0 : 1 + Math.floor(random() * 4);
      for (let i = 0; i < plants; i++) {
        // around the middle of the region, at the ends, and anywhere
        const choices = [length / 2 - 500, length / 2 + 3, length / 2 - 2000, random() * length, 40, length - 1100];
        const at = Math.max(0, Math.min(length - 1100, Math.floor(choices[Math.floor(random() * choices.length)])));
        body.set(block(random() < 0.3 ? 39 : Math.floor(random() * 39)), at);
      }
      const expected = matchAll(twin, hashes, old.length, [body]);
      expect(matchAll(wasm, hashes, old.length, [body])).toEqual(expected);
      expect(matchAll(wasm, hashes, old.length, randomSplit(random, body, 6))).toEqual(expected);
      if (round > 0) expect(expected.length).toBeGreaterThan(0);
    }
  });

  it('handles a 1 MiB body in chunks of 1 byte to 1 MiB the same way', () => {
    const random = seededRandom(9);
    const old = randomBytes(random, 1 << 20);
    const data = Buffer.concat([old.subarray(5000), randomBytes(random, 777), old.subarray(0, 5000)]);
    const hashes = wasm.blockHashes(old, 40);
    const whole = matchAll(wasm, hashes, old.length, [data]);
    expect(whole.length).toBeGreaterThan(35);
    const pieces: Uint8Array[] = [];
    for (let at = 0, size = 1; at < data.length; at += size, size = Math.min(size * 3, 1 << 20)) pieces.push(data.subarray(at, at + size));
    expect(matchAll(wasm, hashes, old.length, pieces)).toEqual(whole);
    expect(matchAll(twin, hashes, old.length, randomSplit(random, data, 50))).toEqual(whole);
  });
});
