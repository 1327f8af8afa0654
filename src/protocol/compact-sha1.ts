// SHA-1 (FIPS 180-4) for the delta decoder's digest check in a browser
// extension's background (PROTOCOL.md §3: the S section), passed in as its
// `sha1` option the way the Node adapters pass node:crypto. Pure, so it sits
// beside sha1.ts for every adapter (Firefox today, Chromium next). Why not @noble/hashes (the decoder's
// default): measured in Firefox ESR 153's extension process on 100 KB, noble
// takes 1.4-1.5 ms warm and 7-8 ms on the first call after a few idle seconds
// (SpiderMonkey drops JIT code while the background idles, which is how
// every page load finds it); this one 0.9 ms warm and 1-3 ms cold. The
// decoder needs a synchronous, incremental hasher, so crypto.subtle (0.15 ms,
// asynchronous) cannot stand in. Checked against node:crypto at random
// lengths and chunkings (test/unit/protocol/compact-sha1.test.ts).
//
// One 64-byte block at a time, read straight from the caller's bytes (a
// partial block is carried over), the 80 rounds as four loops without
// branches, all arithmetic on int32.

import type { Sha1Factory, Sha1Hasher } from './sha1';

const BLOCK_BYTES = 64;
const INITIAL_STATE = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];

/** Folds the 64-byte block at bytes[offset] into state; w is scratch for the message schedule. */
function compress(state: Int32Array, bytes: Uint8Array, offset: number, w: Int32Array): void {
  for (let i = 0; i < 16; i++, offset += 4) w[i] = (bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3];
  for (let i = 16; i < 80; i++) {
    const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
    w[i] = (x << 1) | (x >>> 31);
  }
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  let e = state[4];
  let i = 0;
  for (; i < 20; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + w[i]) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (; i < 40; i++) {
    const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[i]) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (; i < 60; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + 0x8f1bbcdc + w[i]) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (; i < 80; i++) {
    const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0xca62c1d6 + w[i]) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0;
}

class CompactSha1 implements Sha1Hasher {
  private readonly state = Int32Array.from(INITIAL_STATE);
  private readonly schedule = new Int32Array(80);
  /** The start of a block that has not come whole yet. */
  private readonly carry = new Uint8Array(BLOCK_BYTES);
  private carried = 0;
  private length = 0;

  update(bytes: Uint8Array): void {
    let at = 0;
    this.length += bytes.length;
    if (this.carried) {
      const take = Math.min(BLOCK_BYTES - this.carried, bytes.length);
      this.carry.set(bytes.subarray(0, take), this.carried);
      this.carried += take;
      at = take;
      if (this.carried < BLOCK_BYTES) return;
      compress(this.state, this.carry, 0, this.schedule);
      this.carried = 0;
    }
    for (; at + BLOCK_BYTES <= bytes.length; at += BLOCK_BYTES) compress(this.state, bytes, at, this.schedule);
    if (at < bytes.length) {
      this.carry.set(bytes.subarray(at));
      this.carried = bytes.length - at;
    }
  }

  /** The digest of everything so far; the hasher stays open (the padding goes into copies). */
  digest(): Uint8Array {
    const state = this.state.slice();
    const tail = new Uint8Array(this.carried < BLOCK_BYTES - 8 ? BLOCK_BYTES : 2 * BLOCK_BYTES);
    tail.set(this.carry.subarray(0, this.carried));
    tail[this.carried] = 0x80;
    const bits = this.length * 8;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 0x100000000));
    view.setUint32(tail.length - 4, bits >>> 0);
    for (let offset = 0; offset < tail.length; offset += BLOCK_BYTES) compress(state, tail, offset, this.schedule);
    const out = new Uint8Array(20);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 5; i++) outView.setInt32(i * 4, state[i]);
    return out;
  }

  digestSoFar(): Uint8Array {
    return this.digest();
  }
}

export const compactSha1: Sha1Factory = () => new CompactSha1();
