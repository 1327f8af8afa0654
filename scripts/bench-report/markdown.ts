// bench/REPORT.md: what a user gains, on one page, from the benches' own
// results: the machine, the one command that rebuilds it, the headline
// numbers, one chart per bench with what it shows and how far to trust it,
// and links to the detailed bench/*.md. A bench without results gets a
// "Not measured yet" line that says which file is missing or why it could
// not be read; no number is filled in.

import { CHART_FILES, Chart } from './charts';
import { LoadProfileHeadline, NativeHeadlineCell, ServerHeadlineRow, WireCategoryHeadline, combinedLoadHeadline, nativeHeadline, serverHeadline, wireHeadline } from './headline';
import { BenchResults, HEADLINE_SETTING, LoadBrowser, LoadResults, Loaded } from './results';
import { BenchCommand, benchCommandLine } from './run-benches';

/** The one command that rebuilds the report, and what it runs. */
export const REBUILD_COMMAND = 'npm run bench:report';
export const FROM_RESULTS_COMMAND = 'npm run bench:report -- --from-results';

export interface Bench extends BenchCommand {
  what: string;
  /** The results file the report reads, and the detailed markdown the bench writes (both in bench/). */
  json: string;
  markdown: string;
}

/** The benches `npm run bench:report` runs, in order, each with the file the report reads and the detailed markdown it writes. */
export const BENCHES: readonly Bench[] = [
  { script: 'bench', args: [], what: 'core throughput', json: 'core.json', markdown: 'core.md' },
  { script: 'bench:wire', args: [], what: 'bytes on the wire', json: 'wire.json', markdown: 'wire.md' },
  { script: 'bench:native', args: [], what: 'WASM beside native C', json: 'native.json', markdown: 'native.md' },
  { script: 'bench:server', args: [], what: 'server requests/s', json: 'server.json', markdown: 'server.md' },
  { script: 'bench:load', args: [], what: 'page load in Firefox', json: 'load.json', markdown: 'load.md' },
  { script: 'bench:load', args: ['--browser', 'chromium'], what: 'page load in Chromium', json: 'load-chromium.json', markdown: 'load-chromium.md' },
];


/** The bench that writes `json`. */
function benchWriting(json: string): Bench {
  const bench = BENCHES.find((candidate) => candidate.json === json);
  if (!bench) throw new Error(`no bench writes ${json}`);
  return bench;
}

export interface ReportContext {
  /** YYYY-MM-DD the report was built. */
  date: string;
  /** The machine that built the report (and ran the benches, unless --from-results). */
  machine: string;
  /** True when the benches were not run now: the results are whatever bench/ held. */
  fromResults: boolean;
  /** Which bench/*.md files exist, to link only those. */
  markdownFiles: readonly string[];
}

const times = (value: number | null) => (value === null ? '–' : `${value.toFixed(2)}×`);
/** Tables give one decimal throughout (as bench/wire.md does); the charts' labels are shorter. */
const percentCell = (summary: { medianPercent: number } | null) => (summary ? `${summary.medianPercent.toFixed(1)}%` : '–');
const day = (iso: string | null) => (iso ? iso.slice(0, 10) : 'date not recorded');

/** What a section says without results: not measured (no file), or not usable (a file the report cannot read, and which field). */
export function notMeasured(input: Loaded<unknown>, script: string): string {
  if (input.state === 'ok') return '';
  // `script` is a script name ("bench:wire") or a whole command line ("npm run bench:load -- --browser chromium").
  const command = script.startsWith('npm ') ? script : `npm run ${script}`;
  return input.unreadable
    ? `**Not usable**: ${input.reason}. Run \`${command}\` again; if the bench's output changed on purpose, scripts/bench-report/results.ts must learn the new shape.`
    : `**Not measured yet**: ${input.reason}. \`${command}\` produces it.`;
}

function chartLink(charts: readonly Chart[], file: (typeof CHART_FILES)[number]): string[] {
  const chart = charts.find((candidate) => candidate.file === file);
  return chart ? [`![${chart.alt}](charts/${chart.file})`, ''] : [];
}

function machineSection(results: BenchResults, context: ReportContext): string[] {
  const row = (bench: string, input: Loaded<unknown>, describe: () => string) =>
    `| ${bench} | ${input.state === 'ok' ? describe() : `${input.unreadable ? 'not usable' : 'not measured yet'} (${input.reason})`} |`;
  const { load, loadChromium, wire, native, core, server } = results;
  const loadRow = (input: Loaded<LoadResults>) => () =>
    input.state === 'ok' ? `${day(input.data.date)}, ${input.data.machine}, Node ${input.data.node}, ${input.data.version} (headless), \`${input.data.command}\`` : '';
  return [
    '## Machine',
    '',
    `Report built ${context.date} on ${context.machine}. Each bench recorded its own run:`,
    '',
    '| bench | run, machine and versions as recorded |',
    '|---|---|',
    row('`npm run bench` (core.json)', core, () => core.state === 'ok' ? `${day(core.data.date)}, Node ${core.data.node} (no machine recorded)` : ''),
    row('`bench:wire` (wire.json)', wire, () => wire.state === 'ok' ? `${day(wire.data.date)}, ${wire.data.cpu}, Node ${wire.data.node}, corpus ${wire.data.corpus}` : ''),
    row('`bench:native` (native.json)', native, () => native.state === 'ok' ? `${day(native.data.date)}, ${native.data.cpu}, Node ${native.data.node}, ${native.data.compiler ?? 'no C compiler'}` : ''),
    row(`\`bench:server\` (${server.file.replace('bench/', '')})`, server, () => server.state === 'ok' ? `${day(server.data.date)}, ${server.data.machine ?? 'machine not recorded'}` : ''),
    row('`bench:load` (load.json)', load, loadRow(load)),
    row('`bench:load -- --browser chromium` (load-chromium.json)', loadChromium, loadRow(loadChromium)),
    '',
  ];
}

const BROWSER_LABELS: Record<LoadBrowser, string> = { firefox: 'Firefox', chromium: 'Chromium' };

/** The page-load results of each browser, with the bench that writes them. */
function loadInputsOf(results: BenchResults): { browser: LoadBrowser; input: Loaded<LoadResults>; bench: Bench }[] {
  return [
    { browser: 'firefox', input: results.load, bench: benchWriting('load.json') },
    { browser: 'chromium', input: results.loadChromium, bench: benchWriting('load-chromium.json') },
  ];
}

function wireHeadlineLines(rows: readonly WireCategoryHeadline[], hasDcb: boolean): string[] {
  const all = rows.find((row) => row.category === 'all')!;
  return [
    `crcsync's bytes (the \`If-Block\` request line + the response body, ${HEADLINE_SETTING} block hashes) as a median % of gzip-6 and of brotli-11 of the new version, per category. "served": what \`crcsync serve\` sends the Firefox extension (the x=1 delta, or its normal brotli-5 response where the server\'s never-worse rule says the delta would not pay); "x=1", "v=1": the delta alone.`,
    '',
    `| category | pairs | served % gzip-6 | served % brotli-11 |${hasDcb ? ' served % dictionary brotli |' : ''} x=1 % gzip-6 | x=1 % brotli-11 | v=1 % brotli-11 | beats brotli-11 (served) |`,
    `|---|---:|---:|---:|${hasDcb ? '---:|' : ''}---:|---:|---:|---:|`,
    ...rows.map(
      (row) =>
        `| ${row.category === 'all' ? '**all**' : row.category} | ${row.pairs} | ${percentCell(row.served.vsGzip6)} | ${percentCell(row.served.vsBr11)} |${hasDcb ? ` ${percentCell(row.served.vsDcb)} |` : ''} ${percentCell(row.x1.vsGzip6)} | ${percentCell(row.x1.vsBr11)} | ${percentCell(row.v1.vsBr11)} | ${row.served.beatsBr11} of ${row.pairs} |`,
    ),
    '',
    `Over all ${all.pairs} pairs, what Firefox gets from crcsync is a median **${percentCell(all.served.vsGzip6)} of gzip-6** and **${percentCell(all.served.vsBr11)} of brotli-11**${hasDcb && all.served.vsDcb ? ` (${percentCell(all.served.vsDcb)} of dictionary brotli)` : ''}; it is smaller than brotli-11 on ${all.served.beatsBr11} of ${all.pairs} pairs.`,
    '',
  ];
}

function loadHeadlineLines(profiles: readonly LoadProfileHeadline[]): string[] {
  return [
    'Median over the corpus pages of brotli\'s load time ÷ crcsync\'s (`loadEventEnd`, each page\'s median run; above 1×, crcsync was sooner). "bound": the same ratio if crcsync\'s saved bytes cost nothing, the most they can give on that link; "ideal (measured)": brotli ÷ the browser without any extension given br with its document charged on the link as crcsync\'s answer, i.e. crcsync\'s bytes at no cost measured in the browser, which unlike "bound" keeps what the page does while its document streams ("–": not measured in that run); "floor": brotli ÷ a browser with do-nothing hooks where crcsync hooks, what the mechanism alone costs.',
    '',
    '| link profile | browser | brotli ÷ crcsync | bound | ideal (measured) | floor | pages sooner |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...profiles.map((profile) => `| ${profile.label} | ${profile.browser} | **${times(profile.loadRatio)}** | ${times(profile.boundRatio)} | ${times(profile.idealRatio)} | ${times(profile.floorRatio)} | ${profile.pagesAhead} of ${profile.pages} |`),
    '',
  ];
}

function nativeHeadlineLines(cells: readonly NativeHeadlineCell[]): string[] {
  const cell = (group: string, role: string) => {
    const found = cells.find((candidate) => candidate.group === group && candidate.role === role);
    return found ? `**${found.kernel.wasmToNative.toFixed(2)}** (${found.kernel.wasmMBps.toFixed(0)} vs ${found.kernel.nativeMBps.toFixed(0)} MB/s)` : '–';
  };
  return [
    'WASM core ÷ the same kernels in C, measured side by side (goal ≥ 0.8). The ratio is the median of each round\'s WASM ÷ C, so it can differ from the quotient of the two median MB/s in brackets when the machine\'s load moved between rounds. "worst": the matcher\'s no-match input; for hashing, the hashing input where WASM fares worst.',
    '',
    '| kernel | typical | worst |',
    '|---|---:|---:|',
    `| block hashing | ${cell('hashing', 'typical')} | ${cell('hashing', 'worst')} |`,
    `| rolling match | ${cell('matching', 'typical')} | ${cell('matching', 'worst')} |`,
    '',
  ];
}

function serverHeadlineLines(rows: readonly ServerHeadlineRow[], source: string): string[] {
  const withProcesses = rows.some((row) => row.processes !== null);
  return [
    `crcsync requests/s ÷ gzip requests/s at the same concurrency, same run (from ${source}).`,
    '',
    `| connections |${withProcesses ? ' processes |' : ''} gzip req/s | crcsync req/s | crcsync ÷ gzip |`,
    `|---:|${withProcesses ? '---:|' : ''}---:|---:|---:|`,
    ...rows.map((row) => `| ${row.connections} |${withProcesses ? ` ${row.processes ?? 1} |` : ''} ${row.gzip?.toFixed(0) ?? '–'} | ${row.crcsync?.toFixed(0) ?? '–'} | **${times(row.crcsyncToGzip)}** |`),
    '',
  ];
}

export function renderReport(results: BenchResults, charts: readonly Chart[], context: ReportContext): string {
  const { wire, native, core, server } = results;
  const wireRows = wire.state === 'ok' ? wireHeadline(wire.data) : null;
  const loadInputs = loadInputsOf(results);
  const loadRuns = loadInputs.flatMap(({ input }) => (input.state === 'ok' ? [input.data] : []));
  const loadRows = loadRuns.length ? combinedLoadHeadline(loadRuns) : null;
  const loadGaps = loadInputs.flatMap(({ input, bench }) => (input.state === 'ok' ? [] : [notMeasured(input, benchCommandLine(bench)), '']));
  const minutes = (seconds: number) => `${Math.round(seconds / 60)} minute${Math.round(seconds / 60) === 1 ? '' : 's'}`;
  const loadMinutes = loadRuns.filter((run) => run.seconds !== null).map((run) => `${minutes(run.seconds!)} in ${BROWSER_LABELS[run.browser]}`);
  const nativeCells = native.state === 'ok' && native.data.compiler ? nativeHeadline(native.data) : null;
  const serverRows = server.state === 'ok' ? serverHeadline(server.data) : null;
  const lines: string[] = [
    '# crcsync benchmark report',
    '',
    `Generated ${context.date} by \`${REBUILD_COMMAND}\` (scripts/bench-report.ts)${context.fromResults ? ' from the results already in bench/ (`--from-results`: no bench was run for this build)' : ', which ran every bench below in turn on this machine'}.`,
    '',
    `**Rebuild:** \`${REBUILD_COMMAND}\` runs ${BENCHES.map((bench) => `\`${benchCommandLine(bench)}\``).join(', ')}${loadMinutes.length ? ` (the page-load bench took ${loadMinutes.join(' and ')} in the runs below)` : ''}, then writes this file and bench/charts/*.svg. \`${FROM_RESULTS_COMMAND}\` only rebuilds them from the JSON in bench/.`,
    '',
    ...machineSection(results, context),
    '## Headline numbers',
    '',
    '### Bytes on the wire',
    '',
    ...(wireRows && wire.state === 'ok' ? wireHeadlineLines(wireRows, wire.data.hasDcb) : [notMeasured(wire, 'bench:wire'), '']),
    '### Page load time per link profile',
    '',
    ...(loadRows ? loadHeadlineLines(loadRows) : []),
    ...loadGaps,
    '### Core speed: WASM ÷ native',
    '',
    ...(nativeCells
      ? nativeHeadlineLines(nativeCells)
      : native.state === 'ok'
        ? ['**Not measured**: bench/native.json records no C compiler on the machine that ran it, so nothing native was built.', '']
        : [notMeasured(native, 'bench:native'), '']),
    '### Server requests/s',
    '',
    ...(serverRows && server.state === 'ok' ? serverHeadlineLines(serverRows, server.file) : [notMeasured(server, 'bench:server'), '']),
    '## Charts',
    '',
    '### Bytes per category beside gzip, brotli and dictionary compression',
    '',
  ];
  if (wireRows && wire.state === 'ok') {
    const all = wireRows.find((row) => row.category === 'all')!;
    lines.push(
      ...chartLink(charts, 'wire-bytes.svg'),
      `Each group is one corpus category (pairs in brackets); each bar the median, over its pairs, of that encoding's bytes as a share of gzip-6 of the new version (the dashed line). brotli-11 needs nothing cached${wire.data.hasDcb ? '; dictionary brotli (Compression Dictionary Transport, sizes from the corpus\'s baselines.csv) and crcsync both use the old version the browser holds, but dictionary brotli also needs the server to keep that old version as a dictionary, while crcsync\'s server needs only the new one' : ''}. crcsync's bars include the request's If-Block line. Over all pairs the served bytes are ${percentCell(all.served.vsGzip6)} of gzip-6 against brotli-11's ${all.br11OfGzip6 === null ? '–' : `${all.br11OfGzip6.toFixed(1)}%`}. Byte counts do not depend on the machine: these are exact, not noisy.`,
      ...(wire.data.largerBlockCountVerdict ? ['', `Larger block counts (bench/wire.md): ${wire.data.largerBlockCountVerdict}`] : []),
      '',
    );
  } else lines.push(notMeasured(wire, 'bench:wire'), '');
  lines.push('### Load time per link profile', '');
  if (loadRows) {
    const measured = loadInputs.filter(({ input }) => input.state === 'ok');
    const unmeasured = loadInputs.filter(({ input }) => input.state !== 'ok').map(({ browser }) => BROWSER_LABELS[browser]);
    lines.push(
      ...chartLink(charts, 'load-time.svg'),
      `One row per link profile of the throttling proxy${loadRuns.length > 1 ? ' and browser' : ''}; the bar runs from 1× to the median over the corpus pages of brotli's load ÷ crcsync's, each dot is one page's ratio, the diamond the bound (crcsync's bytes at zero cost) and the triangle the floor (the browser's request hooks alone, with brotli's bytes). Every ratio pairs the two conditions of the same page measured seconds apart in the same run (${loadRuns.map((run) => `${run.runs} runs per page and condition in ${BROWSER_LABELS[run.browser]}`).join(', ')}), which is what survives the noise of a shared 2-core machine; absolute times do not. The demo page is left out (it changes on every load; see ${measured.map(({ bench }) => `bench/${bench.markdown}`).join(' and ')}).${
        loadRuns.some((run) => run.browser === 'chromium')
          ? ' In Chromium, "on" is the extension with its opt-in "accelerate page loads" mode (navigations rebuilt through `chrome.debugger` and CDP Fetch), and its floor is that debugger interception alone.'
          : ''
      }${unmeasured.length ? ` ${unmeasured.join(' and ')} ${unmeasured.length > 1 ? 'are' : 'is'} not measured yet: these are ${loadRuns.map((run) => BROWSER_LABELS[run.browser]).join(' and ')} only.` : ''}`,
      '',
    );
  } else lines.push(...loadGaps);
  lines.push('### Core throughput beside native', '');
  if (nativeCells) {
    lines.push(
      ...chartLink(charts, 'core-native.svg'),
      'MB/s of input for block hashing (slice-by-8 CRC-64) and the rolling match (PROTOCOL.md §4), typical page and worst case, in three forms: the WASM core called directly, the same through the engine the server and the extension use (input copied in, JS glue), and a C port compiled in the same run. The ratio under each group is WASM ÷ C, the median of per-round ratios with the two sides alternating, so machine load shared by both cancels out; the MB/s themselves move with whatever else runs on the machine.',
      '',
    );
    const shown = new Set(nativeCells.map((cell) => cell.kernel));
    const others = native.state === 'ok' ? native.data.kernels.filter((kernel) => !shown.has(kernel)) : [];
    if (others.length) lines.push(`Other inputs of the same run (bench/native.md), WASM ÷ C: ${others.map((kernel) => `${kernel.group}, ${kernel.label}: ${kernel.wasmToNative.toFixed(2)}`).join('; ')}.`, '');
    lines.push('These ratios are Node\'s V8. `scripts/profile/wasm-in-browsers.ts` (bench/wasm-in-browsers.md, not part of this rebuild) times the same kernels in Firefox\'s SpiderMonkey and in Chromium\'s newer V8, where the extension runs them, beside Node\'s V8 and C in one run: neither browser engine is closer to C.', '');
  } else lines.push(native.state === 'ok' ? 'Not measured: no C compiler on the machine that ran bench:native.' : notMeasured(native, 'bench:native'), '');
  if (core.state === 'ok') {
    const wasmRows = core.data.rows.filter((row) => row.name.startsWith('WASM'));
    lines.push(
      `The core bench (bench/core.md, ${day(core.data.date)}, another run) measured the WASM core at ${wasmRows.map((row) => `${row.mbPerSecond.toFixed(0)} MB/s for ${row.group}${row.target ? ` (target ${row.target})` : ''}`).join(', ')}.`,
      '',
    );
  } else lines.push(notMeasured(core, 'bench'), '');
  lines.push('### Server requests/s', '');
  if (serverRows && server.state === 'ok') {
    lines.push(
      ...chartLink(charts, 'server-requests.svg'),
      `Requests per second of \`crcsync serve\` over the corpus's new pages, per number of connections: gzip-6 and brotli-5 clients beside crcsync clients holding the old version (a delta per request). The load generator shares the machine's cores with the server, so the absolute rates say more about this machine than about the server; the ratio under each group compares clients measured in the same run.${server.data.source === 'server.md' ? ' Read from the table of bench/server.md (the bench wrote no server.json for this run): one measurement per cell, no repeats.' : ''}`,
      '',
    );
  } else lines.push(notMeasured(server, 'bench:server'), '');
  lines.push(
    '## Details',
    '',
    ...BENCHES.map((bench) => (context.markdownFiles.includes(bench.markdown) ? `- [${bench.markdown}](${bench.markdown}): ${bench.what} (\`${benchCommandLine(bench)}\`)` : `- ${bench.markdown}: ${bench.what}, not present (\`${benchCommandLine(bench)}\` writes it)`)),
    '',
  );
  return `${lines.join('\n')}\n`;
}
