// Rolling block matcher of http-crcsync v=1 (PROTOCOL.md §4), incremental
// across input chunks. One matcher per WebAssembly instance: the input
// buffer, rolling state and lookup table are module globals.

import { TABLES, crcByte, crcPair, crcTwoChains, crcUpdate, ensureTables, fillRemovalTable, pairSecond, powerOfXModP } from "./crc64";

export const MAX_BLOCKS: i32 = 256;

/** The client's block hashes, n u64 little-endian, written here by the host. */
export const HASH_INPUT: usize = memory.data(MAX_BLOCKS * 8, 16);

// Open-addressing table of the normal blocks' hashes: 1024 slots for at most
// 256 keys keeps most misses at one probe. Value = block index + 1 (0 = empty)
// because 0 is a valid CRC (a block of zero bytes).
const SLOT_COUNT: usize = 1 << 10;
const SLOT_KEYS: usize = memory.data(1024 * 8, 16);
const SLOT_VALUES: usize = memory.data(1024 * 4, 16);

const REMOVE_NORMAL: usize = memory.data(256 * 8, 16);
const REMOVE_TAIL: usize = memory.data(256 * 8, 16);

let blockCount: i32 = 0;
let blockSize: usize = 0;
let tailSize: usize = 0;
let hasTail: bool = false;
let tailHash: u64 = 0;
// After a match the next bs-1 bytes are hashed in two chains (crcTwoChains).
const TWO_CHAIN_MIN_BYTES: usize = 128;
let skipShiftHalf: u64 = 0;

// Rolling state: CRCs of the normal and tail windows, and how many bytes have
// been scanned since the end of the last match (capped at tailSize + 1).
let crcNormal: u64 = 0;
let crcTail: u64 = 0;
let sinceMatch: usize = 0;
let lastMatch: i32 = -1;

// Input buffer [bufferStart, bufferStart + bufferCapacity): bytes before
// scanPos are scanned; the last min(sinceMatch, tailSize) of them are kept
// because the windows still reach back into them.
let bufferStart: usize = 0;
let bufferCapacity: usize = 0;
let bufferLength: usize = 0;
let scanPos: usize = 0;

// CRCs are already well mixed, so the low bits pick the slot. Hashes chosen
// to collide only make one slot's probe chain longer (<= 256): still O(1).
// @ts-ignore: decorator
@inline function slotOf(hash: u64): usize {
  return <usize>hash & (SLOT_COUNT - 1);
}

/** Block index + 1 of the highest normal block with this hash, or 0. */
// @ts-ignore: decorator
@inline function lookup(hash: u64): i32 {
  return load<i32>(SLOT_VALUES + (slotOf(hash) << 2)) ? probe(hash) : 0;
}

/** lookup's slow path, kept out of line so the hot loops stay small: most windows miss at the first slot. */
function probe(hash: u64): i32 {
  let slot = slotOf(hash);
  while (true) {
    const value = load<i32>(SLOT_VALUES + (slot << 2));
    if (value == 0 || load<u64>(SLOT_KEYS + (slot << 3)) == hash) return value;
    slot = (slot + 1) & (SLOT_COUNT - 1);
  }
  return 0;
}

function insert(hash: u64, index: i32): void {
  let slot = slotOf(hash);
  while (true) {
    const value = load<i32>(SLOT_VALUES + (slot << 2));
    if (value == 0 || load<u64>(SLOT_KEYS + (slot << 3)) == hash) {
      // Blocks are inserted in increasing order: the highest index wins (§4).
      store<u64>(SLOT_KEYS + (slot << 3), hash);
      store<i32>(SLOT_VALUES + (slot << 2), index + 1);
      return;
    }
    slot = (slot + 1) & (SLOT_COUNT - 1);
  }
}

/**
 * Starts a new match over n hashes (already in HASH_INPUT) of a body of
 * fileSize bytes. Returns 0, or -1 when n or fileSize are unusable.
 */
export function matcherReset(n: i32, fileSize: f64): i32 {
  if (n < 1 || n > MAX_BLOCKS || fileSize < <f64>n || fileSize > 4294967295.0) return -1;
  ensureTables();
  const size = <usize>fileSize;
  blockCount = n;
  blockSize = size / <usize>n;
  tailSize = blockSize + size % <usize>n;
  hasTail = tailSize != blockSize;
  tailHash = load<u64>(HASH_INPUT + (<usize>(n - 1) << 3));
  memory.fill(SLOT_VALUES, 0, SLOT_COUNT * 4);
  const normalBlocks = hasTail ? n - 1 : n;
  for (let i = 0; i < normalBlocks; i++) insert(load<u64>(HASH_INPUT + (<usize>i << 3)), i);
  const skip = blockSize - 1;
  skipShiftHalf = powerOfXModP(<u64>(skip >> 1) << 3);
  fillRemovalTable(REMOVE_NORMAL, blockSize);
  if (hasTail) fillRemovalTable(REMOVE_TAIL, tailSize);
  crcNormal = 0;
  crcTail = 0;
  sinceMatch = 0;
  lastMatch = -1;
  bufferStart = (__heap_base + 15) & ~<usize>15;
  bufferCapacity = (<usize>memory.size() << 16) - bufferStart;
  bufferLength = 0;
  scanPos = 0;
  return 0;
}

/**
 * Makes room for `length` more input bytes and returns where the host must
 * write them. May grow memory: the host re-reads memory.buffer afterwards.
 * Returns 0 when memory cannot grow.
 */
export function reserveInput(length: usize): usize {
  if (bufferLength + length > bufferCapacity) {
    const keep = min(sinceMatch, tailSize);
    memory.copy(bufferStart, bufferStart + scanPos - keep, keep);
    bufferLength = keep;
    scanPos = keep;
    const needed = keep + length;
    if (needed > bufferCapacity) {
      // Twice what is needed, so compaction copies each byte O(1) times.
      const wantedBytes = bufferStart + needed * 2;
      const wantedPages = <i32>((wantedBytes + 0xFFFF) >> 16);
      if (memory.grow(wantedPages - memory.size()) < 0) return 0;
      bufferCapacity = (<usize>memory.size() << 16) - bufferStart;
    }
  }
  const at = bufferStart + bufferLength;
  bufferLength += length;
  return at;
}

/**
 * Scans the reserved input up to the first match or the end. Returns how many
 * bytes this call consumed; matchedBlock() then says which block ended there
 * (-1: no match, all input consumed).
 */
export function scan(): usize {
  const blockLength = blockSize;
  const tailLength = tailSize;
  const checkTail = hasTail;
  const tailValue = tailHash;
  const end = bufferStart + bufferLength;
  const begin = bufferStart + scanPos;
  let p = begin;
  let normal = crcNormal;
  let tail = crcTail;
  let count = sinceMatch;
  let found: i32 = -1;
  while (p < end) {
    if (count == 0 && blockLength > 1 && <usize>(end - p) >= blockLength - 1) {
      // After a match no window can end within the next bs-1 bytes: hash
      // them 8 at a time instead of rolling byte by byte.
      normal = blockLength - 1 >= TWO_CHAIN_MIN_BYTES ? crcTwoChains(p, blockLength - 1, skipShiftHalf) : crcUpdate(0, p, blockLength - 1);
      tail = normal;
      count = blockLength - 1;
      p += blockLength - 1;
      continue;
    }
    if (count > tailLength) {
      // Steady state: both windows full. This is the no-match hot loop.
      steadyNormal = normal;
      steadyTail = tail;
      // Starting the second lane costs hashing bs + tail bytes; it pays only
      // in a long run without matches, so scan one lane for a while first.
      const warmupEnd = min(end, p + 4 * (blockLength + tailLength));
      p = scanOneLane(p, warmupEnd);
      if (steadyFound < 0 && p < end) {
        p = checkTail && <usize>(end - p) >= LANE_MIN_BYTES + 8 * tailLength ? scanTwoLanes(p, end) : scanOneLane(p, end);
      }
      normal = steadyNormal;
      tail = steadyTail;
      found = steadyFound;
      break;
    }
    const incoming = <u32>load<u8>(p);
    normal = crcByte(normal, incoming);
    tail = crcByte(tail, incoming);
    count++;
    if (count > blockLength) normal ^= load<u64>(REMOVE_NORMAL + (<usize>load<u8>(p - blockLength) << 3));
    if (count > tailLength) tail ^= load<u64>(REMOVE_TAIL + (<usize>load<u8>(p - tailLength) << 3));
    p++;
    if (count >= blockLength) {
      const hit = lookup(normal);
      if (hit) { found = hit - 1; break; }
    }
    if (checkTail && count >= tailLength && tail == tailValue) { found = blockCount - 1; break; }
  }
  if (found >= 0) {
    normal = 0;
    tail = 0;
    count = 0;
  }
  crcNormal = normal;
  crcTail = tail;
  sinceMatch = count;
  lastMatch = found;
  scanPos = p - bufferStart;
  return p - begin;
}

// Steady-state scanning: both windows are full and no match has been seen,
// so the windows ending at any position depend only on the tailSize bytes
// before it. State in and out through these globals.
let steadyNormal: u64 = 0;
let steadyTail: u64 = 0;
let steadyFound: i32 = -1;

/** One rolling step; the removal term is xored first so the table load is one xor from the result (shorter dependency chain). */
// @ts-ignore: decorator
@inline function roll(crc: u64, incoming: u32, removal: u64): u64 {
  return load<u64>(TABLES + (<usize>((<u32>crc ^ incoming) & 0xFF) << 3)) ^ ((crc >> 8) ^ removal);
}

/** Scans [p, end) to the first match; returns where it stopped. */
function scanOneLane(p: usize, end: usize): usize {
  let normal = steadyNormal;
  let tail = steadyTail;
  let outNormal = p - blockSize;
  let found: i32 = -1;
  if (hasTail) {
    const tailValue = tailHash;
    let outTail = p - tailSize;
    while (p < end) {
      const incoming = <u32>load<u8>(p);
      normal = roll(normal, incoming, load<u64>(REMOVE_NORMAL + (<usize>load<u8>(outNormal) << 3)));
      tail = roll(tail, incoming, load<u64>(REMOVE_TAIL + (<usize>load<u8>(outTail) << 3)));
      p++;
      outNormal++;
      outTail++;
      const hit = lookup(normal);
      if (hit) { found = hit - 1; break; }
      if (tail == tailValue) { found = blockCount - 1; break; }
    }
  } else {
    while (p < end) {
      const incoming = <u32>load<u8>(p);
      normal = roll(normal, incoming, load<u64>(REMOVE_NORMAL + (<usize>load<u8>(outNormal) << 3)));
      p++;
      outNormal++;
      const hit = lookup(normal);
      if (hit) { found = hit - 1; break; }
    }
  }
  steadyNormal = normal;
  steadyTail = tail;
  steadyFound = found;
  return p;
}

// A rolling step is latency-bound (table load -> xor -> next index): one
// lane leaves most of the CPU idle. A second lane starts at the midpoint
// from window CRCs computed afresh and runs in lockstep. Its result stands
// only if the first lane reaches the midpoint without a match; otherwise
// the first lane's match is returned and the second lane's work discarded.
const LANE_MIN_BYTES: usize = 16384;

/** Like scanOneLane, for the tail case, over two halves at once; [p, end) must be >= LANE_MIN_BYTES + 8 * tailSize. */
function scanTwoLanes(p: usize, end: usize): usize {
  const blockLength = blockSize;
  const tailLength = tailSize;
  const tailValue = tailHash;
  const mid = p + ((end - p) >> 1);
  let normal = steadyNormal;
  let tail = steadyTail;
  let second = mid;
  let secondNormal = crcUpdate(0, mid - blockLength, blockLength);
  let secondTail = crcUpdate(0, mid - tailLength, tailLength);
  let secondMatched = false;
  // Lockstep while neither lane has matched.
  while (p < mid) {
    const incoming = <u32>load<u8>(p);
    const secondIncoming = <u32>load<u8>(second);
    normal = roll(normal, incoming, load<u64>(REMOVE_NORMAL + (<usize>load<u8>(p - blockLength) << 3)));
    secondNormal = roll(secondNormal, secondIncoming, load<u64>(REMOVE_NORMAL + (<usize>load<u8>(second - blockLength) << 3)));
    tail = roll(tail, incoming, load<u64>(REMOVE_TAIL + (<usize>load<u8>(p - tailLength) << 3)));
    secondTail = roll(secondTail, secondIncoming, load<u64>(REMOVE_TAIL + (<usize>load<u8>(second - tailLength) << 3)));
    p++;
    second++;
    if (load<i32>(SLOT_VALUES + (slotOf(normal) << 2)) | load<i32>(SLOT_VALUES + (slotOf(secondNormal) << 2))) {
      const hit = probe(normal);
      if (hit) return stopAt(p, normal, tail, hit - 1);
      if (tail == tailValue) return stopAt(p, normal, tail, blockCount - 1);
      if (probe(secondNormal)) {
        secondMatched = true;
        break;
      }
    }
    if (tail == tailValue) return stopAt(p, normal, tail, blockCount - 1);
    if (secondTail == tailValue) {
      secondMatched = true;
      break;
    }
  }
  if (secondMatched) {
    // The second lane matched first: finish the first lane alone up to the midpoint.
    steadyNormal = normal;
    steadyTail = tail;
    const stopped = scanOneLane(p, mid);
    if (steadyFound >= 0) return stopped;
    // No match before the midpoint: the second lane's match, found at `second`, stands.
    const hit = probe(secondNormal);
    return stopAt(second, secondNormal, secondTail, hit ? hit - 1 : blockCount - 1);
  }
  // The first lane reached the midpoint without a match: the second lane's state is exact.
  steadyNormal = secondNormal;
  steadyTail = secondTail;
  return scanOneLane(second, end);
}

// @ts-ignore: decorator
@inline function stopAt(p: usize, normal: u64, tail: u64, found: i32): usize {
  steadyNormal = normal;
  steadyTail = tail;
  steadyFound = found;
  return p;
}

export function matchedBlock(): i32 {
  return lastMatch;
}

export function matchedLength(): usize {
  return lastMatch == blockCount - 1 ? tailSize : blockSize;
}

/** Writes the hashes of n blocks of the len bytes at ptr to out (n u64 LE); the last block takes the remainder. */
export function blockHashes(ptr: usize, len: usize, n: i32, out: usize): void {
  ensureTables();
  const size = len / <usize>n;
  let i = 0;
  // Two blocks at a time: independent chains overlap their table loads.
  for (; i + 1 < n - 1; i += 2) {
    store<u64>(out + (<usize>i << 3), crcPair(ptr + <usize>i * size, ptr + <usize>(i + 1) * size, size));
    store<u64>(out + (<usize>(i + 1) << 3), pairSecond);
  }
  for (; i < n - 1; i++) {
    store<u64>(out + (<usize>i << 3), crcUpdate(0, ptr + <usize>i * size, size));
  }
  const last = <usize>(n - 1) * size;
  store<u64>(out + (<usize>(n - 1) << 3), crcUpdate(0, ptr + last, len - last));
}

/** Scratch space for hashing: returns a pointer to `length` writable bytes (grows memory). 0 on failure. */
export function scratch(length: usize): usize {
  const start = (__heap_base + 15) & ~<usize>15;
  const wantedPages = <i32>((start + length + 0xFFFF) >> 16);
  if (wantedPages > memory.size() && memory.grow(wantedPages - memory.size()) < 0) return 0;
  return start;
}

export function crc64Update(crc: u64, ptr: usize, len: usize): u64 {
  ensureTables();
  return crcUpdate(crc, ptr, len);
}
