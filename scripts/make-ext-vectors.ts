// Generates test/vectors-ext/: the vectors of the crcsync extension x=1
// (docs/extensions.md), in the layout of the v=1 reference vectors. The
// inputs are made here from a seed (no third-party files), the deltas by our
// encoder with pako 2.x (byte-identical to zlib's deflate at level 6, preset
// dictionaries included), damaged ones by editing named sections. Running it
// again gives the same bytes; test/reference/ext-vectors.test.ts checks that.
//
//   npm run vectors:ext   (writes test/vectors-ext)

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deflate as pakoDeflate } from 'pako';
import { createTwinEngine } from '../src/core/crc64-twin';
import { ExtDeltaEncoder, pakoDictionaryCompressor } from '../src/protocol/ext-encoder';
import { offerExtension } from '../src/protocol/ext-offer';
import { ExtSectionPlanner } from '../src/protocol/ext-sections';
import { TAG_CHECKPOINT, TAG_DICTIONARY_ZLIB, TAG_EXT_MARKER } from '../src/protocol/ext-wire';
import { formatIfBlock, parseIfBlock } from '../src/protocol/if-block';
import { nobleSha1 } from '../src/protocol/sha1';
import { TAG_BLOCK, TAG_DIGEST, TAG_ZLIB } from '../src/protocol/wire';

export interface ExtVector {
  name: string;
  /** One line for the README table. */
  about: string;
  old: Uint8Array;
  new: Uint8Array;
  ifBlock: string;
  delta: Uint8Array;
  expect: 'decode-ok' | 'decode-error';
  /** The CrcsyncError code a decoder gives (decode-error only). */
  errorCode: string | null;
  /** Body offsets where released ranges end when the delta arrives one byte at a time. */
  releases: number[];
}

/** A planned section, serialized: its tag, its whole bytes (tag included), and the body length after it. */
interface Section {
  tag: string;
  bytes: Uint8Array;
  bodyEnd: number;
  /** Z and D: the literal bytes. */
  literal?: Uint8Array;
}

const engine = createTwinEngine();
const encoder = new TextEncoder();

/** mulberry32: a small seeded generator, so the fixtures are the same on every machine. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['delta', 'browser', 'cache', 'page', 'server', 'block', 'hash', 'stream', 'verified', 'prefix', 'window', 'release', 'origin', 'request', 'the', 'a', 'of', 'with'];

function sentence(random: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(random() * WORDS.length)]);
  return `${out.join(' ')}.`;
}

function story(random: () => number, id: number): string {
  const points = Math.floor(random() * 900);
  return `<article class="story" id="s${id}"><h2><a href="/item?id=${id}">${sentence(random, 6)}</a></h2>\n<p class="meta">${points} points | ${Math.floor(random() * 300)} comments</p>\n<p>${sentence(random, 30)}</p></article>\n`;
}

/** A news front page of about `bytes` bytes: a head with a nonce, stories, a footer with a time. */
function frontPage(seed: number, bytes: number, options: { nonce?: string; time?: string; firstStory?: number } = {}): string {
  const random = seeded(seed);
  const head = `<!doctype html>\n<html><head><meta charset="utf-8"><title>crcsync news</title>\n<script nonce="${options.nonce ?? 'n0nce0'}">window.started = Date.now();</script>\n<link rel="stylesheet" href="/site.css"></head>\n<body><header>Updated ${options.time ?? '12:00'}</header>\n<main>\n`;
  const foot = `</main>\n<footer>generated at ${options.time ?? '12:00'}</footer></body></html>\n`;
  let middle = '';
  let id = options.firstStory ?? 1000;
  while (head.length + middle.length + foot.length < bytes) middle += story(random, id++);
  return head + middle + foot;
}

function planSections(old: Uint8Array, body: Uint8Array): Section[] {
  const ifBlock = parseIfBlock(formatIfBlock(old, engine)!);
  let bodyEnd = 0;
  const sections: Section[] = [{ tag: 'X', bytes: Uint8Array.of(TAG_EXT_MARKER, 1), bodyEnd }];
  const planner = new ExtSectionPlanner(ifBlock, { engine, sha1: nobleSha1 }, {
    onBlock: (index) => {
      bodyEnd += index === ifBlock.layout.blockCount - 1 ? ifBlock.layout.tailSize : ifBlock.layout.blockSize;
      sections.push({ tag: 'B', bytes: Uint8Array.of(TAG_BLOCK, index), bodyEnd });
    },
    onLiteralPiece: (piece, dictionary) => {
      const tag = dictionary.length ? TAG_DICTIONARY_ZLIB : TAG_ZLIB;
      bodyEnd += piece.length;
      sections.push({ tag: String.fromCharCode(tag), bytes: concat([Uint8Array.of(tag), pakoDictionaryCompressor(piece, dictionary)]), bodyEnd, literal: piece.slice() });
    },
    onCheckpoint: (digest) => sections.push({ tag: 'C', bytes: concat([Uint8Array.of(TAG_CHECKPOINT), digest]), bodyEnd }),
    onDigest: (digest) => sections.push({ tag: 'S', bytes: concat([Uint8Array.of(TAG_DIGEST), digest]), bodyEnd }),
  });
  planner.push(body, true);
  if (bodyEnd !== body.length) throw new Error(`the plan covers ${bodyEnd} bytes, the body has ${body.length}`);
  return sections;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** What ExtDeltaEncoder writes, in one push: the vectors' delta.bin for decode-ok cases. */
function encode(old: Uint8Array, body: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  new ExtDeltaEncoder(parseIfBlock(formatIfBlock(old, engine)!), { engine, compressor: pakoDictionaryCompressor, sha1: nobleSha1 }, (chunk) => out.push(chunk)).push(body, true);
  return concat(out);
}

function nth(list: Section[], tag: string, n: number): Section {
  const found = list.filter((section) => section.tag === tag)[n];
  if (!found) throw new Error(`no ${tag} section #${n}`);
  return found;
}

function okVector(name: string, about: string, old: string | Uint8Array, body: string | Uint8Array): ExtVector {
  const oldBytes = typeof old === 'string' ? encoder.encode(old) : old;
  const newBytes = typeof body === 'string' ? encoder.encode(body) : body;
  const sections = planSections(oldBytes, newBytes);
  const delta = encode(oldBytes, newBytes);
  if (Buffer.compare(Buffer.from(delta), Buffer.from(concat(sections.map((section) => section.bytes)))) !== 0) {
    throw new Error(`${name}: the planner's sections and the encoder's bytes differ`);
  }
  const checkpoints = sections.filter((section) => section.tag === 'C').map((section) => section.bodyEnd);
  const releases = newBytes.length > (checkpoints[checkpoints.length - 1] ?? 0) ? [...checkpoints, newBytes.length] : checkpoints;
  return { name, about, old: oldBytes, new: newBytes, ifBlock: offerExtension(formatIfBlock(oldBytes, engine)!), delta, expect: 'decode-ok', errorCode: null, releases };
}

/**
 * A damaged copy of a decode-ok vector. What a decoder may release is what
 * the checkpoints before the first edited section verify: that is
 * releases.txt (derived from the plan, not from any decoder).
 */
function damagedVector(source: ExtVector, name: string, about: string, errorCode: string, edit: (list: Section[]) => Section[]): ExtVector {
  const sections = planSections(source.old, source.new);
  const edited = edit(sections.map((section) => ({ ...section, bytes: section.bytes.slice() })));
  let firstEdited = 0;
  while (firstEdited < sections.length && firstEdited < edited.length && Buffer.from(sections[firstEdited].bytes).equals(edited[firstEdited].bytes)) firstEdited++;
  const releases = sections.slice(0, firstEdited).filter((section) => section.tag === 'C').map((section) => section.bodyEnd);
  return { ...source, name, about, delta: concat(edited.map((section) => section.bytes)), expect: 'decode-error', errorCode, releases };
}

export function buildExtVectors(): ExtVector[] {
  const base = frontPage(1, 40000);
  const identical = okVector('01-identical', 'identical bodies: X 01, 40 B sections, S = 103 bytes; no checkpoint (no literal bytes)', base, base);
  const smallEdit = okVector(
    '02-small-edit',
    'head time, one story\'s points and the footer time changed: a Z run at the start (nothing rebuilt yet), short D runs after',
    base,
    frontPage(1, 40000, { time: '12:07' }).replace('points | 1', 'points | 2'),
  );
  // A "trending" list in the middle that links stories shown above it: the dictionary (the body before it) holds its text.
  const insertAt = base.indexOf('<article', 20000);
  const headlines = [...base.slice(0, insertAt).matchAll(/<a href="\/item\?id=(\d+)">([^<]*)<\/a>/g)].slice(-30);
  const trending = `<aside class="trending"><h2>Trending</h2><ol>\n${headlines.map(([, id, title], rank) => `<li><a href="/item?id=${id}">${title}</a> <span class="rank">${rank + 1}</span></li>\n`).join('')}</ol></aside>\n`;
  const dictionaryHelps = okVector(
    '03-dictionary-helps',
    'a trending list in the middle linking stories above it: its D sections cost about half what deflate without a dictionary makes of the same bytes',
    base,
    base.slice(0, insertAt) + trending + base.slice(insertAt),
  );
  const other = frontPage(42, 60000, { firstStory: 5000 });
  const longLiteral = okVector(
    '04-checkpoints-inside-long-literal',
    'a 60 KB run of new content after the first 5000 bytes: the run is cut into D pieces with C checkpoints between them',
    base,
    base.slice(0, 5000) + other.slice(2000, 62000) + base.slice(5000),
  );
  const empty = okVector('05-empty-new', 'empty new body: X 01, S + SHA-1 of nothing = 23 bytes; nothing to release', base.slice(0, 838), '');
  const headChanged = okVector(
    '06-head-changed-and-appended',
    'new nonce in the head (a short Z run: under 1 KiB of literals, no checkpoint after it), 12 new stories appended: a checkpoint before them releases the page so far',
    base,
    frontPage(1, 40000, { nonce: 'n0nce1' }).replace('</main>', `${frontPage(3, 12000, { firstStory: 9000 }).slice(200, 12000)}</main>`),
  );
  const notes = seeded(5);
  let plainText = '';
  while (plainText.length < 9000) plainText += `${sentence(notes, 12)}\n`;
  const unrelated = okVector('07-unrelated', 'nothing in common (plain text, then a page): all literal, the first piece Z, the rest D, checkpoints throughout', plainText, frontPage(6, 30000, { firstStory: 1 }));

  const flipByte = (section: Section, at: number) => {
    section.bytes[at] ^= 0x01;
  };
  const damaged = [
    damagedVector(longLiteral, '10-error-checkpoint-digest-flipped', 'a byte of the second C digest flipped: the first checkpoint\'s prefix is released, nothing after', 'DELTA_CHECKPOINT_MISMATCH', (list) => {
      flipByte(nth(list, 'C', 1), 7);
      return list;
    }),
    damagedVector(longLiteral, '11-error-dictid-flipped', 'a byte of the first D section\'s DICTID flipped: not the Adler-32 of the rebuilt body\'s last 32 KiB', 'DELTA_DICTIONARY', (list) => {
      flipByte(nth(list, 'D', 0), 4);
      return list;
    }),
    damagedVector(longLiteral, '12-error-d-data-flipped', 'a byte in the deflate data of the third D section flipped: the stream fails its Adler-32 or its codes', 'DELTA_ZLIB', (list) => {
      const section = nth(list, 'D', 2);
      flipByte(section, section.bytes.length >> 1);
      return list;
    }),
    damagedVector(longLiteral, '13-error-extension-version-2', 'marker X 02: a version the client did not offer', 'DELTA_EXTENSION_VERSION', (list) => {
      list[0].bytes[1] = 2;
      return list;
    }),
    damagedVector(longLiteral, '14-error-checkpoints-too-close', 'the first C repeated right after itself: a checkpoint covering 0 new bytes (spacing under 1 KiB)', 'DELTA_CHECKPOINT_SPACING', (list) => {
      const at = list.indexOf(nth(list, 'C', 0));
      list.splice(at + 1, 0, { ...list[at], bytes: list[at].bytes.slice() });
      return list;
    }),
    damagedVector(longLiteral, '15-error-d-without-dictionary', 'the first D section replaced by a plain zlib stream (no FDICT) of the same bytes', 'DELTA_DICTIONARY', (list) => {
      const section = nth(list, 'D', 0);
      section.bytes = concat([Uint8Array.of(TAG_DICTIONARY_ZLIB), pakoDeflate(section.literal!, { level: 6 })]);
      return list;
    }),
    damagedVector(longLiteral, '16-error-truncated-after-checkpoint', 'the delta cut 5 bytes into the section after the second C: two prefixes released, then DELTA_TRUNCATED', 'DELTA_TRUNCATED', (list) => {
      const at = list.indexOf(nth(list, 'C', 1));
      list[at + 1].bytes = list[at + 1].bytes.subarray(0, 5);
      return list.slice(0, at + 2);
    }),
    damagedVector(longLiteral, '17-error-wrong-final-sha1', 'last byte of the S digest flipped: every checkpoint\'s prefix released, the rest never', 'DELTA_DIGEST_MISMATCH', (list) => {
      flipByte(list[list.length - 1], 20);
      return list;
    }),
    damagedVector(unrelated, '18-error-d-before-any-output', 'the first section (a Z) tagged D, when there is no rebuilt byte to be its dictionary', 'DELTA_DICTIONARY', (list) => {
      const section = nth(list, 'Z', 0);
      section.bytes[0] = TAG_DICTIONARY_ZLIB;
      return list;
    }),
    damagedVector(longLiteral, '19-error-c-in-v1-body', 'the X marker removed: a v=1 body with C and D sections, which v=1 does not have', 'DELTA_UNKNOWN_SECTION', (list) => list.slice(1)),
  ];
  return [identical, smallEdit, dictionaryHelps, longLiteral, empty, headChanged, unrelated, ...damaged];
}

function readme(vectors: ExtVector[]): string {
  const rows = vectors.map((vector) => `| \`${vector.name}\` | ${vector.expect}${vector.errorCode ? ` ${vector.errorCode}` : ''} | ${vector.about}; ${vector.old.length} → ${vector.new.length} bytes, delta ${vector.delta.length} bytes |`);
  return `# crcsync extension x=1 vectors

Generated by \`scripts/make-ext-vectors.ts\` (do not edit by hand); the
format is docs/extensions.md. Inputs are made from a seed by that script.
Deltas: our encoder, literal pieces deflated by pako 2.x at level 6 (zlib's
output byte for byte, preset dictionaries included). Checked by
\`test/reference/ext-vectors.test.ts\`.

## One folder per vector

| file | content |
|---|---|
| \`old\` | the body the client has cached |
| \`new\` | the body the server serves (for a damaged delta: the body its undamaged form encodes) |
| \`if-block.txt\` | the If-Block value the client sends: the v=1 value, then \`; x=1\` |
| \`delta.bin\` | the response body: an extension body (starts with \`X 01\`) |
| \`expect.txt\` | \`decode-ok\` or \`decode-error\` |
| \`error-code.txt\` | decode-error only: the CrcsyncError code |
| \`releases.txt\` | body offsets, one per line, where the verified ranges a decoder releases end when \`delta.bin\` arrives one byte at a time (each C checkpoint, then the body's end after S); for a damaged delta, the ranges released before the failure. Empty when nothing is released. |

\`decode-ok\`: encoding \`new\` against \`if-block.txt\` gives \`delta.bin\`
exactly; decoding it against \`old\` gives \`new\`. \`decode-error\`: decoding
fails with that code, and the released bytes are exactly
\`new[0, last line of releases.txt)\`: no unverified byte.

| vector | expect | what it covers |
|---|---|---|
${rows.join('\n')}
`;
}

export function writeExtVectors(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  const vectors = buildExtVectors();
  for (const vector of vectors) {
    const folder = join(dir, vector.name);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'old'), vector.old);
    writeFileSync(join(folder, 'new'), vector.new);
    writeFileSync(join(folder, 'if-block.txt'), vector.ifBlock);
    writeFileSync(join(folder, 'delta.bin'), vector.delta);
    writeFileSync(join(folder, 'expect.txt'), `${vector.expect}\n`);
    if (vector.errorCode) writeFileSync(join(folder, 'error-code.txt'), `${vector.errorCode}\n`);
    writeFileSync(join(folder, 'releases.txt'), vector.releases.map((offset) => `${offset}\n`).join(''));
  }
  writeFileSync(join(dir, 'README.md'), readme(vectors));
}

if (require.main === module) {
  const dir = resolve(process.argv[2] ?? 'test/vectors-ext');
  writeExtVectors(dir);
  console.log(`wrote ${buildExtVectors().length} vectors to ${dir}`);
}
