// `npm start` (after the build): the reference server's demo site plus
// Firefox with the extension.
// - With a DISPLAY: `web-ext run` opens Firefox on the demo; browse, then
//   Ctrl+C stops both.
// - Headless (no DISPLAY, e.g. CI or a server): puppeteer drives Firefox
//   ESR, visits the demo twice, prints what crossed the wire on each visit
//   (from the server's access log) and exits.
// Both use dist/firefox-test: the build that treats 127.0.0.1 as enabled, so
// the demo works without the permission prompt a real site goes through.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const extensionDir = join(root, 'dist/firefox-test');
const WAIT_MS = 30_000;

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
  const encodings = new Set();
  for (const line of lines) {
    const match = / GET (\S+) 200 (\S+) sent=(\d+) full=(\d+)/.exec(line);
    if (!match || match[1].startsWith('/favicon')) continue;
    encodings.add(match[2]);
    sent += Number(match[3]);
    full += Number(match[4]);
  }
  return { sent, full, encodings: [...encodings].join(', ') || '–' };
}

async function runHeadless(url, log) {
  const puppeteer = require('puppeteer-core');
  const profileDir = mkdtempSync(join(tmpdir(), 'crcsync-start-'));
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: findFirefox(), headless: true, userDataDir: profileDir });
  try {
    await browser.installExtension(extensionDir);
    const page = await browser.newPage();
    const visits = [];
    for (const name of ['first visit', 'second visit']) {
      const from = log.length;
      await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
      // The extension stores bodies after they complete; give the writes a moment to commit.
      await page.waitForNetworkIdle({ idleTime: 500, timeout: WAIT_MS }).catch(() => undefined);
      visits.push({ name, ...summarize(log.slice(from)) });
    }
    for (const visit of visits) {
      console.log(`${visit.name.padEnd(13)} ${String(visit.sent).padStart(8)} bytes sent for ${String(visit.full).padStart(8)} bytes of content (${visit.encodings})`);
    }
    const [first, second] = visits;
    const saved = first.sent - second.sent;
    console.log(`crcsync saved ${saved} bytes on the second visit (${((saved / Math.max(first.sent, 1)) * 100).toFixed(1)}% of the first visit's ${first.sent} bytes).`);
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

const { server, url, log } = startDemoServer();
let exitCode = 0;
try {
  const demoUrl = await url;
  console.log(`demo site: ${demoUrl}`);
  if (process.env.DISPLAY) await runWithDisplay(demoUrl);
  else await runHeadless(demoUrl, log);
} catch (error) {
  console.error(`start: ${error instanceof Error ? error.message : error}`);
  exitCode = 1;
} finally {
  server.kill('SIGTERM');
}
process.exit(exitCode);
