// Encode/decode helpers shared by the codec tests.

import { CrcEngine } from '../../../src/core/crc-engine';
import { getDefaultEngine } from '../../../src/core/embedded-core';
import { CompressorFactory } from '../../../src/protocol/deflaters';
import { DeltaDecoder, DeltaDecoderOptions } from '../../../src/protocol/delta-decoder';
import { DeltaEncoder } from '../../../src/protocol/delta-encoder';
import { formatIfBlock, parseIfBlock } from '../../../src/protocol/if-block';

export function encodeDelta(
  base: Uint8Array,
  body: Uint8Array,
  pieces: Uint8Array[] = [body],
  options: { engine?: CrcEngine; compressor?: CompressorFactory } = {},
): Uint8Array {
  const engine = options.engine ?? getDefaultEngine();
  const out: Uint8Array[] = [];
  let finals = 0;
  const encoder = new DeltaEncoder(parseIfBlock(formatIfBlock(base, engine)!), { engine, compressor: options.compressor }, (chunk, final) => {
    out.push(chunk);
    if (final) finals++;
  });
  pieces.forEach((piece, i) => encoder.push(piece, i === pieces.length - 1));
  if (pieces.length === 0) encoder.push(new Uint8Array(0), true);
  expect(finals).toBe(1);
  return Buffer.concat(out);
}

/** Decodes in the given pieces; returns the verified body or the error code. */
export function decodeDelta(base: Uint8Array, pieces: Uint8Array[], options: DeltaDecoderOptions = {}): Uint8Array | string {
  const released: Uint8Array[] = [];
  const decoder = new DeltaDecoder(base, options, (body) => released.push(body));
  try {
    pieces.forEach((piece, i) => decoder.push(piece, i === pieces.length - 1));
    if (pieces.length === 0) decoder.push(new Uint8Array(0), true);
  } catch (error) {
    // Nothing may have been released before the failure.
    expect(released).toEqual([]);
    return (error as { code: string }).code;
  }
  expect(released.length).toBe(1);
  return released[0];
}
