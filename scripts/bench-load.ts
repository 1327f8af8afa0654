// `npm run bench:load`: does a changed page reach `load` sooner with crcsync
// than with brotli, in a real browser on a slow link? (issue 9, issue 12)
//
// Headless Firefox ESR (or, with --browser chromium, headless Chromium) with
// the extension ("on") and without it ("off", which gets br), the changed
// HTML pages of ../shared/corpus (or --corpus DIR) served by `crcsync serve
// --root`, plus the demo site's front page
// (`crcsync serve --demo`), each through a throttling TCP proxy this process
// runs (scripts/bench-load/throttle-proxy.ts). Per page and condition: visit
// the old version, switch the server to the new one, measure the second
// visit (scripts/bench-load/load-sequence.ts). Medians of --runs loads, the
// conditions interleaved; results as off ÷ on ratios in bench/load.md and
// every run in bench/load.json (Chromium: bench/load-chromium.md and .json).
//
//   --browser firefox|chromium  which browser (default firefox; drivers in
//                            scripts/bench-load/firefox-driver.ts, chromium-driver.ts)
//   --profiles 1m,10m,none   link profiles (LINK_PROFILES)
//   --runs N                 measured loads per page, condition and profile (default 5)
//   --pages TEXT             only pages whose name contains TEXT ("demo" for the demo page)
//   --corpus DIR             another folder laid out like ../shared/corpus
//   --out DIR                where the results go (default bench/)
//   --note TEXT              a paragraph for the top of the markdown
//   --no-floor               skip the "floor" condition (the browser with a do-nothing
//                            extension that hooks requests as crcsync must: what the
//                            hooks alone cost; scripts/bench-load/floor-extension,
//                            chromium-floor-extension)
//   --no-ideal               skip the "ideal" condition (the browser without extension,
//                            its document charged on the link as crcsync's answer of the
//                            same page and run: crcsync's bytes at no cost, measured)
//   --free-document          also the "free" condition: as "ideal", with the document's
//                            body charged nothing on the link (what any encoding of
//                            the document could buy)
//   --warm-assets            the HTTP cache on, pages no-cache and their scripts and
//                            stylesheets cacheable (scripts/bench-load/asset-origin.ts):
//                            a revisit with the assets cached; results in load-warm.*
//
// The "on" browser runs the test build (dist/firefox-test, dist/chromium-test):
// the same code as the release build plus the test hooks, which is what lets
// a script enable 127.0.0.1 without the permission prompt and read the
// exchange log from an extension page.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BROWSER_NAMES, BenchBrowsers, BrowserName, Browsing, LoadDriver } from './bench-load/browser-driver';
import { chromiumDriver } from './bench-load/chromium-driver';
import { firefoxDriver } from './bench-load/firefox-driver';
import { LoadPlan, measureLoad, Site } from './bench-load/load-sequence';
import { BenchPage, corpusPages, demoPageIncluded, publish } from './bench-load/pages';
import { ReferenceServer, startReferenceServer } from './bench-load/reference-server';
import { AssetOrigin, startAssetOrigin } from './bench-load/asset-origin';
import { Condition, LoadSample, pageResult, phaseSummary, ProfileResult, renderMarkdown, RESULT_FILE_STEMS, RunInfo, summarize } from './bench-load/report';
import { LINK_PROFILES, LinkProfile, ResponseCharge, startThrottleProxy, ThrottleProxy } from './bench-load/throttle-proxy';

const ROOT = resolve(__dirname, '..');
const DEFAULT_CORPUS = resolve(ROOT, '../shared/corpus');

interface Options {
  browser: BrowserName;
  profiles: LinkProfile[];
  runs: number;
  filter: string | null;
  corpus: string;
  corpusGiven: boolean;
  out: string;
  note: string | null;
  floor: boolean;
  ideal: boolean;
  free: boolean;
  warmAssets: boolean;
}

function usage(message: string): never {
  process.stderr.write(`bench-load: ${message}\nusage: node dist/bench-load.js [--browser firefox|chromium] [--profiles 1m,10m,none] [--runs N] [--pages TEXT] [--corpus DIR] [--out DIR] [--note TEXT] [--no-floor] [--no-ideal] [--free-document] [--warm-assets]\n`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        browser: { type: 'string', default: 'firefox' },
        profiles: { type: 'string', default: '1m,10m,none' },
        runs: { type: 'string', default: '5' },
        pages: { type: 'string' },
        corpus: { type: 'string' },
        out: { type: 'string' },
        note: { type: 'string' },
        'no-floor': { type: 'boolean', default: false },
        'no-ideal': { type: 'boolean', default: false },
        'free-document': { type: 'boolean', default: false },
        'warm-assets': { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    usage((error as Error).message);
  }
  const profiles = values.profiles!.split(',').map((name) => {
    const profile = LINK_PROFILES[name.trim()];
    if (!profile) usage(`unknown profile "${name}" (known: ${Object.keys(LINK_PROFILES).join(', ')})`);
    return profile;
  });
  const browser = BROWSER_NAMES.find((name) => name === values.browser);
  if (!browser) usage(`unknown browser "${values.browser}" (known: ${BROWSER_NAMES.join(', ')})`);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) usage(`--runs wants a whole number 1..100, got "${values.runs}"`);
  return {
    browser,
    profiles,
    runs,
    filter: values.pages ?? null,
    corpus: values.corpus ? resolve(values.corpus) : DEFAULT_CORPUS,
    corpusGiven: values.corpus !== undefined,
    out: values.out ? resolve(values.out) : join(ROOT, 'bench'),
    note: values.note ?? null,
    floor: !values['no-floor'],
    ideal: !values['no-ideal'],
    free: values['free-document'] === true,
    warmAssets: values['warm-assets'] === true,
  };
}

function progress(message: string): void {
  process.stderr.write(`bench-load: ${message}\n`);
}

/** Things to stop, last started first, whatever happens. */
class Cleanup {
  private readonly steps: (() => Promise<void> | void)[] = [];
  add(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await Promise.resolve(step()).catch((error: unknown) => progress(`cleanup: ${String(error)}`));
  }
}

interface Rig {
  sites: { static: Site | null; demo: Site | null };
  browsers: BenchBrowsers;
}

async function setUp(driver: LoadDriver, pages: BenchPage[], cleanup: Cleanup, withFloor: boolean, warmAssets: boolean): Promise<Rig> {
  const root = mkdtempSync(join(tmpdir(), 'crcsync-bench-load-site-'));
  cleanup.add(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'bench-start.html'), '<!doctype html><title>bench-load</title><p>crcsync bench-load start page</p>\n');

  const corpus = pages.filter((page) => page.kind === 'corpus');
  for (const page of corpus) publish(root, page, 'old');
  const site = async (args: string[]): Promise<Site> => {
    const server: ReferenceServer = await startReferenceServer(ROOT, args);
    cleanup.add(() => server.stop());
    const proxy: ThrottleProxy = await startThrottleProxy({ targetPort: server.port, profile: LINK_PROFILES.none });
    cleanup.add(() => proxy.close());
    return { server, proxy, root };
  };
  // The static server also answers the start page (the extension's control page is opened from it; Chromium's tabs rest on it).
  // --warm-assets: the same folder through an origin that lets browsers cache the assets (asset-origin.ts).
  let origin: AssetOrigin | null = null;
  if (warmAssets) {
    origin = await startAssetOrigin(root);
    cleanup.add(() => origin!.close());
  }
  const staticSite = await site(origin ? ['--upstream', origin.url] : ['--root', root]);
  const demoSite = pages.some((page) => page.kind === 'demo') ? await site(['--demo']) : null;
  progress(`servers: ${staticSite.server.url} (static)${demoSite ? `, ${demoSite.server.url} (demo)` : ''}; proxies ${staticSite.proxy.origin}${demoSite ? `, ${demoSite.proxy.origin}` : ''}`);

  const browsers = await driver.setUp({
    startUrl: `${staticSite.proxy.origin}/bench-start.html`,
    restingUrl: `${staticSite.server.url}/bench-start.html`,
    floor: withFloor,
    httpCache: warmAssets,
    onCleanup: (step) => cleanup.add(step),
  });
  progress(`browsers: ${browsers.version}, with ${relative(ROOT, driver.extensionDir)} and without${browsers.floor && driver.floorExtensionDir ? `, and with ${relative(ROOT, driver.floorExtensionDir)} (floor)` : ''}`);
  return { sites: { static: staticSite, demo: demoSite }, browsers };
}

function siteOf(rig: Rig, page: BenchPage): Site {
  const site = page.kind === 'demo' ? rig.sites.demo : rig.sites.static;
  if (!site) throw new Error(`no server for ${page.name}`);
  return site;
}

/** measureLoad, but a load that fails outright (a timeout, a crashed tab) becomes an excluded sample and the bench goes on. */
async function measureOrReport(browsing: Browsing, plan: LoadPlan): Promise<LoadSample> {
  try {
    return await measureLoad(browsing, plan);
  } catch (error) {
    plan.site.proxy.setProfile(LINK_PROFILES.none);
    await browsing.rest().catch(() => undefined);
    return {
      page: plan.page.name,
      condition: plan.recordAs ?? browsing.condition,
      run: plan.run,
      position: plan.position,
      responseStart: 0,
      domInteractive: 0,
      loadEventEnd: 0,
      bytesDown: 0,
      bytesUp: 0,
      connections: 0,
      documentEncoding: null,
      documentSentBytes: null,
      documentFullBytes: null,
      requests: 0,
      excludedBecause: `the load failed: ${error instanceof Error ? error.message : String(error)}`,
      deltaDeclined: null,
      documentExchange: null,
      verifiedExchanges: [],
    };
  }
}

/** The conditions in the order they are measured for one page and run: each goes first as often as the others. */
function conditionOrder(conditions: readonly Condition[], turn: number): Condition[] {
  const shift = turn % conditions.length;
  return [...conditions.slice(shift), ...conditions.slice(0, shift)];
}

/**
 * What the "ideal" load's document is charged as: the "on" load's document
 * (delta body, If-Block upload) of the same page and run, against the br body
 * "off" got. Null when either is missing (then no ideal load is made).
 */
function idealChargeFor(page: BenchPage, on: LoadSample | undefined, off: LoadSample | undefined): ResponseCharge | null {
  if (!on || !off || on.excludedBecause || off.excludedBecause) return null;
  if (!on.documentSentBytes || !off.documentSentBytes) return null;
  return { path: page.path, bodyCharge: on.documentSentBytes / off.documentSentBytes, extraUpBytes: on.documentExchange?.ifBlockHeaderBytes ?? 0 };
}

async function measureProfile(rig: Rig, pages: BenchPage[], profile: LinkProfile, runs: number, withIdeal: boolean, withFree: boolean): Promise<ProfileResult> {
  const started = Date.now();
  const { on, off, floor } = rig.browsers;
  const conditions: Condition[] = floor ? ['on', 'off', 'floor'] : ['on', 'off'];
  const shown: Condition[] = [...conditions, ...(withIdeal ? (['ideal'] as const) : []), ...(withFree ? (['free'] as const) : [])];
  // "ideal" is the browser without extension, with the document charged as crcsync's (idealChargeFor).
  const browsing = (condition: Condition): Browsing => (condition === 'on' ? on : condition === 'floor' && floor ? floor : off);
  // Warm-up: one sequence per condition on the first page, not counted.
  for (const condition of conditions) {
    const warm = await measureOrReport(browsing(condition), { page: pages[0], site: siteOf(rig, pages[0]), profile, run: -1, position: 0 });
    progress(`[${profile.name}] warm-up ${condition}: ${warm.loadEventEnd.toFixed(0)} ms${warm.excludedBecause ? ` (${warm.excludedBecause})` : ''}`);
  }
  const samples: LoadSample[] = [];
  for (let run = 0; run < runs; run++) {
    for (const [index, page] of pages.entries()) {
      const got: Partial<Record<Condition, LoadSample>> = {};
      for (const [position, condition] of conditionOrder(conditions, run + index).entries()) {
        const sample = await measureOrReport(browsing(condition), { page, site: siteOf(rig, page), profile, run, position });
        samples.push(sample);
        got[condition] = sample;
      }
      // After on and off of this page and run, whose sizes it takes (so it always comes last).
      const charge = withIdeal ? idealChargeFor(page, got.on, got.off) : null;
      if (charge) {
        const sample = await measureOrReport(browsing('ideal'), { page, site: siteOf(rig, page), profile, run, position: conditions.length, charge, recordAs: 'ideal' });
        samples.push(sample);
        got.ideal = sample;
      }
      if (withFree) {
        const free: ResponseCharge = { path: page.path, bodyCharge: 0, extraUpBytes: 0 };
        const sample = await measureOrReport(browsing('free'), { page, site: siteOf(rig, page), profile, run, position: shown.length - 1, charge: free, recordAs: 'free' });
        samples.push(sample);
        got.free = sample;
      }
      const show = (sample: LoadSample | undefined) =>
        sample
          ? `${sample.loadEventEnd.toFixed(0)} ms, ${(sample.bytesDown / 1024).toFixed(1)} KiB${sample.deltaDeclined ? ` [no delta: pass=${sample.deltaDeclined}]` : ''}${sample.excludedBecause ? ` [NOT COUNTED: ${sample.excludedBecause}]` : ''}`
          : '–';
      progress(`[${profile.name}] run ${run + 1}/${runs} ${page.name}: ${shown.map((condition) => `${condition} ${show(got[condition])}`).join(' | ')}`);
    }
  }
  const results = pages.map((page) => pageResult(page.name, page.kind, samples, profile));
  return {
    profile,
    pages: results,
    all: summarize(results),
    corpus: summarize(results.filter((page) => page.kind === 'corpus')),
    phases: phaseSummary(samples),
    samples,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The command as typed, without --note's text (it is printed on its own). */
function commandLine(args: string[]): string {
  const shown = args.filter((arg, index) => arg !== '--note' && args[index - 1] !== '--note' && !arg.startsWith('--note='));
  return `npm run bench:load${shown.length ? ` -- ${shown.map((arg) => (/\s/.test(arg) ? JSON.stringify(arg) : arg)).join(' ')}` : ''}`;
}

function machineLine(): string {
  const list = cpus();
  return `${list.length} × ${list[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${platform()}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const loadAverageBefore = loadavg();
  const driver: LoadDriver = options.browser === 'chromium' ? chromiumDriver(ROOT) : firefoxDriver(ROOT);
  if (!existsSync(join(driver.extensionDir, 'manifest.json')) || !existsSync(join(ROOT, 'dist/cli.js'))) {
    throw new Error('dist/ is not built: run `node scripts/build.mjs` (npm run bench:load does)');
  }

  let corpusNote: string | null = null;
  let pages: BenchPage[] = [];
  if (existsSync(options.corpus)) {
    pages = corpusPages(options.corpus, options.filter);
  } else if (options.corpusGiven) {
    usage(`--corpus ${options.corpus} does not exist`);
  } else {
    corpusNote = `${relative(ROOT, options.corpus)} is absent: only the demo site was measured, so nothing here is comparable with the corpus figures.`;
    progress(corpusNote);
  }
  // With --warm-assets the demo page is left out: its assets are the demo server's, not the cacheable origin's.
  if (demoPageIncluded(options.filter) && !options.warmAssets) pages.push({ kind: 'demo', name: 'demo-front-page', category: 'demo', path: '/' });
  if (!pages.length) usage(`no page matches --pages ${options.filter}`);
  progress(`${pages.length} pages, profiles ${options.profiles.map((profile) => profile.name).join(', ')}, ${options.runs} runs each`);

  const cleanup = new Cleanup();
  const interrupted = () => {
    progress('interrupted: stopping browsers and servers');
    void cleanup.run().then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const results: ProfileResult[] = [];
  let browserVersion: string = options.browser;
  try {
    const rig = await setUp(driver, pages, cleanup, options.floor, options.warmAssets);
    browserVersion = rig.browsers.version;
    for (const profile of options.profiles) {
      progress(`profile ${profile.label}`);
      const result = await measureProfile(rig, pages, profile, options.runs, options.ideal, options.free);
      results.push(result);
      const corpus = result.corpus;
      progress(
        `[${profile.name}] done in ${result.seconds.toFixed(0)} s: corpus load ratio (brotli ÷ crcsync) median ${corpus.medianLoadRatio?.toFixed(2) ?? '–'}×, ahead on ${corpus.pagesAhead} of ${corpus.pages}, worst ${corpus.worstPage ? `${corpus.worstPage.loadRatio.toFixed(2)}× (${corpus.worstPage.page})` : '–'}`,
      );
    }
  } finally {
    await cleanup.run();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }

  const seconds = (Date.now() - started) / 1000;
  const info: RunInfo = {
    date: new Date().toISOString().slice(0, 10),
    command: commandLine(process.argv.slice(2)),
    machine: machineLine(),
    browser: options.browser,
    [options.browser]: browserVersion,
    node: process.version,
    runs: options.runs,
    corpus: corpusNote ? null : relative(ROOT, options.corpus) || options.corpus,
    corpusNote,
    demo: pages.some((page) => page.kind === 'demo'),
    extension: relative(ROOT, driver.extensionDir),
    floor: options.floor,
    ideal: options.ideal,
    free: options.free,
    loadAverageBefore,
    loadAverageAfter: loadavg(),
    seconds,
    note: options.note,
    warmAssets: options.warmAssets,
  };
  mkdirSync(options.out, { recursive: true });
  const markdown = renderMarkdown(info, results, driver.text);
  const stem = `${RESULT_FILE_STEMS[options.browser]}${options.warmAssets ? '-warm' : ''}`;
  writeFileSync(join(options.out, `${stem}.md`), markdown);
  // Each profile names the browser it was measured in, for readers that put several runs side by side (bench:report).
  const profiles = results.map((result) => ({ browser: browserVersion, ...result }));
  writeFileSync(join(options.out, `${stem}.json`), `${JSON.stringify({ info, profiles }, null, 1)}\n`);
  process.stdout.write(markdown);
  progress(`wrote ${relative(process.cwd(), join(options.out, `${stem}.md`))} and ${stem}.json in ${(seconds / 60).toFixed(1)} min`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-load: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
