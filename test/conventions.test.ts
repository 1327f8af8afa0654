// Project conventions (../shared/STYLE.md), enforced: layers, imports,
// loopback-only networking in tests, no default exports, no enums.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';

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

  it('src/edge (the web-standard handler) uses web standards only: nothing from Node, src/server or the extension; no Buffer or process', () => {
    const edge = filesUnder('src/edge');
    expect(edge.length).toBeGreaterThan(0);
    const offenders = edge.flatMap((path) =>
      importsOf(source(path))
        .filter((spec) => spec.startsWith('node:') || /^(fs|path|crypto|zlib|http|https|os|stream)$/.test(spec) || /\/(server|extension)\//.test(spec) || spec.includes('../server'))
        .map((spec) => `${path}: ${spec}`),
    );
    expect(offenders).toEqual([]);
    expect(edge.filter((path) => /\bprocess\.|\bBuffer\b/.test(codeOf(source(path), { strings: false })))).toEqual([]);
  });

  it('the WebExtension polyfill is imported only by extension/shared/browser.ts', () => {
    const offenders = ALL_TS.filter((path) => path !== 'extension/shared/browser.ts' && importsOf(source(path)).some((spec) => spec.includes('webextension-polyfill')));
    expect(offenders).toEqual([]);
  });
});

/** `text` without its comments; with `strings` false, without its string literals too. */
function codeOf(text: string, { strings }: { strings: boolean }): string {
  // One left-to-right pass, so a `//` inside a string is not taken for a comment and a quote inside a comment not for a string.
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, (token) =>
    token.startsWith('/') ? ' ' : strings ? token : "''",
  );
}

describe('background: browser-neutral modules, one adapter per browser (extension/background/{firefox,chromium}/)', () => {
  const FIREFOX_DIR = 'extension/background/firefox/';
  const CHROMIUM_DIR = 'extension/background/chromium/';
  const PRODUCT = [...filesUnder('src'), ...EXTENSION];
  /** Firefox's body filter: the API, called or probed, outside comments and strings. */
  const usesFilterResponseData = (text: string) => /\bfilterResponseData\b/.test(codeOf(text, { strings: false }));
  /** Chromium's debugger API, or a CDP Fetch-domain command or event named in a string. */
  const usesDebuggerOrCdp = (text: string) =>
    /\b(chrome|browser)\s*\.\s*debugger\b/.test(codeOf(text, { strings: false })) || /['"`]Fetch\.[A-Za-z]/.test(codeOf(text, { strings: true }));

  it('the rules see what they look for', () => {
    expect(usesFilterResponseData('const filter = browser.webRequest.filterResponseData(id); // filterResponseData')).toBe(true);
    expect(usesFilterResponseData("// filterResponseData\nconst label = 'filterResponseData';")).toBe(false);
    expect(usesDebuggerOrCdp('await chrome.debugger.attach(target, "1.3");')).toBe(true);
    expect(usesDebuggerOrCdp("await send(target, 'Fetch.enable', { patterns });")).toBe(true);
    expect(usesDebuggerOrCdp('// chrome.debugger and Fetch.enable come in Part B')).toBe(false);
    // The Firefox adapter is where the body filter is used today, so the first rule is not vacuous.
    expect(filesUnder(FIREFOX_DIR).some((path) => usesFilterResponseData(source(path)))).toBe(true);
  });

  it('filterResponseData only under extension/background/firefox/', () => {
    expect(PRODUCT.filter((path) => !path.startsWith(FIREFOX_DIR) && usesFilterResponseData(source(path)))).toEqual([]);
  });

  it('chrome.debugger and CDP Fetch commands only under extension/background/chromium/', () => {
    expect(PRODUCT.filter((path) => !path.startsWith(CHROMIUM_DIR) && usesDebuggerOrCdp(source(path)))).toEqual([]);
  });

  it('only extension/background/index.ts imports an adapter (an adapter may import its own files; tests may import them)', () => {
    const adapterOf = (path: string) => [FIREFOX_DIR, CHROMIUM_DIR].find((dir) => path.startsWith(dir));
    const offenders = [...PRODUCT, ...filesUnder('scripts')].flatMap((path) =>
      importsOf(source(path))
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => posix.normalize(posix.join(dirname(path), spec)))
        .filter((target) => {
          const adapter = adapterOf(`${target}/`) ?? adapterOf(target);
          return adapter !== undefined && path !== 'extension/background/index.ts' && adapterOf(path) !== adapter;
        })
        .map((target) => `${path}: ${target}`),
    );
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
    // www.w3.org: XML namespace names (the SVG namespace of bench/charts), never fetched either.
    const allowed = /^(127\.0\.0\.1|localhost|\[::1\]|example\.(org|com)|[a-z0-9-]+\.example|[a-z0-9-]+\.invalid|test|upstream|jsonfeed\.org|www\.w3\.org)$/i;
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
