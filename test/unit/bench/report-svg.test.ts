// The report's SVG writer: well-formed documents (a strict tag check here,
// and resvg's XML parser, the renderer used to look at the charts), the bars,
// labels and markers a reader expects for a small input, and the same bytes
// for the same input.

import { Resvg } from '@resvg/resvg-js';
import { ChartSpecError, groupedBarChart, wrapLabel } from '../../../scripts/bench-report/bar-chart';
import { RatioChartSpec, ratioChart } from '../../../scripts/bench-report/ratio-chart';
import { coordinate, escapeXml, niceCeiling, ticks } from '../../../scripts/bench-report/svg';

/** Throws unless `xml` is one element whose every tag closes in order, with quoted attributes and escaped text. */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  let at = 0;
  let roots = 0;
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos|#\d+);[^"<&]*)*")*)\s*(\/?)>/y;
  while (at < xml.length) {
    const next = xml.indexOf('<', at);
    const textPart = xml.slice(at, next < 0 ? xml.length : next);
    if (/&(?!(?:amp|lt|gt|quot|apos|#\d+);)/.test(textPart) || textPart.includes('>')) throw new Error(`unescaped text near ${at}: ${textPart.slice(0, 40)}`);
    if (next < 0) break;
    tag.lastIndex = next;
    const match = tag.exec(xml);
    if (!match) throw new Error(`malformed tag at ${next}: ${xml.slice(next, next + 60)}`);
    const [, closing, name, , selfClosing] = match;
    if (closing) {
      if (stack.pop() !== name) throw new Error(`</${name}> at ${next} closes nothing open`);
    } else {
      if (!stack.length) roots++;
      if (!selfClosing) stack.push(name);
    }
    at = tag.lastIndex;
  }
  if (stack.length) throw new Error(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1 || !xml.startsWith('<svg')) throw new Error(`expected one <svg> root element, found ${roots}`);
}

const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length;

describe('the well-formedness check itself', () => {
  it('refuses what a browser would not render', () => {
    expect(() => assertWellFormed('<svg><g></svg>')).toThrow(/closes nothing|unclosed/);
    expect(() => assertWellFormed('<svg><text>a < b</text></svg>')).toThrow(/malformed/);
    expect(() => assertWellFormed('<svg><text>R&D</text></svg>')).toThrow(/unescaped/);
    expect(() => assertWellFormed('<svg x=1/>')).toThrow(/malformed/);
    expect(() => assertWellFormed('<svg xmlns="http://www.w3.org/2000/svg"><text x="1">a &amp; b</text></svg>')).not.toThrow();
  });
});

describe('SVG primitives', () => {
  it('escape the five XML specials and write stable coordinates', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
    expect(coordinate(1 / 3)).toBe('0.33');
    expect(coordinate(-0.001)).toBe('0');
    expect(() => coordinate(NaN)).toThrow(RangeError);
  });

  it('round an axis up to a step of 1, 2, 2.5 or 5 and tick it on that step', () => {
    expect(niceCeiling(530)).toBe(600);
    expect(ticks(600)).toEqual([0, 200, 400, 600]);
    expect(niceCeiling(112)).toBe(125);
    expect(ticks(100)).toEqual([0, 20, 40, 60, 80, 100]);
  });

  it('wrap a long label at hyphens and spaces', () => {
    expect(wrapLabel('html-dynamic-synth (12)', 90, 11)).toEqual(['html-dynamic-', 'synth (12)']);
    expect(wrapLabel('css', 70, 11)).toEqual(['css']);
  });
});

describe('groupedBarChart', () => {
  const spec = {
    title: 'Bytes, % of gzip <test>',
    yLabel: '% of gzip-6',
    series: [
      { name: 'brotli-11', colour: '#6e7781' },
      { name: 'crcsync', colour: '#0969da' },
    ],
    groups: [
      { label: 'css (2)', values: [85, 12.5] },
      { label: 'js & min (1)', values: [90, null], note: 'no delta' },
    ],
    formatValue: (value: number) => `${value.toFixed(1)}%`,
    reference: { value: 100, label: 'gzip-6 = 100%' },
  };

  it('is one well-formed SVG document of fixed size with a white background', () => {
    const svg = groupedBarChart(spec);
    assertWellFormed(svg);
    expect(() => new Resvg(svg)).not.toThrow();
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="860" height="440" viewBox="0 0 860 440"/);
    expect(svg).toContain('<rect x="0" y="0" width="860" height="440" fill="#ffffff"/>');
    // Nothing GitHub's <img> would block or fetch.
    expect(svg).not.toMatch(/<script|<style|href=|@import|url\(/);
  });

  it('draws one labelled bar per measured value and "n/a" for the one not measured', () => {
    const svg = groupedBarChart(spec);
    expect(count(svg, /<title>[^<]*: [^<]*<\/title><\/rect>/g)).toBe(3);
    expect(svg).toContain('<title>brotli-11, css (2): 85.0%</title>');
    expect(svg).toContain('<title>crcsync, css (2): 12.5%</title>');
    expect(svg).toContain('<title>brotli-11, js &amp; min (1): 90.0%</title>');
    expect(svg).not.toContain('crcsync, js &amp; min');
    expect(count(svg, />n\/a</g)).toBe(1);
    for (const label of ['>85.0%<', '>12.5%<', '>90.0%<', '>brotli-11<', '>crcsync<', '>gzip-6 = 100%<', '>no delta<', '>Bytes, % of gzip &lt;test&gt;<']) expect(svg).toContain(label);
  });

  it('makes taller bars for larger values', () => {
    const heights = [...groupedBarChart(spec).matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="#(?:6e7781|0969da)"><title>([^<]*)</g)].map((match) => [match[2], Number(match[1])] as const);
    const of = (name: string) => heights.find(([title]) => title.startsWith(name))![1];
    expect(of('brotli-11, js')).toBeGreaterThan(of('brotli-11, css'));
    expect(of('brotli-11, css') / of('crcsync, css')).toBeCloseTo(85 / 12.5, 1);
  });

  it('gives the same bytes for the same input', () => {
    expect(groupedBarChart(spec)).toBe(groupedBarChart({ ...spec, groups: spec.groups.map((group) => ({ ...group })) }));
  });

  it('refuses a group whose values do not match the series, or a negative value', () => {
    expect(() => groupedBarChart({ ...spec, groups: [{ label: 'css', values: [1] }] })).toThrow(ChartSpecError);
    expect(() => groupedBarChart({ ...spec, groups: [{ label: 'css', values: [1, -2] }] })).toThrow(/finite number >= 0/);
    expect(() => groupedBarChart({ ...spec, groups: [] })).toThrow(ChartSpecError);
  });
});

describe('ratioChart', () => {
  const spec: RatioChartSpec = {
    title: 'Load time, brotli ÷ crcsync',
    xLabel: 'brotli ÷ crcsync',
    valueName: 'median',
    dotName: 'one page',
    markers: [
      { key: 'bound', name: 'bound (zero cost)', shortName: 'bound', colour: '#0969da', shape: 'diamond' },
      { key: 'floor', name: 'floor (hooks alone)', shortName: 'floor', colour: '#8250df', shape: 'triangle' },
    ],
    rows: [
      { label: '1 Mbit/s, 100 ms RTT', sublabel: ['firefox/153.8.0', '2 of 3 pages sooner'], value: 1.25, markers: { bound: 1.4, floor: 0.98 }, dots: [1.1, 1.3, 0.9] },
      { label: 'no throttling', value: 0.87, markers: { bound: 1, floor: null }, dots: [0.8] },
      { label: 'not yet', value: null, markers: {}, dots: [] },
    ],
  };

  it('is well-formed, with every row, dot, marker and figure a reader needs', () => {
    const svg = ratioChart(spec);
    assertWellFormed(svg);
    expect(() => new Resvg(svg)).not.toThrow();
    expect(count(svg, /<circle cx="[\d.]+" cy="[\d.]+" r="3"/g)).toBe(4);
    // Two bars (the row without a value has none) and three markers in the rows, plus one of each in the legend.
    expect(count(svg, /<title>[^<]*: median [\d.]+×<\/title>/g)).toBe(2);
    expect(count(svg, /<polygon /g)).toBe(3 + 2);
    for (const label of ['>median 1.25×<', '>bound 1.40×<', '>floor 0.98×<', '>median 0.87×<', '>bound 1.00×<', '>median not measured<', '>2 of 3 pages sooner<', '>1.00×<']) expect(svg).toContain(label);
    expect(svg).not.toContain('floor null');
  });

  it('puts a ratio above 1 right of the 1× line and one below left of it', () => {
    const svg = ratioChart(spec);
    const oneX = Number(/<line x1="([\d.]+)" y1="[\d.]+" x2="\1" y2="[\d.]+" stroke="#24292f" stroke-width="1.5"/.exec(svg)![1]);
    const barStart = (title: string) => Number(new RegExp(`<rect x="([\\d.]+)" y="[\\d.]+" width="([\\d.]+)"[^>]*><title>${title}`).exec(svg)![1]);
    expect(barStart('1 Mbit/s, 100 ms RTT: median')).toBeCloseTo(oneX, 1);
    expect(barStart('no throttling: median')).toBeLessThan(oneX);
  });

  it('refuses a ratio that is not a positive number', () => {
    expect(() => ratioChart({ ...spec, rows: [{ label: 'x', value: 0, markers: {}, dots: [] }] })).toThrow(ChartSpecError);
    expect(() => ratioChart({ ...spec, rows: [] })).toThrow(ChartSpecError);
  });
});
