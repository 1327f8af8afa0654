// Firefox's own sampling profiler, for scripts/profile-exchanges.ts. Started
// with MOZ_PROFILER_STARTUP in the browser's environment; SIGUSR2 to the
// parent process stops it and writes the whole profile (every process) to
// ~/Downloads/profile_<n>_<pid>.json (Firefox's async signal control, seen on
// Firefox ESR 153; headless has no about:profiling and MOZ_PROFILER_SHUTDOWN
// needs a clean shutdown, which puppeteer does not give).
//
// summarizeWindows() reads the raw ("gecko") profile format: per thread a
// samples table (stack, time relative to the process's meta.startTime), a
// stack table (prefix, frame), a frame table (location string index) and a
// string table. It counts, inside the given time windows, the samples of
// one process's main thread by their leaf frame (self) and by every frame
// on the stack (total).

import { existsSync, readFileSync, readdirSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The environment that makes Firefox profile from its start: JS frames, main threads, fine sampling. */
export const GECKO_PROFILER_ENV = {
  MOZ_PROFILER_STARTUP: '1',
  MOZ_PROFILER_STARTUP_INTERVAL: '0.5',
  MOZ_PROFILER_STARTUP_FEATURES: 'js,cpu,ipcmessages',
  MOZ_PROFILER_STARTUP_FILTERS: 'GeckoMain',
};

/** Asks the Firefox parent `pid` for its profile and moves the file to `target` once Firefox has finished writing it. */
export async function dumpGeckoProfile(pid: number, target: string, timeoutMs = 120_000): Promise<void> {
  const directory = join(homedir(), 'Downloads');
  const pattern = new RegExp(`^profile_\\d+_${pid}\\.json$`);
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  let lastSize = -1;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const name = existsSync(directory) ? readdirSync(directory).find((entry) => pattern.test(entry)) : undefined;
    if (name) {
      const path = join(directory, name);
      const size = statSync(path).size;
      // The file is written in pieces as the child processes answer: whole once it parses.
      if (size > 0 && size === lastSize && isWholeJson(path)) {
        renameSync(path, target);
        return;
      }
      lastSize = size;
    }
    if (Date.now() > deadline) throw new Error(`Firefox ${pid} wrote no whole profile to ${directory}`);
  }
}

function isWholeJson(path: string): boolean {
  try {
    JSON.parse(readFileSync(path, 'utf8'));
    return true;
  } catch {
    return false;
  }
}

interface Table {
  schema: Record<string, number>;
  data: unknown[][];
}

interface RawThread {
  name: string;
  processName?: string;
  samples: Table;
  stackTable: Table;
  frameTable: Table;
  stringTable: string[];
}

interface RawProcess {
  meta: { startTime: number };
  threads: RawThread[];
  processes?: RawProcess[];
}

export interface WindowSummary {
  /** Sampled milliseconds of the thread inside the windows (samples x interval). */
  sampledMs: number;
  windows: number;
  self: { frame: string; ms: number }[];
  total: { frame: string; ms: number }[];
}

function* allProcesses(process: RawProcess): Generator<RawProcess> {
  yield process;
  for (const child of process.processes ?? []) yield* allProcesses(child);
}

/** A frame's name without the long moz-extension:// URL (file:line:col kept short). */
function shortFrame(location: string): string {
  return location.replace(/moz-extension:\/\/[^/]+\//g, '').replace(/\((?:[^()]*\/)?([^/()]+)\)$/, '($1)');
}

/**
 * Samples of the main thread of the process named `processName` (e.g.
 * 'WebExtensions') whose time falls in one of `windows` (epoch ms).
 */
export function summarizeWindows(profilePath: string, processName: string, windows: { from: number; to: number }[], top = 25): WindowSummary {
  const root = JSON.parse(readFileSync(profilePath, 'utf8')) as RawProcess & { meta: { interval: number } };
  const interval = root.meta.interval;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let samples = 0;
  for (const process of allProcesses(root)) {
    for (const thread of process.threads) {
      if (thread.name !== 'GeckoMain' || thread.processName !== processName) continue;
      const stackIndex = thread.samples.schema.stack;
      const timeIndex = thread.samples.schema.time;
      if (timeIndex === undefined) throw new Error('a profile format without sample times');
      const prefixIndex = thread.stackTable.schema.prefix;
      const frameIndex = thread.stackTable.schema.frame;
      const locationIndex = thread.frameTable.schema.location;
      const frameName = (frame: number) => shortFrame(thread.stringTable[thread.frameTable.data[frame][locationIndex] as number]);
      for (const sample of thread.samples.data) {
        const at = process.meta.startTime + (sample[timeIndex] as number);
        if (!windows.some((window) => at >= window.from && at <= window.to)) continue;
        samples++;
        let stack = sample[stackIndex] as number | null;
        if (stack === null) continue;
        self.set(frameName(thread.stackTable.data[stack][frameIndex] as number), (self.get(frameName(thread.stackTable.data[stack][frameIndex] as number)) ?? 0) + 1);
        const seen = new Set<string>();
        while (stack !== null) {
          const name = frameName(thread.stackTable.data[stack][frameIndex] as number);
          if (!seen.has(name)) {
            seen.add(name);
            total.set(name, (total.get(name) ?? 0) + 1);
          }
          stack = thread.stackTable.data[stack][prefixIndex] as number | null;
        }
      }
    }
  }
  const ranked = (counts: Map<string, number>) =>
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, count]) => ({ frame, ms: count * interval }));
  return { sampledMs: samples * interval, windows: windows.length, self: ranked(self), total: ranked(total) };
}
