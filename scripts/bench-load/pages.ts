// What `npm run bench:load` loads: the changed HTML pages of a corpus folder
// (one directory per pair: old, new, meta.json) served as static files by
// `crcsync serve --root`, and the demo site's front page, which changes on
// every request by itself (`crcsync serve --demo`).

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { subresourcePaths, writePlaceholders } from './subresources';

export interface CorpusPage {
  kind: 'corpus';
  /** The pair's directory name. */
  name: string;
  category: string;
  /** URL path under the static server's root. */
  path: string;
  oldBody: Buffer;
  newBody: Buffer;
}

export interface DemoPage {
  kind: 'demo';
  name: 'demo-front-page';
  category: 'demo';
  path: '/';
}

export type BenchPage = CorpusPage | DemoPage;

interface PairMeta {
  category?: string;
  content_type?: string;
}

function isHtmlPair(meta: PairMeta): boolean {
  return meta.content_type === 'text/html' || (meta.category ?? '').startsWith('html');
}

/**
 * The pairs of `corpusDir` that are HTML and changed (old != new), in
 * directory order, whose name contains `filter` (all when null). The issue's
 * corpus has 19: html-docs and html-dynamic-synth.
 */
export function corpusPages(corpusDir: string, filter: string | null): CorpusPage[] {
  const pages: CorpusPage[] = [];
  for (const name of readdirSync(corpusDir).sort()) {
    const dir = join(corpusDir, name);
    if (!existsSync(join(dir, 'meta.json')) || !existsSync(join(dir, 'old')) || !existsSync(join(dir, 'new'))) continue;
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as PairMeta;
    if (!isHtmlPair(meta)) continue;
    if (filter !== null && !name.includes(filter)) continue;
    const oldBody = readFileSync(join(dir, 'old'));
    const newBody = readFileSync(join(dir, 'new'));
    if (oldBody.equals(newBody)) continue;
    // One file per pair, named .html so the server labels it text/html.
    const path = `/pages/${encodeURIComponent(name.replace(/\.html$/, ''))}.html`;
    pages.push({ kind: 'corpus', name, category: meta.category ?? 'html', path, oldBody, newBody });
  }
  return pages;
}

export function demoPageIncluded(filter: string | null): boolean {
  return filter === null || 'demo-front-page'.includes(filter);
}

/**
 * Puts one version of the page where the static server serves it (the
 * server reads the file per request), with a small placeholder for each
 * same-origin script and stylesheet it names that the root lacks
 * (subresources.ts: a 404 there makes Firefox's requests depend on timing).
 */
export function publish(root: string, page: CorpusPage, version: 'old' | 'new'): void {
  const file = join(root, decodeURIComponent(page.path));
  mkdirSync(join(file, '..'), { recursive: true });
  const body = version === 'old' ? page.oldBody : page.newBody;
  writeFileSync(file, body);
  writePlaceholders(root, subresourcePaths(decodePage(body), page.path));
}

/** The charset a browser would decode the page with (its meta or UTF-8), for the DOM check. */
export function decodePage(body: Buffer): string {
  const head = body.subarray(0, 1024).toString('latin1');
  const label = /<meta[^>]+charset=["']?([\w-]+)/i.exec(head)?.[1] ?? 'utf-8';
  try {
    return new TextDecoder(label).decode(body);
  } catch {
    return new TextDecoder('utf-8').decode(body);
  }
}
