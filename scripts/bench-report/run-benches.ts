// Runs the benches one after another, each as `npm run <script> [-- args]` in a child
// process with its output shown as it comes. The first that fails stops the
// report: a report built from a mix of fresh and stale results would claim a
// run that did not happen.

import { spawnSync } from 'node:child_process';

/** One bench as `npm run <script>`, with arguments for the script after `--` (e.g. bench:load's `--browser chromium`). */
export interface BenchCommand {
  script: string;
  args: readonly string[];
}

/** How a reader types it: `npm run bench:load -- --browser chromium`. */
export function benchCommandLine(command: BenchCommand): string {
  return `npm run ${command.script}${command.args.length ? ` -- ${command.args.join(' ')}` : ''}`;
}

export class BenchFailedError extends Error {
  constructor(
    readonly command: string,
    detail: string,
  ) {
    super(`\`${command}\` failed (${detail}); bench/REPORT.md was not rebuilt. Fix it and run again, or rebuild the report from the results already in bench/ with \`npm run bench:report -- --from-results\`.`);
    this.name = 'BenchFailedError';
  }
}

export interface BenchRun {
  /** As typed: `npm run bench:load -- --browser chromium`. */
  command: string;
  seconds: number;
}

/** `npm` on this platform (npm.cmd on Windows). */
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** `output`: 'inherit' shows each bench's output as it runs (the default); 'ignore' drops it (tests). */
export function runBenches(commands: readonly BenchCommand[], cwd: string, log: (line: string) => void = console.log, output: 'inherit' | 'ignore' = 'inherit'): BenchRun[] {
  const runs: BenchRun[] = [];
  for (const [index, command] of commands.entries()) {
    const shown = benchCommandLine(command);
    log(`\nbench:report: ${index + 1}/${commands.length} ${shown}`);
    const started = Date.now();
    const result = spawnSync(NPM, ['run', command.script, ...(command.args.length ? ['--', ...command.args] : [])], { cwd, stdio: output });
    if (result.error) throw new BenchFailedError(shown, result.error.message);
    if (result.signal) throw new BenchFailedError(shown, `killed by ${result.signal}`);
    if (result.status !== 0) throw new BenchFailedError(shown, `exit code ${result.status}`);
    runs.push({ command: shown, seconds: (Date.now() - started) / 1000 });
  }
  return runs;
}
