// Plain-TypeScript twin of core-wasm: the same CRC-64 and rolling matcher,
// written for clarity. A 64-bit CRC is kept as two 32-bit halves (hi, lo)
// because BigInt arithmetic is far slower; the halves are held as signed
// int32 (`| 0`), which V8 keeps unboxed, unlike numbers >= 2^31.

import { BlockMatcher, CrcEngine, MatchListener } from './crc-engine';

const POLY_HI = 0xd8000000; // 0xD800000000000000, reflected x^64+x^4+x^3+x+1
const TABLE_HI = new Int32Array(256);
const TABLE_LO = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1;
    lo = (lo >>> 1) | (hi << 31);
    hi = hi >>> 1;
    if (carry) hi = hi ^ POLY_HI;
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
  crc.lo = lo ^ TABLE_LO[index];
  crc.hi = (crc.hi >>> 8) ^ TABLE_HI[index];
}

function crcOf(data: Uint8Array, start: number, end: number): Crc {
  const crc = { hi: 0, lo: 0 };
  for (let i = start; i < end; i++) update(crc, data[i]);
  return crc;
}

function toBigInt(crc: Crc): bigint {
  return (BigInt(crc.hi >>> 0) << 32n) | BigInt(crc.lo >>> 0);
}

/**
 * Table of the CRC of byte b followed by `width` zero bytes: xoring it
 * removes b from a window of `width` bytes after the next byte was added.
 * Built by brute force over `width` zero bytes: fine for an oracle.
 */
function removalTable(width: number): { hi: Int32Array; lo: Int32Array } {
  const hi = new Int32Array(256);
  const lo = new Int32Array(256);
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
    hi[b] = hi[low] ^ hi[b ^ low];
    lo[b] = lo[low] ^ lo[b ^ low];
  }
  return { hi, lo };
}

function readHash(hashes: Uint8Array, index: number): Crc {
  const view = new DataView(hashes.buffer, hashes.byteOffset + index * 8, 8);
  return { lo: view.getInt32(0, true), hi: view.getInt32(4, true) };
}

/**
 * Normal blocks by hash: open addressing on the low bits, 1024 slots for at
 * most 256 blocks; value = index + 1 (0 = empty slot). Typed arrays keep
 * the int32 halves unboxed.
 */
class BlockIndex {
  private readonly keysHi = new Int32Array(1024);
  private readonly keysLo = new Int32Array(1024);
  private readonly values = new Int32Array(1024);

  /** Later blocks overwrite earlier ones with the same hash: the highest index wins (§4). */
  add(hi: number, lo: number, index: number): void {
    let slot = lo & 1023;
    while (this.values[slot] !== 0 && (this.keysHi[slot] !== hi || this.keysLo[slot] !== lo)) slot = (slot + 1) & 1023;
    this.keysHi[slot] = hi;
    this.keysLo[slot] = lo;
    this.values[slot] = index + 1;
  }

  /** The block index with this hash, or -1. */
  find(hi: number, lo: number): number {
    let slot = lo & 1023;
    for (;;) {
      const value = this.values[slot];
      if (value === 0) return -1;
      if (this.keysLo[slot] === lo && this.keysHi[slot] === hi) return value - 1;
      slot = (slot + 1) & 1023;
    }
  }
}

class TwinMatcher implements BlockMatcher {
  private readonly blockSize: number;
  private readonly tailSize: number;
  private readonly blockCount: number;
  private readonly tail: Crc | null;
  private readonly normalBlocks = new BlockIndex();
  private readonly removeNormal;
  private readonly removeTail;
  /** Rolling CRCs of the normal and tail windows: normal hi, normal lo, tail hi, tail lo. */
  private readonly state = new Int32Array(4);
  /** Bytes since the end of the last match; only the last tailSize are ever read back. */
  private history: Uint8Array;
  private historyLength = 0;
  private position = 0;

  constructor(hashes: Uint8Array, fileSize: number) {
    this.blockCount = hashes.length >> 3;
    this.blockSize = Math.floor(fileSize / this.blockCount);
    this.tailSize = this.blockSize + (fileSize % this.blockCount);
    const hasTail = this.tailSize !== this.blockSize;
    const normalCount = hasTail ? this.blockCount - 1 : this.blockCount;
    for (let i = 0; i < normalCount; i++) {
      const hash = readHash(hashes, i);
      this.normalBlocks.add(hash.hi, hash.lo, i);
    }
    this.tail = hasTail ? readHash(hashes, this.blockCount - 1) : null;
    this.removeNormal = removalTable(this.blockSize);
    this.removeTail = removalTable(this.tailSize);
    this.history = new Uint8Array(2 * this.tailSize + 4096);
  }

  scan(chunk: Uint8Array, onMatch: MatchListener): void {
    const { blockSize, tailSize, tail, removeNormal, removeTail, normalBlocks, state } = this;
    const tailHi = tail ? tail.hi : 0;
    const tailLo = tail ? tail.lo : 0;
    let [normalHi, normalLo, tailCrcHi, tailCrcLo] = state;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      let index = (normalLo ^ byte) & 0xff;
      normalLo = ((normalLo >>> 8) | (normalHi << 24)) ^ TABLE_LO[index];
      normalHi = (normalHi >>> 8) ^ TABLE_HI[index];
      index = (tailCrcLo ^ byte) & 0xff;
      tailCrcLo = ((tailCrcLo >>> 8) | (tailCrcHi << 24)) ^ TABLE_LO[index];
      tailCrcHi = (tailCrcHi >>> 8) ^ TABLE_HI[index];
      if (this.historyLength === this.history.length) {
        // Keep the last tailSize bytes: no window reaches further back.
        this.history.copyWithin(0, this.historyLength - tailSize, this.historyLength);
        this.historyLength = tailSize;
      }
      const history = this.history;
      history[this.historyLength++] = byte;
      // Bytes since the last match, or more than tailSize after a compaction: either way the comparisons below hold.
      const count = this.historyLength;
      if (count > blockSize) {
        const out = history[count - 1 - blockSize];
        normalHi ^= removeNormal.hi[out];
        normalLo ^= removeNormal.lo[out];
      }
      if (count > tailSize) {
        const out = history[count - 1 - tailSize];
        tailCrcHi ^= removeTail.hi[out];
        tailCrcLo ^= removeTail.lo[out];
      }
      let matched = count >= blockSize ? normalBlocks.find(normalHi, normalLo) : -1;
      if (matched < 0 && tail && count >= tailSize && tailCrcHi === tailHi && tailCrcLo === tailLo) matched = this.blockCount - 1;
      if (matched >= 0) {
        onMatch(this.position + i + 1, matched, matched === this.blockCount - 1 ? tailSize : blockSize);
        normalHi = normalLo = tailCrcHi = tailCrcLo = 0;
        this.historyLength = 0;
      }
    }
    this.position += chunk.length;
    state[0] = normalHi;
    state[1] = normalLo;
    state[2] = tailCrcHi;
    state[3] = tailCrcLo;
  }

  dispose(): void {
    this.history = new Uint8Array(0);
  }
}

export function createTwinEngine(): CrcEngine {
  return {
    kind: 'typescript',
    crc64(data: Uint8Array, start = 0n): bigint {
      const crc = { hi: Number((start >> 32n) & 0xffffffffn) | 0, lo: Number(start & 0xffffffffn) | 0 };
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
        view.setInt32(i * 8, crc.lo, true);
        view.setInt32(i * 8 + 4, crc.hi, true);
      }
      return out;
    },
    createMatcher(hashes: Uint8Array, fileSize: number): BlockMatcher {
      return new TwinMatcher(hashes, fileSize);
    },
  };
}
