// Calls a function exported by one of the build's ES modules (scripts/*.mjs)
// in a child node process: jest runs these tests as CommonJS, which cannot
// import an ES module. Arguments and the result travel as JSON; an error the
// function throws comes back by name and message.

import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export type ModuleCallResult = { ok: true; value: unknown } | { ok: false; errorName: string; message: string };

const RUNNER = `
const [moduleUrl, exportName, argsJson] = process.argv.slice(1);
const module = await import(moduleUrl);
let result;
try {
  result = { ok: true, value: (await module[exportName](...JSON.parse(argsJson))) ?? null };
} catch (error) {
  result = { ok: false, errorName: error.name, message: error.message };
}
process.stdout.write(JSON.stringify(result));
`;

export function callEsModule(modulePath: string, exportName: string, args: unknown[]): ModuleCallResult {
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', RUNNER, pathToFileURL(modulePath).href, exportName, JSON.stringify(args)], {
    encoding: 'utf8',
  });
  return JSON.parse(output) as ModuleCallResult;
}
