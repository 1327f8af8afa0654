// Encode/decode helpers for the extension tests (docs/extensions.md): the
// encoder at any chunking, and the streaming decoder with every release it
// makes recorded and checked for order as it happens.

import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { CrcEngine } from '../../src/core/crc-engine';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { DeltaDecoder, DeltaDecoderOptions } from '../../src/protocol/delta-decoder';
import { DictionaryCompressor, ExtDeltaEncoder, pakoDictionaryCompressor } from '../../src/protocol/ext-encoder';
import { CheckpointPolicy } from '../../src/protocol/ext-sections';
import { formatIfBlockFromHashes, parseIfBlock } from '../../src/protocol/if-block';
import { Sha1Factory } from '../../src/protocol/sha1';

/** node:crypto SHA-1 with digestSoFar (what an adapter injects). */
export const nodePrefixSha1: Sha1Factory = () => {
  const hash = createHash('sha1');
  return {
    update: (bytes) => void hash.update(bytes),
    digest: () => new Uint8Array(hash.digest()),
    digestSoFar: () => new Uint8Array(hash.copy().digest()),
  };
};

/** What the server's thread pool would run per piece: node's zlib with the preset dictionary. */
export const nodeDictionaryCompressor: DictionaryCompressor = (piece, dictionary) =>
  dictionary.length ? deflateSync(piece, { level: 6, dictionary }) : deflateSync(piece, { level: 6 });

export interface ExtEncodeOptions {
  engine?: CrcEngine;
  compressor?: DictionaryCompressor;
  blockCount?: number;
  checkpoints?: CheckpointPolicy | null;
  sha1?: Sha1Factory;
}

export function extEncode(base: Uint8Array, body: Uint8Array, pieces: Uint8Array[] = [body], options: ExtEncodeOptions = {}): Buffer {
  const engine = options.engine ?? getDefaultEngine();
  const ifBlock = parseIfBlock(formatIfBlockFromHashes(base.length, engine.blockHashes(base, options.blockCount ?? 40)));
  const out: Uint8Array[] = [];
  let finals = 0;
  const encoder = new ExtDeltaEncoder(
    ifBlock,
    { engine, compressor: options.compressor ?? pakoDictionaryCompressor, checkpoints: options.checkpoints, sha1: options.sha1 },
    (chunk, final) => {
      out.push(chunk);
      if (final) finals++;
    },
  );
  pieces.forEach((piece, i) => encoder.push(piece, i === pieces.length - 1));
  if (pieces.length === 0) encoder.push(new Uint8Array(0), true);
  if (finals !== 1) throw new Error(`encoder signalled final ${finals} times`);
  return Buffer.concat(out);
}

export interface TrackedDecode {
  /** The verified body (ondata), or null on failure. */
  body: Buffer | null;
  code: string | null;
  /** The released bytes joined, and where each release ended. */
  released: Buffer;
  releaseEnds: number[];
  /** Index of the push during which each release came (the pushes count from 0). */
  releasePushes: number[];
  extension: boolean;
}

/**
 * Pushes `pieces` (the last one final) and records every onverified call,
 * checking on the way that ranges come in order and at most once per push,
 * and that ondata's body starts with everything released.
 */
export function decodeTracked(base: Uint8Array, pieces: Uint8Array[], options: DeltaDecoderOptions = {}): TrackedDecode {
  const releasedParts: Buffer[] = [];
  const releaseEnds: number[] = [];
  const releasePushes: number[] = [];
  let releasedLength = 0;
  let push = 0;
  let body: Buffer | null = null;
  const decoder = new DeltaDecoder(base, { acceptExtension: true, sha1: nodePrefixSha1, ...options }, (verified) => {
    body = Buffer.from(verified);
  });
  decoder.onverified = (bytes, offset) => {
    if (offset !== releasedLength) throw new Error(`release at ${offset}, expected ${releasedLength}`);
    if (bytes.length === 0) throw new Error('empty release');
    if (releasePushes[releasePushes.length - 1] === push) throw new Error(`two releases in push ${push}`);
    releasedParts.push(Buffer.from(bytes));
    releasedLength += bytes.length;
    releaseEnds.push(releasedLength);
    releasePushes.push(push);
  };
  let code: string | null = null;
  try {
    const all = pieces.length ? pieces : [new Uint8Array(0)];
    for (; push < all.length; push++) decoder.push(all[push], push === all.length - 1);
  } catch (error) {
    code = (error as { code?: string }).code ?? `not a CrcsyncError: ${String(error)}`;
  }
  const released = Buffer.concat(releasedParts);
  if (body !== null && !(body as Buffer).subarray(0, released.length).equals(released)) throw new Error('the body does not start with the released bytes');
  return { body, code, released, releaseEnds, releasePushes, extension: decoder.isExtensionBody };
}

/** The delta in pieces of `size` bytes (1: byte by byte, as the slowest network). */
export function splitEvery(data: Uint8Array, size: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += size) pieces.push(data.subarray(at, at + size));
  return pieces.length ? pieces : [data];
}
