// A small SVG writer for bench/REPORT.md's charts, used instead of a plotting
// library on purpose:
// - no runtime dependency: the report is built by `node dist/bench-report.js`
//   from JSON alone; the well-kept libraries (Vega, Observable Plot, D3) need
//   a DOM or a headless renderer to emit SVG from Node, and bring far more
//   code than four bar and dot charts need;
// - deterministic bytes: the same results give the same file (fixed number
//   formatting, no ids, dates or random jitter), so re-running the report
//   shows only what changed in the numbers when the diff is reviewed;
// - readable where it is shown: GitHub displays a linked SVG as an <img>,
//   which runs no script and loads no font or stylesheet. Every chart has a
//   fixed width and height, an opaque white background (GitHub's dark theme
//   would otherwise put black text on black), generic font families and its
//   numbers as text labels.

/** Escapes text and attribute values for XML (the five predefined entities). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[char]!);
}

/** A coordinate or length with at most two decimals and no trailing zeros: stable bytes for the same input. */
export function coordinate(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`SVG coordinate must be finite, got ${value}`);
  const rounded = Math.round(value * 100) / 100;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

export type AttributeValue = string | number | undefined;

function attributes(attrs: Record<string, AttributeValue>): string {
  return Object.entries(attrs)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${typeof value === 'number' ? coordinate(value) : escapeXml(value)}"`)
    .join('');
}

/** One element: self-closing without children; children are already-written markup. */
export function element(name: string, attrs: Record<string, AttributeValue>, children: readonly string[] = []): string {
  return children.length ? `<${name}${attributes(attrs)}>${children.join('')}</${name}>` : `<${name}${attributes(attrs)}/>`;
}

export interface TextOptions {
  size?: number;
  anchor?: 'start' | 'middle' | 'end';
  weight?: 'normal' | 'bold';
  fill?: string;
  /** Degrees, around the text's own position. */
  rotate?: number;
}

export const FONT_FAMILY = 'Helvetica, Arial, sans-serif';
export const TEXT_COLOUR = '#24292f';
export const MUTED_COLOUR = '#57606a';
export const GRID_COLOUR = '#d0d7de';

export function text(x: number, y: number, content: string, options: TextOptions = {}): string {
  return element(
    'text',
    {
      x,
      y,
      'font-size': options.size ?? 12,
      'text-anchor': options.anchor ?? 'start',
      'font-weight': options.weight === 'bold' ? 'bold' : undefined,
      fill: options.fill ?? TEXT_COLOUR,
      transform: options.rotate ? `rotate(${coordinate(options.rotate)} ${coordinate(x)} ${coordinate(y)})` : undefined,
    },
    [escapeXml(content)],
  );
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke: string, strokeWidth = 1, dash?: string): string {
  return element('line', { x1, y1, x2, y2, stroke, 'stroke-width': strokeWidth, 'stroke-dasharray': dash });
}

export function rect(x: number, y: number, width: number, height: number, fill: string, extra: Record<string, AttributeValue> = {}): string {
  return element('rect', { x, y, width: Math.max(0, width), height: Math.max(0, height), fill, ...extra });
}

/** Width of `content` in a sans-serif face at `size`, estimated (no font metrics without a renderer): about 0.55 em per character. */
export function estimateTextWidth(content: string, size = 12): number {
  return content.length * size * 0.55;
}

/** The whole document: fixed size, white background, one font family for every text. */
export function svgDocument(width: number, height: number, title: string, body: readonly string[]): string {
  return `${element(
    'svg',
    { xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': FONT_FAMILY, role: 'img', 'aria-label': title },
    [element('title', {}, [escapeXml(title)]), rect(0, 0, width, height, '#ffffff'), ...body],
  )}\n`;
}

/** A round step for about `count` ticks up to `max`: 1, 2, 2.5 or 5 times a power of ten. */
export function niceStep(max: number, count = 5): number {
  const raw = max / count;
  if (!(raw > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= raw - 1e-9) return step * power;
  return 10 * power;
}

/** The axis maximum: the first multiple of the nice step at or above `max`. */
export function niceCeiling(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const step = niceStep(max, count);
  return Math.ceil(max / step - 1e-9) * step;
}

/** Ticks from 0 to `axisMax` (a nice ceiling) on the same step. */
export function ticks(axisMax: number, count = 5): number[] {
  const step = niceStep(axisMax, count);
  const out: number[] = [];
  for (let value = 0; value <= axisMax + step * 1e-9; value += step) out.push(Math.round(value * 1e6) / 1e6);
  return out;
}
