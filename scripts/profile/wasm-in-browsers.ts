// The WASM core in the browsers' engines beside native C and Node's V8
// (issue 12: bench:native measures WASM ÷ C in Node 20's V8 11 only, 0.66 for
// hashing and 0.75 for matching, but the extension hashes its cached bodies
// and the Chromium build matches nothing in the browser: Firefox's
// SpiderMonkey and Chromium's V8, a newer V8 than Node's). The same kernels
// through the core's raw exports with the input already in linear memory, as
// scripts/native/wasm-kernels.ts drives them in Node: in headless Firefox ESR
// and headless Chromium (a page at about:blank each), in this process's V8,
// and the C port (scripts/native/crc64.c, built here with `cc -O2`), each
// timed for at least --ms per round, all in turn, --rounds rounds; the ratio
// is the median over rounds of that round's WASM MB/s ÷ C MB/s. Writes
// bench/wasm-in-browsers.md (and prints it).
//
//   node scripts/build.mjs --quiet
//   npx esbuild scripts/profile/wasm-in-browsers.ts --bundle --platform=node --packages=external --loader:.wasm=binary --target=node20 --outfile=dist/profile/wasm-in-browsers.js
//   node dist/profile/wasm-in-browsers.js [--rounds 7] [--ms 200]

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer, { Browser, Page } from 'puppeteer-core';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { mbPerSecond } from '../bench-timing';
import { chromiumPath } from '../bench-load/chromium-driver';
import { firefoxPath } from '../bench-load/firefox-driver';
import { CHROMIUM_ARGS } from '../../test/helpers/chromium-args';
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

interface Engine {
  name: string;
  /** Times one case once; MB/s. */
  time(item: Case): Promise<number>;
}

/** An engine in a browser page: the case's bytes go in as base64, the timing runs in the page. */
function pageEngine(name: string, page: Page, wasm: string, ms: number): Engine {
  return {
    name,
    time: (item) =>
      page.evaluate(timeInPage, wasm, item.kind, Buffer.from(item.body).toString('base64'), item.hashes ? Buffer.from(item.hashes).toString('base64') : '', item.oldSize ?? 0, BLOCKS, ms),
  };
}

/** The V8 version Chromium ships, as its chrome://version page reads it ("V8 15.6.75.63"). */
async function chromiumV8(chromium: Browser): Promise<string> {
  const page = await chromium.newPage();
  try {
    await page.goto('chrome://version');
    const text = await page.evaluate(() => document.body.innerText);
    return /\bV8 [\d.]+/.exec(text)?.[0] ?? 'its V8';
  } finally {
    await page.close();
  }
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
  const work = mkdtempSync(join(tmpdir(), 'crcsync-wasm-browsers-'));
  const corpus = resolve(ROOT, '../shared/corpus', TYPICAL_PAIR);
  const oldBody = new Uint8Array(readFileSync(join(corpus, 'old')));
  const newBody = new Uint8Array(readFileSync(join(corpus, 'new')));
  const random = randomBytes(4 * 1024 * 1024, 7);
  writeFileSync(join(work, 'random'), random);
  // bench/core.md's worst case, as scripts/native/kernels.ts builds it: no window ever matches.
  const worstOld = randomBytes(80013, 8);
  const worstNew = randomBytes(2 << 20, 9);
  writeFileSync(join(work, 'worst-old'), worstOld);
  writeFileSync(join(work, 'worst-new'), worstNew);
  const engine = getDefaultEngine();
  const cases: Case[] = [
    { label: `hashing, typical: ${TYPICAL_PAIR} old (${(oldBody.length / 1024).toFixed(0)} KiB), n=40`, kind: 'hash', body: oldBody, files: [join(corpus, 'old')] },
    { label: 'hashing: 4 MiB random, n=40', kind: 'hash', body: random, files: [join(work, 'random')] },
    { label: `matching, typical: ${TYPICAL_PAIR} new against old's 40 hashes`, kind: 'match', body: newBody, hashes: engine.blockHashes(oldBody, BLOCKS), oldSize: oldBody.length, files: [join(corpus, 'old'), join(corpus, 'new')] },
    { label: 'matching, worst: 2 MiB random against 40 unrelated blocks (bs 2000, tail 2013)', kind: 'match', body: worstNew, hashes: engine.blockHashes(worstOld, BLOCKS), oldSize: worstOld.length, files: [join(work, 'worst-old'), join(work, 'worst-new')] },
  ];

  const browsers: Browser[] = [];
  const lines: string[] = [
    '# The WASM core in SpiderMonkey, in Chromium\'s V8, in Node\'s V8, and C',
    '',
    `\`node dist/profile/wasm-in-browsers.js\` (scripts/profile/wasm-in-browsers.ts), ${new Date().toISOString().slice(0, 10)}. The kernels of bench/native.md through the core\'s raw exports, input already in linear memory; ratio = median over rounds of WASM MB/s ÷ C MB/s of the same round.`,
    '',
  ];
  try {
    const wasm = wasmBytes.toString('base64');
    const firefox = await puppeteer.launch({ browser: 'firefox', executablePath: firefoxPath(), headless: true });
    browsers.push(firefox);
    const chromium = await puppeteer.launch({ browser: 'chrome', executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_ARGS] });
    browsers.push(chromium);
    const engines: Engine[] = [];
    for (const [name, browser] of [['SpiderMonkey', firefox], ['Chromium V8', chromium]] as const) {
      const page = await browser.newPage();
      await page.goto('about:blank');
      engines.push(pageEngine(name, page, wasm, ms));
    }
    lines.push(
      `${await firefox.version()} (SpiderMonkey), ${await chromium.version()} (${await chromiumV8(chromium)}) and Node ${process.version} (V8 ${process.versions.v8}) beside ${compiler.command} -O2; ${rounds} rounds of >= ${ms} ms each, the four in turn.`,
      '',
    );
    const columns = [...engines.map((entry) => entry.name), 'Node V8'];
    lines.push(
      `| kernel | ${columns.map((name) => `${name} MB/s`).join(' | ')} | C MB/s | ${columns.map((name) => `${name} ÷ C`).join(' | ')} |`,
      `|---|${columns.map(() => '---:').join('|')}|---:|${columns.map(() => '---:').join('|')}|`,
    );
    for (const item of cases) {
      const hashKernel = item.kind === 'hash' ? new WasmHashKernel(module, item.body) : null;
      const matchKernel = item.kind === 'match' ? new WasmMatchKernel(module, item.hashes!, item.oldSize!, item.body) : null;
      const node = () => mbPerSecond(() => (hashKernel ? hashKernel.hash(BLOCKS) : matchKernel!.match()), item.body.length, ms);
      const native = () => {
        const timing = item.kind === 'hash' ? nativeBenchHash(binary, ms, BLOCKS, item.files[0]) : nativeBenchMatch(binary, ms, BLOCKS, [{ oldFile: item.files[0], newFile: item.files[1] }]);
        return timing.bytes / timing.seconds / 1e6;
      };
      const wasmRuns: number[][] = columns.map(() => []);
      const c: number[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const [index, entry] of engines.entries()) wasmRuns[index]!.push(await entry.time(item));
        wasmRuns[engines.length]!.push(node());
        c.push(native());
      }
      const ratio = (runs: number[]) => median(runs.map((value, round) => value / c[round]!))!;
      lines.push(
        `| ${item.label} | ${wasmRuns.map((runs) => median(runs)!.toFixed(0)).join(' | ')} | ${median(c)!.toFixed(0)} | ${wasmRuns.map((runs) => `**${ratio(runs).toFixed(2)}**`).join(' | ')} |`,
      );
    }
  } finally {
    for (const browser of browsers) await browser.close();
    rmSync(work, { recursive: true, force: true });
  }
  lines.push('', 'Why WASM falls short of C, read from the machine code: bench/native.md ("Why WASM falls short").');
  const text = `${lines.join('\n')}\n`;
  writeFileSync(join(ROOT, 'bench/wasm-in-browsers.md'), text);
  process.stdout.write(text);
}

main().catch((error: unknown) => {
  process.stderr.write(`wasm-in-browsers: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
