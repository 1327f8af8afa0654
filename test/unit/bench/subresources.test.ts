// bench:load's placeholders for the scripts and stylesheets a corpus page names (scripts/bench-load/subresources.ts).

import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subresourcePaths, writePlaceholders } from '../../../scripts/bench-load/subresources';

describe('subresourcePaths', () => {
  it('same-origin scripts and stylesheets, resolved against the page, without queries; not images, links, or other hosts', () => {
    const html = `<head>
      <link rel="stylesheet" type="text/css" href="../_static/default.css?v=3" />
      <link rel=stylesheet href=print.css>
      <link rel="index" href="../genindex.html" />
      <script src="../../_static/jquery.js"></script>
      <script data-x="1" src='/abs/app.js'></script>
      <script src="https://cdn.example/lib.js"></script>
      <script>inline()</script>
      <img src="logo.png">
    </head>`;
    expect(subresourcePaths(html, '/pages/a/doc.html')).toEqual(['/_static/jquery.js', '/abs/app.js', '/pages/_static/default.css', '/pages/a/print.css']);
  });
});

describe('writePlaceholders', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'crcsync-subresources-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes a placeholder for each missing file, keeps the files that exist, never writes outside the root', () => {
    mkdirSync(join(root, '_static'));
    writeFileSync(join(root, '_static/real.js'), 'real()');
    expect(writePlaceholders(root, ['/_static/real.js', '/_static/new.js', '/x/y.css', '/../../escape.js'])).toEqual(['/_static/new.js', '/x/y.css']);
    expect(readFileSync(join(root, '_static/real.js'), 'utf8')).toBe('real()');
    expect(readFileSync(join(root, '_static/new.js'), 'utf8')).toContain('placeholder');
    expect(existsSync(join(root, '../escape.js'))).toBe(false);
  });
});
