// Builds the WebExtension from the one manifest source (manifest.json) and
// extension/: dist/firefox (background scripts, gecko id), dist/chromium
// (service worker, no Firefox-only permissions) and dist/firefox-test (the
// build the e2e tests install: test hooks on, 127.0.0.1/localhost enabled by
// default with their host permission granted at install). The production
// builds define the test flag as a literal false, so esbuild drops the test
// code from them.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles: output path (without .js) -> entry. */
const ENTRIES = {
  background: 'extension/background/index.ts',
  'popup/popup': 'extension/popup/popup.ts',
  'devtools/devtools': 'extension/devtools/devtools.ts',
  'devtools/panel': 'extension/devtools/panel.ts',
};

/** Copied as they are. */
const STATIC_FILES = [
  'popup/popup.html',
  'popup/popup.css',
  'devtools/devtools.html',
  'devtools/panel.html',
  'devtools/panel.css',
  'icons/crcsync.svg',
];

const TARGETS = {
  firefox: { esbuildTarget: 'firefox142', testBuild: false },
  'firefox-test': { esbuildTarget: 'firefox142', testBuild: true },
  chromium: { esbuildTarget: 'chrome120', testBuild: false },
};

/** Firefox-only permissions: Chromium MV3 has no blocking webRequest and no response filter. */
const FIREFOX_ONLY_PERMISSIONS = new Set(['webRequestBlocking', 'webRequestFilterResponse']);

export function manifestFor(target, source) {
  const manifest = structuredClone(source);
  if (target === 'chromium') {
    delete manifest.browser_specific_settings;
    manifest.permissions = manifest.permissions.filter((permission) => !FIREFOX_ONLY_PERMISSIONS.has(permission));
    manifest.background = { service_worker: 'background.js' };
    // Chromium does not take SVG icons; the toolbar shows the default puzzle piece.
    delete manifest.icons;
    delete manifest.action.default_icon;
  }
  if (target === 'firefox-test') {
    manifest.name = `${manifest.name} (test build)`;
    manifest.host_permissions = ['http://127.0.0.1/*', 'http://localhost/*'];
  }
  return manifest;
}

export async function buildExtension({ quiet = false } = {}) {
  const source = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8'));
  for (const [target, { esbuildTarget, testBuild }] of Object.entries(TARGETS)) {
    const outdir = join(root, 'dist', target);
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
    await esbuild.build({
      absWorkingDir: root,
      entryPoints: ENTRIES,
      outdir,
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: esbuildTarget,
      loader: { '.wasm': 'binary' },
      define: { 'globalThis.__CRCSYNC_TEST_BUILD__': String(testBuild) },
      legalComments: 'none',
      // Folds the test flag so production bundles carry no test code; names stay readable.
      minifySyntax: true,
      logLevel: 'warning',
    });
    for (const file of STATIC_FILES) cpSync(join(root, 'extension', file), join(outdir, file));
    writeFileSync(join(outdir, 'manifest.json'), `${JSON.stringify(manifestFor(target, source), null, 2)}\n`);
  }
  if (!quiet) console.log(`build: ${Object.keys(TARGETS).map((target) => `dist/${target}/`).join(', ')}`);
}
