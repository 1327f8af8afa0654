// `crcsync` command line: the contract other crcsync peers test against
// (../shared/tools/check-vectors.sh). Exit codes: 0 ok, 2 error, 3 "no
// If-Block / pass through" (not an error: the normal response is served).

import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { parseArgs, ParseArgsConfig } from 'node:util';
import { getDefaultEngine } from './core/embedded-core';
import { pakoCompressor, fflateCompressor, CompressorFactory } from './protocol/deflaters';
import { DeltaDecoder } from './protocol/delta-decoder';
import { DeltaEncoder } from './protocol/delta-encoder';
import { isCrcsyncError } from './protocol/errors';
import { DictionaryCompressor, ExtDeltaEncoder, fflateDictionaryCompressor, pakoDictionaryCompressor } from './protocol/ext-encoder';
import { answerableExtensionVersion, offerExtension } from './protocol/ext-offer';
import { formatIfBlock, parseIfBlock, IfBlock } from './protocol/if-block';
import { nodeSha1 } from './server/node-codecs';
import { SERVE_OPTIONS, SERVE_USAGE, ServeArgumentError, ServeValues, serveConfigFromArgs, startServe } from './server/serve-command';

const EXIT_OK = 0;
const EXIT_ERROR = 2;
const EXIT_PASS_THROUGH = 3;

const READ_CHUNK_BYTES = 64 * 1024;

const USAGE: Record<string, string> = {
  main: `usage: crcsync <command> [options]

commands:
  hashes OLD [--ext]              print the If-Block value a client holding OLD sends
  encode NEW --if-block VALUE [--ext]   write the delta body for NEW against VALUE to stdout
  decode OLD DELTA                rebuild the body from OLD and DELTA (v=1 or extension), verified, to stdout
  serve (--root DIR | --upstream URL | --demo)   run the crcsync server / reverse proxy

Run 'crcsync <command> --help' for a command's options.
Exit status: 0 ok, 2 error (message on stderr), 3 no If-Block / pass-through.`,
  hashes: `usage: crcsync hashes OLD [--ext]

Prints the If-Block header value (http-crcsync v=1: 40 CRC-64 block hashes)
for a client whose cached body is the file OLD, and exits 0. Prints nothing
and exits 3 when no If-Block should be sent (OLD under 200 bytes or over 4 MiB).

  --ext   also offer the extension (verified prefixes, dictionary literals):
          appends "; x=1" to the v=1 value (docs/extensions.md)`,
  encode: `usage: crcsync encode NEW --if-block VALUE [--ext] [--deflater pako|fflate]

Writes the crcsync delta body (B/Z/L sections + S digest) of the file NEW
against the client's If-Block VALUE to stdout, and exits 0. Exits 3 and writes
nothing when a server would pass the response through instead (If-Block
invalid or unusable; the reason goes to stderr).

  --ext              answer as a server that speaks the extension: when VALUE
                     offers it (x=1), write an extension body (X marker, C
                     checkpoints, D dictionary literals; docs/extensions.md);
                     otherwise the v=1 body, byte for byte as without --ext
  --deflater pako    zlib-identical Z (and D) sections, byte-exact with the reference (default)
  --deflater fflate  faster, equally valid Z (and D) sections`,
  decode: `usage: crcsync decode OLD DELTA [--max-bytes N] [--show-releases]

Rebuilds the body from the cached body OLD and the delta body DELTA, checks
its SHA-1 and writes it to stdout, exit 0. DELTA may be a v=1 body or an
extension body (it starts with the X marker; docs/extensions.md). On any
error nothing is written to stdout, the reason goes to stderr and the exit
status is 2.

  --max-bytes N      refuse a rebuilt body larger than N bytes (default 32 MiB)
  --show-releases    print to stderr each verified range a client could hand
                     to the page as it arrives ("verified A..B"), the delta
                     read byte by byte`,
  serve: SERVE_USAGE,
};

class UsageError extends Error {}

function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
}

/** Calls onChunk for each piece of the file, then once with final = true. */
function streamFile(path: string, onChunk: (chunk: Uint8Array, final: boolean) => void): void {
  const fd = openSync(path, 'r');
  try {
    let chunk = new Uint8Array(READ_CHUNK_BYTES);
    let length = readSync(fd, chunk, 0, chunk.length, null);
    while (length > 0) {
      const next = new Uint8Array(READ_CHUNK_BYTES);
      const nextLength = readSync(fd, next, 0, next.length, null);
      onChunk(chunk.subarray(0, length), nextLength === 0);
      chunk = next;
      length = nextLength;
    }
  } finally {
    closeSync(fd);
  }
}

interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

function parse(command: string, argv: string[], options: ParseArgsConfig['options'], positionals: number): ParsedArgs | null {
  const parsed: ParsedArgs = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (parsed.values.help) {
    process.stdout.write(`${USAGE[command]}\n`);
    return null;
  }
  if (parsed.positionals.length !== positionals) throw new UsageError(`${command} takes ${positionals} file argument(s)`);
  return parsed;
}

function runHashes(argv: string[]): number {
  const parsed = parse('hashes', argv, { ext: { type: 'boolean' } }, 1);
  if (!parsed) return EXIT_OK;
  const value = formatIfBlock(readFileSync(parsed.positionals[0]), getDefaultEngine());
  if (value === null) return EXIT_PASS_THROUGH;
  process.stdout.write(`${parsed.values.ext ? offerExtension(value) : value}\n`);
  return EXIT_OK;
}

function runEncode(argv: string[]): number {
  const parsed = parse('encode', argv, { 'if-block': { type: 'string' }, deflater: { type: 'string', default: 'pako' }, ext: { type: 'boolean' } }, 1);
  if (!parsed) return EXIT_OK;
  const headerValue = parsed.values['if-block'];
  if (typeof headerValue !== 'string') throw new UsageError('encode needs --if-block VALUE');
  const compressors: Record<string, [CompressorFactory, DictionaryCompressor]> = {
    pako: [pakoCompressor, pakoDictionaryCompressor],
    fflate: [fflateCompressor, fflateDictionaryCompressor],
  };
  const chosen = compressors[String(parsed.values.deflater)];
  if (!chosen) throw new UsageError(`unknown --deflater ${String(parsed.values.deflater)}`);
  const [compressor, dictionaryCompressor] = chosen;
  let ifBlock: IfBlock;
  try {
    ifBlock = parseIfBlock(headerValue);
  } catch (error) {
    if (!isCrcsyncError(error)) throw error;
    process.stderr.write(`crcsync encode: not encoding (pass-through): ${error.message}\n`);
    return EXIT_PASS_THROUGH;
  }
  const write = (chunk: Uint8Array) => writeAll(1, chunk);
  const encoder =
    parsed.values.ext && answerableExtensionVersion(headerValue) >= 1
      ? new ExtDeltaEncoder(ifBlock, { engine: getDefaultEngine(), compressor: dictionaryCompressor, sha1: nodeSha1 }, write)
      : new DeltaEncoder(ifBlock, { engine: getDefaultEngine(), compressor, sha1: nodeSha1 }, write);
  let pushedFinal = false;
  streamFile(parsed.positionals[0], (chunk, final) => {
    encoder.push(chunk, final);
    pushedFinal = final;
  });
  if (!pushedFinal) encoder.push(new Uint8Array(0), true);
  return EXIT_OK;
}

function runDecode(argv: string[]): number {
  const parsed = parse('decode', argv, { 'max-bytes': { type: 'string' }, 'show-releases': { type: 'boolean' } }, 2);
  if (!parsed) return EXIT_OK;
  const maxText = parsed.values['max-bytes'];
  const maxRebuiltBytes = maxText === undefined ? undefined : Number(maxText);
  if (maxRebuiltBytes !== undefined && !(Number.isInteger(maxRebuiltBytes) && maxRebuiltBytes >= 0)) {
    throw new UsageError(`--max-bytes wants a whole number of bytes, got "${String(maxText)}"`);
  }
  const [oldPath, deltaPath] = parsed.positionals;
  let verified: Uint8Array | null = null;
  // The delta's first byte tells v=1 from an extension body (docs/extensions.md): a v=1 body decodes exactly as before.
  const decoder = new DeltaDecoder(readFileSync(oldPath), { maxRebuiltBytes, sha1: nodeSha1, acceptExtension: true }, (body) => {
    verified = body;
  });
  const showReleases = parsed.values['show-releases'] === true;
  if (showReleases) decoder.onverified = (bytes, offset) => process.stderr.write(`verified ${offset}..${offset + bytes.length}\n`);
  let pushedFinal = false;
  streamFile(deltaPath, (chunk, final) => {
    if (!showReleases) {
      decoder.push(chunk, final);
    } else {
      // Byte by byte, as the slowest network would deliver it: each release shows as soon as it may happen.
      for (let at = 0; at < chunk.length; at++) decoder.push(chunk.subarray(at, at + 1), final && at === chunk.length - 1);
      if (chunk.length === 0) decoder.push(chunk, final);
    }
    pushedFinal = final;
  });
  if (!pushedFinal) decoder.push(new Uint8Array(0), true);
  if (!verified) throw new Error('decoder finished without a verified body');
  writeAll(1, verified);
  return EXIT_OK;
}

/**
 * Starts the server and returns 0 at once: the open server keeps the process
 * alive until SIGINT / SIGTERM. Flag mistakes are reported synchronously
 * (exit 2, like the other commands); a failure to listen (port taken, bad
 * certificate) is reported when it happens and sets exit status 2.
 */
function runServe(argv: string[]): number {
  const parsed = parse('serve', argv, SERVE_OPTIONS, 0);
  if (!parsed) return EXIT_OK;
  let config;
  try {
    config = serveConfigFromArgs(parsed.values as ServeValues);
  } catch (error) {
    if (error instanceof ServeArgumentError) throw new UsageError(error.message);
    throw error;
  }
  startServe(config).catch((error: unknown) => {
    process.stderr.write(`crcsync serve: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = EXIT_ERROR;
  });
  return EXIT_OK;
}

const COMMANDS: Record<string, (argv: string[]) => number> = { hashes: runHashes, encode: runEncode, decode: runDecode, serve: runServe };

export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE.main}\n`);
    return command === undefined ? EXIT_ERROR : EXIT_OK;
  }
  const run = COMMANDS[command];
  try {
    if (!run) throw new UsageError(`unknown command "${command}"`);
    return run(rest);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? `\n${USAGE[command] ?? USAGE.main}` : '';
    process.stderr.write(`crcsync ${command}: ${message}${hint}\n`);
    return EXIT_ERROR;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
