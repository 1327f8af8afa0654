// Builds everything from a clean checkout: the WASM core (AssemblyScript),
// then the bundles (esbuild embeds the .wasm bytes with its binary loader).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { buildExtension } from './build-extension.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');

function log(message) {
  if (!quiet) console.log(`build: ${message}`);
}

export function buildWasm() {
  mkdirSync(join(root, 'core-wasm/build'), { recursive: true });
  execFileSync(process.execPath, [join(root, 'node_modules/assemblyscript/bin/asc.js'), 'core-wasm/assembly/index.ts',
    '--config', 'core-wasm/asconfig.json', '--target', 'release'], { cwd: root, stdio: 'inherit' });
  log('core-wasm/build/crcsync.wasm');
}

const nodeBundle = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  loader: { '.wasm': 'binary' },
  logLevel: 'warning',
};

/** Node programs: dist/<name>.js from each entry. */
const NODE_ENTRIES = {
  cli: 'src/cli.ts',
  bench: 'scripts/bench.ts',
  'bench-server': 'scripts/bench-server.ts',
  'bench-server-load': 'scripts/bench-server-load.ts',
  'bench-memory': 'scripts/bench-memory.ts',
  'bench-load': 'scripts/bench-load.ts',
  'bench-ext': 'scripts/measure-ext.ts',
  'bench-wire': 'scripts/bench-wire.ts',
  'bench-native': 'scripts/bench-native.ts',
  'bench-report': 'scripts/bench-report.ts',
  'make-ext-vectors': 'scripts/make-ext-vectors.ts',
};

export async function buildNode() {
  await esbuild.build({ ...nodeBundle, entryPoints: NODE_ENTRIES, outdir: join(root, 'dist'),
    banner: { js: '#!/usr/bin/env node' }, absWorkingDir: root });
  log(Object.keys(NODE_ENTRIES).map((name) => `dist/${name}.js`).join(', '));
}

buildWasm();
await buildNode();
await buildExtension({ quiet });
