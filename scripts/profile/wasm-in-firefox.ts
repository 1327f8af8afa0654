// The WASM core in SpiderMonkey beside native C and V8 (issue 12: bench:native
// measures WASM ÷ C in Node's V8 only, 0.66 for hashing and 0.75 for
// matching, but the extension hashes its cached bodies in Firefox). The same
// kernels through the core's raw exports with the input already in linear
// memory, as scripts/native/wasm-kernels.ts drives them in Node: in headless
// Firefox ESR (a page at about:blank), in this process's V8, and the C port
// (scripts/native/crc64.c, built here with `cc -O2`), each timed for at
// least --ms per round, the three in turn, --rounds rounds; the ratio is the
// median over rounds of that round's WASM MB/s ÷ C MB/s. Writes
// bench/wasm-in-firefox.md (and prints it).
//
//   node scripts/build.mjs --quiet
//   npx esbuild scripts/profile/wasm-in-firefox.ts --bundle --platform=node --packages=external --loader:.wasm=binary --target=node20 --outfile=dist/profile/wasm-in-firefox.js
//   node dist/profile/wasm-in-firefox.js [--rounds 7] [--ms 200]

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer-core';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { mbPerSecond } from '../bench-timing';
import { firefoxPath } from '../bench-load/firefox-driver';
import { median } from '../bench-load/report';
import { randomBytes } from '../native/inputs';
import { compileNative, findCompiler, nativeBenchHash, nativeBenchMatch } from '../native/native-core';
import { WasmHashKernel, WasmMatchKernel } from '../native/wasm-kernels';

const ROOT = resolve(__dirname, '../..');
const TYPICAL_PAIR = '067-html-docs-django-_modules_django_forms_models.html';
const BLOCKS = 40;

interface Case {
  label: string;
  kind: 'hash' | 'match';
  /** The body hashed, or the new body matched. */
  body: Uint8Array;
  /** For match: the old body's 40 hashes (8 bytes LE each) and its size. */
  hashes?: Uint8Array;
  oldSize?: number;
  /** Files the C side reads. */
  files: string[];
}

/** Runs in the page: times one kernel of the core over `body` for at least `ms`; MB/s. */
function timeInPage(wasm: string, kind: 'hash' | 'match', body: string, hashes: string, oldSize: number, blocks: number, ms: number): number {
  const bytesOf = (text: string) => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  const input = bytesOf(body);
  const core = new WebAssembly.Instance(new WebAssembly.Module(bytesOf(wasm)), {}).exports as unknown as {
    memory: WebAssembly.Memory;
    hashInput: WebAssembly.Global;
    scratch(length: number): number;
    blockHashes(ptr: number, length: number, blockCount: number, out: number): void;
    matcherReset(blockCount: number, fileSize: number): number;
    reserveInput(length: number): number;
    scan(): number;
    matchedBlock(): number;
  };
  let run: () => void;
  if (kind === 'hash') {
    const at = core.scratch(input.length + 8 * 256);
    new Uint8Array(core.memory.buffer, at, input.length).set(input);
    run = () => core.blockHashes(at, input.length, blocks, at + input.length);
  } else {
    const hashBytes = bytesOf(hashes);
    new Uint8Array(core.memory.buffer, core.hashInput.value as number, hashBytes.length).set(hashBytes);
    const reset = () => {
      core.matcherReset(hashBytes.length >> 3, oldSize);
      return core.reserveInput(input.length);
    };
    // reset() may grow the memory (and detach the old buffer): take the buffer after it.
    const at = reset();
    new Uint8Array(core.memory.buffer, at, input.length).set(input);
    run = () => {
      reset();
      let position = 0;
      while (position < input.length) {
        position += core.scan();
        core.matchedBlock();
      }
    };
  }
  for (let warm = 0; warm < 20; warm++) run();
  let runs = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    run();
    runs++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (input.length * runs) / (elapsed / 1000) / 1e6;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, ms: { type: 'string', default: '200' } } });
  const rounds = Number(values.rounds);
  const ms = Number(values.ms);
  const compiler = findCompiler();
  if (!compiler) throw new Error('no C compiler (cc): install gcc');
  const binary = compileNative(compiler, join(ROOT, 'scripts/native/crc64.c'));
  const wasmBytes = readFileSync(join(ROOT, 'core-wasm/build/crcsync.wasm'));
  const module = new WebAssembly.Module(wasmBytes);
  const work = mkdtempSync(join(tmpdir(), 'crcsync-wasm-firefox-'));
  const corpus = resolve(ROOT, '../shared/corpus', TYPICAL_PAIR);
  const oldBody = new Uint8Array(readFileSync(join(corpus, 'old')));
  const newBody = new Uint8Array(readFileSync(join(corpus, 'new')));
  const random = randomBytes(4 * 1024 * 1024, 7);
  writeFileSync(join(work, 'random'), random);
  const oldHashes = getDefaultEngine().blockHashes(oldBody, BLOCKS);
  const cases: Case[] = [
    { label: `hashing, typical: ${TYPICAL_PAIR} old (${(oldBody.length / 1024).toFixed(0)} KiB), n=40`, kind: 'hash', body: oldBody, files: [join(corpus, 'old')] },
    { label: 'hashing: 4 MiB random, n=40', kind: 'hash', body: random, files: [join(work, 'random')] },
    { label: `matching, typical: ${TYPICAL_PAIR} new against old's 40 hashes`, kind: 'match', body: newBody, hashes: oldHashes, oldSize: oldBody.length, files: [join(corpus, 'old'), join(corpus, 'new')] },
  ];

  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: firefoxPath(), headless: true });
  const lines: string[] = [
    '# The WASM core in SpiderMonkey, V8 and C',
    '',
    `\`node dist/profile/wasm-in-firefox.js\` (scripts/profile/wasm-in-firefox.ts), ${new Date().toISOString().slice(0, 10)}. The kernels of bench/native.md through the core\'s raw exports, input already in linear memory; ratio = median over rounds of WASM MB/s ÷ C MB/s of the same round.`,
    '',
  ];
  try {
    const page = await browser.newPage();
    await page.goto('about:blank');
    const wasm = wasmBytes.toString('base64');
    const version = await browser.version();
    lines.push(`${version} (SpiderMonkey) and Node ${process.version} (V8 ${process.versions.v8}) beside ${compiler.command} -O2; ${rounds} rounds of >= ${ms} ms each, the three in turn.`, '');
    lines.push('| kernel | SpiderMonkey MB/s | V8 MB/s | C MB/s | SpiderMonkey ÷ C | V8 ÷ C |', '|---|---:|---:|---:|---:|---:|');
    for (const item of cases) {
      const body = Buffer.from(item.body).toString('base64');
      const hashes = item.hashes ? Buffer.from(item.hashes).toString('base64') : '';
      const hashKernel = item.kind === 'hash' ? new WasmHashKernel(module, item.body) : null;
      const matchKernel = item.kind === 'match' ? new WasmMatchKernel(module, item.hashes!, item.oldSize!, item.body) : null;
      const node = () => mbPerSecond(() => (hashKernel ? hashKernel.hash(BLOCKS) : matchKernel!.match()), item.body.length, ms);
      const native = () => {
        const timing = item.kind === 'hash' ? nativeBenchHash(binary, ms, BLOCKS, item.files[0]) : nativeBenchMatch(binary, ms, BLOCKS, [{ oldFile: item.files[0], newFile: item.files[1] }]);
        return timing.bytes / timing.seconds / 1e6;
      };
      const spider: number[] = [];
      const v8: number[] = [];
      const c: number[] = [];
      for (let round = 0; round < rounds; round++) {
        spider.push(await page.evaluate(timeInPage, wasm, item.kind, body, hashes, item.oldSize ?? 0, BLOCKS, ms));
        v8.push(node());
        c.push(native());
      }
      const ratio = (wasmRuns: number[]) => median(wasmRuns.map((value, round) => value / c[round]))!;
      lines.push(
        `| ${item.label} | ${median(spider)!.toFixed(0)} | ${median(v8)!.toFixed(0)} | ${median(c)!.toFixed(0)} | **${ratio(spider).toFixed(2)}** | ${ratio(v8).toFixed(2)} |`,
      );
    }
  } finally {
    await browser.close();
    rmSync(work, { recursive: true, force: true });
  }
  const text = `${lines.join('\n')}\n`;
  writeFileSync(join(ROOT, 'bench/wasm-in-firefox.md'), text);
  process.stdout.write(text);
}

main().catch((error: unknown) => {
  process.stderr.write(`wasm-in-firefox: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
