// bench/REPORT.md from small results of every bench (fixtures written here,
// in the shapes the benches write): the headline numbers a reader sees, the
// charts beside them, Firefox's and Chromium's page loads side by side, the
// "not measured yet" text when results are missing or unreadable, server.md
// as the fallback for server.json, and a failing bench stopping `npm run
// bench:report`.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport } from '../../../scripts/bench-report/build-report';
import { nativeHeadline, serverHeadline, wireHeadline } from '../../../scripts/bench-report/headline';
import { BENCHES } from '../../../scripts/bench-report/markdown';
import { readBenchResults } from '../../../scripts/bench-report/results';
import { parseServerMarkdown } from '../../../scripts/bench-report/server-markdown';
import { BenchFailedError, runBenches } from '../../../scripts/bench-report/run-benches';
import { ResultShapeError } from '../../../scripts/bench-report/shape';

const percent = (medianPercent: number, pairs = 2) => ({ pairs, medianPercent, p90Percent: medianPercent + 5 });

function variant(kind: 'v1' | 'x1' | 'served', setting: string, pairs: number, gzip: number, br: number, dcb: number | null, beats: number) {
  return {
    variant: `${kind} ${setting}`,
    kind,
    setting,
    pairs,
    medianRequestBytes: 450,
    vsGzip6: percent(gzip, pairs),
    vsBr11: percent(br, pairs),
    vsDcb: dcb === null ? null : percent(dcb, pairs),
    vsDcz: null,
    beatsBr11: beats,
    totalBytes: 1,
    gzip6Bytes: 1,
    br11Bytes: 1,
    ...(kind === 'served' ? { servedAsDelta: pairs } : {}),
  };
}

/** Three pairs: two css (br-11 at 80% and 90% of gzip, dcb at 10% and 30%), one js-min without a dictionary size. */
const WIRE = {
  date: '2026-12-03T04:30:00.000Z',
  corpus: '/work/shared/corpus',
  node: 'v20.20.2',
  cpu: '2 x AMD EPYC',
  loadAverage: [1, 1, 1],
  seconds: 12,
  hasDcb: true,
  hasDcz: false,
  settings: ['n=40', 'n=128'],
  largerBlockCounts: { verdict: 'n=128 saves 3.0% more bytes than n=40: not much more.' },
  summaries: {
    css: [variant('v1', 'n=40', 2, 20, 24, 70, 2), variant('x1', 'n=40', 2, 14.25, 16.5, 50, 2), variant('served', 'n=40', 2, 12.25, 15.125, 45, 2), variant('served', 'n=128', 2, 11, 14, 40, 2)],
    'js-min': [variant('v1', 'n=40', 1, 95, 105, null, 0), variant('x1', 'n=40', 1, 93, 103, null, 0), variant('served', 'n=40', 1, 90, 100, null, 0)],
    all: [variant('v1', 'n=40', 3, 24, 26, 70, 2), variant('x1', 'n=40', 3, 16, 18, 50, 2), variant('served', 'n=40', 3, 13.5, 16.75, 45, 2)],
  },
  pairs: [
    { name: '101-css-a', category: 'css', oldBytes: 9000, newBytes: 9100, gzip6: 1000, br11: 800, dcb: 100, dcz: null, crcsync: [] },
    { name: '102-css-b', category: 'css', oldBytes: 9000, newBytes: 9100, gzip6: 1000, br11: 900, dcb: 300, dcz: null, crcsync: [] },
    { name: '001-js-min-c', category: 'js-min', oldBytes: 9000, newBytes: 9100, gzip6: 2000, br11: 1800, dcb: null, dcz: null, crcsync: null },
  ],
};

const summary = (loadRatio: number, bound: number, floor: number, ahead: number) => ({
  pages: 2,
  medianLoadRatio: loadRatio,
  medianInteractiveRatio: loadRatio,
  medianBytesRatio: 2.5,
  medianFloorLoadRatio: floor,
  medianBoundLoadRatio: bound,
  medianFloorBoundLoadRatio: bound - 0.01,
  pagesAhead: ahead,
  worstPage: null,
  onLoads: 10,
  onLoadsDeclined: 0,
});

const page = (name: string, kind: 'corpus' | 'demo', loadRatio: number | null) => ({ page: name, kind, loadRatio, boundLoadRatio: 1.1, floorLoadRatio: 1 });

const LOAD = {
  info: { date: '2026-12-02', command: 'npm run bench:load -- --runs 5', machine: '2 × AMD EPYC, 24 GiB RAM, linux', firefox: 'firefox/153.8.0', node: 'v20.20.2', runs: 5 },
  profiles: [
    { profile: { name: '1m', label: '1 Mbit/s each way, 100 ms RTT', downBitsPerSecond: 1e6, upBitsPerSecond: 1e6, rttMs: 100 }, pages: [page('a.html', 'corpus', 1.2), page('b.html', 'corpus', 1.06), page('demo', 'demo', 3)], corpus: { ...summary(1.13, 1.25, 0.99, 2), medianIdealLoadRatio: 1.1 }, all: summary(1.2, 1.3, 0.99, 3) },
    { profile: { name: 'none', label: 'no throttling', downBitsPerSecond: null, upBitsPerSecond: null, rttMs: 0 }, pages: [page('a.html', 'corpus', 0.8), page('b.html', 'corpus', null)], corpus: summary(0.87, 1, 1, 0), all: summary(0.87, 1, 1, 0) },
  ],
};

/** A Chromium run as `bench:load -- --browser chromium` writes it: the browser named, each profile too, no floor measured. */
const LOAD_CHROMIUM = {
  info: { date: '2026-12-03', command: 'npm run bench:load -- --browser chromium --runs 5', machine: '2 × AMD EPYC, 24 GiB RAM, linux', browser: 'chromium', chromium: 'chromium/156.0.7520.0', node: 'v20.20.2', runs: 5, floor: false, seconds: 540 },
  profiles: [
    { browser: 'chromium/156.0.7520.0', profile: { name: '1m', label: '1 Mbit/s each way, 100 ms RTT', downBitsPerSecond: 1e6, upBitsPerSecond: 1e6, rttMs: 100 }, pages: [page('a.html', 'corpus', 1.3), page('b.html', 'corpus', 1.1), page('demo', 'demo', 2)], corpus: { ...summary(1.2, 1.3, 1, 2), medianFloorLoadRatio: null, medianFloorBoundLoadRatio: null }, all: summary(1.3, 1.3, 1, 3) },
    { browser: 'chromium/156.0.7520.0', profile: { name: 'none', label: 'no throttling', downBitsPerSecond: null, upBitsPerSecond: null, rttMs: 0 }, pages: [page('a.html', 'corpus', 0.95), page('b.html', 'corpus', 0.9)], corpus: { ...summary(0.925, 1, 1, 0), medianFloorLoadRatio: null, medianFloorBoundLoadRatio: null }, all: summary(0.925, 1, 1, 0) },
  ],
};

const kernel = (group: string, role: string, label: string, wasm: number, native: number) => ({ group, role, label, bytesPerRun: 1, wasmMBps: wasm, engineMBps: wasm * 0.9, nativeMBps: native, wasmToNative: wasm / native, engineToNative: (wasm * 0.9) / native, instructionsPerByte: null, samples: { wasm: [], engine: [], native: [] } });

const NATIVE = {
  date: '2026-12-03T04:20:00.000Z',
  node: 'v20.20.2',
  v8: '11.3',
  cpu: '2 x AMD EPYC',
  loadAverageBefore: [1, 1, 1],
  loadAverageAfter: [1, 1, 1],
  compiler: 'cc (Debian 12.2.0-14) 12.2.0',
  cflags: ['-O2'],
  rounds: 7,
  minMs: 200,
  checks: [],
  instructionCounts: null,
  kernels: [
    kernel('hashing', 'typical', 'page, n=40', 1800, 2400),
    kernel('hashing', 'context', 'same page, n=256', 1400, 2000),
    kernel('matching', 'typical', 'page vs 40 hashes', 820, 1000),
    kernel('matching', 'worst', '2 MiB random', 450, 500),
  ],
};

const CORE = {
  date: '2026-12-02T15:15:00.479Z',
  node: 'v20.20.2',
  corpus: 'corpus',
  rows: [
    { group: 'block hashing', name: 'WASM, 4 MiB body, 40 blocks', mbPerSecond: 2212.7, ratioTo: 'copy', ratio: 0.05, target: '>= 1400 MB/s' },
    { group: 'block hashing', name: 'TS twin', mbPerSecond: 190.9, ratioTo: 'WASM', ratio: 0.09 },
  ],
};

// The shape scripts/bench-server.ts writes: per-cell medians over the repeats in `rows`
// (processes '1' or 'auto'), the raw repeats in `cells`; the "delta-wins" rows are a subset of the pages.
const serverRow = (connections: number, client: string, requestsPerSecond: number, vsGzip: number | null, pages = 'all') => ({
  processes: '1', pages, connections, client, requestsPerSecond, requestsPerSecondRange: [requestsPerSecond, requestsPerSecond],
  p50: 4, p99: 16, bytesPerResponse: 20000, peakRssMiB: 90, failures: 0,
  vsGzip: vsGzip === null ? null : { median: vsGzip, min: vsGzip, max: vsGzip },
});
const SERVER = {
  info: { pages: 47, winners: 37, corpusBytes: 5468212, seconds: 4, processes: 2, loadBefore: '0.5', loadAfter: '4.0', date: '2026-12-03T04:10:00.000Z', cpu: 'AMD EPYC', cpus: 2, node: 'v20.20.2', repeats: 3 },
  rows: [
    serverRow(1, 'gzip', 200, null),
    serverRow(1, 'brotli', 150, null),
    serverRow(1, 'crcsync', 350, 1.75),
    serverRow(50, 'gzip', 500, null),
    serverRow(50, 'crcsync', 450, 0.9),
    serverRow(50, 'gzip', 400, null, 'delta-wins'),
    serverRow(50, 'crcsync', 800, 2, 'delta-wins'),
    { ...serverRow(50, 'gzip', 300, null), processes: 'pinned' },
    { ...serverRow(50, 'crcsync', 900, 3), processes: 'pinned' },
  ],
  cells: [],
};

const SERVER_MD = `# Server load test

\`npm run bench:server\` (scripts/bench-server.ts), 2026-11-28.
Machine: 2 × AMD EPYC, 24 GiB RAM, Node v20.20.2, linux.

| connections | client | req/s | vs gzip | p50 ms | p99 ms | bytes/resp | peak RSS MiB | errors |
|---:|---|---:|---:|---:|---:|---:|---:|---:|
| 1 | gzip | 181 |  | 4.0 | 16.0 | 23159 | 88 | 0 |
| 1 | crcsync | 312 | **1.73×** | 2.0 | 12.0 | 10203 | 92 | 0 |
| 500 | gzip | 483 |  | 853.0 | 2748.0 | 22231 | 279 | 0 |
| 500 | crcsync | 423 | **0.88×** | 309.0 | 4646.0 | 10045 | 221 | 0 |

Notes. Compare ratios within a row.
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crcsync-report-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, content: unknown) => writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
const context = { date: '2026-12-03', machine: '2 × Test CPU, 8 GiB RAM, Node v20, linux', fromResults: true };

function writeAll(): void {
  write('wire.json', WIRE);
  write('load.json', LOAD);
  write('load-chromium.json', LOAD_CHROMIUM);
  write('native.json', NATIVE);
  write('core.json', CORE);
  write('server.json', SERVER);
  for (const name of ['wire.md', 'load.md', 'load-chromium.md', 'native.md', 'core.md', 'server.md']) write(name, '# x\n');
}

describe('headline numbers from the benches\' results', () => {
  it('wire: per category, what Firefox is served and the delta alone, as % of gzip-6 and brotli-11, and brotli\'s and the dictionary\'s share of gzip from the pairs', () => {
    writeAll();
    const wire = readBenchResults(dir).wire;
    if (wire.state !== 'ok') throw new Error(wire.reason);
    const rows = wireHeadline(wire.data);
    expect(rows.map((row) => row.category)).toEqual(['css', 'js-min', 'all']);
    const css = rows[0];
    expect(css.served.vsGzip6?.medianPercent).toBe(12.25);
    expect(css.served.vsBr11?.medianPercent).toBe(15.125);
    expect(css.x1.vsBr11?.medianPercent).toBe(16.5);
    expect(css.br11OfGzip6).toBe(85);
    expect(css.dcbOfGzip6).toBe(20);
    expect(rows[1].dcbOfGzip6).toBeNull();
    expect(rows[2].br11OfGzip6).toBe(90);
  });

  it('native: typical rows, the worst row where there is one, else the lowest ratio of the group', () => {
    writeAll();
    const native = readBenchResults(dir).native;
    if (native.state !== 'ok') throw new Error(native.reason);
    const cells = nativeHeadline(native.data).map((cell) => [cell.group, cell.role, cell.kernel.label, +cell.kernel.wasmToNative.toFixed(2)]);
    expect(cells).toEqual([
      ['hashing', 'typical', 'page, n=40', 0.75],
      ['hashing', 'worst', 'same page, n=256', 0.7],
      ['matching', 'typical', 'page vs 40 hashes', 0.82],
      ['matching', 'worst', '2 MiB random', 0.9],
    ]);
  });

  it('server: crcsync ÷ gzip per concurrency from server.json, and the bench\'s own ratio from server.md', () => {
    writeAll();
    const server = readBenchResults(dir).server;
    if (server.state !== 'ok') throw new Error(server.reason);
    expect(serverHeadline(server.data).map((row) => [row.connections, row.crcsyncToGzip])).toEqual([[1, 1.75], [50, 0.9]]);
    const fromMarkdown = parseServerMarkdown('bench/server.md', SERVER_MD);
    expect(fromMarkdown.date).toBe('2026-11-28');
    expect(fromMarkdown.machine).toBe('2 × AMD EPYC, 24 GiB RAM, Node v20.20.2, linux');
    // 312 / 181 is 1.72: the bench divided the unrounded rates and wrote 1.73.
    expect(serverHeadline(fromMarkdown).map((row) => [row.connections, row.gzip, row.crcsync, row.crcsyncToGzip])).toEqual([[1, 181, 312, 1.73], [500, 483, 423, 0.88]]);
  });
});

describe('bench/REPORT.md', () => {
  it('states the headline numbers of every bench, the machines, the command, and links each chart and detail file', () => {
    writeAll();
    const built = buildReport(dir, context);
    const report = readFileSync(join(dir, 'REPORT.md'), 'utf8');
    expect(built.missing).toEqual([]);
    expect(built.charts.map((path) => path.slice(dir.length + 1))).toEqual(['charts/wire-bytes.svg', 'charts/load-time.svg', 'charts/core-native.svg', 'charts/server-requests.svg']);
    for (const path of built.charts) expect(readFileSync(path, 'utf8')).toMatch(/^<svg /);

    expect(report).toContain(
      '**Rebuild:** `npm run bench:report` runs `npm run bench`, `npm run bench:wire`, `npm run bench:native`, `npm run bench:server`, `npm run bench:load`, `npm run bench:load -- --browser chromium` (the page-load bench took 9 minutes in Chromium in the runs below)',
    );
    expect(report).toContain('Report built 2026-12-03 on 2 × Test CPU, 8 GiB RAM, Node v20, linux.');
    expect(report).toContain('firefox/153.8.0 (headless)');
    expect(report).toContain('| `bench:load -- --browser chromium` (load-chromium.json) | 2026-12-03, 2 × AMD EPYC, 24 GiB RAM, linux, Node v20.20.2, chromium/156.0.7520.0 (headless), `npm run bench:load -- --browser chromium --runs 5` |');
    expect(report).toContain('cc (Debian 12.2.0-14) 12.2.0');
    // Wire: served % gzip, % brotli, % dictionary, x=1, v=1, pairs beating brotli.
    expect(report).toContain('| css | 2 | 12.3% | 15.1% | 45.0% | 14.3% | 16.5% | 24.0% | 2 of 2 |');
    expect(report).toContain('| js-min | 1 | 90.0% | 100.0% | – | 93.0% | 103.0% | 105.0% | 0 of 1 |');
    expect(report).toContain('Over all 3 pairs, what Firefox gets from crcsync is a median **13.5% of gzip-6** and **16.8% of brotli-11** (45.0% of dictionary brotli); it is smaller than brotli-11 on 2 of 3 pairs.');
    expect(report).toContain('against brotli-11\'s 90.0%');
    expect(report).toContain('Larger block counts (bench/wire.md): n=128 saves 3.0% more bytes than n=40: not much more.');
    // Load: per link profile, corpus pages, each profile's browsers side by side (Chromium's floor not measured).
    const loadTable = report.split('\n').filter((line) => /^\| (1 Mbit|no throttling)/.test(line));
    expect(loadTable).toEqual([
      '| 1 Mbit/s each way, 100 ms RTT | firefox/153.8.0 | **1.13×** | 1.25× | 1.10× | 0.99× | 2 of 2 |',
      '| 1 Mbit/s each way, 100 ms RTT | chromium/156.0.7520.0 | **1.20×** | 1.30× | – | – | 2 of 2 |',
      '| no throttling | firefox/153.8.0 | **0.87×** | 1.00× | – | 1.00× | 0 of 2 |',
      '| no throttling | chromium/156.0.7520.0 | **0.93×** | 1.00× | – | – | 0 of 2 |',
    ]);
    expect(report).toContain('5 runs per page and condition in Firefox, 5 runs per page and condition in Chromium');
    expect(report).toContain('In Chromium, "on" is the extension with its opt-in "accelerate page loads" mode');
    expect(report).not.toContain('not measured yet: these are');
    // WASM ÷ native.
    expect(report).toContain('| block hashing | **0.75** (1800 vs 2400 MB/s) | **0.70** (1400 vs 2000 MB/s) |');
    expect(report).toContain('| rolling match | **0.82** (820 vs 1000 MB/s) | **0.90** (450 vs 500 MB/s) |');
    expect(report).toContain('2213 MB/s for block hashing (target >= 1400 MB/s)');
    expect(report).not.toContain('Other inputs of the same run');
    // Server.
    expect(report).toContain('| 1 | 1 | 200 | 350 | **1.75×** |');
    expect(report).toContain('| 50 | 1 | 500 | 450 | **0.90×** |');
    for (const chart of ['wire-bytes', 'load-time', 'core-native', 'server-requests']) expect(report).toContain(`](charts/${chart}.svg)`);
    for (const detail of ['core', 'wire', 'native', 'server', 'load', 'load-chromium']) expect(report).toContain(`[${detail}.md](${detail}.md)`);
    expect(report).toContain('- [load-chromium.md](load-chromium.md): page load in Chromium (`npm run bench:load -- --browser chromium`)');
    expect(report).not.toMatch(/Not measured|NaN|undefined|null/);
  });

  it('charts the per-page dots of corpus pages only, and the dictionary\'s share where the corpus has it', () => {
    writeAll();
    buildReport(dir, context);
    const load = readFileSync(join(dir, 'charts/load-time.svg'), 'utf8');
    // Firefox's three corpus pages with a ratio and Chromium's four (the demo pages and a page without one are not drawn).
    expect((load.match(/<circle cx="[\d.]+" cy="[\d.]+" r="3"/g) ?? []).length).toBe(7);
    // A row per profile and browser, labelled with the browser.
    expect(load.match(/>(firefox|chromium)\/[\d.]+</g)).toEqual(['>firefox/153.8.0<', '>chromium/156.0.7520.0<', '>firefox/153.8.0<', '>chromium/156.0.7520.0<']);
    const wire = readFileSync(join(dir, 'charts/wire-bytes.svg'), 'utf8');
    expect(wire).toContain('<title>dictionary brotli (dcb, old as dictionary), css (2): 20%</title>');
    expect(wire).toContain('<title>brotli-11, all pairs (3): 90%</title>');
    expect(wire).toContain('<title>crcsync as served to Firefox, css (2): 12%</title>');
  });

  it('draws a hashing input that is both typical and worst once, and says so', () => {
    writeAll();
    write('native.json', { ...NATIVE, kernels: [kernel('hashing', 'typical', 'page, n=40', 1800, 3000), kernel('hashing', 'context', '4 MiB random', 2000, 3000), ...NATIVE.kernels.slice(2)] });
    buildReport(dir, context);
    const svg = readFileSync(join(dir, 'charts/core-native.svg'), 'utf8');
    expect(svg).toContain('>hashing, typical = worst<');
    expect((svg.match(/<title>C \(cc -O2\), /g) ?? []).length).toBe(3);
    const report = readFileSync(join(dir, 'REPORT.md'), 'utf8');
    expect(report).toContain('| block hashing | **0.60** (1800 vs 3000 MB/s) | **0.60** (1800 vs 3000 MB/s) |');
    expect(report).toContain('Other inputs of the same run (bench/native.md), WASM ÷ C: hashing, 4 MiB random: 0.67.');
  });

  it('says "not measured yet" with the reason for every bench without results, draws no chart for them and removes a stale one', () => {
    mkdirSync(join(dir, 'charts'));
    write('charts/wire-bytes.svg', '<svg/>');
    write('load.json', LOAD);
    const built = buildReport(dir, context);
    const report = readFileSync(join(dir, 'REPORT.md'), 'utf8');
    expect(built.charts.map((path) => path.slice(dir.length + 1))).toEqual(['charts/load-time.svg']);
    expect(existsSync(join(dir, 'charts/wire-bytes.svg'))).toBe(false);
    expect(report).toContain('**Not measured yet**: bench/wire.json does not exist. `npm run bench:wire` produces it.');
    expect(report).toContain('**Not measured yet**: bench/native.json does not exist. `npm run bench:native` produces it.');
    expect(report).toContain('**Not measured yet**: neither bench/server.json nor bench/server.md exists. `npm run bench:server` produces it.');
    expect(report).toContain('**Not measured yet**: bench/core.json does not exist. `npm run bench` produces it.');
    expect(report).toContain('| `bench:wire` (wire.json) | not measured yet (bench/wire.json does not exist) |');
    expect(report).toContain('- wire.md: bytes on the wire, not present (`npm run bench:wire` writes it)');
    expect(report).not.toContain('](charts/wire-bytes.svg)');
    expect(report).toContain('**1.13×**');
    expect(report).toContain('**Not measured yet**: bench/load-chromium.json does not exist. `npm run bench:load -- --browser chromium` produces it.');
    expect(report).toContain('Chromium is not measured yet: these are Firefox only.');
    expect(report).toContain('| `bench:load -- --browser chromium` (load-chromium.json) | not measured yet (bench/load-chromium.json does not exist) |');
    expect(built.missing).toHaveLength(5);
  });

  it('names the field when a result file is not in the expected shape, instead of guessing', () => {
    writeAll();
    const broken = JSON.parse(JSON.stringify(WIRE));
    delete broken.summaries.css[2].vsBr11.medianPercent;
    write('wire.json', broken);
    write('native.json', '{ not json');
    const built = buildReport(dir, context);
    expect(built.unreadable).toHaveLength(2);
    expect(built.missing).toEqual([]);
    const report = readFileSync(join(dir, 'REPORT.md'), 'utf8');
    expect(report).toContain('**Not usable**: bench/wire.json: summaries.css[2].vsBr11.medianPercent: expected a finite number, got nothing (field missing). Run `npm run bench:wire` again;');
    expect(report).toMatch(/\*\*Not usable\*\*: bench\/native\.json: \(top level\): expected JSON, got .*unparsable/);
    expect(report).toContain('| `bench:native` (native.json) | not usable (bench/native.json: (top level): expected JSON');
    expect(readBenchResults(dir).load.state).toBe('ok');
    // A Chromium run where Firefox's results belong is named, not shown as Firefox's.
    write('load.json', LOAD_CHROMIUM);
    expect(readBenchResults(dir).load).toMatchObject({ state: 'missing', unreadable: true, reason: 'bench/load.json: info.browser: expected "firefox", got string "chromium"' });
    // A category without the headline variant is not read as "no data": it is named.
    write('wire.json', { ...WIRE, summaries: { ...WIRE.summaries, 'js-min': WIRE.summaries['js-min'].filter((entry) => entry.kind !== 'x1') } });
    expect(readBenchResults(dir).wire).toMatchObject({ state: 'missing', unreadable: true, reason: 'bench/wire.json: summaries.js-min: expected the x1 n=40 summary, got nothing (field missing)' });
  });

  it('reads the server table from server.md when there is no server.json, and says so', () => {
    writeAll();
    rmSync(join(dir, 'server.json'));
    write('server.md', SERVER_MD);
    buildReport(dir, context);
    const report = readFileSync(join(dir, 'REPORT.md'), 'utf8');
    expect(report).toContain('(from bench/server.md)');
    expect(report).toContain('| 1 | 181 | 312 | **1.73×** |');
    expect(report).toContain('Read from the table of bench/server.md');
    expect(() => parseServerMarkdown('bench/server.md', '# no table\n')).toThrow(ResultShapeError);
  });
});

describe('running the benches', () => {
  const bench = (script: string, args: string[] = []) => ({ script, args });

  it('runs each script in turn and stops at the first failure with its name and exit code', () => {
    write('package.json', { name: 'fixture', private: true, scripts: { first: 'node -e "require(\'fs\').writeFileSync(\'first\', \'\')"', broken: 'node -e "process.exit(3)"', never: 'node -e "require(\'fs\').writeFileSync(\'never\', \'\')"' } });
    const lines: string[] = [];
    expect(() => runBenches([bench('first'), bench('broken'), bench('never')], dir, (line) => lines.push(line), 'ignore')).toThrow(BenchFailedError);
    expect(() => runBenches([bench('broken')], dir, () => undefined, 'ignore')).toThrow('`npm run broken` failed (exit code 3); bench/REPORT.md was not rebuilt.');
    expect(existsSync(join(dir, 'first'))).toBe(true);
    expect(existsSync(join(dir, 'never'))).toBe(false);
    expect(lines.map((line) => line.trim())).toEqual(['bench:report: 1/3 npm run first', 'bench:report: 2/3 npm run broken']);
  });

  it("hands a bench's arguments to its script, as `npm run bench:load -- --browser chromium` does", () => {
    write('record-args.js', "require('fs').writeFileSync('args', JSON.stringify(process.argv.slice(2)));");
    write('package.json', { name: 'fixture', private: true, scripts: { load: 'node record-args.js' } });
    const lines: string[] = [];
    const runs = runBenches([bench('load'), bench('load', ['--browser', 'chromium'])], dir, (line) => lines.push(line), 'ignore');
    expect(JSON.parse(readFileSync(join(dir, 'args'), 'utf8'))).toEqual(['--browser', 'chromium']);
    expect(runs.map((run) => run.command)).toEqual(['npm run load', 'npm run load -- --browser chromium']);
    expect(lines.map((line) => line.trim())).toEqual(['bench:report: 1/2 npm run load', 'bench:report: 2/2 npm run load -- --browser chromium']);
  });

  it('runs the page-load bench in Firefox and then in Chromium as part of the full report', () => {
    const load = BENCHES.filter((entry) => entry.script === 'bench:load');
    expect(load.map((entry) => [entry.args.join(' '), entry.json, entry.markdown])).toEqual([
      ['', 'load.json', 'load.md'],
      ['--browser chromium', 'load-chromium.json', 'load-chromium.md'],
    ]);
  });
});
