// Reads the benches' results from bench/ into the few fields the report uses:
// load.json (`npm run bench:load`, Firefox), load-chromium.json (`npm run
// bench:load -- --browser chromium`), wire.json (`bench:wire`), native.json
// (`bench:native`), core.json (`npm run bench`) and server.json
// (`bench:server`; until that bench writes JSON, the table of server.md).
// Each input is either read whole or "missing" with the reason (no file, or
// which field is not as expected): sections without results say so.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Field, ResultShapeError, rootOf } from './shape';
import { parseServerMarkdown } from './server-markdown';

/**
 * A bench's results, or why there are none: `unreadable` when the file exists
 * but is not in the shape the report reads (the reason names the field).
 */
export type Loaded<T> = { state: 'ok'; file: string; data: T } | { state: 'missing'; file: string; reason: string; unreadable: boolean };

// ---- load.json ----

export interface LoadSummaryView {
  pages: number;
  medianLoadRatio: number | null;
  medianBoundLoadRatio: number | null;
  medianFloorLoadRatio: number | null;
  medianFloorBoundLoadRatio: number | null;
  /** brotli ÷ the measured "ideal" load (crcsync's bytes at no cost); null in runs without it. */
  medianIdealLoadRatio: number | null;
  medianBytesRatio: number | null;
  pagesAhead: number;
}

export interface LoadPageView {
  page: string;
  kind: 'corpus' | 'demo';
  loadRatio: number | null;
}

export interface LoadProfileView {
  name: string;
  label: string;
  /** Null: not throttled. */
  downBitsPerSecond: number | null;
  rttMs: number;
  /** The browser (and version) the profile was measured in, e.g. "firefox/153.8.0". */
  browser: string;
  corpus: LoadSummaryView;
  pages: LoadPageView[];
}

export type LoadBrowser = 'firefox' | 'chromium';

export interface LoadResults {
  /** Which browser ran the bench (older load.json files, Firefox's, do not say: Firefox). */
  browser: LoadBrowser;
  date: string;
  command: string;
  machine: string;
  node: string;
  /** The browser's version as the bench recorded it, e.g. "firefox/153.8.0". */
  version: string;
  runs: number;
  /** How long the whole bench took, when recorded. */
  seconds: number | null;
  profiles: LoadProfileView[];
}

const ratioOrNull = (field: Field) => field.nullable((value) => value.number());

function readLoadSummary(field: Field): LoadSummaryView {
  return {
    pages: field.get('pages').number(),
    medianLoadRatio: ratioOrNull(field.get('medianLoadRatio')),
    medianBoundLoadRatio: ratioOrNull(field.get('medianBoundLoadRatio')),
    medianFloorLoadRatio: ratioOrNull(field.get('medianFloorLoadRatio')),
    medianFloorBoundLoadRatio: ratioOrNull(field.get('medianFloorBoundLoadRatio')),
    medianIdealLoadRatio: field.has('medianIdealLoadRatio') ? ratioOrNull(field.get('medianIdealLoadRatio')) : null,
    medianBytesRatio: ratioOrNull(field.get('medianBytesRatio')),
    pagesAhead: field.get('pagesAhead').number(),
  };
}

export function readLoad(root: Field): LoadResults {
  const info = root.get('info');
  // The run names its browser and records the version under that name; a file from before Chromium was measured has only `firefox`.
  const browser = info.has('browser') ? info.get('browser').oneOf(['firefox', 'chromium'] as const) : 'firefox';
  const version = info.get(browser).string();
  return {
    browser,
    date: info.get('date').string(),
    command: info.get('command').string(),
    machine: info.get('machine').string(),
    node: info.get('node').string(),
    version,
    runs: info.get('runs').number(),
    seconds: info.get('seconds').nullable((value) => value.number()),
    profiles: root.get('profiles').array().map((profile) => ({
      name: profile.get('profile').get('name').string(),
      label: profile.get('profile').get('label').string(),
      downBitsPerSecond: profile.get('profile').get('downBitsPerSecond').nullable((value) => value.number()),
      rttMs: profile.get('profile').get('rttMs').number(),
      browser: profile.has('browser') ? profile.get('browser').string() : version,
      corpus: readLoadSummary(profile.get('corpus')),
      pages: profile.get('pages').array().map((page) => ({
        page: page.get('page').string(),
        kind: page.get('kind').oneOf(['corpus', 'demo'] as const),
        loadRatio: ratioOrNull(page.get('loadRatio')),
      })),
    })),
  };
}

/** readLoad, insisting the file is from `browser` (a Chromium run copied over load.json would otherwise pass as Firefox's). */
function readLoadOf(root: Field, browser: LoadBrowser): LoadResults {
  const load = readLoad(root);
  if (load.browser !== browser) throw new ResultShapeError(root.file, 'info.browser', `"${browser}"`, load.browser);
  return load;
}

// ---- wire.json ----

export interface PercentSummary {
  pairs: number;
  medianPercent: number;
  p90Percent: number;
}

export interface WireVariantView {
  variant: string;
  kind: 'v1' | 'x1' | 'served';
  setting: string;
  pairs: number;
  vsGzip6: PercentSummary | null;
  vsBr11: PercentSummary | null;
  vsDcb: PercentSummary | null;
  beatsBr11: number;
  servedAsDelta: number | null;
}

export interface WirePairView {
  name: string;
  category: string;
  gzip6: number;
  br11: number;
  dcb: number | null;
  dcz: number | null;
}

export interface WireResults {
  date: string;
  corpus: string;
  node: string;
  cpu: string;
  hasDcb: boolean;
  /** The bench's one-sentence finding on larger block counts, when it wrote one. */
  largerBlockCountVerdict: string | null;
  /** Category -> variants, in the file's order ("all" is every pair). */
  summaries: Array<{ category: string; variants: WireVariantView[] }>;
  pairs: WirePairView[];
}

export const ALL_CATEGORIES = 'all';

/** The block count a v=1 client sends (PROTOCOL.md §1): the report's headline setting; larger counts stay in bench/wire.md. */
export const HEADLINE_SETTING = 'n=40';
const HEADLINE_KINDS = ['served', 'x1', 'v1'] as const;

function readPercent(field: Field): PercentSummary | null {
  return field.nullable((value) => ({ pairs: value.get('pairs').number(), medianPercent: value.get('medianPercent').number(), p90Percent: value.get('p90Percent').number() }));
}

export function readWire(root: Field): WireResults {
  const summaries = root.get('summaries').entries().map(([category, list]) => ({
    category,
    variants: list.array().map((variant) => ({
      variant: variant.get('variant').string(),
      kind: variant.get('kind').oneOf(['v1', 'x1', 'served'] as const),
      setting: variant.get('setting').string(),
      pairs: variant.get('pairs').number(),
      vsGzip6: readPercent(variant.get('vsGzip6')),
      vsBr11: readPercent(variant.get('vsBr11')),
      vsDcb: readPercent(variant.get('vsDcb')),
      beatsBr11: variant.get('beatsBr11').number(),
      servedAsDelta: variant.get('servedAsDelta').nullable((value) => value.number()),
    })),
  }));
  if (!summaries.some((entry) => entry.category === ALL_CATEGORIES)) throw new ResultShapeError(root.file, 'summaries', `a "${ALL_CATEGORIES}" entry`, undefined);
  for (const { category, variants } of summaries) {
    for (const kind of HEADLINE_KINDS) {
      if (!variants.some((variant) => variant.kind === kind && variant.setting === HEADLINE_SETTING)) throw new ResultShapeError(root.file, `summaries.${category}`, `the ${kind} ${HEADLINE_SETTING} summary`, undefined);
    }
  }
  const larger = root.has('largerBlockCounts') ? root.get('largerBlockCounts') : null;
  return {
    date: root.get('date').string(),
    corpus: root.get('corpus').string(),
    node: root.get('node').string(),
    cpu: root.get('cpu').string(),
    hasDcb: root.get('hasDcb').boolean(),
    largerBlockCountVerdict: larger?.has('verdict') ? larger.get('verdict').string() : null,
    summaries,
    pairs: root.get('pairs').array().map((pair) => ({
      name: pair.get('name').string(),
      category: pair.get('category').string(),
      gzip6: pair.get('gzip6').number(),
      br11: pair.get('br11').number(),
      dcb: pair.get('dcb').nullable((value) => value.number()),
      dcz: pair.get('dcz').nullable((value) => value.number()),
    })),
  };
}

// ---- native.json ----

export interface NativeKernelView {
  group: 'hashing' | 'matching';
  role: 'typical' | 'worst' | 'context';
  label: string;
  wasmMBps: number;
  engineMBps: number;
  nativeMBps: number;
  wasmToNative: number;
  engineToNative: number;
}

export interface NativeResults {
  date: string;
  node: string;
  cpu: string;
  /** The C compiler's version line; null: none on the machine, nothing native measured. */
  compiler: string | null;
  kernels: NativeKernelView[];
}

export function readNative(root: Field): NativeResults {
  return {
    date: root.get('date').string(),
    node: root.get('node').string(),
    cpu: root.get('cpu').string(),
    compiler: root.get('compiler').nullable((value) => value.string()),
    kernels: root.get('kernels').array().map((kernel) => ({
      group: kernel.get('group').oneOf(['hashing', 'matching'] as const),
      role: kernel.get('role').oneOf(['typical', 'worst', 'context'] as const),
      label: kernel.get('label').string(),
      wasmMBps: kernel.get('wasmMBps').number(),
      engineMBps: kernel.get('engineMBps').number(),
      nativeMBps: kernel.get('nativeMBps').number(),
      wasmToNative: kernel.get('wasmToNative').number(),
      engineToNative: kernel.get('engineToNative').number(),
    })),
  };
}

// ---- core.json ----

export interface CoreRowView {
  group: string;
  name: string;
  mbPerSecond: number;
  target: string | null;
}

export interface CoreResults {
  date: string;
  node: string;
  rows: CoreRowView[];
}

export function readCore(root: Field): CoreResults {
  return {
    date: root.get('date').string(),
    node: root.get('node').string(),
    rows: root.get('rows').array().map((row) => ({
      group: row.get('group').string(),
      name: row.get('name').string(),
      mbPerSecond: row.get('mbPerSecond').number(),
      target: row.get('target').nullable((value) => value.string()),
    })),
  };
}

// ---- server.json / server.md ----

export interface ServerCellView {
  connections: number;
  client: string;
  /** Server processes (the reference server's cluster mode); null when the bench ran one and did not record it. */
  processes: number | null;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  peakRssMiB: number | null;
  /** How many times the cell was measured; null when not recorded (one run). */
  repeats: number | null;
  /** The bench's own req/s ÷ gzip's at the same concurrency, when it wrote one (server.md's "vs gzip", from unrounded rates). */
  recordedRatioToGzip: number | null;
}

export interface ServerResults {
  /** Where the numbers come from: the bench's JSON, or the table of its markdown (before it wrote JSON). */
  source: 'server.json' | 'server.md';
  date: string | null;
  machine: string | null;
  cells: ServerCellView[];
}

/**
 * bench/server.json as scripts/bench-server.ts writes it: `info` (machine,
 * repeats, processes of `--workers auto`) and `rows`, each a cell's medians
 * over the repeats with crcsync ÷ gzip per repeat. Only the rows over all
 * pages, unpinned, with the default memory budgets; the "delta-wins" rows (a
 * subset of the pairs), the pinned and the ample-memory ones stay in
 * server.md.
 */
export function readServerJson(root: Field): ServerResults {
  const info = root.get('info');
  const autoProcesses = info.get('processes').number();
  const repeats = info.has('repeats') ? info.get('repeats').number() : null;
  const cpu = info.has('cpu') ? info.get('cpu').nullable((value) => value.string()) : null;
  const cpus = info.has('cpus') ? info.get('cpus').number() : null;
  const node = info.has('node') ? info.get('node').string() : null;
  const machine = cpu || node ? [cpus !== null && cpu ? `${cpus} x ${cpu}` : cpu, node ? `Node ${node}` : null].filter(Boolean).join(', ') : null;
  return {
    source: 'server.json',
    date: info.has('date') ? info.get('date').string() : null,
    machine,
    cells: root
      .get('rows')
      .array()
      // The pinned cells (one server process on a core of its own) answer a question about noise, and the
      // ample-memory cells one about the memory budgets; server.md has them.
      .filter((row) => row.get('pages').string() === 'all' && row.get('processes').string() !== 'pinned' && !(row.has('memory') && row.get('memory').string() === 'ample'))
      .map((row) => {
        const processes = row.get('processes').string();
        const vsGzip = row.has('vsGzip') ? row.get('vsGzip').nullable((value) => value.get('median').number()) : null;
        return {
          connections: row.get('connections').number(),
          client: row.get('client').string(),
          processes: processes === 'auto' ? autoProcesses : Number(processes),
          requestsPerSecond: row.get('requestsPerSecond').number(),
          p50: row.get('p50').number(),
          p99: row.get('p99').number(),
          peakRssMiB: row.get('peakRssMiB').nullable((value) => value.number()),
          repeats,
          recordedRatioToGzip: vsGzip,
        };
      }),
  };
}

// ---- reading bench/ ----

export interface BenchResults {
  load: Loaded<LoadResults>;
  /** The same bench in Chromium. */
  loadChromium: Loaded<LoadResults>;
  wire: Loaded<WireResults>;
  native: Loaded<NativeResults>;
  core: Loaded<CoreResults>;
  server: Loaded<ServerResults>;
}

function loadJson<T>(benchDir: string, name: string, read: (root: Field) => T): Loaded<T> {
  const file = `bench/${name}`;
  const path = join(benchDir, name);
  if (!existsSync(path)) return { state: 'missing', file, reason: `${file} does not exist`, unreadable: false };
  try {
    return { state: 'ok', file, data: read(rootOf(file, readFileSync(path, 'utf8'))) };
  } catch (error) {
    if (error instanceof ResultShapeError) return { state: 'missing', file, reason: error.message, unreadable: true };
    throw error;
  }
}

function loadServer(benchDir: string): Loaded<ServerResults> {
  const json = loadJson(benchDir, 'server.json', readServerJson);
  if (json.state === 'ok' || existsSync(join(benchDir, 'server.json'))) return json;
  const path = join(benchDir, 'server.md');
  if (!existsSync(path)) return { state: 'missing', file: 'bench/server.json', reason: 'neither bench/server.json nor bench/server.md exists', unreadable: false };
  try {
    return { state: 'ok', file: 'bench/server.md', data: parseServerMarkdown('bench/server.md', readFileSync(path, 'utf8')) };
  } catch (error) {
    if (error instanceof ResultShapeError) return { state: 'missing', file: 'bench/server.md', reason: `bench/server.json does not exist, and ${error.message}`, unreadable: true };
    throw error;
  }
}

export function readBenchResults(benchDir: string): BenchResults {
  return {
    load: loadJson(benchDir, 'load.json', (root) => readLoadOf(root, 'firefox')),
    loadChromium: loadJson(benchDir, 'load-chromium.json', (root) => readLoadOf(root, 'chromium')),
    wire: loadJson(benchDir, 'wire.json', readWire),
    native: loadJson(benchDir, 'native.json', readNative),
    core: loadJson(benchDir, 'core.json', readCore),
    server: loadServer(benchDir),
  };
}
