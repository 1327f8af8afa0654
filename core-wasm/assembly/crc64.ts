// CRC-64 of http-crcsync v=1 (PROTOCOL.md §1): polynomial 0x1B reflected
// (0xD800000000000000), init 0, no final xor. Slicing-by-8 tables make block
// hashing run 8 bytes per step; TABLES + k*2048 is table k.

export const POLY_REFLECTED: u64 = 0xD800000000000000;

/** 8 tables of 256 u64: table 0 is the byte-wise table, table k advances k more zero bytes. */
export const TABLES: usize = memory.data(8 * 256 * 8, 16);

let tablesReady = false;

export function ensureTables(): void {
  if (tablesReady) return;
  for (let i: u32 = 0; i < 256; i++) {
    let crc = <u64>i;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? (crc >> 1) ^ POLY_REFLECTED : crc >> 1;
    }
    store<u64>(TABLES + (<usize>i << 3), crc);
  }
  for (let k: usize = 1; k < 8; k++) {
    for (let i: usize = 0; i < 256; i++) {
      const previous = load<u64>(TABLES + ((k - 1) << 11) + (i << 3));
      store<u64>(TABLES + (k << 11) + (i << 3), (previous >> 8) ^ load<u64>(TABLES + ((<usize>previous & 0xFF) << 3)));
    }
  }
  tablesReady = true;
}

// @ts-ignore: decorator
@inline export function crcByte(crc: u64, byte: u32): u64 {
  return load<u64>(TABLES + ((<usize>((<u32>crc ^ byte) & 0xFF)) << 3)) ^ (crc >> 8);
}

/** Continues `crc` over len bytes at ptr. */
export function crcUpdate(crc: u64, ptr: usize, len: usize): u64 {
  const end = ptr + len;
  const wordsEnd = ptr + (len & ~<usize>7);
  while (ptr < wordsEnd) {
    const x = crc ^ load<u64>(ptr);
    crc =
      load<u64>(TABLES + (7 << 11) + ((<usize>x & 0xFF) << 3)) ^
      load<u64>(TABLES + (6 << 11) + ((<usize>(x >> 8) & 0xFF) << 3)) ^
      load<u64>(TABLES + (5 << 11) + ((<usize>(x >> 16) & 0xFF) << 3)) ^
      load<u64>(TABLES + (4 << 11) + ((<usize>(x >> 24) & 0xFF) << 3)) ^
      load<u64>(TABLES + (3 << 11) + ((<usize>(x >> 32) & 0xFF) << 3)) ^
      load<u64>(TABLES + (2 << 11) + ((<usize>(x >> 40) & 0xFF) << 3)) ^
      load<u64>(TABLES + (1 << 11) + ((<usize>(x >> 48) & 0xFF) << 3)) ^
      load<u64>(TABLES + ((<usize>(x >> 56)) << 3));
    ptr += 8;
  }
  while (ptr < end) {
    crc = crcByte(crc, load<u8>(ptr));
    ptr++;
  }
  return crc;
}

/**
 * Fills `out` (256 u64) with the CRC of byte b followed by `width` zero bytes:
 * xoring it removes b from a rolling window of `width` bytes once the next
 * byte has been added (PROTOCOL.md §4, "crc ^= U[b]"). Init 0 makes the CRC
 * linear, so removing a byte is one table lookup.
 */
export function fillRemovalTable(out: usize, width: usize): void {
  // One zero byte maps crc -> T0[crc & 0xFF] ^ (crc >> 8), a linear map over
  // GF(2)^64; raise it to the power `width` by squaring (O(log width)).
  for (let bit = 0; bit < 64; bit++) {
    store<u64>(STEP_MATRIX + (<usize>bit << 3), crcByte(<u64>1 << bit, 0));
    store<u64>(POWER_MATRIX + (<usize>bit << 3), <u64>1 << bit);
  }
  let remaining = width;
  while (remaining) {
    if (remaining & 1) multiplyInto(POWER_MATRIX, STEP_MATRIX);
    remaining >>= 1;
    if (remaining) multiplyInto(STEP_MATRIX, STEP_MATRIX);
  }
  for (let i: usize = 0; i < 256; i++) {
    store<u64>(out + (i << 3), applyMatrix(POWER_MATRIX, load<u64>(TABLES + (i << 3))));
  }
}

// Matrices are 64 columns: column `bit` is the image of the vector 1 << bit.
const STEP_MATRIX: usize = memory.data(64 * 8, 16);
const POWER_MATRIX: usize = memory.data(64 * 8, 16);
const SCRATCH_MATRIX: usize = memory.data(64 * 8, 16);

function applyMatrix(columns: usize, vector: u64): u64 {
  let result: u64 = 0;
  for (let bit: usize = 0; vector; bit++, vector >>= 1) {
    if (vector & 1) result ^= load<u64>(columns + (bit << 3));
  }
  return result;
}

/** target = left * target (apply target first, then left); left may be target. */
function multiplyInto(target: usize, left: usize): void {
  for (let bit: usize = 0; bit < 64; bit++) {
    store<u64>(SCRATCH_MATRIX + (bit << 3), applyMatrix(left, load<u64>(target + (bit << 3))));
  }
  memory.copy(target, SCRATCH_MATRIX, 64 * 8);
}
