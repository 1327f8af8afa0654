// Measures the extension (docs/extensions.md) against v=1 over a corpus of
// old/new pairs (default ../shared/corpus): bytes on the wire (request
// If-Block header + delta body) as a share of gzip-6 and brotli-11 of the new
// body, per category, and the CPU an encode and a decode cost per response.
// The numbers in the spec's rationale come from this script.
//
//   npm run bench:ext -- [--corpus DIR] [--cpu-rounds N] [--csv FILE]

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants as zlibConstants, deflateSync, gzipSync } from 'node:zlib';
import { getDefaultEngine } from '../src/core/embedded-core';
import { CompressorFactory, pakoCompressor } from '../src/protocol/deflaters';
import { DeltaDecoder } from '../src/protocol/delta-decoder';
import { DeltaEncoder } from '../src/protocol/delta-encoder';
import { DictionaryCompressor, ExtDeltaEncoder, pakoDictionaryCompressor } from '../src/protocol/ext-encoder';
import { CheckpointPolicy, DEFAULT_CHECKPOINT_POLICY } from '../src/protocol/ext-sections';
import { EXT_OFFER } from '../src/protocol/ext-wire';
import { formatIfBlockFromHashes, parseIfBlock } from '../src/protocol/if-block';
import { encodeBase64Unpadded } from '../src/protocol/base64';
import { Sha1Factory } from '../src/protocol/sha1';

const nodeSha1: Sha1Factory = () => {
  const hash = createHash('sha1');
  return {
    update: (bytes) => void hash.update(bytes),
    digest: () => new Uint8Array(hash.digest()),
    digestSoFar: () => new Uint8Array(hash.copy().digest()),
  };
};

/** What the server's thread pool runs per piece: node's zlib with a preset dictionary. */
const nodeDictionaryCompressor: DictionaryCompressor = (piece, dictionary) =>
  dictionary.length ? deflateSync(piece, { level: 6, dictionary }) : deflateSync(piece, { level: 6 });

/** node's zlib per literal run, synchronously: what the v=1 server's thread pool does, on this thread. */
const nodeRunCompressor: CompressorFactory = (ondata) => {
  const held: Uint8Array[] = [];
  return {
    push(bytes, final) {
      if (bytes.length) held.push(bytes.slice());
      if (final) ondata(deflateSync(Buffer.concat(held), { level: 6 }));
    },
  };
};

const { values } = parseArgs({
  options: {
    corpus: { type: 'string', default: resolve('../shared/corpus') },
    'cpu-rounds': { type: 'string', default: '5' },
    csv: { type: 'string' },
  },
});
const corpusDir = values.corpus!;
const cpuRounds = Number(values['cpu-rounds']);

interface Pair {
  name: string;
  category: string;
  old: Buffer;
  new: Buffer;
}

function loadPairs(): Pair[] {
  if (!existsSync(corpusDir)) {
    console.log(`no corpus at ${corpusDir}: nothing to measure`);
    process.exit(0);
  }
  return readdirSync(corpusDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(corpusDir, entry.name, 'old')))
    .map((entry) => {
      const dir = join(corpusDir, entry.name);
      const meta = existsSync(join(dir, 'meta.json')) ? JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) : {};
      return { name: entry.name, category: String(meta.category ?? 'all'), old: readFileSync(join(dir, 'old')), new: readFileSync(join(dir, 'new')) };
    })
    .filter((pair) => pair.old.length >= 200 && pair.old.length <= 4 * 1024 * 1024);
}

/** Bytes of the request header line `If-Block: VALUE\r\n`. */
const headerBytes = (value: string) => 'If-Block: '.length + value.length + 2;

const engine = getDefaultEngine();

function v1Delta(pair: Pair, blockCount: number, compressor: CompressorFactory = pakoCompressor): Uint8Array {
  const ifBlock = parseIfBlock(formatIfBlockFromHashes(pair.old.length, engine.blockHashes(pair.old, blockCount)));
  const out: Uint8Array[] = [];
  const encoder = new DeltaEncoder(ifBlock, { engine, compressor, sha1: nodeSha1 }, (chunk) => out.push(chunk));
  encoder.push(pair.new, true);
  return Buffer.concat(out);
}

interface ExtVariant {
  blockCount: number;
  checkpoints: CheckpointPolicy | null;
  compressor?: DictionaryCompressor;
  minDictionaryPieceBytes?: number;
}

function extDelta(pair: Pair, variant: ExtVariant): { delta: Uint8Array; stats: ExtDeltaEncoder['stats'] } {
  const ifBlock = parseIfBlock(formatIfBlockFromHashes(pair.old.length, engine.blockHashes(pair.old, variant.blockCount)));
  const out: Uint8Array[] = [];
  const encoder = new ExtDeltaEncoder(
    ifBlock,
    { engine, compressor: variant.compressor ?? pakoDictionaryCompressor, sha1: nodeSha1, checkpoints: variant.checkpoints, minDictionaryPieceBytes: variant.minDictionaryPieceBytes },
    (chunk) => out.push(chunk),
  );
  encoder.push(pair.new, true);
  return { delta: Buffer.concat(out), stats: encoder.stats };
}

/** A TCP segment's payload: the delta reaches the decoder in pieces of this size, as over a network. */
const SEGMENT_BYTES = 1460;

interface Progress {
  /** Share of the delta received when the first byte was released, and when half the body was. */
  firstRelease: number;
  halfBody: number;
  /** Mean over body bytes of the share of the delta received when the byte was released (v=1: 1). */
  meanLag: number;
}

function decode(pair: Pair, delta: Uint8Array, blockCount: number, sha1?: Sha1Factory, segment = delta.length): Progress {
  let body: Uint8Array | null = null;
  let received = 0;
  let firstRelease = NaN;
  let halfBody = NaN;
  let lagSum = 0;
  const decoder = new DeltaDecoder(pair.old, { blockCount, acceptExtension: true, sha1 }, (verified) => (body = verified));
  decoder.onverified = (bytes, offset) => {
    if (Number.isNaN(firstRelease)) firstRelease = received / delta.length;
    if (Number.isNaN(halfBody) && offset + bytes.length >= pair.new.length / 2) halfBody = received / delta.length;
    lagSum += bytes.length * (received / delta.length);
  };
  for (let at = 0; at < delta.length || at === 0; at += segment) {
    const piece = delta.subarray(at, at + segment);
    received += piece.length;
    decoder.push(piece, at + segment >= delta.length);
  }
  if (!body || !Buffer.from(body).equals(pair.new)) throw new Error(`${pair.name}: round trip failed`);
  return { firstRelease, halfBody, meanLag: pair.new.length ? lagSum / pair.new.length : 1 };
}

/** n = clamp(floor(fs / 512), 40, 256): a block count that grows with the body. */
const growingBlockCount = (fileSize: number) => Math.max(40, Math.min(256, Math.floor(fileSize / 512)));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const pairs = loadPairs();
interface Row {
  pair: Pair;
  gzip6: number;
  br11: number;
  columns: Record<string, number>;
  extra: Record<string, number>;
}
const rows: Row[] = [];

for (const pair of pairs) {
  const gzip6 = gzipSync(pair.new, { level: 6 }).length;
  const br11 = brotliCompressSync(pair.new, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: pair.new.length } }).length;
  const v1Value = formatIfBlockFromHashes(pair.old.length, engine.blockHashes(pair.old, 40));
  const v1Request = headerBytes(v1Value);
  const offerRequest = headerBytes(v1Value + EXT_OFFER);
  const columns: Record<string, number> = {};
  const extra: Record<string, number> = {};

  const v1 = v1Delta(pair, 40);
  columns['v1'] = v1Request + v1.length;

  const zOnly = extDelta(pair, { blockCount: 40, checkpoints: DEFAULT_CHECKPOINT_POLICY, minDictionaryPieceBytes: Infinity });
  columns['x: checkpoints only'] = offerRequest + zOnly.delta.length;
  const dictOnly = extDelta(pair, { blockCount: 40, checkpoints: null });
  columns['x: dictionary only'] = offerRequest + dictOnly.delta.length;
  const x = extDelta(pair, { blockCount: 40, checkpoints: DEFAULT_CHECKPOINT_POLICY });
  columns['x=1 (as built)'] = offerRequest + x.delta.length;
  extra.checkpoints = x.stats.checkpoints;
  extra.dictionaryPieces = x.stats.dictionaryPieces;
  extra.dictionaryPerDeltaByte = x.stats.dictionaryBytes / x.delta.length;
  extra.extDelta = x.delta.length;
  extra.v1Delta = v1.length;
  extra.deltaSegments = Math.ceil(x.delta.length / SEGMENT_BYTES);

  // Checkpoint policies, for the choice of the default: bytes they add, and the share of the delta
  // received (in 1460-byte segments) before the first release and before half the body is released.
  for (const [label, policy] of [
    ['default', DEFAULT_CHECKPOINT_POLICY],
    ['no before-literal', { ...DEFAULT_CHECKPOINT_POLICY, beforeLiteral: false }],
    ['4K..32K lit2K', { firstBytes: 4096, maxBytes: 32768, minLiteralBytes: 2048, beforeLiteral: true }],
    ['2K..16K lit2K', { firstBytes: 2048, maxBytes: 16384, minLiteralBytes: 2048, beforeLiteral: true }],
    ['2K flat lit4K', { firstBytes: 2048, maxBytes: 2048, minLiteralBytes: 4096, beforeLiteral: true }],
  ] as const) {
    const planned = extDelta(pair, { blockCount: 40, checkpoints: policy });
    const progress = decode(pair, planned.delta, 40, undefined, SEGMENT_BYTES);
    extra[`cp ${label}: bytes`] = planned.delta.length - dictOnly.delta.length;
    extra[`cp ${label}: delta share at 1st release`] = progress.firstRelease;
    extra[`cp ${label}: delta share at half body`] = progress.halfBody;
    extra[`cp ${label}: mean release lag`] = progress.meanLag;
    // Where progressive release can matter at all: deltas of 4 or more segments (v=1 releases them after the last one).
    if (planned.delta.length >= 4 * SEGMENT_BYTES) {
      extra[`cp ${label}: delta share at 1st release (>= 4 segments)`] = progress.firstRelease;
      extra[`cp ${label}: mean release lag (>= 4 segments)`] = progress.meanLag;
    }
  }
  extra['dict always (min piece 1)'] = extDelta(pair, { blockCount: 40, checkpoints: DEFAULT_CHECKPOINT_POLICY, minDictionaryPieceBytes: 1 }).delta.length - x.delta.length;
  extra['dict min piece 64'] = extDelta(pair, { blockCount: 40, checkpoints: DEFAULT_CHECKPOINT_POLICY, minDictionaryPieceBytes: 64 }).delta.length - x.delta.length;

  // Larger block counts: n = clamp(fs/k, 40, 256).
  for (const per of [256, 1024, 2048]) {
    const count = Math.max(40, Math.min(256, Math.floor(pair.old.length / per)));
    const planned = extDelta(pair, { blockCount: count, checkpoints: DEFAULT_CHECKPOINT_POLICY });
    const allHashes = engine.blockHashes(pair.old, count);
    const value = formatIfBlockFromHashes(pair.old.length, allHashes);
    columns[`x n=fs/${per} 8B in h`] = headerBytes(value + EXT_OFFER) + planned.delta.length;
    const four = new Uint8Array(count * 4);
    for (let i = 0; i < count; i++) four.set(allHashes.subarray(i * 8, i * 8 + 4), i * 4);
    columns[`x n=fs/${per} 4B xh only`] = headerBytes(`v=1; fs=${pair.old.length}${EXT_OFFER}; xh=${encodeBase64Unpadded(four)}`) + planned.delta.length;
  }
  const n = growingBlockCount(pair.old.length);
  const grown = extDelta(pair, { blockCount: n, checkpoints: DEFAULT_CHECKPOINT_POLICY });
  decode(pair, grown.delta, n);
  const grownV1 = v1Delta(pair, n);
  // (a) 8-byte hashes: all n in h (v=1 servers accept 1..256 hashes, PROTOCOL.md §1)
  const hashes8 = formatIfBlockFromHashes(pair.old.length, engine.blockHashes(pair.old, n));
  columns['v1 n=fs/512 8B in h'] = headerBytes(hashes8) + grownV1.length;
  columns['x n=fs/512 8B in h'] = headerBytes(hashes8 + EXT_OFFER) + grown.delta.length;
  // (b) 4-byte hashes in a separate field beside the 40 v=1 hashes (first visit), or alone (server known to speak x)
  const short = new Uint8Array(n * 4);
  const full = engine.blockHashes(pair.old, n);
  for (let i = 0; i < n; i++) short.set(full.subarray(i * 8, i * 8 + 4), i * 4);
  const xh = `; xh=${encodeBase64Unpadded(short)}`;
  columns['x n=fs/512 4B xh + 40 in h'] = headerBytes(v1Value + EXT_OFFER + xh) + grown.delta.length;
  columns['x n=fs/512 4B xh only'] = headerBytes(`v=1; fs=${pair.old.length}${EXT_OFFER}${xh}`) + grown.delta.length;
  // Expected false block matches with 4-byte hashes: each window position of each width against n hashes.
  // A false match fails the body (checkpoint or S) and costs a full refetch: expected bytes added.
  const falseMatches = (pair.new.length * n * (pair.old.length % n === 0 ? 1 : 2)) / 2 ** 32;
  columns['x n=fs/512 4B xh only + expected refetch'] = columns['x n=fs/512 4B xh only'] + Math.min(1, falseMatches) * (br11 + v1Request);
  // (c) 6-byte hashes alone
  const mid = new Uint8Array(n * 6);
  for (let i = 0; i < n; i++) mid.set(full.subarray(i * 8, i * 8 + 6), i * 6);
  columns['x n=fs/512 6B xh only'] = headerBytes(`v=1; fs=${pair.old.length}${EXT_OFFER}; xh=${encodeBase64Unpadded(mid)}`) + grown.delta.length;
  extra.falseMatches4B = falseMatches;
  extra.blockCount = n;

  // CPU per response, interleaved with gzip-6 of the same body in the same process (STYLE.md habit 4).
  if (cpuRounds > 0) {
    const jobs: Record<string, () => unknown> = {
      'gzip-6': () => gzipSync(pair.new, { level: 6 }),
      'enc v1 node-zlib': () => v1Delta(pair, 40, nodeRunCompressor),
      'enc x node-zlib': () => extDelta(pair, { blockCount: 40, checkpoints: DEFAULT_CHECKPOINT_POLICY, compressor: nodeDictionaryCompressor }),
      'dec v1 noble': () => decode(pair, v1, 40),
      'dec x noble': () => decode(pair, x.delta, 40),
      'dec x noble, 1460-byte pushes': () => decode(pair, x.delta, 40, undefined, SEGMENT_BYTES),
    };
    const times: Record<string, number[]> = {};
    for (const [name, job] of Object.entries(jobs)) {
      job();
      times[name] = [];
    }
    for (let round = 0; round < cpuRounds; round++) {
      for (const [name, job] of Object.entries(jobs)) {
        const start = process.hrtime.bigint();
        job();
        times[name].push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    }
    const ms = (name: string) => median(times[name]);
    for (const name of Object.keys(jobs)) extra[`${name} ms`] = ms(name);
    extra['enc v1 node-zlib / gzip-6'] = ms('enc v1 node-zlib') / ms('gzip-6');
    extra['enc x node-zlib / gzip-6'] = ms('enc x node-zlib') / ms('gzip-6');
    extra['dec x / dec v1'] = ms('dec x noble') / ms('dec v1 noble');
    extra['literal runs (v1 deflate jobs)'] = x.stats.literalRuns;
    extra['literal pieces (x deflate jobs)'] = x.stats.dictionaryPieces + x.stats.plainPieces;
  }
  rows.push({ pair, gzip6, br11, columns, extra });
  process.stderr.write('.');
}
process.stderr.write('\n');

const categories = [...new Set(rows.map((row) => row.pair.category))].sort();
const columnNames = Object.keys(rows[0].columns);
const pct = (value: number) => `${(100 * value).toFixed(1)}%`;

console.log(`# ${rows.length} pairs from ${corpusDir}`);
console.log('\n## Bytes (If-Block request header + delta body), median share of gzip-6 | of brotli-11 of the new body\n');
console.log(`| variant | ${categories.join(' | ')} | all |`);
console.log(`|---|${categories.map(() => '---').join('|')}|---|`);
for (const column of columnNames) {
  const cells = [...categories, null].map((category) => {
    const selected = rows.filter((row) => category === null || row.pair.category === category);
    return `${pct(median(selected.map((row) => row.columns[column] / row.gzip6)))} \\| ${pct(median(selected.map((row) => row.columns[column] / row.br11)))}`;
  });
  console.log(`| ${column} | ${cells.join(' | ')} |`);
}
const worse = (column: string) => rows.filter((row) => row.columns[column] > row.br11).length;
console.log(`\npairs where the total exceeds brotli-11: ${columnNames.map((column) => `${column}: ${worse(column)}`).join('; ')}`);

const extraNames = Object.keys(rows[0].extra);
console.log('\n## Other figures: median | max over pairs\n');
for (const name of extraNames) {
  const list = rows.map((row) => row.extra[name]).filter((value) => Number.isFinite(value));
  if (!list.length) continue;
  console.log(`- ${name}: median ${median(list).toFixed(3)} | max ${Math.max(...list).toFixed(3)} | sum ${list.reduce((a, b) => a + b, 0).toFixed(3)}`);
}

if (values.csv) {
  const header = ['pair', 'category', 'old', 'new', 'gzip6', 'br11', ...columnNames, ...extraNames];
  const lines = rows.map((row) => [row.pair.name, row.pair.category, row.pair.old.length, row.pair.new.length, row.gzip6, row.br11, ...columnNames.map((c) => row.columns[c]), ...extraNames.map((e) => row.extra[e])].join(','));
  writeFileSync(values.csv, `${header.join(',')}\n${lines.join('\n')}\n`);
}
