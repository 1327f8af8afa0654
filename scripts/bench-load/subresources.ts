// Placeholders for the scripts and stylesheets a corpus page names: the
// corpus holds only the page, and a 404 for them is not neutral. Firefox's
// speculative parser fetches a head script ahead; when that fetch failed,
// the parser asks again once it reaches the tag, but only if the first
// answer had already come back by then. Which loads pay those extra
// requests (up to one blocking round trip per script, 250 ms on
// 1 Mbit/s + 100 ms for a page with six of them) then depends on timing, not
// on the condition: measured on the Django pages, 10 to 17 requests per load
// of the same page in the same browser. A real page's scripts exist; with a
// small 200 for each, every load of a page makes the same requests.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';

const PLACEHOLDER: Record<string, string> = {
  '.js': '/* bench:load placeholder: the corpus holds only the page */\n',
  '.css': '/* bench:load placeholder: the corpus holds only the page */\n',
};

const ORIGIN = 'http://bench.invalid';

/** Same-origin paths of the `<script src>` and `<link rel=stylesheet href>` in `html`, resolved against `pagePath`. */
export function subresourcePaths(html: string, pagePath: string): string[] {
  const paths = new Set<string>();
  const tags = html.match(/<(?:script|link)\b[^>]*>/gi) ?? [];
  for (const tag of tags) {
    const isScript = /^<script/i.test(tag);
    if (!isScript && !/\brel\s*=\s*["']?stylesheet\b/i.test(tag)) continue;
    const reference = new RegExp(`\\b${isScript ? 'src' : 'href'}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
    const target = reference?.[1] ?? reference?.[2] ?? reference?.[3];
    if (!target) continue;
    let url: URL;
    try {
      url = new URL(target, ORIGIN + pagePath);
    } catch {
      continue;
    }
    if (url.origin !== ORIGIN || !(extname(url.pathname) in PLACEHOLDER)) continue;
    paths.add(decodeURIComponent(url.pathname));
  }
  return [...paths].sort();
}

/** Writes a placeholder under `root` for each path that has no file yet; returns the paths written. */
export function writePlaceholders(root: string, paths: readonly string[]): string[] {
  const written: string[] = [];
  for (const path of paths) {
    const file = join(root, path);
    if (!file.startsWith(root) || existsSync(file)) continue;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, PLACEHOLDER[extname(path)]);
    written.push(path);
  }
  return written;
}
