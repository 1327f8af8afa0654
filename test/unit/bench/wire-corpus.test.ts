// The wire bench's corpus reader (scripts/bench-wire/corpus.ts): any folder in
// ../shared/corpus's layout, with or without baselines.csv and meta.json.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorpusLayoutError, categoryFromDirectoryName, parseBaselines, parseCsv, readCorpus } from '../../../scripts/bench-wire/corpus';

describe('parseCsv', () => {
  it('splits rows and cells, with quoted cells holding commas, quotes and line breaks', () => {
    expect(parseCsv('a,b\r\n1,"x, ""y""\nz"\n')).toEqual([
      ['a', 'b'],
      ['1', 'x, "y"\nz'],
    ]);
  });

  it('ignores blank lines and a missing final newline', () => {
    expect(parseCsv('a,b\n\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
});

describe('parseBaselines', () => {
  it('keys rows by pair and keeps numeric cells only', () => {
    const rows = parseBaselines('pair,category,gzip6,dcb\n001-js-min-a,js-min,300,\n002-css-b,css,200,40\n');
    expect(rows.get('001-js-min-a')).toEqual({ gzip6: 300 });
    expect(rows.get('002-css-b')).toEqual({ gzip6: 200, dcb: 40 });
  });

  it('refuses a CSV without a pair column', () => {
    expect(() => parseBaselines('name,gzip6\nx,1\n')).toThrow(CorpusLayoutError);
  });
});

describe('categoryFromDirectoryName', () => {
  it.each([
    ['010-html-dynamic-synth-forum', 'html-dynamic-synth'],
    ['074-html-docs-pgdoc-bookindex.html', 'html-docs'],
    ['001-js-min-jquery-jquery.min.js-3.6.0-to-3.6.1', 'js-min'],
    ['045-json-data-mdn-data-css.json', 'json-data'],
    ['050-text-commander-CHANGELOG.md', 'text'],
    ['my-own-pair', 'other'],
  ])('%s -> %s', (name, category) => {
    expect(categoryFromDirectoryName(name)).toBe(category);
  });
});

describe('readCorpus', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wire-corpus-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function pair(name: string, meta?: object): void {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'old'), 'old body');
    writeFileSync(join(dir, name, 'new'), 'new body!');
    if (meta) writeFileSync(join(dir, name, 'meta.json'), JSON.stringify(meta));
  }

  it('takes the category from meta.json, else the directory name, else "other", and attaches baselines when present', () => {
    pair('002-css-x', { category: 'json-data', content_type: 'text/css' });
    pair('001-js-src-y');
    pair('anything');
    mkdirSync(join(dir, 'LICENSES'));
    writeFileSync(join(dir, 'baselines.csv'), 'pair,dcb,dcz\n001-js-src-y,12,14\n');
    const pairs = readCorpus(dir);
    expect(pairs.map((entry) => [entry.name, entry.category, entry.contentType, entry.baselines])).toEqual([
      ['001-js-src-y', 'js-src', undefined, { dcb: 12, dcz: 14 }],
      ['002-css-x', 'json-data', 'text/css', undefined],
      ['anything', 'other', undefined, undefined],
    ]);
    expect(pairs[0].new.toString()).toBe('new body!');
  });

  it('says which folder is missing', () => {
    expect(() => readCorpus(join(dir, 'nope'))).toThrow(/no corpus at .*nope/);
  });
});
