// Where the extension's time goes per delta exchange (issue 9, item 2): loads
// the changed HTML pages of the corpus in headless Firefox ESR with the test
// build of the extension, served by the real reference server
// (`node dist/cli.js serve --root DIR` on 127.0.0.1, no throttling): the old
// version first (it becomes the cached base), then the new one (a delta).
// Prints, per page and as medians, the `phases` of each verified document
// exchange (extension/background/exchange-phases.ts) plus the page's own
// Navigation Timing (responseStart, domInteractive, loadEventEnd).
//
//   node scripts/build.mjs --quiet
//   npx esbuild scripts/profile-exchanges.ts --bundle --platform=node --packages=external --outfile=dist/profile/exchanges/run.js
//   node dist/profile/exchanges/run.js [--corpus DIR] [--runs N] [--json FILE] [--pages REGEX] [--no-extension]
//                                      [--compare DIR] [--gecko-profile FILE] [--idle-between MS]
//
// Each page gets a one-line marker script at its top (the same in both
// versions) so the page says when its parser started (firstParse); with the
// extension, pageParseAfterDeliveredMs is the time from the verified body
// written to the filter to the parser seeing it (Firefox's IPC to the
// content process). --no-extension loads the same pages in a Firefox
// without the extension (br from the same server) for comparison.
// --compare DIR loads every page also in a second Firefox with the extension
// built at DIR (e.g. another tree's dist/firefox-test), interleaved with the
// first, for a before/after on a machine whose load changes.
// --idle-between MS waits that long between the two visits, with Firefox's
// event-page idle timeout at half of it: the second visit then wakes a
// suspended background (offerMs holds the wait for init).
// --gecko-profile FILE also runs Firefox's sampling profiler (it slows every
// phase down; read it for where the time goes, not for how much), writes the
// profile to FILE (load it in profiler.firefox.com) and prints what the
// extension's process did during the exchanges (gecko-profile-summary.ts).
//
// (The bundle must sit three directories below the repository: the e2e
// helpers find dist/firefox-test from their own location.)
// Not a benchmark of load times (that is `npm run bench:load`); a profile.

import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer, { Browser, Page } from 'puppeteer-core';
import type { ExchangeRecord } from '../extension/shared/messages';
import { GECKO_PROFILER_ENV, dumpGeckoProfile, summarizeWindows } from './gecko-profile-summary';
import { EXTENSION_DIR, ROOT, WAIT_MS, askBackground, firefoxPath, launchFirefox, openExtensionPage, tabIdOf, waitFor } from '../test/e2e/helpers/firefox';

const CATEGORIES = /^\d+-(html-docs|html-dynamic-synth)-/;

/** Navigation Timing of one load, ms from the navigation start; firstParse: the marker script ran. */
interface PageTiming {
  /** performance.timeOrigin: the navigation start, epoch ms. */
  timeOrigin: number;
  responseStart: number;
  firstParse: number;
  domInteractive: number;
  loadEventEnd: number;
}

interface PageResult {
  pair: string;
  newBytes: number;
  deltaBytes: number | null;
  /** The delta exchange's phases (none without the extension). */
  phases: Record<string, number> | null;
  /** The exchange's startedAt (onBeforeSendHeaders, epoch ms). */
  startedAt: number | null;
  /** The second visit (the new version: a delta with the extension, br without). */
  navigation: PageTiming;
  /** The first visit (the old version: a plain response, kept by the extension). */
  firstNavigation: PageTiming;
}

/**
 * A script that marks when the parser reached the top of the document; the
 * same bytes go in front of the old and the new version, so the delta is
 * the corpus pair's (plus a matching prefix).
 */
const FIRST_PARSE_MARKER = '<script>performance.mark("crcsync-first-parse")</script>\n';

function withMarker(html: Buffer): Buffer {
  const text = html.toString('latin1');
  const doctype = /^\s*<!doctype[^>]*>\s*/i.exec(text);
  const at = doctype ? doctype[0].length : 0;
  return Buffer.concat([html.subarray(0, at), Buffer.from(FIRST_PARSE_MARKER), html.subarray(at)]);
}

function changedPairs(corpus: string, only: RegExp | null): string[] {
  return readdirSync(corpus)
    .filter((name) => CATEGORIES.test(name) && (!only || only.test(name)))
    .filter((name) => !readFileSync(join(corpus, name, 'old')).equals(readFileSync(join(corpus, name, 'new'))))
    .sort();
}

async function startReferenceServer(root: string): Promise<{ origin: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli.js'), 'serve', '--root', root, '--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const origin = await new Promise<string>((resolvePromise, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('the reference server did not start')), WAIT_MS);
    child.stdout!.on('data', (data: Buffer) => {
      text += data.toString();
      const match = /crcsync serving (http:\/\/\S+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1].replace(/\/$/, ''));
      }
    });
    child.once('exit', (code) => reject(new Error(`the reference server exited (${code})`)));
  });
  return { origin, child };
}

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function navigationTiming(page: Page): Promise<PageTiming> {
  await page.waitForFunction(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined)?.loadEventEnd, {
    timeout: WAIT_MS,
  });
  return page.evaluate(() => {
    const entry = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const mark = performance.getEntriesByName('crcsync-first-parse')[0];
    return {
      timeOrigin: performance.timeOrigin,
      responseStart: entry.responseStart,
      firstParse: mark ? mark.startTime : NaN,
      domInteractive: entry.domInteractive,
      loadEventEnd: entry.loadEventEnd,
    };
  });
}

// Whole-millisecond timers (Firefox's default reduceTimerPrecision) would round every phase; the profile wants sub-ms.
const PROFILE_PREFS: Record<string, unknown> = { 'privacy.reduceTimerPrecision': false };

/** --idle-between MS: this long between the two visits, with Firefox suspending an idle event page after half of it. */
let idleBetweenMs = 0;

/** One browser the pages are loaded in: with the test build (or another build of it), or without any extension. */
interface Variant {
  name: string;
  browser: Browser;
  page: Page;
  /** An extension page to ask the background from; null without the extension. */
  control: Page | null;
  close(): Promise<void>;
}

/** Firefox with the extension built at `extensionDir` (another tree's dist/firefox-test), or none; prefs as launchFirefox's. */
async function launchVariant(name: string, extensionDir: string | null, origin: string): Promise<Variant> {
  let browser: Browser;
  let close: () => Promise<void>;
  if (extensionDir === EXTENSION_DIR) {
    const firefox = await launchFirefox({ prefs: PROFILE_PREFS });
    ({ browser, close } = firefox);
  } else {
    const profileDir = mkdtempSync(join(tmpdir(), 'crcsync-profile-browser-'));
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: firefoxPath(),
      headless: true,
      userDataDir: profileDir,
      extraPrefsFirefox: { ...PROFILE_PREFS, 'browser.shell.checkDefaultBrowser': false, 'app.update.enabled': false, 'network.http.speculative-parallel-limit': 0 },
    });
    if (extensionDir) await browser.installExtension(extensionDir);
    close = async () => {
      await browser.close().catch(() => undefined);
      rmSync(profileDir, { recursive: true, force: true });
    };
  }
  const page = await browser.newPage();
  await page.goto(`${origin}/__crcsync_test__/`).catch(() => undefined);
  const control = extensionDir ? await openExtensionPage(browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(origin)}`) : null;
  await page.bringToFront();
  return { name, browser, page, control, close };
}

/** Old version (kept as the base), then the new one (a delta with the extension); null when that was no verified delta. */
async function profilePair(variant: Variant, origin: string, root: string, corpus: string, pair: string, run: number): Promise<PageResult | null> {
  const { page, control } = variant;
  const directory = `${variant.name}-run${run}`;
  const path = `/${directory}/${pair}.html`;
  const stored = control ? (await askBackground(control, 'getStoreSummary', { settle: true })).entries.length : 0;
  mkdirSync(join(root, directory), { recursive: true });
  writeFileSync(join(root, path), withMarker(readFileSync(join(corpus, pair, 'old'))));
  await page.goto(`${origin}${path}`, { waitUntil: 'load', timeout: WAIT_MS });
  const firstNavigation = await navigationTiming(page);
  if (control) {
    await waitFor(`${pair}: the old version stored`, async () => {
      const summary = await askBackground(control, 'getStoreSummary', { settle: true });
      return summary.entries.length > stored || summary.entries.length >= 64 ? true : undefined;
    });
  }
  const newBody = withMarker(readFileSync(join(corpus, pair, 'new')));
  writeFileSync(join(root, path), newBody);
  if (idleBetweenMs) await new Promise((resolve) => setTimeout(resolve, idleBetweenMs));
  await page.goto(`${origin}${path}`, { waitUntil: 'load', timeout: WAIT_MS });
  const navigation = await navigationTiming(page);
  if (!control) {
    console.log(`${variant.name} ${pair.slice(0, 44).padEnd(44)} firstParse=${navigation.firstParse.toFixed(1)} domInteractive=${navigation.domInteractive.toFixed(1)}`);
    return { pair, newBytes: newBody.length, deltaBytes: null, phases: null, startedAt: null, navigation, firstNavigation };
  }
  const tabId = await tabIdOf(control, origin);
  const record = await waitFor<ExchangeRecord>(`${pair}: its exchange`, async () => {
    const records = await askBackground(control, 'getExchanges', { tabId });
    return records.filter((found) => found.url === `${origin}${path}` && found.ifBlock !== null).pop();
  });
  if (record.outcome !== 'verified' || !record.phases) {
    console.log(`${variant.name} ${pair}: not a verified delta (${record.outcome}, encoding ${record.encoding}); skipped`);
    return null;
  }
  // The page's clock and the background's: both epoch-based (timeOrigin + now, Date.now()), same machine clock, about ±1 ms.
  const phases: Record<string, number> = {
    ...record.phases,
    pageParseAfterDeliveredMs: navigation.timeOrigin + navigation.firstParse - (record.startedAt + record.phases.deliveredMs),
  };
  const shown = ['ownMs', 'offerMs', 'headersMs', 'waitNetworkMs', 'firstByteMs', 'baseReadMs', 'baseWaitMs', 'stopGapMs', 'decodeMs', 'verifyMs', 'writeMs', 'deliveredMs'];
  console.log(`${variant.name} ${pair.slice(0, 44).padEnd(44)} ${shown.map((name) => `${name.replace(/Ms$/, '')}=${phases[name]?.toFixed(1)}`).join(' ')}`);
  return { pair, newBytes: newBody.length, deltaBytes: record.bodyBytes, phases, startedAt: record.startedAt, navigation, firstNavigation };
}

function printMedians(variant: string, results: PageResult[], pages: number, runs: number): void {
  const names = [...new Set(results.flatMap((result) => Object.keys(result.phases ?? {})))];
  const what = results.some((result) => result.phases) ? 'verified document exchanges' : 'loads without the extension';
  console.log(`\n${variant}: medians over ${results.length} ${what} (${pages} pages x ${runs} runs, unthrottled):`);
  for (const name of names) console.log(`  ${name.padEnd(26)} ${median(results.map((result) => result.phases![name])).toFixed(2)}`);
  for (const name of ['responseStart', 'firstParse', 'domInteractive', 'loadEventEnd'] as const) {
    const first = median(results.map((result) => result.firstNavigation[name]));
    console.log(`  page ${name.padEnd(21)} ${median(results.map((result) => result.navigation[name])).toFixed(1)} (first visit, plain: ${first.toFixed(1)})`);
  }
}

function printGeckoSummary(geckoProfile: string, results: PageResult[]): void {
  const exchanges = results.filter((result) => result.phases && result.startedAt !== null);
  const whole = exchanges.map((result) => ({ from: result.startedAt! - 1, to: result.startedAt! + result.phases!.deliveredMs + 1 }));
  const tail = exchanges.map((result) => ({ from: result.startedAt! + result.phases!.lastByteMs - 1, to: result.startedAt! + result.phases!.deliveredMs + 1 }));
  for (const [what, windows] of [
    ['request start to delivered', whole],
    ['last delta byte to delivered', tail],
  ] as const) {
    const summary = summarizeWindows(geckoProfile, 'WebExtensions', windows);
    console.log(`\nGecko profiler, the WebExtensions process's main thread, ${what} (${summary.windows} exchanges, ${summary.sampledMs.toFixed(1)} ms sampled):`);
    console.log('  self:');
    for (const { frame, ms } of summary.self) console.log(`    ${ms.toFixed(1).padStart(7)} ms  ${frame}`);
    console.log('  total (on the stack):');
    for (const { frame, ms } of summary.total) console.log(`    ${ms.toFixed(1).padStart(7)} ms  ${frame}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      corpus: { type: 'string' },
      runs: { type: 'string', default: '1' },
      json: { type: 'string' },
      pages: { type: 'string' },
      'no-extension': { type: 'boolean' },
      compare: { type: 'string' },
      'idle-between': { type: 'string' },
      'gecko-profile': { type: 'string' },
    },
  });
  if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error(`no ${join(ROOT, 'dist/cli.js')}: build first, and bundle this script to dist/profile/exchanges/`);
  const corpus = resolve(values.corpus ?? join(ROOT, '../shared/corpus'));
  if (!existsSync(corpus)) {
    console.log(`no corpus at ${corpus}: nothing to profile`);
    return;
  }
  const pairs = changedPairs(corpus, values.pages ? new RegExp(values.pages) : null);
  const runs = Math.max(1, Number(values.runs));
  idleBetweenMs = Number(values['idle-between'] ?? 0);
  if (idleBetweenMs) PROFILE_PREFS['extensions.background.idle.timeout'] = Math.floor(idleBetweenMs / 2);
  const geckoProfile = values['gecko-profile'] ? resolve(values['gecko-profile']) : null;
  if (geckoProfile && values.compare) throw new Error('--gecko-profile profiles one browser: leave out --compare');
  if (geckoProfile) Object.assign(process.env, GECKO_PROFILER_ENV);
  const root = mkdtempSync(join(tmpdir(), 'crcsync-profile-'));
  const server = await startReferenceServer(root);
  const variants: Variant[] = [];
  const results = new Map<string, PageResult[]>();
  try {
    variants.push(await launchVariant(values['no-extension'] ? 'off' : 'this', values['no-extension'] ? null : EXTENSION_DIR, server.origin));
    if (values.compare) variants.push(await launchVariant('other', resolve(values.compare), server.origin));
    for (const variant of variants) results.set(variant.name, []);
    for (let run = 0; run < runs; run++) {
      for (const [index, pair] of pairs.entries()) {
        // Interleaved, the order alternating, so a load spike on the machine hits both alike.
        const order = (run + index) % 2 ? [...variants].reverse() : variants;
        for (const variant of order) {
          const result = await profilePair(variant, server.origin, root, corpus, pair, run);
          if (result) results.get(variant.name)!.push(result);
        }
      }
    }
    if (geckoProfile) await dumpGeckoProfile(variants[0].browser.process()!.pid!, geckoProfile);
  } finally {
    for (const variant of variants) await variant.close();
    server.child.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  }
  for (const [name, found] of results) printMedians(name, found, pairs.length, runs);
  if (geckoProfile) printGeckoSummary(geckoProfile, results.get(variants[0].name)!);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(Object.fromEntries(results), null, 1)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
