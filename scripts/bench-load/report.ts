// Medians, ratios and the written results of `npm run bench:load`
// (bench/load.json: every run; bench/load.md: the tables; Chromium's in
// bench/load-chromium.*). Every figure is a ratio to the baseline measured in
// the same run (STYLE.md habit 4): "off" is the browser without the
// extension, which gets br from the server. A ratio is off ÷ on ("brotli ÷
// crcsync"): above 1, crcsync was faster. "floor" (optional) is the browser
// with a do-nothing extension that hooks requests the way crcsync must
// (scripts/bench-load/floor-extension, chromium-floor-extension): it gets br
// like "off", so off ÷ floor is what the browser's mechanism alone costs.
// "ideal" (optional) is the browser without extension, given br, with the
// document charged on the link as if it were crcsync's answer (the proxy's
// ResponseCharge: the delta's size, the If-Block upload): crcsync's bytes
// at no cost at all, measured, so off ÷ ideal is what those bytes can buy.
// "free" (optional) is the same with a document body that costs nothing on
// the link: what any encoding of the document could buy.

import { LinkProfile, SEGMENT_BYTES, SEGMENT_OVERHEAD_BYTES } from './throttle-proxy';

export type Condition = 'on' | 'off' | 'floor' | 'ideal' | 'free';

/** One measured load (the visit to the new version, after the base visit). */
export interface LoadSample {
  page: string;
  condition: Condition;
  run: number;
  /** 0: this condition went first for this page in this run; 1: second. */
  position: number;
  /** Navigation Timing, ms from navigation start. */
  responseStart: number;
  domInteractive: number;
  loadEventEnd: number;
  /** Counted at the proxy from the navigation's start until the link was quiet. */
  bytesDown: number;
  bytesUp: number;
  connections: number;
  /** The document's response as the server logged it. */
  documentEncoding: string | null;
  documentSentBytes: number | null;
  documentFullBytes: number | null;
  /** Requests the server answered during the load (the document, subresources, a favicon). */
  requests: number;
  /** Null when the load counts; otherwise why it is excluded. */
  excludedBecause: string | null;
  /**
   * "on" only: the server's pass reason when it could have sent a delta and
   * chose the normal response (pass=no-gain). Counted: that is what a crcsync
   * user gets. Null for a delta.
   */
  deltaDeclined: string | null;
  /** "ideal" and "free" only: what the document was charged as ("ideal": the "on" load of the same page and run; "free": nothing for its body). */
  idealCharge?: { bodyCharge: number; extraUpBytes: number } | null;
  /** "on" only: the document's exchange record (durationMs, rebuildMs, phases when the extension reports them). */
  documentExchange: ExchangeCost | null;
  /** "on" only: every verified exchange of the load (document and same-site subresources). */
  verifiedExchanges: ExchangeCost[];
}

export interface ExchangeCost {
  url: string;
  type: string;
  outcome: string;
  durationMs: number;
  rebuildMs: number | null;
  wireBytes: number | null;
  fullBytes: number;
  /** The If-Block request header line as sent (name, value, CRLF), 0 without one. */
  ifBlockHeaderBytes?: number;
  phases: Record<string, number> | null;
}

export function median(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export interface ConditionMedians {
  runs: number;
  excluded: number;
  /** Counted loads that the server answered without a delta by choice (no-gain). */
  declined: number;
  loadEventEnd: number | null;
  domInteractive: number | null;
  responseStart: number | null;
  bytesDown: number | null;
  bytesUp: number | null;
  documentSentBytes: number | null;
}

export interface PageResult {
  page: string;
  kind: 'corpus' | 'demo';
  on: ConditionMedians;
  off: ConditionMedians;
  /** Null when the floor condition was not measured. */
  floor: ConditionMedians | null;
  /** Null when the ideal condition was not measured. */
  ideal: ConditionMedians | null;
  /** Null when the free-document condition was not measured. */
  free: ConditionMedians | null;
  /** off ÷ on of the medians; null when a side has no counted load. */
  loadRatio: number | null;
  interactiveRatio: number | null;
  /** Bytes down, off ÷ on (how many times fewer bytes crcsync moved). */
  bytesRatio: number | null;
  /** off ÷ floor: the hooks alone, same bytes as off (below 1: Firefox's mechanism made the page slower). */
  floorLoadRatio: number | null;
  /**
   * off ÷ (off − the saved bytes' transfer time): the load ratio crcsync's bytes
   * would give with no cost at all (issue 9's "zero overhead" figure); null
   * without a link rate.
   */
  boundLoadRatio: number | null;
  /** As boundLoadRatio, with the floor's measured cost added back: the best an extension on Firefox's hooks could do with these bytes. */
  floorBoundLoadRatio: number | null;
  /** off ÷ ideal: crcsync's bytes at no cost, measured in the browser (head chains and all); null when not measured. */
  idealLoadRatio: number | null;
  /** ideal ÷ on: how far crcsync is from its own bytes at no cost (1: no cost at all). */
  onToIdealRatio: number | null;
  /** off ÷ free: a document body that costs nothing on the link; null when not measured. */
  freeLoadRatio: number | null;
}

export interface Summary {
  pages: number;
  medianLoadRatio: number | null;
  medianInteractiveRatio: number | null;
  medianBytesRatio: number | null;
  medianFloorLoadRatio: number | null;
  medianBoundLoadRatio: number | null;
  medianFloorBoundLoadRatio: number | null;
  medianIdealLoadRatio: number | null;
  medianOnToIdealRatio: number | null;
  medianFreeLoadRatio: number | null;
  /** The worst page of the ideal condition (off ÷ ideal): the most any crcsync client could gain there with these bytes. */
  worstIdealPage: { page: string; loadRatio: number } | null;
  /** Pages whose median load was sooner with crcsync (load ratio > 1). */
  pagesAhead: number;
  worstPage: { page: string; loadRatio: number } | null;
  /** Counted "on" loads, and those the server answered without a delta by choice (pass=no-gain). */
  onLoads: number;
  onLoadsDeclined: number;
}

export interface PhaseStat {
  median: number;
  count: number;
}

export interface PhaseSummary {
  /** Whether any record carried `phases` (extension/shared/messages.ts ExchangeRecord). */
  phasesReported: boolean;
  /** The document's exchange of each counted "on" load: durationMs, rebuildMs and every numeric phase found. */
  documents: Record<string, PhaseStat>;
  /** Every verified exchange of those loads (the demo's stylesheet and script too). */
  allVerified: Record<string, PhaseStat>;
}

export interface ProfileResult {
  profile: LinkProfile;
  pages: PageResult[];
  all: Summary;
  /** The corpus pages only, as in the issue's table. */
  corpus: Summary;
  phases: PhaseSummary;
  samples: LoadSample[];
  seconds: number;
}

function conditionMedians(samples: LoadSample[]): ConditionMedians {
  const counted = samples.filter((sample) => sample.excludedBecause === null);
  const of = (pick: (sample: LoadSample) => number | null) => median(counted.map(pick).filter((value): value is number => value !== null));
  return {
    runs: counted.length,
    excluded: samples.length - counted.length,
    declined: counted.filter((sample) => sample.deltaDeclined !== null).length,
    loadEventEnd: of((sample) => sample.loadEventEnd),
    domInteractive: of((sample) => sample.domInteractive),
    responseStart: of((sample) => sample.responseStart),
    bytesDown: of((sample) => sample.bytesDown),
    bytesUp: of((sample) => sample.bytesUp),
    documentSentBytes: of((sample) => sample.documentSentBytes),
  };
}

function ratio(off: number | null, on: number | null): number | null {
  return off === null || on === null || on <= 0 ? null : off / on;
}

/** How long `bytes` take on the link's down direction (segments and their headers, as the proxy paces them); 0 unthrottled. */
function transferMs(bytes: number, profile: LinkProfile): number {
  if (profile.downBitsPerSecond === null || profile.downBitsPerSecond <= 0) return 0;
  const segments = Math.ceil(Math.max(0, bytes) / SEGMENT_BYTES);
  return ((Math.max(0, bytes) + segments * SEGMENT_OVERHEAD_BYTES) * 8 * 1000) / profile.downBitsPerSecond;
}

export function pageResult(page: string, kind: 'corpus' | 'demo', samples: LoadSample[], profile: LinkProfile): PageResult {
  const mine = samples.filter((sample) => sample.page === page);
  const on = conditionMedians(mine.filter((sample) => sample.condition === 'on'));
  const off = conditionMedians(mine.filter((sample) => sample.condition === 'off'));
  const floorSamples = mine.filter((sample) => sample.condition === 'floor');
  const floor = floorSamples.length ? conditionMedians(floorSamples) : null;
  const idealSamples = mine.filter((sample) => sample.condition === 'ideal');
  const ideal = idealSamples.length ? conditionMedians(idealSamples) : null;
  const freeSamples = mine.filter((sample) => sample.condition === 'free');
  const free = freeSamples.length ? conditionMedians(freeSamples) : null;
  const saved = off.bytesDown !== null && on.bytesDown !== null ? transferMs(off.bytesDown - on.bytesDown, profile) : null;
  // Unthrottled, saved bytes save no measurable time: the bound is brotli's own load.
  const bestOn = off.loadEventEnd !== null && saved !== null ? off.loadEventEnd - saved : null;
  const floorCost = floor?.loadEventEnd != null && off.loadEventEnd !== null ? floor.loadEventEnd - off.loadEventEnd : null;
  return {
    page,
    kind,
    on,
    off,
    floor,
    ideal,
    free,
    loadRatio: ratio(off.loadEventEnd, on.loadEventEnd),
    interactiveRatio: ratio(off.domInteractive, on.domInteractive),
    bytesRatio: ratio(off.bytesDown, on.bytesDown),
    floorLoadRatio: floor ? ratio(off.loadEventEnd, floor.loadEventEnd) : null,
    boundLoadRatio: ratio(off.loadEventEnd, bestOn),
    floorBoundLoadRatio: bestOn !== null && floorCost !== null ? ratio(off.loadEventEnd, bestOn + floorCost) : null,
    idealLoadRatio: ideal ? ratio(off.loadEventEnd, ideal.loadEventEnd) : null,
    onToIdealRatio: ideal ? ratio(ideal.loadEventEnd, on.loadEventEnd) : null,
    freeLoadRatio: free ? ratio(off.loadEventEnd, free.loadEventEnd) : null,
  };
}

export function summarize(pages: PageResult[]): Summary {
  const compared = pages.filter((page) => page.loadRatio !== null);
  const ratios = (pick: (page: PageResult) => number | null) => compared.map(pick).filter((value): value is number => value !== null);
  const worst = compared.reduce<PageResult | null>((lowest, page) => (lowest === null || page.loadRatio! < lowest.loadRatio! ? page : lowest), null);
  const worstIdeal = compared
    .filter((page) => page.idealLoadRatio !== null)
    .reduce<PageResult | null>((lowest, page) => (lowest === null || page.idealLoadRatio! < lowest.idealLoadRatio! ? page : lowest), null);
  return {
    pages: compared.length,
    medianLoadRatio: median(ratios((page) => page.loadRatio)),
    medianInteractiveRatio: median(ratios((page) => page.interactiveRatio)),
    medianBytesRatio: median(ratios((page) => page.bytesRatio)),
    medianFloorLoadRatio: median(ratios((page) => page.floorLoadRatio)),
    medianBoundLoadRatio: median(ratios((page) => page.boundLoadRatio)),
    medianFloorBoundLoadRatio: median(ratios((page) => page.floorBoundLoadRatio)),
    medianIdealLoadRatio: median(ratios((page) => page.idealLoadRatio)),
    medianOnToIdealRatio: median(ratios((page) => page.onToIdealRatio)),
    medianFreeLoadRatio: median(ratios((page) => page.freeLoadRatio)),
    worstIdealPage: worstIdeal ? { page: worstIdeal.page, loadRatio: worstIdeal.idealLoadRatio! } : null,
    pagesAhead: compared.filter((page) => page.loadRatio! > 1).length,
    worstPage: worst ? { page: worst.page, loadRatio: worst.loadRatio! } : null,
    onLoads: pages.reduce((sum, page) => sum + page.on.runs, 0),
    onLoadsDeclined: pages.reduce((sum, page) => sum + page.on.declined, 0),
  };
}

/** Medians of durationMs, rebuildMs and of every numeric key of `phases`, whatever the extension reports. */
export function phaseStats(costs: ExchangeCost[]): Record<string, PhaseStat> {
  const values = new Map<string, number[]>();
  const add = (key: string, value: unknown) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    values.set(key, [...(values.get(key) ?? []), value]);
  };
  for (const cost of costs) {
    add('durationMs', cost.durationMs);
    add('rebuildMs', cost.rebuildMs);
    for (const [key, value] of Object.entries(cost.phases ?? {})) add(`phases.${key}`, value);
  }
  return Object.fromEntries([...values].map(([key, list]) => [key, { median: median(list)!, count: list.length }]));
}

export function phaseSummary(samples: LoadSample[]): PhaseSummary {
  const counted = samples.filter((sample) => sample.condition === 'on' && sample.excludedBecause === null);
  // The cost of a delta exchange: loads the server answered normally (no-gain) have none.
  const documents = counted.map((sample) => sample.documentExchange).filter((cost): cost is ExchangeCost => cost !== null && cost.outcome === 'verified');
  const allVerified = counted.flatMap((sample) => sample.verifiedExchanges);
  return {
    phasesReported: allVerified.some((cost) => cost.phases !== null),
    documents: phaseStats(documents),
    allVerified: phaseStats(allVerified),
  };
}

// ---- bench/load.md ----

const ms = (value: number | null) => (value === null ? '–' : value.toFixed(0));
const times = (value: number | null) => (value === null ? '–' : `${value.toFixed(2)}×`);
const kib = (value: number | null) => (value === null ? '–' : (value / 1024).toFixed(1));

export interface RunInfo {
  date: string;
  command: string;
  machine: string;
  /** The browser that ran the bench; its version is under its own name (`firefox` or `chromium`). */
  browser: 'firefox' | 'chromium';
  /** e.g. "firefox/153.8.0" (Firefox runs; the only browser field before Chromium was measured). */
  firefox?: string;
  /** e.g. "chromium/156.0.7520.0" (Chromium runs). */
  chromium?: string;
  node: string;
  runs: number;
  corpus: string | null;
  corpusNote: string | null;
  /** The demo front page was among the pages. */
  demo: boolean;
  extension: string;
  /** The floor condition was measured. */
  floor: boolean;
  /** The ideal condition was measured (absent in runs before it existed). */
  ideal?: boolean;
  /** The free-document condition was measured (`--free-document`). */
  free?: boolean;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
  seconds: number;
  note: string | null;
  /** --warm-assets: the HTTP cache on, pages no-cache from scripts/bench-load/asset-origin.ts, assets cacheable. */
  warmAssets?: boolean;
}

/** Where each browser's results go in bench/ (.md and .json): Firefox's are the original load.*. */
export const RESULT_FILE_STEMS: Record<RunInfo['browser'], string> = { firefox: 'load', chromium: 'load-chromium' };

/** What the markdown says that depends on the browser (from its driver). */
export interface BrowserText {
  /** "Firefox", "Chromium". */
  name: string;
  /** The setup section's paragraph on the conditions. */
  conditions(floorMeasured: boolean): string;
  /** How the floor's do-nothing extension hooks requests. */
  floorHooks: string;
  /** Notes for "Reading these numbers" that hold for this browser only. */
  readingNotes: string[];
}

/** The browser's version as the run recorded it. */
export function browserVersion(info: RunInfo): string {
  return info[info.browser] ?? info.browser;
}

function summaryRow(result: ProfileResult, which: 'all' | 'corpus'): string {
  const summary = result[which];
  const worst = summary.worstPage ? `${times(summary.worstPage.loadRatio)} (${summary.worstPage.page})` : '–';
  return `| ${result.profile.label} | ${which === 'all' ? 'all pages' : 'corpus only'} | ${times(summary.medianLoadRatio)} | ${times(summary.medianInteractiveRatio)} | ${summary.pagesAhead} of ${summary.pages} | ${worst} | ${times(summary.medianBytesRatio)} | ${summary.onLoadsDeclined} of ${summary.onLoads} | ${times(summary.medianFloorLoadRatio)} | ${times(summary.medianBoundLoadRatio)} | ${times(summary.medianFloorBoundLoadRatio)} |`;
}

function pageTable(result: ProfileResult): string[] {
  const lines = [
    `### ${result.profile.label}`,
    '',
    '| page | load on | load off | load floor | load ideal | load off÷on | load off÷ideal | interactive on | interactive off | interactive off÷on | KiB down on | KiB down off | doc KiB on | doc KiB off | counted runs on/off |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const page of result.pages) {
    const excluded = page.on.excluded + page.off.excluded;
    const notes = [excluded ? `${excluded} excl.` : '', page.on.declined ? `${page.on.declined} no-gain` : ''].filter(Boolean).join(', ');
    lines.push(
      `| ${page.page} | ${ms(page.on.loadEventEnd)} | ${ms(page.off.loadEventEnd)} | ${ms(page.floor?.loadEventEnd ?? null)} | ${ms(page.ideal?.loadEventEnd ?? null)} | ${times(page.loadRatio)} | ${times(page.idealLoadRatio)} | ${ms(page.on.domInteractive)} | ${ms(page.off.domInteractive)} | ${times(page.interactiveRatio)} | ${kib(page.on.bytesDown)} | ${kib(page.off.bytesDown)} | ${kib(page.on.documentSentBytes)} | ${kib(page.off.documentSentBytes)} | ${page.on.runs}/${page.off.runs}${notes ? ` (${notes})` : ''} |`,
    );
  }
  return lines;
}

function phaseTable(results: ProfileResult[]): string[] {
  const keys = [...new Set(results.flatMap((result) => Object.keys(result.phases.documents)))].sort((a, b) => {
    const rank = (key: string) => (key === 'durationMs' ? 0 : key === 'rebuildMs' ? 1 : 2);
    return rank(a) - rank(b) || a.localeCompare(b);
  });
  const lines = [
    `| measure (document exchange, ms, median) | ${results.map((result) => result.profile.name).join(' | ')} |`,
    `|---|${results.map(() => '---:').join('|')}|`,
  ];
  for (const key of keys) {
    lines.push(`| ${key} | ${results.map((result) => {
      const stat = result.phases.documents[key];
      return stat ? `${stat.median.toFixed(1)} (n=${stat.count})` : '–';
    }).join(' | ')} |`);
  }
  return lines;
}

/** The measured bound (the "ideal" condition), when it was measured. */
function idealSection(results: ProfileResult[], info: RunInfo): string[] {
  if (!info.ideal && !info.free) return [];
  const lines = [
    '## What crcsync\'s bytes can buy, measured ("ideal")',
    '',
    'The "ideal" load is the browser without any extension, given br, with the document charged on the link as if it were crcsync\'s answer: its body at the size of the delta the "on" load of the same page and run received, its request at the size of that load\'s request with the If-Block header (the throttling proxy\'s ResponseCharge). It is crcsync\'s bytes with no hooks, no decoding and no server work, in the real browser: unlike "bound" above, it keeps what the page does while its document arrives (a head whose scripts and stylesheets are requested while brotli\'s body still streams). So brotli ÷ ideal is the most any crcsync client could reach with these bytes, and ideal ÷ crcsync how far this one is from that. Measured after "on" and "off" for each page and run, so its order is fixed.',
    '',
    ...(info.free
      ? [
          '"free document" (`--free-document`) is the same browser with the document\'s body charged nothing at all on the link (its headers and request in full): what any encoding of the document, however small, could buy on these pages.',
          '',
        ]
      : []),
    `| link | brotli ÷ ideal (median over pages) | worst page, brotli ÷ ideal | ideal ÷ crcsync (median) | brotli ÷ crcsync |${info.free ? ' brotli ÷ free document |' : ''}`,
    `|---|---:|---|---:|---:|${info.free ? '---:|' : ''}`,
  ];
  for (const result of results) {
    const summary = result.corpus;
    const worst = summary.worstIdealPage ? `${times(summary.worstIdealPage.loadRatio)} (${summary.worstIdealPage.page})` : '–';
    lines.push(
      `| ${result.profile.label} | ${times(summary.medianIdealLoadRatio)} | ${worst} | ${times(summary.medianOnToIdealRatio)} | ${times(summary.medianLoadRatio)} |${info.free ? ` ${times(summary.medianFreeLoadRatio)} |` : ''}`,
    );
  }
  lines.push('', 'Corpus pages only.', '');
  return lines;
}

export function renderMarkdown(info: RunInfo, results: ProfileResult[], text: BrowserText): string {
  const excluded = results.flatMap((result) => result.samples.filter((sample) => sample.excludedBecause !== null).map((sample) => ({ profile: result.profile.name, sample })));
  const phasesReported = results.some((result) => result.phases.phasesReported);
  const lines = [
    `# Page load in ${text.name}: crcsync vs brotli`,
    '',
    `\`npm run bench:load\` (scripts/bench-load.ts), ${info.date}. Command: \`${info.command}\`.`,
    `Machine: ${info.machine}, Node ${info.node}, ${browserVersion(info)} (headless). Load average before / after: ${info.loadAverageBefore.map((value) => value.toFixed(2)).join(' ')} / ${info.loadAverageAfter.map((value) => value.toFixed(2)).join(' ')}.`,
    `Took ${(info.seconds / 60).toFixed(1)} min. ${info.runs} measured runs per page per condition per profile.`,
    '',
  ];
  if (info.note) lines.push(info.note, '');
  lines.push(
    '## Setup',
    '',
    `- **Conditions.** ${text.conditions(info.floor)}`,
    ...(info.warmAssets
      ? [
          '- **Warm assets (`--warm-assets`), which changes the above:** the HTTP cache is on in every condition, and `crcsync serve --upstream` fronts a small origin (scripts/bench-load/asset-origin.ts) that sends pages as `Cache-Control: no-cache` with no validator (every visit fetches them whole) and scripts and stylesheets as cacheable for a day. The measured visit finds them in the cache from the base visit, as a real revisit mostly does: the document is what it waits for. The demo page is left out.',
        ]
      : []),
    `- **Pages.** ${info.corpus ? `The changed HTML pairs of \`${info.corpus}\` (one file per pair, served by \`crcsync serve --root\`; their same-origin scripts and stylesheets are not in the corpus: the bench serves a one-line placeholder for each, in both conditions, since with 404s Firefox re-requests a varying number of head scripts per load, scripts/bench-load/subresources.ts)` : 'No corpus pages'}${info.demo ? `${info.corpus ? ', and t' : '; t'}he demo front page (\`crcsync serve --demo\`), which changes on every request; with the HTTP cache off its stylesheet and script are fetched again on every load, so "on" gets them as near-empty deltas: it is not in the "corpus only" rows` : ''}.`,
    '- **One load.** Visit the old version unthrottled (the extension keeps it as its base; "off" makes the same visit; from the second run on, "on" gets this visit as a delta against the previous new version), switch the server to the new version, close every connection at the proxy (nothing of keep-alive carries into the measured load, in either condition), set the link profile, then the measured visit, starting from the page the tab rests on between visits (see Conditions). Per page and run the two conditions follow each other, and which goes first alternates. One warm-up sequence per condition and profile is not counted.',
    "- **Link.** A TCP proxy on 127.0.0.1 in front of the server (`scripts/bench-load/throttle-proxy.ts`), in the path for every profile (\"none\" too): one link per direction shared by all connections, 1460-byte segments (+40 header bytes) serialized at the link rate, RTT/2 added each way, one RTT charged to each new connection for its handshake. Not modelled: slow start, loss.",
    '- **Measures.** Navigation Timing, ms from navigation start: "load" = `loadEventEnd`, "interactive" = `domInteractive` (`responseEnd` is not used: Firefox reports it equal to `responseStart` for these navigations, and every browser is measured alike). "KiB down" = bytes server → browser counted at the proxy until the load event; "doc" = the document\'s body as the server logged it. Ratios are off ÷ on of the medians ("brotli ÷ crcsync"): above 1, crcsync was faster or smaller.',
    '- **Checks.** An "on" load counts only if it was a verified delta: the extension\'s exchange log says `verified` for the document with `Content-Encoding: crcsync` and the new file\'s size, the server\'s access log says crcsync, and the page\'s DOM equals the new file parsed by the same browser (`style` attributes aside; the demo: a new rendering). One exception is counted, and marked "no-gain": the extension offered If-Block and the server, able to make a delta, chose its normal response because the delta would not have paid (`pass=no-gain`, issue 9 item 4); the page is the new file. That is what a crcsync user gets. An "off" (or "floor", or "ideal") load counts if the server sent br, as an HTTPS site would, and the DOM is the new file\'s. Loads that fail a check are listed at the end and not counted.',
    '',
  );
  if (info.corpusNote) lines.push(`**${info.corpusNote}**`, '');
  lines.push(
    '## Summary per profile',
    '',
    `| link | pages | load, brotli ÷ crcsync (median over pages) | interactive, brotli ÷ crcsync | pages where crcsync was ahead (load) | worst page (load) | bytes down, brotli ÷ crcsync | "on" loads the server answered without a delta (no-gain) | floor: brotli ÷ hooks alone | bound: crcsync\'s bytes at zero cost | bound on ${text.name}\'s hooks |`,
    '|---|---|---:|---:|---|---|---:|---|---:|---:|---:|',
  );
  for (const result of results) {
    lines.push(summaryRow(result, 'corpus'));
    if (result.pages.some((page) => page.kind === 'demo')) lines.push(summaryRow(result, 'all'));
  }
  lines.push(
    '',
    `The last three columns bound what any crcsync client in ${text.name} can reach on these pages and links. "floor" is brotli ÷ a ${text.name} whose do-nothing extension hooks requests the way crcsync must (${text.floorHooks}), with brotli's bytes: below 1 is what the hooks alone cost${info.floor ? '' : ' (not measured in this run: `--no-floor`, so "–")'}. "bound" is brotli's load ÷ (brotli's load − the time the bytes crcsync saved take on the link), per page: crcsync's bytes with no cost at all (unthrottled it is 1). "bound on ${text.name}'s hooks" adds the floor's measured cost back: the best a client on these hooks can do with these bytes.`,
    '',
    ...idealSection(results, info),
    '## The extension\'s own cost per exchange',
    '',
    'From the exchange records of the counted "on" loads (the document\'s exchange): `durationMs` is request start to the record (the',
    'whole exchange, network included), `rebuildMs` the last delta byte to the verified body' +
      (phasesReported ? '; `phases.*` are what the extension reports per phase (ExchangeRecord.phases).' : '. **The extension does not report `phases` yet** (ExchangeRecord.phases absent), so only these two exist.'),
    '',
    ...phaseTable(results),
    '',
  );
  const own = results.filter((result) => result.phases.documents['phases.ownMs']);
  if (own.length) {
    lines.push(
      `The extension's own cost per document (\`phases.ownMs\`: request to verified body minus network), median: ${own.map((result) => `${result.phases.documents['phases.ownMs'].median.toFixed(1)} ms at ${result.profile.name}`).join(', ')} (issue 9's target: ≤ 10 ms).`,
      '',
    );
  }
  // Loads with verified subresources too (the demo's stylesheet and script): their exchanges separately.
  const subresources = results.some((result) => (result.phases.allVerified.durationMs?.count ?? 0) > (result.phases.documents.durationMs?.count ?? 0));
  if (subresources) {
    const keys = [...new Set(results.flatMap((result) => Object.keys(result.phases.allVerified)))].sort();
    lines.push('All verified exchanges of those loads (documents and the demo\'s subresources):', '');
    lines.push(`| measure (ms, median) | ${results.map((result) => result.profile.name).join(' | ')} |`, `|---|${results.map(() => '---:').join('|')}|`);
    for (const key of keys) {
      lines.push(`| ${key} | ${results.map((result) => (result.phases.allVerified[key] ? `${result.phases.allVerified[key].median.toFixed(1)} (n=${result.phases.allVerified[key].count})` : '–')).join(' | ')} |`);
    }
    lines.push('');
  }
  lines.push('## Per page', '', 'Medians; times in ms, sizes in KiB.', '');
  for (const result of results) lines.push(...pageTable(result), '');
  lines.push('## Loads not counted', '');
  if (!excluded.length) lines.push('None: every measured load was counted.');
  else for (const { profile, sample } of excluded) lines.push(`- ${profile}, ${sample.page}, ${sample.condition}, run ${sample.run + 1}: ${sample.excludedBecause}`);
  lines.push(
    '',
    '## Reading these numbers',
    '',
    `- The machine may be shared (see the load average before and after): single runs are noisy. Compare the ratios, which pair each page\'s two conditions measured seconds apart, not absolute times across runs. Every run\'s raw values: \`${RESULT_FILE_STEMS[info.browser]}.json\`.`,
    ...text.readingNotes.map((note) => `- ${note}`),
    '- The document\'s exchange `durationMs` runs from the request to the record (network included); only the extension\'s phases, where it reports them, separate its own time from the network\'s.',
    '',
  );
  return `${lines.join('\n')}\n`;
}
