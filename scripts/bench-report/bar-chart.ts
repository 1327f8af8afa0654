// Grouped vertical bars (one group per category / kernel / concurrency, one
// bar per series), every bar labelled with its value, a legend on top and an
// optional dashed reference line (e.g. gzip-6 = 100%). A value that was not
// measured is drawn as "n/a" at the baseline, never as a zero-height bar.

import { GRID_COLOUR, MUTED_COLOUR, element, escapeXml, estimateTextWidth, line, niceCeiling, rect, svgDocument, text, ticks } from './svg';

export interface BarSeries {
  name: string;
  colour: string;
}

export interface BarGroup {
  label: string;
  /** One per series, in the series' order; null: not measured. */
  values: ReadonlyArray<number | null>;
  /** A short line under the label (e.g. a ratio measured in the same run). */
  note?: string;
}

export interface BarChartSpec {
  title: string;
  subtitle?: string;
  yLabel: string;
  series: readonly BarSeries[];
  groups: readonly BarGroup[];
  /** How a value is written on its bar and on the axis. */
  formatValue: (value: number) => string;
  /** How the axis ticks are written (default: formatValue). */
  formatTick?: (value: number) => string;
  reference?: { value: number; label: string };
  width?: number;
  height?: number;
}

export class ChartSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChartSpecError';
  }
}

const VALUE_SIZE = 10;
const LABEL_SIZE = 11;

/** Splits a label into lines no wider than `maxWidth`, breaking after "-", "/" or a space; at most `maxLines` lines. */
export function wrapLabel(label: string, maxWidth: number, size = LABEL_SIZE, maxLines = 3): string[] {
  const pieces = label.match(/[^\s\-/]+[\s\-/]*/g) ?? [label];
  const lines: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current && estimateTextWidth((current + piece).trimEnd(), size) > maxWidth) {
      lines.push(current.trimEnd());
      current = piece;
    } else current += piece;
  }
  if (current) lines.push(current.trimEnd());
  return lines.length > maxLines ? [...lines.slice(0, maxLines - 1), lines.slice(maxLines - 1).join('')] : lines;
}

function legend(series: readonly BarSeries[], left: number, y: number): string[] {
  const out: string[] = [];
  let x = left;
  for (const entry of series) {
    out.push(rect(x, y - 10, 12, 12, entry.colour), text(x + 17, y, entry.name, { size: 12 }));
    x += 17 + estimateTextWidth(entry.name, 12) + 22;
  }
  return out;
}

export function groupedBarChart(spec: BarChartSpec): string {
  const { series, groups } = spec;
  if (!series.length || !groups.length) throw new ChartSpecError(`${spec.title}: a bar chart needs at least one series and one group`);
  for (const group of groups) {
    if (group.values.length !== series.length) throw new ChartSpecError(`${spec.title}: group "${group.label}" has ${group.values.length} values for ${series.length} series`);
    for (const value of group.values) if (value !== null && !(Number.isFinite(value) && value >= 0)) throw new ChartSpecError(`${spec.title}: group "${group.label}" has a value that is not a finite number >= 0 (${value})`);
  }
  const width = spec.width ?? 860;
  const height = spec.height ?? 440;
  const margin = { top: spec.subtitle ? 92 : 74, right: 20, bottom: 0, left: 64 };
  const groupWidth = (width - margin.left - margin.right) / groups.length;
  const labelLines = groups.map((group) => wrapLabel(group.label, groupWidth - 6));
  const noteLines = groups.map((group) => (group.note ? wrapLabel(group.note, groupWidth - 6, 10, 2) : []));
  margin.bottom = 14 + Math.max(...labelLines.map((lines) => lines.length)) * 13 + Math.max(...noteLines.map((lines) => lines.length)) * 12 + 6;
  const plotTop = margin.top;
  const plotBottom = height - margin.bottom;
  const barWidth = Math.min(44, (groupWidth * 0.8) / series.length);
  const formatted = groups.flatMap((group) => group.values.filter((value): value is number => value !== null).map(spec.formatValue));
  // Labels turn upright when they do not fit across a bar; leave room above the tallest bar for them.
  const upright = formatted.some((label) => estimateTextWidth(label, VALUE_SIZE) > barWidth + 2);
  const headroom = upright ? Math.max(...formatted.map((label) => estimateTextWidth(label, VALUE_SIZE)), 0) + 8 : 16;
  const largest = Math.max(spec.reference?.value ?? 0, ...groups.flatMap((group) => group.values.filter((value): value is number => value !== null)));
  const plotHeight = plotBottom - plotTop;
  const axisMax = niceCeiling((largest * plotHeight) / Math.max(1, plotHeight - headroom) || 1);
  const y = (value: number) => plotBottom - (value / axisMax) * plotHeight;

  const body: string[] = [text(width / 2, 24, spec.title, { size: 16, anchor: 'middle', weight: 'bold' })];
  if (spec.subtitle) body.push(text(width / 2, 44, spec.subtitle, { size: 12, anchor: 'middle', fill: MUTED_COLOUR }));
  body.push(...legend(series, margin.left, margin.top - 22));
  for (const tick of ticks(axisMax)) {
    body.push(line(margin.left, y(tick), width - margin.right, y(tick), GRID_COLOUR), text(margin.left - 6, y(tick) + 4, (spec.formatTick ?? spec.formatValue)(tick), { size: 10, anchor: 'end', fill: MUTED_COLOUR }));
  }
  body.push(text(16, (plotTop + plotBottom) / 2, spec.yLabel, { size: 12, anchor: 'middle', rotate: -90, fill: MUTED_COLOUR }));
  groups.forEach((group, groupIndex) => {
    const groupLeft = margin.left + groupIndex * groupWidth;
    const barsLeft = groupLeft + (groupWidth - barWidth * series.length) / 2;
    group.values.forEach((value, seriesIndex) => {
      const x = barsLeft + seriesIndex * barWidth;
      const centre = x + barWidth / 2;
      const name = `${series[seriesIndex].name}, ${group.label}`;
      if (value === null) {
        body.push(text(centre, plotBottom - 4, 'n/a', { size: 9, anchor: upright ? 'start' : 'middle', fill: MUTED_COLOUR, rotate: upright ? -90 : undefined }));
        return;
      }
      const label = spec.formatValue(value);
      body.push(element('rect', { x: x + 1, y: y(value), width: Math.max(1, barWidth - 2), height: plotBottom - y(value), fill: series[seriesIndex].colour }, [element('title', {}, [escapeXml(`${name}: ${label}`)])]));
      body.push(
        upright
          ? text(centre + 3.5, y(value) - 4, label, { size: VALUE_SIZE, anchor: 'start', rotate: -90 })
          : text(centre, y(value) - 4, label, { size: VALUE_SIZE, anchor: 'middle' }),
      );
    });
    const labelTop = plotBottom + 16;
    labelLines[groupIndex].forEach((labelLine, index) => body.push(text(groupLeft + groupWidth / 2, labelTop + index * 13, labelLine, { size: LABEL_SIZE, anchor: 'middle' })));
    const noteTop = labelTop + labelLines[groupIndex].length * 13 + 1;
    noteLines[groupIndex].forEach((noteLine, index) => body.push(text(groupLeft + groupWidth / 2, noteTop + index * 12, noteLine, { size: 10, anchor: 'middle', fill: MUTED_COLOUR })));
  });
  if (spec.reference) {
    const at = y(spec.reference.value);
    body.push(line(margin.left, at, width - margin.right, at, '#cf222e', 1.5, '6 4'), text(width - margin.right - 2, at - 5, spec.reference.label, { size: 11, anchor: 'end', fill: '#cf222e' }));
  }
  body.push(line(margin.left, plotBottom, width - margin.right, plotBottom, MUTED_COLOUR));
  return svgDocument(width, height, spec.title, body);
}
