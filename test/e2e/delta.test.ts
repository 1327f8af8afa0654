// The happy path in real headless Firefox ESR with the test build of the
// extension and the reference server: the first visit stores the bodies, the
// second sends If-Block for each of them (page, stylesheet, script, fetch())
// and the page shows the new version exactly, with fewer bytes on the wire;
// an iframe's document and an XMLHttpRequest are rebuilt the same way; the
// byte counts the extension shows agree with the server's access log.

import type { Page } from 'puppeteer-core';
import { LaunchedFirefox, WAIT_MS, askBackground, launchFirefox, openExtensionPage, tabIdOf, waitFor } from './helpers/firefox';
import { SiteServer, startSiteServer } from './helpers/servers';
import { SiteVersion, expectPageShows, siteVersion, writeSite } from './helpers/site-content';

const SUBRESOURCES = ['/index.html', '/style.css', '/app.js', '/data.json'];

let site: SiteServer;
let firefox: LaunchedFirefox;
let page: Page;
let control: Page;

function visit(version: SiteVersion): Promise<void> {
  return expectPageShows(page, `${site.origin}/index.html`, version, WAIT_MS);
}

function sentBytes(fromIndex: number, path: string): { encoding: string; sent: number } {
  const entry = site.responses.slice(fromIndex).find((response) => response.url === path && response.method === 'GET');
  if (!entry) throw new Error(`no response for ${path}`);
  return { encoding: entry.encoding, sent: entry.sentBytes };
}

beforeAll(async () => {
  site = await startSiteServer();
  firefox = await launchFirefox();
  page = await firefox.browser.newPage();
}, 60_000);

afterAll(async () => {
  await firefox?.close();
  await site?.close();
});

test('first visit stores every cacheable body, sends no If-Block', async () => {
  writeSite(site.write, siteVersion(1));
  await visit(siteVersion(1));
  for (const path of SUBRESOURCES) {
    expect(site.requests.filter((request) => request.path === path).map((request) => request.ifBlock)).toEqual([undefined]);
  }
  control = await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(site.origin)}`);
  const summary = await waitFor('four stored bodies', async () => {
    const current = await askBackground(control, 'getStoreSummary', { settle: true });
    return current.entries.filter((entry) => entry.urlOrigin === site.origin).length >= 4 ? current : undefined;
  });
  expect(summary.entries.every((entry) => entry.topLevelOrigin === site.origin && entry.partition === 'firefox-default')).toBe(true);
});

test('second visit sends If-Block, rebuilds every body exactly, and moves fewer bytes', async () => {
  const before = site.responses.length;
  const requestsBefore = site.requests.length;
  const fullSizes = Object.fromEntries(SUBRESOURCES.map((path) => [path, sentBytes(0, path).sent]));
  const next = siteVersion(2);
  writeSite(site.write, next);
  await page.bringToFront();
  await visit(next);
  for (const path of SUBRESOURCES) {
    const requests = site.requests.slice(requestsBefore).filter((request) => request.path === path);
    expect(requests.length).toBe(1);
    // The v=1 value (PROTOCOL.md §1) with the x=1 offer appended (docs/extensions.md §1.1).
    expect(requests[0].ifBlock).toMatch(/^v=1; fs=\d+; h=[A-Za-z0-9+/]{427}; x=1$/);
    const { encoding, sent } = sentBytes(before, path);
    expect(encoding).toBe('crcsync');
    expect(sent).toBeLessThan(fullSizes[path]);
  }
  const totalDelta = SUBRESOURCES.reduce((sum, path) => sum + sentBytes(before, path).sent, 0);
  const totalFull = SUBRESOURCES.reduce((sum, path) => sum + fullSizes[path], 0);
  expect(totalDelta * 3).toBeLessThan(totalFull);

  const tabId = await tabIdOf(control, site.origin);
  const exchanges = await waitFor('four verified exchanges', async () => {
    const verified = (await askBackground(control, 'getExchanges', { tabId })).filter((record) => record.outcome === 'verified');
    return verified.length >= 4 ? verified : undefined;
  });
  for (const record of exchanges) {
    expect(record.ifBlock).not.toBeNull();
    expect(record.encoding).toBe('crcsync');
    expect(record.wireBytes!).toBeLessThan(record.fullBytes);
  }
});

/** A page with an iframe (its own document) and an XMLHttpRequest, each long enough to be cached (>= 200 B). */
function framesVersion(version: number): { outer: string; inner: string; notes: string; innerText: string } {
  const base = siteVersion(version, ' (frames)');
  const innerText = base.contentText.split('\n').slice(0, 30).join('\n');
  return {
    outer: `<!doctype html><html><head><meta charset="utf-8"><title>frames v${version}</title></head><body>
<iframe id="frame" src="inner.html"></iframe><pre id="xhr"></pre>
<script>
const request = new XMLHttpRequest();
request.open('GET', 'notes.txt');
request.onload = () => { document.getElementById('xhr').textContent = request.responseText; document.body.dataset.xhr = 'yes'; };
request.send();
</script></body></html>
`,
    inner: `<!doctype html><html><head><meta charset="utf-8"><title>inner v${version}</title></head><body><pre id="content">${innerText}</pre></body></html>\n`,
    notes: base.json,
    innerText,
  };
}

async function showFrames(): Promise<{ frame: string | null; xhr: string | null }> {
  await page.goto(`${site.origin}/frames/outer.html`, { waitUntil: 'load', timeout: WAIT_MS });
  await page.waitForFunction(() => document.body.dataset.xhr === 'yes', { timeout: WAIT_MS });
  const shown = await page.evaluate(() => ({
    frame: (document.getElementById('frame') as HTMLIFrameElement).contentDocument?.getElementById('content')?.textContent ?? null,
    xhr: document.getElementById('xhr')!.textContent,
  }));
  return shown;
}

test('an iframe document and an XMLHttpRequest are rebuilt from deltas and show the new content exactly', async () => {
  const first = framesVersion(1);
  site.write('frames/outer.html', first.outer);
  site.write('frames/inner.html', first.inner);
  site.write('frames/notes.txt', first.notes);
  const storedBefore = (await askBackground(control, 'getStoreSummary', { settle: true })).entries.length;
  expect(await showFrames()).toEqual({ frame: first.innerText, xhr: first.notes });
  await waitFor('three more stored bodies', async () => {
    const summary = await askBackground(control, 'getStoreSummary', { settle: true });
    return summary.entries.length >= storedBefore + 3 ? true : undefined;
  });

  const second = framesVersion(2);
  site.write('frames/outer.html', second.outer);
  site.write('frames/inner.html', second.inner);
  site.write('frames/notes.txt', second.notes);
  const before = site.responses.length;
  const requestsBefore = site.requests.length;
  expect(await showFrames()).toEqual({ frame: second.innerText, xhr: second.notes });
  for (const path of ['/frames/inner.html', '/frames/notes.txt']) {
    const requests = site.requests.slice(requestsBefore).filter((request) => request.path === path);
    expect(requests.map((request) => request.ifBlock !== undefined)).toEqual([true]);
    expect(sentBytes(before, path).encoding).toBe('crcsync');
  }
  const tabId = await tabIdOf(control, site.origin);
  const verified = await waitFor('the frame and the XHR verified', async () => {
    const records = (await askBackground(control, 'getExchanges', { tabId })).filter((record) => record.outcome === 'verified' && record.url.includes('/frames/'));
    return records.length >= 3 ? records : undefined;
  });
  expect(new Set(verified.map((record) => record.type))).toEqual(new Set(['main_frame', 'sub_frame', 'xmlhttprequest']));
});

test('the bytes the extension counts agree with what the server sent (access log)', async () => {
  // Firefox's responseSize (headers + body as sent) when it reports one (it reported 0 for the
  // reference server's chunked responses); otherwise the body as sent, which for a delta is exactly
  // what the filter saw. Allowance: one response's headers.
  const HEADER_ALLOWANCE = 700;
  const tabId = await tabIdOf(control, site.origin);
  const records = (await askBackground(control, 'getExchanges', { tabId })).filter(
    (record) => record.outcome === 'verified' && SUBRESOURCES.some((path) => record.url === `${site.origin}${path}`),
  );
  const deltas = site.responses.filter((entry) => SUBRESOURCES.includes(entry.url) && entry.encoding === 'crcsync');
  expect(records.length).toBeGreaterThanOrEqual(4);
  for (const record of records.slice(0, 4)) {
    const logged = deltas.find((entry) => entry.url === record.url.slice(site.origin.length))!;
    // The delta body the filter saw is byte for byte what the server sent.
    expect(record.bodyBytes).toBe(logged.sentBytes);
    expect(record.wireBytes!).toBeGreaterThanOrEqual(logged.sentBytes);
    expect(record.wireBytes! - logged.sentBytes).toBeLessThan(HEADER_ALLOWANCE);
  }
  // The popup's numbers for the site are the sums of those exchanges.
  const savings = (await askBackground(control, 'getPopupState', { origin: site.origin })).site!.savings;
  const all = (await askBackground(control, 'getExchanges', { tabId })).filter((record) => record.ifBlock !== null && record.wireBytes !== null && record.baselineBytes !== null);
  expect(savings.wireBytes).toBe(all.reduce((sum, record) => sum + record.wireBytes!, 0));
  expect(savings.baselineBytes).toBe(all.reduce((sum, record) => sum + record.baselineBytes!, 0));
  expect(savings.baselineBytes).toBeGreaterThan(savings.wireBytes);
});

test("a user's default hooks only documents and fetches: scripts and stylesheets go out untouched", async () => {
  // The test build hooks scripts and stylesheets; a user build does not unless asked (request-scope.ts).
  expect((await askBackground(control, 'setSubresourceDeltas', { enabled: false })).subresourceDeltas).toBe(false);
  try {
    const requestsBefore = site.requests.length;
    const responsesBefore = site.responses.length;
    const next = siteVersion(7, ' (documents only)');
    writeSite(site.write, next);
    await page.bringToFront();
    await visit(next);
    const sent = (path: string) => site.requests.slice(requestsBefore).filter((request) => request.path === path);
    for (const path of ['/style.css', '/app.js']) {
      expect(sent(path).length).toBe(1);
      expect(sent(path)[0].ifBlock).toBeUndefined();
      expect(sentBytes(responsesBefore, path).encoding).not.toBe('crcsync');
    }
    for (const path of ['/index.html', '/data.json']) {
      expect(sent(path)[0].ifBlock).toMatch(/^v=1; /);
      expect(sentBytes(responsesBefore, path).encoding).toBe('crcsync');
    }
  } finally {
    await askBackground(control, 'setSubresourceDeltas', { enabled: true });
  }
});
