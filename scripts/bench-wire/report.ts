// bench/wire.md: the tables of `npm run bench:wire`, from the summaries.

import { PairResult } from './measure';
import { RatioSummary } from './stats';
import { ALL_CATEGORIES, LargerBlockCountFinding, VariantKind, VariantSummary, largerBlockCountFindings } from './summary';

export interface RunInfo {
  date: string;
  corpus: string;
  node: string;
  cpu: string;
  loadAverage: readonly number[];
  seconds: number;
  hasDcb: boolean;
  hasDcz: boolean;
}

const percent = (summary: RatioSummary | null, which: 'medianPercent' | 'p90Percent' = 'medianPercent') => (summary ? summary[which].toFixed(1) : '–');
const medianAndP90 = (summary: RatioSummary | null) => (summary ? `${summary.medianPercent.toFixed(1)} / ${summary.p90Percent.toFixed(1)}` : '–');
const kilobytes = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;

function find(summaries: readonly VariantSummary[], kind: VariantKind, setting: string): VariantSummary | undefined {
  return summaries.find((summary) => summary.kind === kind && summary.setting === setting);
}

function headlineTable(summaries: Record<string, VariantSummary[]>, info: RunInfo, setting: string): string[] {
  const dict = info.hasDcb ? ' | x=1 % dcb | served % dcb' : '';
  const lines = [
    `| category | pairs | v=1 % gzip-6 | v=1 % br-11 | x=1 % gzip-6 | x=1 % br-11 | served % gzip-6 | served % br-11${dict} | beat br-11 (v=1 / x=1 / served) | served as delta |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|${info.hasDcb ? '---:|---:|' : ''}---:|---:|`,
  ];
  for (const [category, list] of Object.entries(summaries)) {
    const v1 = find(list, 'v1', setting);
    const x1 = find(list, 'x1', setting);
    const served = find(list, 'served', setting);
    if (!v1 || !x1 || !served) continue;
    const name = category === ALL_CATEGORIES ? '**all**' : category;
    const dictCells = info.hasDcb ? ` | ${percent(x1.vsDcb)} | ${percent(served.vsDcb)}` : '';
    lines.push(
      `| ${name} | ${v1.pairs} | ${percent(v1.vsGzip6)} | ${percent(v1.vsBr11)} | ${percent(x1.vsGzip6)} | ${percent(x1.vsBr11)} | ${percent(served.vsGzip6)} | ${percent(served.vsBr11)}${dictCells} | ${v1.beatsBr11} / ${x1.beatsBr11} / ${served.beatsBr11} of ${v1.pairs} | ${served.servedAsDelta} |`,
    );
  }
  return lines;
}

function allVariantsTable(all: readonly VariantSummary[], info: RunInfo): string[] {
  const dictHeader = `${info.hasDcb ? ' | % dcb med / p90' : ''}${info.hasDcz ? ' | % dcz med / p90' : ''}`;
  const dictRule = `${info.hasDcb ? '---:|' : ''}${info.hasDcz ? '---:|' : ''}`;
  return [
    `| variant | pairs | If-Block line (median) | % gzip-6 med / p90 | % br-11 med / p90${dictHeader} | beat br-11 | bytes summed (gzip-6 ${kilobytes(all[0]?.gzip6Bytes ?? 0)}, br-11 ${kilobytes(all[0]?.br11Bytes ?? 0)}) |`,
    `|---|---:|---:|---:|---:|${dictRule}---:|---:|`,
    ...all.map((summary) => {
      const dict = `${info.hasDcb ? ` | ${medianAndP90(summary.vsDcb)}` : ''}${info.hasDcz ? ` | ${medianAndP90(summary.vsDcz)}` : ''}`;
      return `| ${summary.variant} | ${summary.pairs} | ${summary.medianRequestBytes} B | ${medianAndP90(summary.vsGzip6)} | ${medianAndP90(summary.vsBr11)}${dict} | ${summary.beatsBr11} | ${kilobytes(summary.totalBytes)} |`;
    }),
  ];
}

function perCategoryTable(summaries: Record<string, VariantSummary[]>, pick: (summary: VariantSummary) => RatioSummary | null): string[] {
  const categories = Object.keys(summaries);
  const variants = summaries[ALL_CATEGORIES].map((summary) => summary.variant);
  return [
    `| variant | ${categories.map((category) => (category === ALL_CATEGORIES ? '**all**' : category)).join(' | ')} |`,
    `|---|${categories.map(() => '---:').join('|')}|`,
    ...variants.map((variant) => `| ${variant} | ${categories.map((category) => medianAndP90(pick(summaries[category].find((summary) => summary.variant === variant)!))).join(' | ')} |`),
  ];
}

function findingLine(finding: LargerBlockCountFinding): string {
  const change = finding.savedPercent >= 0 ? `${finding.savedPercent.toFixed(1)}% fewer bytes` : `${(-finding.savedPercent).toFixed(1)}% more bytes`;
  return (
    `- ${finding.kind === 'v1' ? 'v=1' : finding.kind === 'x1' ? 'x=1' : 'served'} ${finding.setting} vs ${finding.baseline}: ${kilobytes(finding.settingBytes)} vs ${kilobytes(finding.baselineBytes)} summed (${change}); ` +
    `median share of br-11 ${finding.medianBr11Points >= 0 ? '+' : ''}${finding.medianBr11Points.toFixed(1)} points; smaller on ${finding.pairsSmaller} pairs, larger on ${finding.pairsLarger}; ` +
    `the If-Block line grows by ${finding.requestGrowthBytes} B (median).`
  );
}

/** One sentence on whether larger block counts would save much more, from the numbers. */
export function largerBlockCountVerdict(findings: readonly LargerBlockCountFinding[]): string {
  if (!findings.length) return 'Only n=40 was measured.';
  const best = [...findings].sort((a, b) => b.savedPercent - a.savedPercent)[0];
  const worst = [...findings].sort((a, b) => a.savedPercent - b.savedPercent)[0];
  const much = best.savedPercent >= 10;
  return (
    `The best larger count for ${best.kind === 'x1' ? 'x=1' : best.kind === 'v1' ? 'v=1' : 'served'}, ${best.setting}, saves ${best.savedPercent.toFixed(1)}% of the bytes summed over the corpus ` +
    `(median ${best.medianBr11Points >= 0 ? '+' : ''}${best.medianBr11Points.toFixed(1)} points of br-11) — ${much ? 'a large gain' : 'not much more'}; ` +
    `${worst.setting} ${worst.savedPercent >= 0 ? `saves ${worst.savedPercent.toFixed(1)}%` : `costs ${(-worst.savedPercent).toFixed(1)}% more`}, as its longer If-Block line is paid on every request.`
  );
}

export function renderWireReport(pairs: readonly PairResult[], summaries: Record<string, VariantSummary[]>, info: RunInfo): string {
  const skipped = pairs.filter((pair) => pair.crcsync === null);
  const served40 = find(summaries[ALL_CATEGORIES], 'served', 'n=40');
  const x1Findings = largerBlockCountFindings(pairs, 'x1');
  const v1Findings = largerBlockCountFindings(pairs, 'v1');
  const dictionaryNote = [
    info.hasDcb ? '`dcb` = Compression Dictionary Transport with brotli (`brotli -q 11 -D old` + 36-byte dcb header, baselines.csv)' : null,
    info.hasDcz ? '`dcz` = the same with zstd (`zstd -19 --patch-from=old` + 40-byte dcz header)' : null,
  ].filter(Boolean);
  return [
    '# crcsync: bytes on the wire',
    '',
    `Run ${info.date} on ${info.cpu}, Node ${info.node}, load average ${info.loadAverage.map((value) => value.toFixed(2)).join(' ')} (shared machine; the byte counts do not depend on load), ${info.seconds.toFixed(0)} s.`,
    `Corpus: ${info.corpus}: ${pairs.length} pairs${skipped.length ? ` (${skipped.length} whose old version a client would not offer: left out of the crcsync figures)` : ''}.`,
    '',
    'crcsync total = the request line `If-Block: v=1; fs=…; h=…` (name, ": ", value, CRLF; x=1 with `; x=1` appended) + the delta body the reference',
    'encoder makes (v=1: literal runs deflated with pako level 6, byte-exact with zlib; x=1: each literal piece deflated with node:zlib level 6, as the',
    'server does). Every delta was decoded back to `new` with the project decoder. gzip-6 and brotli-11 (br-11) of `new` are made here with node:zlib.',
    `"served" = what \`crcsync serve\` sends the Firefox extension (Accept-Encoding: gzip, deflate, br; x=1 offered): the x=1 delta only when it beats the plain br-5 body by the margin (deltaBeats), else br-5 — plus the If-Block line it sent either way.`,
    ...(dictionaryNote.length ? [`${dictionaryNote.join('; ')}. The ~70-byte Available-Dictionary request header of CDT is not counted there.`] : ['The corpus has no baselines.csv: no dictionary-compressed sizes.']),
    'Cells are percent of the baseline (crcsync total ÷ baseline of the same pair): below 100 crcsync sends less. "beat br-11": pairs where crcsync total < br-11.',
    '',
    '## Shipped configuration (40 block hashes): median % per category',
    '',
    ...headlineTable(summaries, info, 'n=40'),
    '',
    served40 ? `The server answered ${served40.servedAsDelta} of ${served40.pairs} pairs with the delta; the others got br-5, never more than a client without crcsync (plus the If-Block line).` : '',
    '',
    '## Every variant, all pairs',
    '',
    'n = block hashes in `h` (PROTOCOL.md §1 allows 1..256): 40 (what clients send), 128, 256, and one per 2 KiB of the cached body clamped to 40..256.',
    '',
    ...allVariantsTable(summaries[ALL_CATEGORIES], info),
    '',
    '## Per category: % of brotli-11, median / p90',
    '',
    ...perCategoryTable(summaries, (summary) => summary.vsBr11),
    '',
    '## Per category: % of gzip-6, median / p90',
    '',
    ...perCategoryTable(summaries, (summary) => summary.vsGzip6),
    '',
    ...(info.hasDcb ? ['## Per category: % of dcb (brotli with the old version as dictionary), median / p90', '', ...perCategoryTable(summaries, (summary) => summary.vsDcb), ''] : []),
    '## Larger block counts',
    '',
    largerBlockCountVerdict(x1Findings),
    '',
    ...x1Findings.map(findingLine),
    ...v1Findings.map(findingLine),
    '',
  ].join('\n');
}
