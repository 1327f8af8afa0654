// The edge handler in workerd, Cloudflare's open-source runtime (issue 11
// item 4), run locally through miniflare: examples/cloudflare-worker/worker.ts
// bundled as a Worker would be deployed (the WASM core as a CompiledWasm
// module), in front of a plain origin on 127.0.0.1, asked over HTTP. Every
// corpus pair (and the project's own pages) fetched with If-Block ends as
// the new body exactly; hostile If-Blocks get the normal body.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { Miniflare } from 'miniflare';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { DeltaDecoder } from '../../src/protocol/delta-decoder';
import { offerExtension } from '../../src/protocol/ext-offer';
import { formatIfBlock } from '../../src/protocol/if-block';
import { loadCorpus } from '../helpers/shared-data';
import { mutate, newsText, seededRandom } from '../helpers/random';
import { EdgeOrigin, startEdgeOrigin } from './edge-origin';

const ROOT = resolve(__dirname, '../..');
const WASM_PATH = join(ROOT, 'core-wasm/build/crcsync.wasm');
const engine = getDefaultEngine();

let origin: EdgeOrigin;
let worker: Miniflare;

/** The Worker as wrangler would bundle it: one ES module, the .wasm import left to the runtime as a CompiledWasm module. */
async function bundleWorker(): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [join(ROOT, 'examples/cloudflare-worker/worker.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2022',
    logLevel: 'warning',
    plugins: [
      {
        name: 'compiled-wasm',
        setup(build) {
          build.onResolve({ filter: /\.wasm$/ }, () => ({ path: './crcsync.wasm', external: true }));
        },
      },
    ],
  });
  return result.outputFiles[0].text;
}

const PAGES: { name: string; old: Uint8Array; new: Uint8Array }[] = [];

beforeAll(async () => {
  origin = await startEdgeOrigin();
  const old = newsText(31, 80_000);
  PAGES.push({ name: 'own-news', old, new: mutate(seededRandom(32), old, 8) });
  const bigOld = newsText(33, 1_500_000); // past the 1 MiB decision window: the delta streams
  PAGES.push({ name: 'own-big', old: bigOld, new: mutate(seededRandom(34), bigOld, 30) });
  PAGES.push(...loadCorpus());
  if (PAGES.length === 2) console.warn('../shared/corpus is not present: the workerd test runs over the project’s own pages only');
  for (const page of PAGES) origin.pages.set(page.name, page.new);
  worker = new Miniflare({
    modules: [
      { type: 'ESModule', path: 'worker.js', contents: await bundleWorker() },
      { type: 'CompiledWasm', path: 'crcsync.wasm', contents: readFileSync(WASM_PATH) },
    ],
    compatibilityDate: '2025-01-01',
    bindings: { ORIGIN: origin.url },
  });
  await worker.ready;
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});

/**
 * One request to the Worker over HTTP. miniflare's client names a
 * response's Content-Encoding `MF-Content-Encoding`; it decodes gzip itself
 * (as a browser does) and leaves a crcsync body as it came off the wire.
 */
async function ask(path: string, headers: Record<string, string>): Promise<{ status: number; coding: string | null; headers: Headers; body: Buffer }> {
  const response = await worker.dispatchFetch(`http://edge.example${path}`, { headers });
  const responseHeaders = response.headers as unknown as Headers;
  const coding = responseHeaders.get('content-encoding') ?? responseHeaders.get('mf-content-encoding');
  return { status: response.status, coding, headers: responseHeaders, body: Buffer.from(await response.arrayBuffer()) };
}

function rebuilt(base: Uint8Array, delta: Uint8Array, acceptExtension: boolean): Buffer {
  let body: Uint8Array | null = null;
  new DeltaDecoder(base, { acceptExtension }, (whole) => (body = whole)).push(delta, true);
  return Buffer.from(body!);
}

test('every page, asked with If-Block of its old version, ends as its new version exactly (deltas decoded by the client decoder)', async () => {
  let deltas = 0;
  for (const page of PAGES) {
    const { status, coding, headers, body } = await ask(`/pages/${encodeURIComponent(page.name)}`, {
      'if-block': formatIfBlock(page.old, engine)!,
      'accept-encoding': 'gzip',
    });
    expect([page.name, status]).toEqual([page.name, 200]);
    const isDelta = coding === 'crcsync';
    if (isDelta) deltas++;
    else expect([page.name, coding]).toEqual([page.name, 'gzip']);
    const result = isDelta ? rebuilt(page.old, body, false) : body;
    expect([page.name, result.equals(Buffer.from(page.new))]).toEqual([page.name, true]);
    expect(headers.get('capability')).toBe('crcsync; m=1');
  }
  // Most pairs are worth a delta (the never-worse rule sends gzip for the rest).
  expect(deltas).toBeGreaterThan(PAGES.length / 2);
}, 120_000);

test('an x=1 offer gets an x=1 body that rebuilds exactly', async () => {
  const page = PAGES[0];
  const { coding, headers, body } = await ask(`/pages/${page.name}`, { 'if-block': offerExtension(formatIfBlock(page.old, engine)!), 'accept-encoding': 'gzip' });
  expect(coding).toBe('crcsync');
  expect(headers.get('capability')).toBe('crcsync; m=1; x=1');
  expect(body[0]).toBe(0x58);
  expect(rebuilt(page.old, body, true).equals(Buffer.from(page.new))).toBe(true);
});

test.each([
  ['garbage', 'v=1; fs=; h=%%%'],
  ['one-byte blocks', `v=1; fs=40; h=${'A'.repeat(427)}`],
  ['a 64 KiB value', `v=1; fs=80000; h=${'B'.repeat(65536)}`],
])('hostile If-Block (%s): the normal body, and the origin never sees If-Block', async (_case, value) => {
  const page = PAGES[0];
  const before = origin.seen.length;
  const { status, coding, body } = await ask(`/pages/${page.name}`, { 'if-block': value, 'accept-encoding': 'gzip' });
  expect(status).toBe(200);
  expect(coding).not.toBe('crcsync');
  expect(body.equals(Buffer.from(page.new))).toBe(true);
  expect(origin.seen.slice(before).map((request) => request.headers['if-block'])).toEqual([undefined]);
});
