// src/core and src/protocol are pure: the same code must work in Firefox ESR
// and Chromium (Debian builds), with the browser's own WebAssembly.

import { execSync } from 'node:child_process';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import * as esbuild from 'esbuild';
import puppeteer, { Browser } from 'puppeteer-core';
import { CHROMIUM_ARGS } from '../helpers/chromium-args';

function which(command: string): string | null {
  try {
    return execSync(`command -v ${command}`, { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

let server: Server;
let origin = '';

beforeAll(async () => {
  const bundle = await esbuild.build({
    entryPoints: [`${__dirname}/selftest-page.ts`],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    platform: 'browser',
    loader: { '.wasm': 'binary' },
  });
  const script = bundle.outputFiles[0].contents;
  server = createServer((request, response) => {
    if (request.url === '/selftest.js') {
      response.writeHead(200, { 'Content-Type': 'text/javascript' });
      response.end(script);
    } else {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      response.end('<!doctype html><title>selftest</title><script src="/selftest.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

const browsers = [
  ['Firefox ESR', 'firefox-esr', 'firefox'],
  ['Chromium', 'chromium', 'chrome'],
] as const;

describe.each(browsers)('the protocol library in %s', (_label, command, kind) => {
  const executablePath = which(command);
  const maybe = executablePath ? it : it.skip;
  if (!executablePath) console.warn(`${command} is not installed (apt-get install ${command}): browser checks skipped`);

  maybe('hashes with the WASM core, round-trips a delta and refuses a corrupt one', async () => {
    let browser: Browser | undefined;
    try {
      browser = await puppeteer.launch({
        browser: kind,
        executablePath: executablePath!,
        headless: true,
        args: kind === 'chrome' ? [...CHROMIUM_ARGS] : [],
      });
      const page = await browser.newPage();
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => (window as unknown as { selftest?: unknown }).selftest !== undefined, { timeout: 30000 });
      const result = await page.evaluate(() => (window as unknown as { selftest: unknown }).selftest);
      expect(result).toEqual({
        engine: 'wasm',
        checkValue: '46a5a9388a5beffe',
        enginesAgree: true,
        roundTrip: true,
        deltaBytes: expect.any(Number),
        bodyBytes: 200010,
        corruptRefused: 'DELTA_DIGEST_MISMATCH',
      });
      expect((result as { deltaBytes: number }).deltaBytes).toBeLessThan(1000);
    } finally {
      await browser?.close();
    }
  }, 90000);
});
