// bench:load --warm-assets: the origin that lets browsers cache a page's assets but never the page (scripts/bench-load/asset-origin.ts).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { join } from 'node:path';
import { startAssetOrigin } from '../../../scripts/bench-load/asset-origin';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'crcsync-asset-origin-'));
  mkdirSync(join(root, 'pages'));
  mkdirSync(join(root, '_static'));
  writeFileSync(join(root, 'pages/a.html'), '<!doctype html><p>a</p>');
  writeFileSync(join(root, '_static/app.js'), 'app()');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('pages are no-cache without a validator, assets cacheable for a day, anything else 404 no-store, nothing outside the root', async () => {
  writeFileSync(join(root, '../outside-asset-origin.js'), 'secret');
  const origin = await startAssetOrigin(root);
  try {
    const page = await fetch(`${origin.url}/pages/a.html`);
    expect([page.status, page.headers.get('cache-control'), page.headers.get('content-type'), page.headers.get('etag'), page.headers.get('last-modified'), await page.text()]).toEqual([
      200,
      'no-cache',
      'text/html; charset=utf-8',
      null,
      null,
      '<!doctype html><p>a</p>',
    ]);
    const script = await fetch(`${origin.url}/_static/app.js`);
    expect([script.status, script.headers.get('cache-control'), script.headers.get('content-type'), await script.text()]).toEqual([200, 'public, max-age=86400', 'text/javascript; charset=utf-8', 'app()']);
    const missing = await fetch(`${origin.url}/_static/none.js`);
    expect([missing.status, missing.headers.get('cache-control')]).toEqual([404, 'no-store']);
    // A raw request line (fetch would normalise the dots away).
    const escape = await new Promise<number>((resolve, reject) => {
      const request = http.request(`${origin.url}/`, { path: '/../outside-asset-origin.js' }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
    expect(escape).toBe(404);
  } finally {
    await origin.close();
    rmSync(join(root, '../outside-asset-origin.js'), { force: true });
  }
});
