// Horizontal ratio rows (one per link profile): a bar from 1 (no change) to
// the row's median ratio, one small dot per page, and markers for other
// ratios of the same row (the zero-cost bound, the floor of the browser's
// hooks). The row's figures are also written out at the right, so the chart
// reads without hovering. Dots are spread over a few fixed heights by their
// order (no random jitter: the same results give the same bytes).

import { GRID_COLOUR, MUTED_COLOUR, TEXT_COLOUR, coordinate, element, escapeXml, line, rect, svgDocument, text } from './svg';
import { ChartSpecError } from './bar-chart';

export interface RatioMarker {
  key: string;
  /** In the legend. */
  name: string;
  /** Beside the row's figures. */
  shortName: string;
  colour: string;
  shape: 'diamond' | 'triangle';
}

export interface RatioRow {
  label: string;
  /** Up to two short lines under the label. */
  sublabel?: readonly string[];
  /** The row's headline ratio (the bar); null: not measured. */
  value: number | null;
  /** Marker key -> ratio (missing or null: not drawn). */
  markers: Readonly<Record<string, number | null>>;
  /** Per-item ratios (e.g. pages), drawn as dots. */
  dots: readonly number[];
}

export interface RatioChartSpec {
  title: string;
  subtitle?: string;
  xLabel: string;
  valueName: string;
  dotName: string;
  markers: readonly RatioMarker[];
  rows: readonly RatioRow[];
  width?: number;
}

const AHEAD = '#1a7f37';
const BEHIND = '#bc4c00';
const DOT = '#8c959f';
const ROW_HEIGHT = 64;
const DOT_LANES = [-12, -6, 0, 6, 12];

export const formatRatio = (value: number) => `${value.toFixed(2)}×`;

function markerShape(marker: RatioMarker, x: number, y: number, title: string): string {
  const points =
    marker.shape === 'diamond'
      ? [[x, y - 8], [x + 6, y], [x, y + 8], [x - 6, y]]
      : [[x, y - 8], [x + 7, y + 6], [x - 7, y + 6]];
  return element('polygon', { points: points.map(([px, py]) => `${coordinate(px)},${coordinate(py)}`).join(' '), fill: marker.colour, stroke: '#ffffff', 'stroke-width': 1 }, [
    element('title', {}, [escapeXml(title)]),
  ]);
}

/** The axis range: every value, marker, dot and 1 inside, padded, on 0.05 steps. */
function axisRange(rows: readonly RatioRow[]): [number, number] {
  const all = [1, ...rows.flatMap((row) => [row.value, ...Object.values(row.markers), ...row.dots])].filter((value): value is number => value !== null && Number.isFinite(value));
  const low = Math.min(...all);
  const high = Math.max(...all);
  const pad = Math.max(0.02, (high - low) * 0.06);
  return [Math.floor((low - pad) * 20) / 20, Math.ceil((high + pad) * 20) / 20];
}

function axisTicks(low: number, high: number): number[] {
  const step = [0.05, 0.1, 0.2, 0.25, 0.5, 1].find((candidate) => (high - low) / candidate <= 8) ?? 1;
  const out: number[] = [];
  for (let value = Math.ceil(low / step - 1e-9) * step; value <= high + 1e-9; value += step) out.push(Math.round(value * 100) / 100);
  return out;
}

export function ratioChart(spec: RatioChartSpec): string {
  if (!spec.rows.length) throw new ChartSpecError(`${spec.title}: a ratio chart needs at least one row`);
  for (const row of spec.rows) {
    for (const value of [row.value, ...Object.values(row.markers), ...row.dots]) {
      if (value !== null && !(Number.isFinite(value) && value > 0)) throw new ChartSpecError(`${spec.title}: row "${row.label}" has a ratio that is not a finite number > 0 (${value})`);
    }
  }
  const width = spec.width ?? 860;
  const top = spec.subtitle ? 96 : 78;
  const left = 190;
  const right = width - 130;
  const height = top + spec.rows.length * ROW_HEIGHT + 44;
  const [low, high] = axisRange(spec.rows);
  const x = (value: number) => left + ((value - low) / (high - low)) * (right - left);
  const plotBottom = top + spec.rows.length * ROW_HEIGHT;

  const body: string[] = [text(width / 2, 24, spec.title, { size: 16, anchor: 'middle', weight: 'bold' })];
  if (spec.subtitle) body.push(text(width / 2, 44, spec.subtitle, { size: 12, anchor: 'middle', fill: MUTED_COLOUR }));
  // Legend: the bar, the dots, then each marker.
  const legendY = top - 24;
  let legendX = left;
  // The bar's two colours: crcsync sooner (above 1) and later.
  body.push(rect(legendX, legendY - 9, 7, 10, AHEAD), rect(legendX + 7, legendY - 9, 7, 10, BEHIND), text(legendX + 19, legendY, spec.valueName, { size: 12 }));
  legendX += 19 + spec.valueName.length * 6.6 + 20;
  body.push(element('circle', { cx: legendX + 5, cy: legendY - 4, r: 3.5, fill: DOT }), text(legendX + 14, legendY, spec.dotName, { size: 12 }));
  legendX += 14 + spec.dotName.length * 6.6 + 20;
  for (const marker of spec.markers) {
    body.push(markerShape(marker, legendX + 6, legendY - 4, marker.name), text(legendX + 16, legendY, marker.name, { size: 12 }));
    legendX += 16 + marker.name.length * 6.6 + 20;
  }
  for (const tick of axisTicks(low, high)) {
    body.push(line(x(tick), top, x(tick), plotBottom, GRID_COLOUR), text(x(tick), plotBottom + 16, formatRatio(tick), { size: 10, anchor: 'middle', fill: MUTED_COLOUR }));
  }
  body.push(line(x(1), top - 6, x(1), plotBottom, TEXT_COLOUR, 1.5), text((left + right) / 2, plotBottom + 36, spec.xLabel, { size: 12, anchor: 'middle', fill: MUTED_COLOUR }));

  spec.rows.forEach((row, index) => {
    const centre = top + index * ROW_HEIGHT + ROW_HEIGHT / 2;
    const sublabel = row.sublabel ?? [];
    const labelTop = centre + 4 - (sublabel.length * 13) / 2;
    body.push(text(left - 12, labelTop, row.label, { size: 12, anchor: 'end', weight: 'bold' }));
    sublabel.forEach((subline, subIndex) => body.push(text(left - 12, labelTop + 14 + subIndex * 13, subline, { size: 10, anchor: 'end', fill: MUTED_COLOUR })));
    if (row.value !== null) {
      const from = Math.min(x(1), x(row.value));
      body.push(
        element('rect', { x: from, y: centre - 9, width: Math.max(1, Math.abs(x(row.value) - x(1))), height: 18, fill: row.value >= 1 ? AHEAD : BEHIND, 'fill-opacity': 0.35 }, [
          element('title', {}, [escapeXml(`${row.label}: ${spec.valueName} ${formatRatio(row.value)}`)]),
        ]),
      );
    }
    row.dots.forEach((dot, dotIndex) => body.push(element('circle', { cx: x(dot), cy: centre + DOT_LANES[dotIndex % DOT_LANES.length], r: 3, fill: DOT, 'fill-opacity': 0.8 })));
    if (row.value !== null) body.push(line(x(row.value), centre - 14, x(row.value), centre + 14, row.value >= 1 ? AHEAD : BEHIND, 3));
    for (const marker of spec.markers) {
      const value = row.markers[marker.key];
      if (value !== null && value !== undefined) body.push(markerShape(marker, x(value), centre, `${row.label}: ${marker.name} ${formatRatio(value)}`));
    }
    const figures = [`${spec.valueName} ${row.value === null ? 'not measured' : formatRatio(row.value)}`, ...spec.markers.flatMap((marker) => {
      const value = row.markers[marker.key];
      return value === null || value === undefined ? [] : [`${marker.shortName} ${formatRatio(value)}`];
    })];
    figures.forEach((figure, figureIndex) => body.push(text(right + 16, centre - 10 + figureIndex * 14, figure, { size: 11, fill: figureIndex ? MUTED_COLOUR : TEXT_COLOUR, weight: figureIndex ? 'normal' : 'bold' })));
    if (index) body.push(line(16, top + index * ROW_HEIGHT, width - 16, top + index * ROW_HEIGHT, GRID_COLOUR, 1, '2 3'));
  });
  return svgDocument(width, height, spec.title, body);
}
