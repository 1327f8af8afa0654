// Builds the WebExtension from extension/ and the one manifest source:
// manifest.json holds what every browser takes, and each target merges small
// per-browser patches onto it (manifest.<patch>.json beside it; the merge
// rule is at the top of scripts/manifest-merge.mjs):
//   dist/firefox       manifest.json + firefox (background scripts, blocking
//                      webRequest and the response filter, gecko id)
//   dist/firefox-test  + firefox + firefox-test: the build the e2e tests
//                      install (test hooks on, 127.0.0.1/localhost enabled by
//                      default with their host permission granted at install)
//   dist/chromium      + chromium (service worker)
//   dist/chromium-test + chromium + chromium-test: the build the Chromium e2e
//                      tests load (as firefox-test: hooks on, 127.0.0.1 and
//                      localhost granted and enabled)
// The production builds define the test flag as a literal false, so esbuild
// drops the test code from them; each target defines its browser, so its
// background carries that browser's request path only. PNG icons are rendered from
// extension/icons/crcsync.svg (scripts/extension-icons.mjs).
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { renderIcons } from './extension-icons.mjs';
import { mergeManifest } from './manifest-merge.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles: output path (without .js) -> entry. */
const ENTRIES = {
  background: 'extension/background/index.ts',
  'popup/popup': 'extension/popup/popup.ts',
  'devtools/devtools': 'extension/devtools/devtools.ts',
  'devtools/panel': 'extension/devtools/panel.ts',
};

/**
 * Chromium only: the content scripts of the page-fetch path (issue 10 item 6),
 * registered at run time for the enabled sites only
 * (extension/background/chromium/page-scripts.ts). Firefox rewrites bodies in
 * the background (filterResponseData) and ships neither.
 */
const CHROMIUM_PAGE_ENTRIES = {
  'page/isolated-relay': 'extension/page/isolated-relay.ts',
  'page/main-world': 'extension/page/main-world.ts',
};

/** The page scripts' files in dist/chromium*, in build order (what page-scripts.ts registers). */
export function chromiumPageScriptFiles() {
  return Object.keys(CHROMIUM_PAGE_ENTRIES).map((name) => `${name}.js`);
}

/** Copied as they are (the SVG: the devtools panel's icon). */
const STATIC_FILES = [
  'popup/popup.html',
  'popup/popup.css',
  'devtools/devtools.html',
  'devtools/panel.html',
  'devtools/panel.css',
  'icons/crcsync.svg',
];

const ICON_SOURCE = 'extension/icons/crcsync.svg';

/** manifestPatches: manifest.<name>.json merged onto manifest.json, in this order. */
/** browser: the request path the background registers (extension/shared/build-flags.ts). */
const TARGETS = {
  firefox: { esbuildTarget: 'firefox142', browser: 'firefox', testBuild: false, manifestPatches: ['firefox'] },
  'firefox-test': { esbuildTarget: 'firefox142', browser: 'firefox', testBuild: true, manifestPatches: ['firefox', 'firefox-test'] },
  chromium: { esbuildTarget: 'chrome120', browser: 'chromium', testBuild: false, manifestPatches: ['chromium'] },
  'chromium-test': { esbuildTarget: 'chrome120', browser: 'chromium', testBuild: true, manifestPatches: ['chromium', 'chromium-test'] },
};

export const TARGET_NAMES = Object.keys(TARGETS);

export class ExtensionBuildError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ExtensionBuildError';
  }
}

const readJson = (name) => JSON.parse(readFileSync(join(root, name), 'utf8'));

function targetSpec(target) {
  if (!Object.hasOwn(TARGETS, target)) throw new ExtensionBuildError(`unknown target "${target}" (known: ${TARGET_NAMES.join(', ')})`);
  return TARGETS[target];
}

/** The manifest a target ships: manifest.json with the target's patches merged on top. */
export function manifestFor(target) {
  const patches = targetSpec(target).manifestPatches.map((name) => readJson(`manifest.${name}.json`));
  return mergeManifest(readJson('manifest.json'), ...patches);
}

/** The extension's own files a manifest names (icons, pages, background), relative to its root. */
export function filesNamedBy(manifest) {
  const iconFiles = (icons) => (typeof icons === 'string' ? [icons] : Object.values(icons ?? {}));
  return [
    ...iconFiles(manifest.icons),
    ...iconFiles(manifest.action?.default_icon),
    manifest.action?.default_popup,
    manifest.devtools_page,
    ...(manifest.background?.scripts ?? []),
    manifest.background?.service_worker,
    ...(manifest.content_scripts ?? []).flatMap((script) => script.js ?? []),
  ].filter((path) => typeof path === 'string');
}

export const renderExtensionIcons = () => renderIcons(readFileSync(join(root, ICON_SOURCE)));

/**
 * Everything of a target but the bundles: static files, PNG icons, manifest.
 * @param {Map<string, Buffer>} icons from renderExtensionIcons (rendered once per build)
 */
export function writeManifestAndAssets(target, outdir, icons = renderExtensionIcons()) {
  const manifest = manifestFor(target);
  for (const file of STATIC_FILES) cpSync(join(root, 'extension', file), join(outdir, file));
  for (const [path, png] of icons) {
    mkdirSync(dirname(join(outdir, path)), { recursive: true });
    writeFileSync(join(outdir, path), png);
  }
  writeFileSync(join(outdir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** @param {{ quiet?: boolean, outRoot?: string }} options outRoot: where the target folders go (default dist/) */
export async function buildExtension({ quiet = false, outRoot = join(root, 'dist') } = {}) {
  const icons = renderExtensionIcons();
  for (const [target, { esbuildTarget, browser, testBuild }] of Object.entries(TARGETS)) {
    const outdir = join(outRoot, target);
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
    await esbuild.build({
      absWorkingDir: root,
      entryPoints: browser === 'chromium' ? { ...ENTRIES, ...CHROMIUM_PAGE_ENTRIES } : ENTRIES,
      outdir,
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: esbuildTarget,
      loader: { '.wasm': 'binary' },
      define: { 'globalThis.__CRCSYNC_TEST_BUILD__': String(testBuild), 'globalThis.__CRCSYNC_BROWSER__': JSON.stringify(browser) },
      legalComments: 'none',
      // Folds the flags so production bundles carry no test code and each carries one browser's request path; names stay readable.
      minifySyntax: true,
      logLevel: 'warning',
    });
    const manifest = writeManifestAndAssets(target, outdir, icons);
    // A manifest naming a file the build did not write fails to load (or loses its icon) only in the browser.
    const missing = filesNamedBy(manifest).filter((path) => !existsSync(join(outdir, path)));
    if (missing.length > 0) throw new ExtensionBuildError(`dist/${target}/manifest.json names files the build did not write: ${missing.join(', ')}`);
  }
  if (!quiet) console.log(`build: ${TARGET_NAMES.map((target) => `${relative(root, join(outRoot, target))}/`).join(', ')}`);
}
