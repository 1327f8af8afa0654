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

// @ts-ignore: decorator
@inline function slice8(crc: u64, word: u64): u64 {
  const x = crc ^ word;
  return (
    load<u64>(TABLES + (7 << 11) + ((<usize>x & 0xFF) << 3)) ^
    load<u64>(TABLES + (6 << 11) + ((<usize>(x >> 8) & 0xFF) << 3)) ^
    load<u64>(TABLES + (5 << 11) + ((<usize>(x >> 16) & 0xFF) << 3)) ^
    load<u64>(TABLES + (4 << 11) + ((<usize>(x >> 24) & 0xFF) << 3)) ^
    load<u64>(TABLES + (3 << 11) + ((<usize>(x >> 32) & 0xFF) << 3)) ^
    load<u64>(TABLES + (2 << 11) + ((<usize>(x >> 40) & 0xFF) << 3)) ^
    load<u64>(TABLES + (1 << 11) + ((<usize>(x >> 48) & 0xFF) << 3)) ^
    load<u64>(TABLES + ((<usize>(x >> 56)) << 3))
  );
}

/** Continues `crc` over len bytes at ptr. */
export function crcUpdate(crc: u64, ptr: usize, len: usize): u64 {
  const end = ptr + len;
  const wordsEnd = ptr + (len & ~<usize>7);
  while (ptr < wordsEnd) {
    crc = slice8(crc, load<u64>(ptr));
    ptr += 8;
  }
  while (ptr < end) {
    crc = crcByte(crc, load<u8>(ptr));
    ptr++;
  }
  return crc;
}

/** The second result of crcPair. */
export let pairSecond: u64 = 0;

/**
 * CRCs of two equally long ranges at once. One slicing chain is latency-
 * bound (load -> xor -> next load); two independent chains overlap their
 * loads. Returns the CRC of [a, a+len); the one of [b, b+len) is pairSecond.
 */
export function crcPair(a: usize, b: usize, len: usize, startA: u64 = 0): u64 {
  let crcA: u64 = startA;
  let crcB: u64 = 0;
  const wordsEnd = a + (len & ~<usize>7);
  while (a < wordsEnd) {
    crcA = slice8(crcA, load<u64>(a));
    crcB = slice8(crcB, load<u64>(b));
    a += 8;
    b += 8;
  }
  const end = a + (len & 7);
  while (a < end) {
    crcA = crcByte(crcA, load<u8>(a));
    crcB = crcByte(crcB, load<u8>(b));
    a++;
    b++;
  }
  pairSecond = crcB;
  return crcA;
}

/**
 * CRC of [ptr, ptr+len) from init 0 in two chains: A = the first len - half
 * bytes and B = the last half = len >> 1 bytes are hashed together (A's
 * extra byte, if any, first), then joined with one multiplication:
 * crc(A||B) = crc(A)·x^(8·half) ⊕ crc(B). The caller passes
 * shiftHalf = x^(8·half) mod P.
 */
export function crcTwoChains(ptr: usize, len: usize, shiftHalf: u64): u64 {
  const half = len >> 1;
  const extra = len - 2 * half;
  const start = extra ? crcByte(0, load<u8>(ptr)) : <u64>0;
  const crcA = crcPair(ptr + extra, ptr + extra + half, half, start);
  return multiplyModP(shiftHalf, crcA) ^ pairSecond;
}

/**
 * Fills `out` (256 u64) with the CRC of byte b followed by `width` zero bytes:
 * xoring it removes b from a rolling window of `width` bytes once the next
 * byte has been added (PROTOCOL.md §4, "crc ^= U[b]"). Init 0 makes the CRC
 * linear, and appending `width` zero bytes multiplies it by x^(8*width)
 * modulo the polynomial (as zlib's crc32_combine does), so each entry is one
 * carry-less multiplication.
 */
export function fillRemovalTable(out: usize, width: usize): void {
  const shift = powerOfXModP(<u64>width << 3);
  // Linear in b: build the 8 single-bit entries, then xor them together.
  for (let bit: usize = 0; bit < 8; bit++) {
    store<u64>(out + ((<usize>1 << bit) << 3), multiplyModP(shift, load<u64>(TABLES + ((<usize>1 << bit) << 3))));
  }
  store<u64>(out, 0);
  for (let b: usize = 3; b < 256; b++) {
    const low = b & (~b + 1);
    if (low == b) continue;
    store<u64>(out + (b << 3), load<u64>(out + (low << 3)) ^ load<u64>(out + ((b ^ low) << 3)));
  }
}

// Reflected representation: bit 63 is x^0, bit 62 is x^1, ...
const X_POWER_0: u64 = <u64>1 << 63;

/** a * b modulo the CRC polynomial (reflected bit order). */
export function multiplyModP(a: u64, b: u64): u64 {
  let product: u64 = 0;
  let mask = X_POWER_0;
  while (mask) {
    if (a & mask) {
      product ^= b;
      if ((a & (mask - 1)) == 0) break;
    }
    mask >>= 1;
    b = b & 1 ? (b >> 1) ^ POLY_REFLECTED : b >> 1;
  }
  return product;
}

/** x^n modulo the polynomial, by square-and-multiply. */
export function powerOfXModP(n: u64): u64 {
  let result = X_POWER_0;
  let square = X_POWER_0 >> 1; // x^1
  while (n) {
    if (n & 1) result = multiplyModP(square, result);
    n >>= 1;
    if (n) square = multiplyModP(square, square);
  }
  return result;
}
