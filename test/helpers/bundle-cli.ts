// The `crcsync` CLI bundled from the current src/cli.ts, as scripts/build.mjs
// bundles it, into a folder of the test's: tests that run it as a child
// process then do not depend on dist/ being built or current.

import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';

const REPO = resolve(__dirname, '../..');

/** Bundles src/cli.ts into `dir`; returns the script's path. */
export async function bundleCli(dir: string): Promise<string> {
  const cli = join(dir, 'cli.js');
  await esbuild.build({
    entryPoints: [join(REPO, 'src/cli.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    loader: { '.wasm': 'binary' },
    outfile: cli,
    logLevel: 'warning',
  });
  return cli;
}
