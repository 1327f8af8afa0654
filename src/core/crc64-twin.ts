// Plain-TypeScript twin of core-wasm: the same CRC-64 and rolling matcher,
// written for clarity. A 64-bit CRC is kept as two u32 halves (hi, lo)
// because BigInt arithmetic is far slower than two Int32 operations.

import { BlockMatcher, CrcEngine, MatchListener } from './crc-engine';

const POLY_HI = 0xd8000000; // 0xD800000000000000, reflected x^64+x^4+x^3+x+1
const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | (hi << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) hi = (hi ^ POLY_HI) >>> 0;
  }
  TABLE_HI[i] = hi;
  TABLE_LO[i] = lo;
}

/** A CRC-64 state as two unsigned 32-bit halves. */
interface Crc {
  hi: number;
  lo: number;
}

function update(crc: Crc, byte: number): void {
  const index = (crc.lo ^ byte) & 0xff;
  const lo = (crc.lo >>> 8) | (crc.hi << 24);
  crc.lo = (lo ^ TABLE_LO[index]) >>> 0;
  crc.hi = ((crc.hi >>> 8) ^ TABLE_HI[index]) >>> 0;
}

function crcOf(data: Uint8Array, start: number, end: number): Crc {
  const crc = { hi: 0, lo: 0 };
  for (let i = start; i < end; i++) update(crc, data[i]);
  return crc;
}

function toBigInt(crc: Crc): bigint {
  return (BigInt(crc.hi) << 32n) | BigInt(crc.lo);
}

/**
 * Table of the CRC of byte b followed by `width` zero bytes: xoring it
 * removes b from a window of `width` bytes after the next byte was added.
 * Built by brute force over `width` zero bytes: fine for an oracle.
 */
function removalTable(width: number): { hi: Uint32Array; lo: Uint32Array } {
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  // CRC is linear with init 0: the table for b is the xor of the tables of its bits.
  for (let bit = 0; bit < 8; bit++) {
    const crc = { hi: 0, lo: 0 };
    update(crc, 1 << bit);
    for (let i = 0; i < width; i++) update(crc, 0);
    hi[1 << bit] = crc.hi;
    lo[1 << bit] = crc.lo;
  }
  for (let b = 1; b < 256; b++) {
    const low = b & -b;
    if (low === b) continue;
    hi[b] = (hi[low] ^ hi[b ^ low]) >>> 0;
    lo[b] = (lo[low] ^ lo[b ^ low]) >>> 0;
  }
  return { hi, lo };
}

function readHash(hashes: Uint8Array, index: number): Crc {
  const view = new DataView(hashes.buffer, hashes.byteOffset + index * 8, 8);
  return { lo: view.getUint32(0, true), hi: view.getUint32(4, true) };
}

function hashKey(crc: Crc): string {
  return `${crc.hi}:${crc.lo}`;
}

class TwinMatcher implements BlockMatcher {
  private readonly blockSize: number;
  private readonly tailSize: number;
  private readonly blockCount: number;
  private readonly tail: Crc | null;
  private readonly normalBlocks = new Map<string, number>();
  private readonly removeNormal;
  private readonly removeTail;
  private normal: Crc = { hi: 0, lo: 0 };
  private tailCrc: Crc = { hi: 0, lo: 0 };
  /** Bytes since the end of the last match, newest last (at most tailSize kept). */
  private history: number[] = [];
  private position = 0;

  constructor(hashes: Uint8Array, fileSize: number) {
    this.blockCount = hashes.length >> 3;
    this.blockSize = Math.floor(fileSize / this.blockCount);
    this.tailSize = this.blockSize + (fileSize % this.blockCount);
    const hasTail = this.tailSize !== this.blockSize;
    const normalCount = hasTail ? this.blockCount - 1 : this.blockCount;
    // Later blocks overwrite earlier ones: the highest index wins (§4).
    for (let i = 0; i < normalCount; i++) this.normalBlocks.set(hashKey(readHash(hashes, i)), i);
    this.tail = hasTail ? readHash(hashes, this.blockCount - 1) : null;
    this.removeNormal = removalTable(this.blockSize);
    this.removeTail = removalTable(this.tailSize);
  }

  scan(chunk: Uint8Array, onMatch: MatchListener): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      this.position++;
      update(this.normal, byte);
      update(this.tailCrc, byte);
      const history = this.history;
      history.push(byte);
      const count = history.length;
      if (count > this.blockSize) {
        const out = history[count - 1 - this.blockSize];
        this.normal.hi = (this.normal.hi ^ this.removeNormal.hi[out]) >>> 0;
        this.normal.lo = (this.normal.lo ^ this.removeNormal.lo[out]) >>> 0;
      }
      if (count > this.tailSize) {
        const out = history[count - 1 - this.tailSize];
        this.tailCrc.hi = (this.tailCrc.hi ^ this.removeTail.hi[out]) >>> 0;
        this.tailCrc.lo = (this.tailCrc.lo ^ this.removeTail.lo[out]) >>> 0;
      }
      let matched = -1;
      if (count >= this.blockSize) {
        const index = this.normalBlocks.get(hashKey(this.normal));
        if (index !== undefined) matched = index;
      }
      if (matched < 0 && this.tail && count >= this.tailSize && this.tailCrc.hi === this.tail.hi && this.tailCrc.lo === this.tail.lo) {
        matched = this.blockCount - 1;
      }
      if (matched >= 0) {
        onMatch(this.position, matched, matched === this.blockCount - 1 ? this.tailSize : this.blockSize);
        this.normal = { hi: 0, lo: 0 };
        this.tailCrc = { hi: 0, lo: 0 };
        this.history = [];
      } else if (count > 2 * this.tailSize + 1024) {
        this.history = history.slice(count - this.tailSize);
      }
    }
  }

  dispose(): void {
    this.history = [];
  }
}

export function createTwinEngine(): CrcEngine {
  return {
    kind: 'typescript',
    crc64(data: Uint8Array, start = 0n): bigint {
      const crc = { hi: Number((start >> 32n) & 0xffffffffn), lo: Number(start & 0xffffffffn) };
      for (let i = 0; i < data.length; i++) update(crc, data[i]);
      return toBigInt(crc);
    },
    blockHashes(body: Uint8Array, blockCount: number): Uint8Array {
      const out = new Uint8Array(blockCount * 8);
      const view = new DataView(out.buffer);
      const size = Math.floor(body.length / blockCount);
      for (let i = 0; i < blockCount; i++) {
        const end = i === blockCount - 1 ? body.length : (i + 1) * size;
        const crc = crcOf(body, i * size, end);
        view.setUint32(i * 8, crc.lo, true);
        view.setUint32(i * 8 + 4, crc.hi, true);
      }
      return out;
    },
    createMatcher(hashes: Uint8Array, fileSize: number): BlockMatcher {
      return new TwinMatcher(hashes, fileSize);
    },
  };
}
