// A measurement, not a timed assertion (issue 10 item 6): what it costs to
// move a 1 MiB body from the background (service worker) through a content
// script (runtime Port: Chromium serializes JSON) to the page (MessagePort,
// ArrayBuffers transferred), as the page-fetch path does with a rebuilt body.
// Compared: base64 strings vs arrays of numbers, and the bytes per message.
// A throwaway extension of a few lines does only the moving, so the figure
// is the messaging's alone. Prints the medians; the choice and the figures
// are at the top of extension/background/chromium/page-fetch.ts.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { LaunchedChromium, WAIT_MS, chromiumPath, launchChromium, withTimeout } from './helpers/chromium';
import { SiteServer, startSiteServer } from './helpers/servers';

const CHROMIUM = chromiumPath();
if (!CHROMIUM) console.warn('chromium is not installed (apt-get install chromium): skipping the messaging measurement');
// A measurement: it runs with CRCSYNC_MEASURE=1 (e.g. `CRCSYNC_MEASURE=1 npx jest PATH`), not in every `npm test`.
const maybe = CHROMIUM && process.env.CRCSYNC_MEASURE === '1' ? describe : describe.skip;

const BODY_BYTES = 1024 * 1024;
const RUNS = 5;

const MANIFEST = {
  manifest_version: 3,
  name: 'crcsync messaging measurement',
  version: '0.0.1',
  background: { service_worker: 'background.js' },
  host_permissions: ['http://127.0.0.1/*'],
  content_scripts: [{ matches: ['http://127.0.0.1/*'], js: ['relay.js'], run_at: 'document_start' }],
};

// The service worker: on request, sends the body in chunks, encoded as asked (encoding counted in the time).
const BACKGROUND = `
const body = new Uint8Array(${BODY_BYTES});
for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 9)) & 0xff;
function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
chrome.runtime.onConnect.addListener((port) => {
  port.onMessage.addListener(({ encoding, chunkBytes }) => {
    for (let offset = 0; offset < body.length; offset += chunkBytes) {
      const part = body.subarray(offset, offset + chunkBytes);
      port.postMessage(encoding === 'base64' ? { data: toBase64(part) } : { array: Array.from(part) });
    }
    port.postMessage({ end: true });
  });
});
`;

// The content script: decodes each message and transfers its bytes to the page.
const RELAY = `
function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
window.addEventListener('message', (event) => {
  if (event.source !== window || event.data?.type !== 'measure-hello') return;
  const mainPort = event.ports[0];
  mainPort.onmessage = (request) => {
    const port = chrome.runtime.connect({ name: 'measure' });
    port.onMessage.addListener((message) => {
      if (message.end) {
        mainPort.postMessage({ end: true });
        port.disconnect();
        return;
      }
      const bytes = message.data !== undefined ? fromBase64(message.data) : Uint8Array.from(message.array);
      mainPort.postMessage({ bytes: bytes.buffer }, [bytes.buffer]);
    });
    port.postMessage(request.data);
  };
});
`;

interface Run {
  ms: number;
  bytes: number;
  checksum: number;
}

function moveBody(page: Page, encoding: 'base64' | 'array', chunkBytes: number): Promise<Run> {
  return withTimeout(
    page.evaluate(
      (enc, chunk) =>
        new Promise<Run>((resolve) => {
          const channel = new MessageChannel();
          window.postMessage({ type: 'measure-hello' }, '*', [channel.port2]);
          const parts: Uint8Array[] = [];
          const start = performance.now();
          channel.port1.onmessage = (event) => {
            if (!event.data.end) return void parts.push(new Uint8Array(event.data.bytes as ArrayBuffer));
            const ms = performance.now() - start;
            // Checked after the clock stopped: the sum of every byte, weighted by its position.
            let bytes = 0;
            let checksum = 0;
            for (const part of parts) for (const byte of part) checksum = (checksum + byte * (++bytes % 251)) % 1_000_000_007;
            resolve({ ms, bytes, checksum });
          };
          channel.port1.postMessage({ encoding: enc, chunkBytes: chunk });
        }),
      encoding,
      chunkBytes,
    ),
    `moving 1 MiB (${encoding}, ${chunkBytes} B per message)`,
    WAIT_MS * 2,
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

maybe('messaging cost of a 1 MiB body, background -> content script -> page (printed, not asserted on time)', () => {
  let site: SiteServer;
  let chromium: LaunchedChromium;
  let extensionDir: string;

  beforeAll(async () => {
    extensionDir = mkdtempSync(join(tmpdir(), 'crcsync-measure-ext-'));
    writeFileSync(join(extensionDir, 'manifest.json'), JSON.stringify(MANIFEST));
    writeFileSync(join(extensionDir, 'background.js'), BACKGROUND);
    writeFileSync(join(extensionDir, 'relay.js'), RELAY);
    site = await startSiteServer();
    site.write('/index.html', '<!doctype html><p>measure</p>');
    chromium = await launchChromium({ extensionDir });
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await site?.close();
    rmSync(extensionDir, { recursive: true, force: true });
  });

  test('base64 strings vs number arrays, by bytes per message', async () => {
    const page = await chromium.browser.newPage();
    await page.goto(`${site.origin}/index.html`, { waitUntil: 'load', timeout: WAIT_MS });
    const cases: ['base64' | 'array', number][] = [
      ['base64', 16 * 1024],
      ['base64', 64 * 1024],
      ['base64', 256 * 1024],
      ['base64', 1024 * 1024],
      ['array', 64 * 1024],
      ['array', 256 * 1024],
    ];
    const lines: string[] = [];
    let reference: number | null = null;
    for (const [encoding, chunkBytes] of cases) {
      await moveBody(page, encoding, chunkBytes); // warm-up (service worker, JIT)
      const runs: Run[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await moveBody(page, encoding, chunkBytes));
      // Every run moved the whole body, the same bytes.
      for (const run of runs) expect(run.bytes).toBe(BODY_BYTES);
      reference ??= runs[0].checksum;
      for (const run of runs) expect(run.checksum).toBe(reference);
      lines.push(`${encoding.padEnd(6)} ${String(chunkBytes / 1024).padStart(5)} KiB/message: median ${median(runs.map((run) => run.ms)).toFixed(1)} ms (runs ${runs.map((run) => run.ms.toFixed(0)).join(', ')})`);
    }
    console.log(`1 MiB background -> content script -> page, Chromium ${await chromium.browser.version()}:\n${lines.join('\n')}`);
  }, 180_000);
});
