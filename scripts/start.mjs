// `npm start` (after the build): the reference server's demo site plus
// Firefox with the extension; `npm start -- --browser chromium`: Chromium.
// - With a DISPLAY: `web-ext run` opens Firefox on the demo (Chromium: a
//   fresh profile with the extension loaded unpacked); browse, then Ctrl+C
//   (or closing the browser) stops both.
// - Headless (no DISPLAY, e.g. CI or a server): puppeteer drives the
//   browser, visits the demo twice, prints what crossed the wire on each
//   visit (from the server's access log) and exits. In Chromium it first
//   turns on "accelerate page loads" as a user would in the popup (the
//   test build holds the debugger permission, so no prompt), so the page
//   itself comes as a delta too, not only its fetch() of the feed.
// Both use the test builds (dist/firefox-test, dist/chromium-test), which
// treat 127.0.0.1 as enabled, so the demo works without the permission
// prompt a real site goes through.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const extensionDir = join(root, 'dist/firefox-test');
const chromiumExtensionDir = join(root, 'dist/chromium-test');
const WAIT_MS = 30_000;

/** `--browser firefox` (default) or `--browser chromium`. */
function chosenBrowser(argv) {
  const at = argv.indexOf('--browser');
  const named = at >= 0 ? argv[at + 1] : (argv.find((arg) => arg.startsWith('--browser=')) ?? '').slice('--browser='.length) || 'firefox';
  if (named !== 'firefox' && named !== 'chromium') {
    console.error(`start: --browser wants firefox or chromium, got "${named}"`);
    process.exit(2);
  }
  return named;
}

function findChromium() {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
  } catch {
    console.error('start: Chromium not found. On Debian: sudo apt-get install -y chromium');
    process.exit(1);
  }
}

function findFirefox() {
  try {
    return execFileSync('sh', ['-c', 'command -v firefox-esr || command -v firefox'], { encoding: 'utf8' }).trim();
  } catch {
    console.error('start: Firefox not found. On Debian: sudo apt-get install -y firefox-esr');
    process.exit(1);
  }
}

/** Starts `crcsync serve --demo --port 0`; resolves the URL and the access-log lines as they come. */
function startDemoServer() {
  const server = spawn(process.execPath, [join(root, 'dist/cli.js'), 'serve', '--demo', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  let pending = '';
  server.stderr.setEncoding('utf8').on('data', (text) => {
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop();
    log.push(...lines.filter(Boolean));
  });
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the demo server did not start')), WAIT_MS);
    server.stdout.setEncoding('utf8').on('data', (text) => {
      const match = /crcsync serving (\S+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    server.once('exit', (code) => reject(new Error(`the demo server exited (${code})`)));
  });
  return { server, url, log };
}

/** Sums one visit's access-log lines: bytes sent vs. the full bodies. */
function summarize(lines) {
  let sent = 0;
  let full = 0;
  let deltas = 0;
  let cacheable = 0;
  const encodings = new Set();
  for (const line of lines) {
    const match = / GET (\S+) 200 (\S+) sent=(\d+) full=(\d+)/.exec(line);
    if (!match || match[1].startsWith('/favicon') || match[1].startsWith('/__crcsync_test__/')) continue;
    encodings.add(match[2]);
    sent += Number(match[3]);
    full += Number(match[4]);
    if (match[2] === 'crcsync') deltas++;
    // PROTOCOL.md §6: 200 B .. 4 MiB bodies are kept as bases.
    if (Number(match[4]) >= 200 && Number(match[4]) <= 4 * 1024 * 1024) cacheable++;
  }
  return { sent, full, deltas, cacheable, encodings: [...encodings].join(', ') || '–' };
}

/** Polls `check` until it returns something other than undefined; bounded by WAIT_MS. */
async function waitFor(what, check) {
  const deadline = Date.now() + WAIT_MS;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Opens the extension's popup in a tab (test build trigger; BiDi cannot navigate to moz-extension://) to ask the background. */
async function openControlPage(browser, page) {
  const known = new Set(browser.targets());
  const created = browser.waitForTarget((target) => target.type() === 'page' && !known.has(target), { timeout: WAIT_MS });
  await page.evaluate(() => fetch('/__crcsync_test__/open-popup').catch(() => undefined));
  const control = await (await created).page();
  await control.waitForFunction(() => location.href.startsWith('moz-extension://') && document.body?.dataset.ready === 'true', { timeout: WAIT_MS });
  return control;
}

function ask(control, type, request) {
  return control.evaluate((message) => globalThis.browser.runtime.sendMessage(message), { type, request });
}

async function runHeadless(url, log) {
  const puppeteer = require('puppeteer-core');
  const profileDir = mkdtempSync(join(tmpdir(), 'crcsync-start-'));
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: findFirefox(), headless: true, userDataDir: profileDir });
  try {
    await browser.installExtension(extensionDir);
    const page = await browser.newPage();
    const origin = new URL(url).origin;

    let from = log.length;
    await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
    const first = summarize(log.slice(from));
    // Before the second visit, the first visit's bodies must be stored (the store writes after each body ends).
    const control = await openControlPage(browser, page);
    await waitFor('the first visit stored', async () => {
      const summary = await ask(control, 'getStoreSummary', { settle: true });
      const stored = summary.entries.filter((entry) => entry.urlOrigin === origin).length;
      return stored >= first.cacheable ? stored : undefined;
    });

    from = log.length;
    await page.bringToFront();
    await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
    const secondLines = () => summarize(log.slice(from));
    const tabs = await control.evaluate((prefix) => globalThis.browser.tabs.query({}).then((all) => all.filter((tab) => (tab.url ?? '').startsWith(prefix)).map((tab) => tab.id)), `${origin}/`);
    const verified = await waitFor('the rebuilt bodies verified', async () => {
      const records = (await ask(control, 'getExchanges', { tabId: tabs[0] })).filter((record) => record.ifBlock !== null);
      const settled = records.filter((record) => record.outcome === 'verified' || record.outcome === 'fell-back' || record.outcome === 'failed');
      return settled.length >= secondLines().deltas ? settled : undefined;
    });
    report(first, secondLines(), verified);
  } finally {
    await browser.close().catch(() => undefined);
    rmSync(profileDir, { recursive: true, force: true });
  }
}

async function runWithDisplay(url) {
  const webExt = join(root, 'node_modules/.bin/web-ext');
  const child = spawn(webExt, ['run', '--source-dir', extensionDir, '--firefox', findFirefox(), '--start-url', url], { stdio: 'inherit' });
  await new Promise((resolve) => child.once('exit', resolve));
}

/** The headless report of both browsers: what each visit cost, and how many deltas verified. */
function report(first, second, verified) {
  const saved = first.sent - second.sent;
  const ok = verified.filter((record) => record.outcome === 'verified').length;
  console.log(`first visit:  ${first.sent} bytes sent (${first.encodings})`);
  console.log(`second visit: ${second.sent} bytes sent (${second.encodings})`);
  console.log(`saved:        ${saved} bytes (${((saved / Math.max(first.sent, 1)) * 100).toFixed(1)}%)`);
  console.log(`verified:     ${ok} of ${second.deltas} deltas rebuilt and SHA-1 checked${ok === second.deltas ? '' : ' (the rest fell back to a full fetch)'}`);
  if (second.deltas === 0) throw new Error('the second visit got no delta');
}

async function runChromiumHeadless(url, log) {
  const puppeteer = require('puppeteer-core');
  const profileDir = mkdtempSync(join(tmpdir(), 'crcsync-start-chromium-'));
  // Chromium loads an unpacked extension only over a pipe (../shared/browser-testing.md).
  const browser = await puppeteer.launch({
    browser: 'chrome',
    executablePath: findChromium(),
    headless: true,
    pipe: true,
    enableExtensions: [chromiumExtensionDir],
    userDataDir: profileDir,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check', '--disable-background-networking', '--disable-component-update'],
  });
  try {
    const worker = await browser.waitForTarget((target) => target.type() === 'service_worker' && target.url().startsWith('chrome-extension://'), { timeout: WAIT_MS });
    const extensionId = new URL(worker.url()).host;
    const origin = new URL(url).origin;
    const control = await browser.newPage();
    await control.goto(`chrome-extension://${extensionId}/popup/popup.html?site=${encodeURIComponent(origin)}`, { timeout: WAIT_MS });
    await control.waitForFunction(() => document.body?.dataset.ready === 'true', { timeout: WAIT_MS });
    const askChromium = (type, request) => control.evaluate((message) => chrome.runtime.sendMessage(message), { type, request });
    // What the popup's "Accelerate page loads" switch does (the test build already holds the debugger permission).
    await askChromium('setAcceleratePageLoads', { enabled: true });

    // A tab is attached once it shows an enabled site (attaching as a tab opens would miss its first load,
    // ../shared/chrome-body-rewrite.md): the demo's feed first, so the visits below go through the debugger.
    const page = await browser.newPage();
    await page.goto(`${origin}/feed.json`, { waitUntil: 'load', timeout: WAIT_MS });
    const tabId = await control.evaluate((prefix) => chrome.tabs.query({}).then((all) => all.filter((tab) => (tab.url ?? '').startsWith(prefix)).map((tab) => tab.id)[0]), `${origin}/`);
    await waitFor('the tab attached for page loads', async () =>
      ((await control.evaluate(() => chrome.runtime.sendMessage({ type: 'crcsync-test:attachedTabs' }))).tabIds.includes(tabId) ? true : undefined),
    );

    // Each visit: the page, then its script's fetch() of the feed (the demo polls it every 2 minutes; here at once).
    const fetchFeed = () => page.evaluate(() => fetch('/feed.json', { headers: { accept: 'application/feed+json' } }).then((response) => response.text()));
    let from = log.length;
    await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
    await fetchFeed();
    const first = summarize(log.slice(from));
    // Chromium keeps what it can decode next time: the page (through the debugger) and the feed (through the page-script wrapper).
    await waitFor('the first visit stored', async () => {
      const summary = await askChromium('getStoreSummary', { settle: true });
      const stored = summary.entries.filter((entry) => entry.urlOrigin === origin).length;
      return stored >= 2 ? stored : undefined;
    });

    from = log.length;
    await page.bringToFront();
    await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
    await fetchFeed();
    const secondLines = () => summarize(log.slice(from));
    const verified = await waitFor('the rebuilt bodies verified', async () => {
      const records = (await askChromium('getExchanges', { tabId })).filter((record) => record.ifBlock !== null);
      const settled = records.filter((record) => record.outcome === 'verified' || record.outcome === 'fell-back' || record.outcome === 'failed');
      return settled.length >= secondLines().deltas ? settled : undefined;
    });
    report(first, secondLines(), verified);
  } finally {
    await browser.close().catch(() => undefined);
    rmSync(profileDir, { recursive: true, force: true });
  }
}

async function runChromiumWithDisplay(url) {
  const profileDir = mkdtempSync(join(tmpdir(), 'crcsync-start-chromium-'));
  console.log('Chromium: page loads come as deltas once "Accelerate page loads" is on in the crcsync popup; the page\'s own fetch() always does.');
  const child = spawn(findChromium(), [`--user-data-dir=${profileDir}`, `--load-extension=${chromiumExtensionDir}`, `--disable-extensions-except=${chromiumExtensionDir}`, '--no-first-run', '--no-default-browser-check', url], { stdio: 'inherit' });
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(profileDir, { recursive: true, force: true });
}

const browserName = chosenBrowser(process.argv.slice(2));
const { server, url, log } = startDemoServer();
let exitCode = 0;
try {
  const demoUrl = await url;
  console.log(`demo site: ${demoUrl} (${browserName})`);
  if (browserName === 'chromium') {
    if (process.env.DISPLAY) await runChromiumWithDisplay(demoUrl);
    else await runChromiumHeadless(demoUrl, log);
  } else if (process.env.DISPLAY) await runWithDisplay(demoUrl);
  else await runHeadless(demoUrl, log);
} catch (error) {
  console.error(`start: ${error instanceof Error ? error.message : error}`);
  exitCode = 1;
} finally {
  server.kill('SIGTERM');
}
process.exit(exitCode);
