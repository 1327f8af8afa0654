// Static files over HTTP (`crcsync serve --root`) with the project's own
// fixtures: what each kind of client gets, and the pass-through cases of
// PROTOCOL.md §2 that a static origin can produce.

import { mkdtempSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { decodeResponse, fetchLogged, fetchRaw, startCrcsync, TestServer, waitFor } from './http-helpers';
import { makeFixtures } from './fixtures';

const fixtures = makeFixtures();

/** Over the 1 MiB limit for whole-body compression (43-byte lines). */
const LARGE_TEXT_BYTES = 43 * 36000;

describe('static root over HTTP', () => {
  let root: string;
  let server: TestServer;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'crcsync-static-'));
    for (const pair of fixtures) writeFileSync(join(root, `${pair.name}.html`), pair.new);
    mkdirSync(join(root, 'dir'));
    writeFileSync(join(root, 'dir', 'index.html'), fixtures[1].new);
    writeFileSync(join(root, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Uint8Array(3000)]));
    writeFileSync(join(root, 'notes'), 'plain text without an extension\n'.repeat(40));
    writeFileSync(join(root, 'large.txt'), 'a line of text that repeats, 1.5 MiB of it\n'.repeat(LARGE_TEXT_BYTES / 43));
    server = await startCrcsync({ root });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it.each(fixtures.map((pair) => [pair.name, pair] as const))('%s: a client holding old decodes new', async (name, pair) => {
    const ifBlock = formatIfBlock(pair.old, getDefaultEngine())!;
    const result = await fetchRaw(`${server.url}/${name}.html`, { headers: { 'If-Block': ifBlock } });
    expect(result.status).toBe(200);
    expect(result.headers['content-encoding']).toBe('crcsync');
    expect(result.headers.capability).toBe('crcsync; m=1');
    expect(decodeResponse(result, pair.old).equals(pair.new)).toBe(true);
    if (name === 'unchanged') expect(result.body.length).toBe(101); // 40 × B i + S (§3)
    if (name === 'emptied') expect(result.body.length).toBe(21); // S only (§3)
  });

  it.each([
    ['identity', undefined, undefined],
    ['gzip', 'gzip', 'gzip'],
    ['br', 'br', 'br'],
    ['br preferred on a tie', 'gzip, deflate, br', 'br'],
    ['gzip by q-value', 'br;q=0.5, gzip', 'gzip'],
    ['nothing acceptable', 'zstd, br;q=0', undefined],
  ])('a client without If-Block gets %s', async (_label, acceptEncoding, expected) => {
    const pair = fixtures[1];
    const result = await fetchRaw(`${server.url}/${pair.name}.html`, { headers: acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {} });
    expect(result.status).toBe(200);
    expect(result.headers['content-encoding']).toBe(expected);
    expect(result.headers.capability).toBe('crcsync; m=1');
    expect(decodeResponse(result, null).equals(pair.new)).toBe(true);
    if (expected) {
      expect(result.headers.vary).toBe('Accept-Encoding');
      expect(result.headers.etag).toMatch(/^W\//);
      // A small file is compressed whole and its compressed size announced (what went over the wire).
      expect(result.headers['content-length']).toBe(String(result.body.length));
      expect(result.body.length).toBeLessThan(pair.new.length);
    } else {
      expect(result.headers['content-length']).toBe(String(pair.new.length));
    }
  });

  it('streams gzip without a Content-Length for a file over 1 MiB', async () => {
    const large = await fetchRaw(`${server.url}/large.txt`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(large.headers['content-encoding']).toBe('gzip');
    expect(large.headers['content-length']).toBeUndefined();
    expect(large.headers['transfer-encoding']).toBe('chunked');
    expect(decodeResponse(large, null).length).toBe(LARGE_TEXT_BYTES);
  });

  it('serves binary files without gzip but still as a delta', async () => {
    const plain = await fetchRaw(`${server.url}/image.png`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(plain.headers['content-type']).toBe('image/png');
    expect(plain.headers['content-encoding']).toBeUndefined();
    const delta = await fetchRaw(`${server.url}/image.png`, { headers: { 'If-Block': formatIfBlock(plain.body, getDefaultEngine())! } });
    expect(delta.headers['content-encoding']).toBe('crcsync');
    expect(decodeResponse(delta, plain.body).equals(plain.body)).toBe(true);
  });

  it('sniffs extensionless text files as text, so they are compressed', async () => {
    const result = await fetchRaw(`${server.url}/notes`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(result.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(result.headers['content-encoding']).toBe('gzip');
  });

  it('serves index.html for a directory', async () => {
    const result = await fetchRaw(`${server.url}/dir/`);
    expect(result.body.equals(fixtures[1].new)).toBe(true);
  });

  it('answers 304 to a matching If-None-Match, also with the crcsync ETag suffix, and does not encode it', async () => {
    const pair = fixtures[1];
    const first = await fetchRaw(`${server.url}/${pair.name}.html`);
    const etag = String(first.headers.etag);
    for (const tag of [etag, `${etag}-crcsync-identity`, `W/${etag}`]) {
      const result = await fetchRaw(`${server.url}/${pair.name}.html`, {
        headers: { 'If-None-Match': tag, 'If-Block': formatIfBlock(pair.old, getDefaultEngine())! },
      });
      expect(result.status).toBe(304);
      expect(result.headers['content-encoding']).toBeUndefined();
      expect(result.headers.capability).toBe('crcsync; m=1');
      expect(result.body.length).toBe(0);
    }
  });

  it('passes HEAD through with Capability and no body, even with If-Block (§2)', async () => {
    const pair = fixtures[1];
    const result = await fetchRaw(`${server.url}/${pair.name}.html`, { method: 'HEAD', headers: { 'If-Block': formatIfBlock(pair.old, getDefaultEngine())! } });
    expect(result.status).toBe(200);
    expect(result.headers['content-encoding']).toBeUndefined();
    expect(result.headers['content-length']).toBe(String(pair.new.length));
    expect(result.headers.capability).toBe('crcsync; m=1');
    expect(result.body.length).toBe(0);
  });

  it('answers 405 to POST, 404 to a missing file, and never leaves the root', async () => {
    const post = await fetchRaw(`${server.url}/page.html`, { method: 'POST', body: 'x=1' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect(post.headers.capability).toBe('crcsync; m=1');
    const missing = await fetchRaw(`${server.url}/nope.html`);
    expect(missing.status).toBe(404);
    expect(missing.headers.capability).toBe('crcsync; m=1');
    for (const path of ['/../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/dir/..%2f..%2f..%2fetc%2fpasswd', '/%00', '/%E0%A4%A']) {
      const result = await fetchRaw(`${server.url}${path}`);
      expect([400, 404]).toContain(result.status);
    }
  });

  it('never follows a symlink out of the root; links that stay inside are served', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'crcsync-outside-'));
    const logsBefore = server.logs.length;
    try {
      writeFileSync(join(outside, 'secret.txt'), 'the server owner\'s secret\n'.repeat(20));
      mkdirSync(join(outside, 'private'));
      writeFileSync(join(outside, 'private', 'index.html'), '<p>private</p>\n'.repeat(20));
      symlinkSync(join(outside, 'secret.txt'), join(root, 'leak.txt'));
      symlinkSync(join(outside, 'private'), join(root, 'leakdir'));
      symlinkSync(join(root, 'notes'), join(root, 'notes-link.txt'));
      symlinkSync(join(root, 'dir'), join(root, 'dir-link'));
      for (const path of ['/leak.txt', '/leakdir/', '/leakdir/index.html']) {
        const result = await fetchRaw(`${server.url}${path}`);
        expect([path, result.status]).toEqual([path, 404]);
        expect(result.body.toString()).not.toContain('secret');
        expect(result.body.toString()).not.toContain('private');
      }
      const inside = await fetchRaw(`${server.url}/notes-link.txt`);
      expect(inside.status).toBe(200);
      expect(inside.body.toString()).toBe('plain text without an extension\n'.repeat(40));
      expect((await fetchRaw(`${server.url}/dir-link/`)).body.equals(fixtures[1].new)).toBe(true);
      // Every access-log line is in before the next test counts lines.
      await waitFor(() => server.logs.length === logsBefore + 5, 'five access-log lines');
    } finally {
      rmSync(outside, { recursive: true, force: true });
      for (const link of ['leak.txt', 'leakdir', 'notes-link.txt', 'dir-link']) rmSync(join(root, link), { force: true });
    }
  });

  it('serves a file\'s new bytes as soon as it changes (same size, same second, renamed over, a link swapped out of the root, or deleted)', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'crcsync-outside-'));
    const path = join(root, 'changing.txt');
    const version = (letter: string) => `${letter} the same length every time\n`.repeat(100);
    const fetchText = async (url: string) => (await fetchRaw(`${server.url}${url}`, { headers: { 'Accept-Encoding': 'identity' } })).body.toString();
    const logsBefore = server.logs.length;
    try {
      writeFileSync(path, version('a'));
      expect(await fetchText('/changing.txt')).toBe(version('a'));
      expect(await fetchText('/changing.txt')).toBe(version('a'));
      writeFileSync(path, version('b')); // rewritten in place: same size, most likely the same second
      expect(await fetchText('/changing.txt')).toBe(version('b'));
      writeFileSync(join(root, 'changing.tmp'), version('c'));
      renameSync(join(root, 'changing.tmp'), path);
      expect(await fetchText('/changing.txt')).toBe(version('c'));
      // A client holding version b gets a delta that rebuilds c.
      const delta = await fetchRaw(`${server.url}/changing.txt`, { headers: { 'If-Block': formatIfBlock(Buffer.from(version('b')), getDefaultEngine())!, 'Accept-Encoding': 'identity' } });
      expect(decodeResponse(delta, Buffer.from(version('b'))).toString()).toBe(version('c'));
      writeFileSync(join(outside, 'secret.txt'), version('s'));
      symlinkSync(path, join(root, 'swap.txt'));
      expect(await fetchText('/swap.txt')).toBe(version('c'));
      rmSync(join(root, 'swap.txt'));
      symlinkSync(join(outside, 'secret.txt'), join(root, 'swap.txt'));
      expect((await fetchRaw(`${server.url}/swap.txt`)).status).toBe(404);
      // A kept file is checked without the thread pool (static-origin.ts checkedNow): deleted, it is gone at once.
      rmSync(path);
      expect((await fetchRaw(`${server.url}/changing.txt`)).status).toBe(404);
      await waitFor(() => server.logs.length === logsBefore + 8, 'eight access-log lines');
    } finally {
      rmSync(outside, { recursive: true, force: true });
      for (const name of ['changing.txt', 'changing.tmp', 'swap.txt']) rmSync(join(root, name), { force: true });
    }
  });

  it('logs one line per response with encoding and sizes', async () => {
    const pair = fixtures[2];
    const before = server.logs.length;
    const delta = (await fetchLogged(server, `/${pair.name}.html`, { headers: { 'If-Block': formatIfBlock(pair.old, getDefaultEngine())! } })).log;
    const gzip = (await fetchLogged(server, `/${pair.name}.html`, { headers: { 'Accept-Encoding': 'gzip' } })).log;
    expect(server.logs.length - before).toBe(2);
    expect(delta).toMatchObject({ method: 'GET', url: `/${pair.name}.html`, status: 200, encoding: 'crcsync', fullBytes: pair.new.length });
    expect(delta.sentBytes).toBeGreaterThan(0);
    expect(delta.sentBytes).toBeLessThan(pair.new.length / 5);
    expect(gzip).toMatchObject({ encoding: 'gzip', fullBytes: pair.new.length });
    expect(gzip.sentBytes).toBeLessThan(pair.new.length);
    expect(delta.milliseconds).toBeGreaterThanOrEqual(0);
  });
});
