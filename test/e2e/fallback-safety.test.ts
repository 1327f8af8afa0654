// The fallback refetch is the page's request again, or nothing (PROTOCOL.md
// §5, §6; shouldOfferIfBlock and refetchRefusal in src/protocol/client-policy.ts):
// (a) cross-site frames, everything inside them, and cross-site
//     subresources (127.0.0.1 vs localhost: two sites) carry no If-Block and
//     still show the right content; same-site ones do carry it;
// (b) an enabled site that breaks its delta and answers the refetch with a
//     302 to another site's logged-in page: the page's fetch() never sees it;
// (c) a refetch answered 404 / 500, or labelled crcsync: that body is never
//     written under the 200 the page already has; a navigation left empty is
//     reloaded once, without If-Block, and shows the page;
// (d) a fetch() with credentials: 'omit' whose delta fails: the refetch
//     carries no cookie either (seen at the server); one with cookies does;
// and a decompression bomb (PROTOCOL.md §5) is refused early, and held.

import type { Page } from 'puppeteer-core';
import { LaunchedFirefox, WAIT_MS, askBackground, launchFirefox, openExtensionPage, tabIdOf, waitFor } from './helpers/firefox';
import { DamagingProxy, SeenRequest, SiteServer, VictimServer, startDamagingProxy, startSiteServer, startVictimServer } from './helpers/servers';

let site: SiteServer; // 127.0.0.1: the top-level site of (a)
let crossSite: SiteServer; // localhost: another site, a crcsync server too (enabled in the test build)
let proxy: DamagingProxy; // 127.0.0.1: the enabled site that breaks its deltas, (b) (c) (d)
let victim: VictimServer; // localhost: a site with a login
let firefox: LaunchedFirefox;
let page: Page;
let control: Page;

/** Text over 200 bytes (a cacheable body, §6) that differs by version in one line. */
function filler(label: string, version: number): string {
  const lines = Array.from({ length: 30 }, (_, i) => `${label} line ${i}: ${'lorem ipsum dolor sit amet '.repeat(2)}${i === 15 ? `changed in version ${version}` : ''}`);
  return lines.join('\n');
}

async function storedCount(origin: string): Promise<number> {
  const summary = await askBackground(control, 'getStoreSummary', { settle: true });
  return summary.entries.filter((entry) => entry.urlOrigin === origin).length;
}

async function waitStored(origin: string, atLeast: number): Promise<void> {
  await waitFor(`${atLeast} bodies stored from ${origin}`, async () => ((await storedCount(origin)) >= atLeast ? true : undefined));
}

function requestsTo(server: { requests: SeenRequest[] }, from: number, path: string): SeenRequest[] {
  return server.requests.slice(from).filter((request) => request.path === path);
}

/** The first exchange of `url` that matches, in the tab showing a page of `tabOrigin` (default: the URL's own). */
async function exchangeFor(url: string, match: (record: Awaited<ReturnType<typeof recordsOf>>[number]) => boolean, tabOrigin = originOfUrl(url)) {
  const tabId = await tabIdOf(control, tabOrigin);
  return waitFor(`the exchange of ${url}`, async () => (await recordsOf(tabId)).find((record) => record.url === url && match(record)));
}

function recordsOf(tabId: number) {
  return askBackground(control, 'getExchanges', { tabId });
}

function originOfUrl(url: string): string {
  return new URL(url).origin;
}

beforeAll(async () => {
  [site, crossSite, victim] = await Promise.all([startSiteServer(), startSiteServer({ host: 'localhost', cors: true }), startVictimServer()]);
  proxy = await startDamagingProxy(site.origin);
  firefox = await launchFirefox();
  page = await firefox.browser.newPage();
  site.write('start.html', `<!doctype html><p>start</p>`);
  await page.goto(`${site.origin}/start.html`, { waitUntil: 'load', timeout: WAIT_MS });
  control = await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(site.origin)}`);
}, 60_000);

afterAll(async () => {
  await firefox?.close();
  await Promise.all([proxy?.close(), site?.close(), crossSite?.close(), victim?.close()]);
});

describe('(a) If-Block only same-site with the top-level document', () => {
  function writeVersion(version: number): void {
    const color = version % 2 ? 'rgb(0, 0, 255)' : 'rgb(0, 128, 0)';
    const crossColor = version % 2 ? 'rgb(255, 0, 0)' : 'rgb(128, 0, 128)';
    site.write(
      'a/index.html',
      `<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="style.css">
<link rel="stylesheet" href="${crossSite.origin}/a/cross.css">
<script src="${crossSite.origin}/a/cross.js"></script></head>
<body><pre id="content">${filler('page', version)}</pre><p id="crosscss">styled from another site</p><pre id="json"></pre>
<iframe id="frame" src="${crossSite.origin}/a/frame.html"></iframe>
<script>
const frameLoaded = new Promise((resolve) => document.getElementById('frame').addEventListener('load', resolve));
fetch('${crossSite.origin}/a/data.json').then((r) => r.text()).then(async (text) => {
  document.getElementById('json').textContent = text;
  await frameLoaded;
  document.body.dataset.loaded = 'yes';
});
</script></body></html>
`,
    );
    site.write('a/style.css', `#content { color: ${color}; }\n/* ${filler('style', version)} */\n`);
    // Loaded by the cross-site frame from the top-level site (A in B in A): third-party too.
    site.write('a/aba.js', `document.body.dataset.aba = 'v${version}';\n/* ${filler('aba', version)} */\n`);
    crossSite.write('a/cross.css', `#crosscss { color: ${crossColor}; }\n/* ${filler('cross css', version)} */\n`);
    crossSite.write('a/cross.js', `window.crossVersion = 'v${version}';\n/* ${filler('cross js', version)} */\n`);
    crossSite.write('a/frame.html', `<!doctype html><pre id="frame-content">${filler('frame', version)}</pre><script src="${site.origin}/a/aba.js"></script>\n`);
    crossSite.write('a/data.json', `${JSON.stringify({ version, text: filler('json', version) })}\n`);
  }

  async function visitAndCheck(version: number): Promise<void> {
    await page.goto(`${site.origin}/a/index.html`, { waitUntil: 'load', timeout: WAIT_MS });
    await page.waitForFunction(() => document.body.dataset.loaded === 'yes', { timeout: WAIT_MS });
    const shown = await page.evaluate(() => ({
      content: document.getElementById('content')!.textContent,
      color: getComputedStyle(document.getElementById('content')!).color,
      crossColor: getComputedStyle(document.getElementById('crosscss')!).color,
      crossVersion: (window as unknown as { crossVersion?: string }).crossVersion,
      json: document.getElementById('json')!.textContent,
    }));
    expect(shown.content).toBe(filler('page', version));
    expect(shown.color).toBe(version % 2 ? 'rgb(0, 0, 255)' : 'rgb(0, 128, 0)');
    expect(shown.crossColor).toBe(version % 2 ? 'rgb(255, 0, 0)' : 'rgb(128, 0, 128)');
    expect(shown.crossVersion).toBe(`v${version}`);
    expect(JSON.parse(shown.json ?? '')).toEqual({ version, text: filler('json', version) });
    const frame = page.frames().find((candidate) => candidate.url().startsWith(`${crossSite.origin}/a/frame.html`));
    if (!frame) throw new Error('the cross-site frame is missing');
    const inFrame = await waitFor('the frame and its script', () =>
      frame.evaluate(() => (document.body?.dataset.aba ? { text: document.getElementById('frame-content')!.textContent, aba: document.body.dataset.aba } : undefined)),
    );
    expect(inFrame).toEqual({ text: filler('frame', version), aba: `v${version}` });
  }

  test('cross-site frames and subresources go without If-Block, are never kept, and show the right content; same-site ones get deltas', async () => {
    writeVersion(1);
    await visitAndCheck(1);
    await waitStored(site.origin, 2); // a/index.html and a/style.css
    const siteBefore = site.requests.length;
    const crossBefore = crossSite.requests.length;
    writeVersion(2);
    await visitAndCheck(2);

    // Same-site with the top-level document: If-Block (the positive control).
    for (const path of ['/a/index.html', '/a/style.css']) {
      expect(requestsTo(site, siteBefore, path).map((request) => request.ifBlock !== undefined)).toEqual([true]);
    }
    // Everything of the other site, and the top site's own script inside the cross-site frame: none.
    const crossPaths = ['/a/cross.css', '/a/cross.js', '/a/frame.html', '/a/data.json'];
    for (const path of crossPaths) expect(requestsTo(crossSite, crossBefore, path).map((request) => request.ifBlock)).toEqual([undefined]);
    expect(requestsTo(site, siteBefore, '/a/aba.js').map((request) => request.ifBlock)).toEqual([undefined]);

    // Third-party bodies are never kept as bases: no fallback could be done for them.
    expect(await storedCount(crossSite.origin)).toBe(0);
    const summary = await askBackground(control, 'getStoreSummary', { settle: true });
    expect(summary.entries.filter((entry) => entry.urlOrigin === site.origin).length).toBe(2); // a/index.html, a/style.css
    // The exchange log says why.
    const record = await exchangeFor(`${crossSite.origin}/a/cross.js`, () => true, site.origin);
    expect(record.ifBlock).toBeNull();
    expect(record.ifBlockWithheld).toBe('third-party');
    const verified = await exchangeFor(`${site.origin}/a/index.html`, (candidate) => candidate.outcome === 'verified');
    expect(verified.ifBlockWithheld).toBeNull();
  });
});

describe('(b)-(d) a broken delta on an enabled site: the refetch is the same request, or nothing', () => {
  const pageUrl = () => `${proxy.origin}/p/page.html`;

  beforeAll(async () => {
    site.write('p/page.html', `<!doctype html><p>${filler('hostile page', 1)}</p>`);
    proxy.mode = 'none';
    await page.goto(pageUrl(), { waitUntil: 'load', timeout: WAIT_MS });
  });

  /** First fetch stores the body; the second meets a broken delta. Returns the second fetch's status and text. */
  async function fetchTwice(path: string, init: RequestInit, broken: () => void): Promise<{ status: number; text: string; from: number }> {
    site.write(path.slice(1), `${JSON.stringify({ path, text: filler(path, 1) })}\n`);
    proxy.mode = 'none';
    const before = await storedCount(proxy.origin);
    const first = await page.evaluate((url, options) => fetch(url, options).then((response) => response.text()), path, init as Record<string, unknown>);
    expect(JSON.parse(first)).toEqual({ path, text: filler(path, 1) });
    await waitStored(proxy.origin, before + 1);
    site.write(path.slice(1), `${JSON.stringify({ path, text: filler(path, 2) })}\n`);
    broken();
    const from = proxy.requests.length;
    const second = await page.evaluate(
      (url, options) => fetch(url, options).then(async (response) => ({ status: response.status, text: await response.text() })),
      path,
      init as Record<string, unknown>,
    );
    proxy.mode = 'none';
    return { ...second, from };
  }

  test('(b) a refetch redirected to another site\'s logged-in page: the page never sees that page', async () => {
    await page.goto(`${victim.origin}/login`, { waitUntil: 'load', timeout: WAIT_MS });
    await page.goto(pageUrl(), { waitUntil: 'load', timeout: WAIT_MS });
    const result = await fetchTwice('/p/redirected.json', {}, () => {
      proxy.mode = 'corrupt';
      proxy.plainAnswers = [{ status: 302, location: `${victim.origin}/account` }];
    });
    expect(result.text).not.toContain('VICTIM');
    expect(result.text).not.toContain(victim.secret);
    expect(result.text).toBe(''); // nothing: never another URL's bytes, never an unverified byte
    expect(victim.requests.filter((request) => request.path === '/account')).toEqual([]); // the redirect was not even followed
    expect(requestsTo(proxy, result.from, '/p/redirected.json').map((request) => request.ifBlock !== undefined)).toEqual([true, false]);
    const record = await exchangeFor(`${proxy.origin}/p/redirected.json`, (candidate) => candidate.outcome === 'failed');
    expect(record.reason).toMatch(/^DELTA_[A-Z_]+; REFETCH_REDIRECTED$/);
    expect(record.fullBytes).toBe(0);
  });

  test.each([
    [404, 'NOT-FOUND-PAGE of the hostile site'],
    [500, 'SERVER-ERROR-PAGE of the hostile site'],
  ] as const)('(c) a refetch answered %d: its body is not written under the 200', async (status, body) => {
    const path = `/p/status-${status}.json`;
    const result = await fetchTwice(path, {}, () => {
      proxy.mode = 'corrupt';
      proxy.plainAnswers = [{ status, body }];
    });
    expect(result.status).toBe(200); // the headers the page got before the delta failed
    expect(result.text).not.toContain(body);
    expect(result.text).toBe('');
    const record = await exchangeFor(`${proxy.origin}${path}`, (candidate) => candidate.outcome === 'failed');
    expect(record.reason).toMatch(new RegExp(`^DELTA_[A-Z_]+; REFETCH_STATUS ${status}$`));
    // The URL is held: its next request goes without If-Block and gets the page as it is.
    const from = proxy.requests.length;
    const next = await page.evaluate((url) => fetch(url).then((response) => response.text()), path);
    expect(JSON.parse(next)).toEqual({ path, text: filler(path, 2) });
    expect(requestsTo(proxy, from, path).map((request) => request.ifBlock)).toEqual([undefined]);
  });

  test('(c) a refetch labelled crcsync (no If-Block went out, so nobody can verify it): never written raw', async () => {
    const path = '/p/encoded.json';
    const result = await fetchTwice(path, {}, () => {
      proxy.mode = 'corrupt';
      proxy.plainAnswers = [{ status: 200, body: 'RAW-UNVERIFIED-DELTA-BYTES', contentEncoding: 'crcsync' }];
    });
    expect(result.text).not.toContain('RAW-UNVERIFIED');
    expect(result.text).toBe('');
    const record = await exchangeFor(`${proxy.origin}${path}`, (candidate) => candidate.outcome === 'failed');
    // Cancelled at its headers by the background (REFETCH_NETWORK to fetch), or refused by fetch's own check.
    expect(record.reason).toMatch(/^DELTA_[A-Z_]+; REFETCH_(NETWORK|ENCODED)$/);
  });

  test('(c) a navigation whose refetch fails is reloaded once, without If-Block, and shows the page', async () => {
    const path = '/p/navigation.html';
    const html = (version: number) => `<!doctype html><pre id="content">${filler('navigation', version)}</pre>`;
    site.write(path.slice(1), html(1));
    const before = await storedCount(proxy.origin);
    await page.goto(`${proxy.origin}${path}`, { waitUntil: 'load', timeout: WAIT_MS });
    await waitStored(proxy.origin, before + 1);
    site.write(path.slice(1), html(2));
    proxy.mode = 'corrupt';
    proxy.plainAnswers = [{ status: 404, body: 'NOT-FOUND-PAGE for the navigation' }];
    const from = proxy.requests.length;
    await page.goto(`${proxy.origin}${path}`, { waitUntil: 'load', timeout: WAIT_MS }).catch(() => undefined);
    const shown = await waitFor('the reloaded page', () =>
      page.evaluate(() => document.getElementById('content')?.textContent ?? undefined).catch(() => undefined),
    );
    proxy.mode = 'none';
    expect(shown).toBe(filler('navigation', 2));
    // The delta (broken), the refetch (404, not written), the reload (no If-Block).
    expect(requestsTo(proxy, from, path).map((request) => request.ifBlock !== undefined)).toEqual([true, false, false]);
    const failed = await exchangeFor(`${proxy.origin}${path}`, (candidate) => candidate.outcome === 'failed');
    expect(failed.reason).toMatch(/^DELTA_[A-Z_]+; REFETCH_STATUS 404$/);
    const reloaded = await exchangeFor(`${proxy.origin}${path}`, (candidate) => candidate.startedAt > failed.startedAt);
    expect(reloaded.ifBlock).toBeNull();
    expect(reloaded.ifBlockWithheld).toMatch(/^held: the last load with If-Block failed \(DELTA_[A-Z_]+; REFETCH_STATUS 404\)$/);
  });

  test('a decompression bomb (right digest): refused after little work, the page gets the real body, the next load sends no If-Block', async () => {
    const path = '/p/bomb.json';
    const result = await fetchTwice(path, {}, () => (proxy.mode = 'bomb'));
    expect(JSON.parse(result.text)).toEqual({ path, text: filler(path, 2) });
    expect(requestsTo(proxy, result.from, path).map((request) => request.ifBlock !== undefined)).toEqual([true, false]);
    const record = await exchangeFor(`${proxy.origin}${path}`, (candidate) => candidate.outcome === 'fell-back');
    expect(record.reason).toBe('DELTA_INFLATE_RATIO');
    // The bomb would go off again against the refetched base: the URL is held.
    const from = proxy.requests.length;
    expect(JSON.parse(await page.evaluate((url) => fetch(url).then((response) => response.text()), path))).toEqual({ path, text: filler(path, 2) });
    expect(requestsTo(proxy, from, path).map((request) => request.ifBlock)).toEqual([undefined]);
    const next = await exchangeFor(`${proxy.origin}${path}`, (candidate) => candidate.startedAt > record.startedAt);
    expect(next.ifBlockWithheld).toBe('held: the last load with If-Block failed (DELTA_INFLATE_RATIO)');
  });

  test('(d) a credential-less fetch: the refetch carries no cookie; a fetch with cookies: the refetch carries them', async () => {
    await page.evaluate(() => {
      document.cookie = 'site_session=s1te; path=/';
    });
    const omitted = await fetchTwice('/p/omit.json', { credentials: 'omit' }, () => (proxy.mode = 'corrupt'));
    expect(JSON.parse(omitted.text)).toEqual({ path: '/p/omit.json', text: filler('/p/omit.json', 2) });
    const omittedRequests = requestsTo(proxy, omitted.from, '/p/omit.json');
    expect(omittedRequests.map((request) => [request.ifBlock !== undefined, request.cookie])).toEqual([
      [true, undefined],
      [false, undefined],
    ]);

    const credentialed = await fetchTwice('/p/cookie.json', {}, () => (proxy.mode = 'corrupt'));
    expect(JSON.parse(credentialed.text)).toEqual({ path: '/p/cookie.json', text: filler('/p/cookie.json', 2) });
    expect(requestsTo(proxy, credentialed.from, '/p/cookie.json').map((request) => [request.ifBlock !== undefined, request.cookie])).toEqual([
      [true, 'site_session=s1te'],
      [false, 'site_session=s1te'],
    ]);
  });
});
