// What the extension's mere presence costs a page load (issue 9, item 2):
// the same pages loaded, interleaved, in Firefox without extensions and in
// Firefox with each of several extensions given on the command line (e.g.
// dist/firefox-test, or cut-down builds that keep one mechanism each: only
// blocking webRequest listeners, only a pass-through StreamFilter...). Every
// visit alternates the page's old and new version, so an extension that
// keeps bases gets a changed page each time. Prints per page and browser the
// median responseStart / domInteractive / loadEventEnd, and their difference
// from the browser without extensions. An ablation, not a benchmark.
//
//   node scripts/build.mjs --quiet
//   npx esbuild scripts/profile-presence.ts --bundle --platform=node --packages=external --outfile=dist/profile/presence/run.js
//   node dist/profile/presence/run.js --runs 15 --pages 078,074,073 [--profile none|10m|1m] NAME=DIR ...

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchFirefox, blank, launchBenchFirefox, visit, NavigationTiming } from '../bench-load/firefox-driver';
import { corpusPages, publish } from '../bench-load/pages';
import { startReferenceServer } from '../bench-load/reference-server';
import { LINK_PROFILES, startThrottleProxy } from '../bench-load/throttle-proxy';

const ROOT = resolve(__dirname, '../../..');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { runs: { type: 'string', default: '15' }, pages: { type: 'string', default: '078' }, profile: { type: 'string', default: 'none' } },
  });
  const runs = Number(values.runs);
  const filters = values.pages!.split(',');
  const pages = corpusPages(resolve(ROOT, '../shared/corpus'), null).filter((page) => filters.some((filter) => page.name.startsWith(filter)));
  const root = mkdtempSync(join(tmpdir(), 'crcsync-presence-'));
  const server = await startReferenceServer(ROOT, ['--root', root]);
  const proxy = await startThrottleProxy({ targetPort: server.port, profile: LINK_PROFILES[values.profile!] });
  const browsers: { name: string; firefox: BenchFirefox }[] = [{ name: 'none', firefox: await launchBenchFirefox(null) }];
  for (const spec of positionals) {
    const [name, dir] = spec.split('=');
    browsers.push({ name, firefox: await launchBenchFirefox(resolve(dir)) });
  }
  const tabs = await Promise.all(browsers.map(async ({ firefox }) => firefox.browser.newPage()));
  type Timing = NavigationTiming & { firstSubresourceStart: number; lastSubresourceEnd: number; subresources: number };
  const samples = new Map<string, Timing[]>();
  try {
    for (let run = -1; run < runs; run++) {
      for (const page of pages) {
        publish(root, page, run % 2 === 0 ? 'new' : 'old');
        const order = browsers.map((_, index) => index);
        if (run % 2) order.reverse();
        for (const index of order) {
          proxy.closeConnections();
          const url = `${proxy.origin}${page.path}`;
          const navigation = await visit(tabs[index], url);
          const resources = await tabs[index].evaluate(() =>
            performance.getEntriesByType('resource').map((entry) => [entry.startTime, (entry as PerformanceResourceTiming).responseEnd] as [number, number]),
          );
          // The first subresource's start (when the parser or preload scanner first asked) and the last one's end.
          const timing = {
            ...navigation,
            firstSubresourceStart: resources.length ? Math.min(...resources.map(([start]) => start)) : 0,
            lastSubresourceEnd: resources.length ? Math.max(...resources.map(([, end]) => end)) : 0,
            subresources: resources.length,
          };
          await blank(tabs[index]);
          await new Promise((done) => setTimeout(done, 150)); // let a base write settle outside the next load
          if (run < 0) continue;
          const key = `${page.name.slice(0, 3)} ${browsers[index].name}`;
          samples.set(key, [...(samples.get(key) ?? []), timing]);
        }
      }
      process.stderr.write(`run ${run + 1}/${runs}\n`);
    }
  } finally {
    await Promise.all(browsers.map(({ firefox }) => firefox.close()));
    await proxy.close();
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`profile ${values.profile}, ${runs} loads each; ms, median (difference from no extension)`);
  console.log('page browser        responseStart  domInteractive  loadEventEnd  1st subresource start  last subresource end  subresources');
  for (const page of pages) {
    const base = samples.get(`${page.name.slice(0, 3)} none`)!;
    const of = (list: Timing[], field: keyof Timing) => median(list.map((timing) => timing[field]));
    for (const { name } of browsers) {
      const list = samples.get(`${page.name.slice(0, 3)} ${name}`)!;
      const cell = (field: keyof Timing) => `${of(list, field).toFixed(0).padStart(5)} (${(of(list, field) - of(base, field)).toFixed(0).padStart(4)})`;
      console.log(`${page.name.slice(0, 3)}  ${name.padEnd(12)} ${cell('responseStart')}   ${cell('domInteractive')}   ${cell('loadEventEnd')}   ${cell('firstSubresourceStart')}   ${cell('lastSubresourceEnd')}   ${of(list, 'subresources')}`);
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
