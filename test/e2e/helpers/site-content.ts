// A small site whose versions differ the way real pages do (a changed
// headline, a counter, an inserted paragraph) while most bytes stay: an HTML
// page with a stylesheet, a script and a JSON document it fetches.

import { seededRandom } from '../../helpers/random';

function paragraph(seed: number): string {
  const random = seededRandom(seed + 1);
  const out: string[] = [];
  for (let i = 0; i < 40; i++) {
    let word = '';
    const length = 2 + Math.floor(random() * 8);
    for (let j = 0; j < length; j++) word += String.fromCharCode(97 + Math.floor(random() * 26));
    out.push(word);
  }
  return out.join(' ');
}

export interface SiteVersion {
  html: string;
  css: string;
  js: string;
  json: string;
  /** What #content must show. */
  contentText: string;
  /** The `color` the stylesheet gives #content. */
  color: string;
}

export function siteVersion(version: number, marker = ''): SiteVersion {
  const paragraphs: string[] = [];
  for (let i = 0; i < 80; i++) {
    paragraphs.push(i === 40 && version > 1 ? `inserted in version ${version}${marker} ${paragraph(1000 + version)}` : paragraph(i));
  }
  const contentText = [`headline version ${version}${marker}`, ...paragraphs].join('\n');
  const color = version % 2 ? 'rgb(0, 0, 255)' : 'rgb(0, 128, 0)';
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>crcsync e2e v${version}</title>
<link rel="stylesheet" href="style.css">
<script src="app.js"></script></head>
<body><pre id="content">${contentText}</pre>
<pre id="json"></pre>
<script>fetch('data.json').then((r) => r.text()).then((text) => { document.getElementById('json').textContent = text; document.body.dataset.loaded = 'yes'; });</script>
</body></html>
`;
  const css = `/* stylesheet version ${version} */\n#content { color: ${color}; }\n${Array.from({ length: 40 }, (_, i) => `.rule-${i}-${paragraph(i).slice(0, 12).replace(/ /g, '-')} { margin: ${i}px; padding: ${i % 7}px; }`).join('\n')}\n`;
  const js = `// script version ${version}\nwindow.appVersion = 'v${version}${marker}';\n${Array.from({ length: 40 }, (_, i) => `function helper${i}(x) { return '${paragraph(200 + i).slice(0, 40)}' + x * ${i} + ${version === 1 || i !== 20 ? i : 999}; }`).join('\n')}\n`;
  const json = `${JSON.stringify(
    { version, marker, items: Array.from({ length: 60 }, (_, i) => ({ id: i, name: paragraph(300 + i).slice(0, 30), score: i === 30 ? version * 1000 : i * 3 })) },
    null,
    1,
  )}\n`;
  return { html, css, js, json, contentText, color };
}

export function writeSite(write: (path: string, content: string) => void, site: SiteVersion, directory = ''): void {
  write(`${directory}index.html`, site.html);
  write(`${directory}style.css`, site.css);
  write(`${directory}app.js`, site.js);
  write(`${directory}data.json`, site.json);
}

/** Loads a version of the site and checks the page shows it exactly. */
export async function expectPageShows(
  page: import('puppeteer-core').Page,
  url: string,
  version: SiteVersion,
  waitMs: number,
): Promise<void> {
  await page.goto(url, { waitUntil: 'load', timeout: waitMs });
  await page.waitForFunction(() => document.body.dataset.loaded === 'yes', { timeout: waitMs });
  const shown = await page.evaluate(() => ({
    content: document.getElementById('content')!.textContent,
    json: document.getElementById('json')!.textContent,
    appVersion: (window as unknown as { appVersion?: string }).appVersion,
    color: getComputedStyle(document.getElementById('content')!).color,
  }));
  // Byte-exact where the page exposes the bytes (pre text, fetch() text), behaviour for script and stylesheet.
  expect(shown.content).toBe(version.contentText);
  expect(shown.json).toBe(version.json);
  const { version: number, marker } = JSON.parse(version.json) as { version: number; marker: string };
  expect(shown.appVersion).toBe(`v${number}${marker}`);
  expect(shown.color).toBe(version.color);
}
