// Runs in a real browser page (bundled by protocol-in-browsers.test.ts):
// the library's pure code with the browser's own WebAssembly, TextEncoder,
// atob/btoa and typed arrays. Reports what it saw to window.selftest.

import { createTwinEngine } from '../../src/core/crc64-twin';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { DeltaDecoder } from '../../src/protocol/delta-decoder';
import { DeltaEncoder } from '../../src/protocol/delta-encoder';
import { formatIfBlock, parseIfBlock } from '../../src/protocol/if-block';

interface SelfTestResult {
  engine: string;
  checkValue: string;
  enginesAgree: boolean;
  roundTrip: boolean;
  deltaBytes: number;
  bodyBytes: number;
  corruptRefused: string;
}

function run(): SelfTestResult {
  const engine = getDefaultEngine();
  const twin = createTwinEngine();
  const body = new Uint8Array(200000);
  let seed = 7;
  for (let i = 0; i < body.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    body[i] = 97 + ((seed >>> 24) % 20);
  }
  const next = new Uint8Array(body.length + 10);
  next.set(body.subarray(0, 50000));
  next.set(new TextEncoder().encode('0123456789'), 50000);
  next.set(body.subarray(50000), 50010);

  const ifBlock = formatIfBlock(body, engine)!;
  const enginesAgree = ifBlock === formatIfBlock(body, twin);
  const pieces: Uint8Array[] = [];
  const encoder = new DeltaEncoder(parseIfBlock(ifBlock), { engine }, (chunk) => pieces.push(chunk));
  for (let at = 0; at < next.length; at += 7000) encoder.push(next.subarray(at, at + 7000), at + 7000 >= next.length);
  const delta = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    delta.set(piece, offset);
    offset += piece.length;
  }

  let rebuilt: Uint8Array | null = null;
  const decoder = new DeltaDecoder(body, {}, (verified) => {
    rebuilt = verified;
  });
  for (let at = 0; at < delta.length; at += 100) decoder.push(delta.subarray(at, at + 100), at + 100 >= delta.length);
  const got = rebuilt as Uint8Array | null;
  const roundTrip = !!got && got.length === next.length && got.every((byte, i) => byte === next[i]);

  const corrupt = delta.slice();
  corrupt[corrupt.length - 1] ^= 1;
  let corruptRefused = 'accepted';
  try {
    new DeltaDecoder(body).push(corrupt, true);
  } catch (error) {
    corruptRefused = (error as { code: string }).code;
  }
  return {
    engine: engine.kind,
    checkValue: engine.crc64(new TextEncoder().encode('123456789')).toString(16),
    enginesAgree,
    roundTrip,
    deltaBytes: delta.length,
    bodyBytes: next.length,
    corruptRefused,
  };
}

(window as unknown as { selftest: unknown }).selftest = (() => {
  try {
    return run();
  } catch (error) {
    return { error: String(error) };
  }
})();
