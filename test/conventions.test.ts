// Project conventions (../shared/STYLE.md), enforced: layers, imports,
// loopback-only networking in tests, no default exports, no enums.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

function filesUnder(dir: string, extension = '.ts'): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(join(ROOT, dir));
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...filesUnder(path, extension));
    else if (name.endsWith(extension)) out.push(path);
  }
  return out;
}

const source = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const importsOf = (text: string) => [...text.matchAll(/(?:from\s+|import\s*\(|require\()\s*['"]([^'"]+)['"]/g)].map((match) => match[1]);

const LIBRARY = [...filesUnder('src/core'), ...filesUnder('src/protocol')];
const EXTENSION = filesUnder('extension');
const ALL_TS = [...filesUnder('src'), ...EXTENSION, ...filesUnder('scripts'), ...filesUnder('test')];

describe('layers: core-wasm -> src/core -> src/protocol -> adapters', () => {
  it('src/core and src/protocol use nothing from Node, the browser extension APIs or the adapters', () => {
    const offenders = LIBRARY.flatMap((path) =>
      importsOf(source(path))
        .filter((spec) => spec.startsWith('node:') || /^(fs|path|crypto|zlib|http|https|os|stream)$/.test(spec) || spec.includes('webextension-polyfill') || /\/(server|extension)\//.test(spec) || spec.includes('../cli'))
        .map((spec) => `${path}: ${spec}`),
    );
    expect(offenders).toEqual([]);
    const globals = LIBRARY.filter((path) => /\b(browser|chrome)\.(runtime|webRequest|storage|tabs)\b|\bprocess\.|\bBuffer\./.test(source(path)));
    expect(globals).toEqual([]);
  });

  it('src/core does not depend on src/protocol', () => {
    const offenders = filesUnder('src/core').flatMap((path) => importsOf(source(path)).filter((spec) => spec.includes('protocol')).map((spec) => `${path}: ${spec}`));
    expect(offenders).toEqual([]);
  });

  it('node: modules only in src/server, src/cli.ts, scripts/ and test/', () => {
    const offenders = [...filesUnder('src'), ...EXTENSION]
      .filter((path) => !path.startsWith('src/server/') && path !== 'src/cli.ts')
      .flatMap((path) => importsOf(source(path)).filter((spec) => spec.startsWith('node:')).map((spec) => `${path}: ${spec}`));
    expect(offenders).toEqual([]);
  });

  it('the WebExtension polyfill is imported only by extension/shared/browser.ts', () => {
    const offenders = ALL_TS.filter((path) => path !== 'extension/shared/browser.ts' && importsOf(source(path)).some((spec) => spec.includes('webextension-polyfill')));
    expect(offenders).toEqual([]);
  });
});

describe('style', () => {
  it('no default exports and no enum in project code', () => {
    const offenders = ALL_TS.filter((path) => !path.endsWith('.d.ts') && /^\s*export\s+default\b|^\s*(export\s+)?(const\s+)?enum\s/m.test(source(path)));
    expect(offenders).toEqual([]);
  });

  it('tests and benchmarks talk to loopback only', () => {
    const hosts = /\b(?:https?|wss?):\/\/([a-z0-9.-]+|\[[0-9a-f:]+\])/gi;
    // jsonfeed.org: the JSON Feed "version" field is a URL that names the format; it is never fetched.
    const allowed = /^(127\.0\.0\.1|localhost|\[::1\]|example\.(org|com)|[a-z0-9-]+\.example|[a-z0-9-]+\.invalid|test|upstream|jsonfeed\.org)$/i;
    const offenders = [...filesUnder('test'), ...filesUnder('scripts')].flatMap((path) =>
      [...source(path).matchAll(hosts)].map((match) => match[1]).filter((host) => !allowed.test(host) && !host.includes('${')).map((host) => `${path}: ${host}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the WASM ABI file has exports only, one per line', () => {
    const lines = source('core-wasm/assembly/index.ts').split('\n').filter((line) => line.trim() && !line.trim().startsWith('//'));
    expect(lines.every((line) => /^export \{ \w+( as \w+)? \} from "\.\/\w+";/.test(line))).toBe(true);
  });
});
