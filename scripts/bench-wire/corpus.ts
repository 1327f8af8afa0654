// Reads a delta corpus in the layout of ../shared/corpus/README.md: one
// directory per pair holding `old`, `new` and optionally `meta.json`, and an
// optional `baselines.csv` at the top with sizes made by other encoders
// (dcb / dcz: Compression Dictionary Transport with the old version as the
// dictionary). Any folder in that layout works, with or without the CSV.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The corpus README's categories: a directory `NNN-<category>-<name>` without meta.json is placed by these prefixes. */
export const KNOWN_CATEGORIES: readonly string[] = ['html-dynamic-synth', 'html-docs', 'json-data', 'js-min', 'js-src', 'css', 'text'];
export const UNKNOWN_CATEGORY = 'other';

/** A baselines.csv row: column name -> number (empty or non-numeric cells are left out). */
export type BaselineRow = Readonly<Record<string, number>>;

export interface CorpusPair {
  /** The pair's directory name. */
  name: string;
  category: string;
  /** meta.json content_type, when given. */
  contentType: string | undefined;
  old: Buffer;
  new: Buffer;
  /** This pair's baselines.csv row, when the corpus has one. */
  baselines: BaselineRow | undefined;
}

export class CorpusLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorpusLayoutError';
  }
}

/**
 * Splits CSV text into rows of cells (RFC 4180: quoted cells may hold commas,
 * doubled quotes and line breaks). The corpus CSV has no quoting today; a
 * pair name with a comma would need it.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let at = 0; at < text.length; at++) {
    const char = text[at];
    if (quoted) {
      if (char === '"' && text[at + 1] === '"') {
        cell += '"';
        at++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"' && cell === '') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[at + 1] === '\n') at++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += char;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((cells) => cells.length > 1 || cells[0] !== '');
}

/** baselines.csv by pair name: numeric columns only (the `pair` column names the row). */
export function parseBaselines(text: string): Map<string, BaselineRow> {
  const [header, ...rows] = parseCsv(text);
  if (!header) return new Map();
  const pairColumn = header.indexOf('pair');
  if (pairColumn < 0) throw new CorpusLayoutError('baselines.csv has no "pair" column');
  const byPair = new Map<string, BaselineRow>();
  for (const cells of rows) {
    const values: Record<string, number> = {};
    header.forEach((column, index) => {
      const cell = cells[index]?.trim();
      if (index === pairColumn || cell === undefined || cell === '') return;
      const value = Number(cell);
      if (Number.isFinite(value)) values[column] = value;
    });
    byPair.set(cells[pairColumn], values);
  }
  return byPair;
}

/** The category of a pair directory without meta.json: `NNN-<known category>-...`, else "other". */
export function categoryFromDirectoryName(name: string): string {
  const rest = name.replace(/^[0-9]+-/, '');
  // Longest first, so html-dynamic-synth is not taken for a shorter name.
  const known = [...KNOWN_CATEGORIES].sort((a, b) => b.length - a.length).find((category) => rest.startsWith(`${category}-`) || rest === category);
  return known ?? UNKNOWN_CATEGORY;
}

interface PairMeta {
  category?: unknown;
  content_type?: unknown;
}

function readMeta(dir: string): PairMeta {
  const path = join(dir, 'meta.json');
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PairMeta;
  } catch (error) {
    throw new CorpusLayoutError(`${path}: ${(error as Error).message}`);
  }
}

/** Every pair directory of `corpusDir` (one holding both `old` and `new`), sorted by name. */
export function readCorpus(corpusDir: string): CorpusPair[] {
  if (!existsSync(corpusDir)) throw new CorpusLayoutError(`no corpus at ${corpusDir}`);
  const csvPath = join(corpusDir, 'baselines.csv');
  const baselines = existsSync(csvPath) ? parseBaselines(readFileSync(csvPath, 'utf8')) : new Map<string, BaselineRow>();
  return readdirSync(corpusDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(corpusDir, entry.name, 'old')) && existsSync(join(corpusDir, entry.name, 'new')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const dir = join(corpusDir, name);
      const meta = readMeta(dir);
      const row = baselines.get(name);
      const category = typeof meta.category === 'string' && meta.category ? meta.category : categoryFromDirectoryName(name);
      return {
        name,
        category,
        contentType: typeof meta.content_type === 'string' ? meta.content_type : undefined,
        old: readFileSync(join(dir, 'old')),
        new: readFileSync(join(dir, 'new')),
        baselines: row,
      };
    });
}
