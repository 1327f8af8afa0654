// PROTOCOL.md §5 over HTTP: every hostile or broken If-Block gets the normal
// response (status 200, gzip or identity, the right body), the server keeps
// serving, and many equal hashes cost linear time.

import { getDefaultEngine } from '../../src/core/embedded-core';
import { encodeBase64Unpadded } from '../../src/protocol/base64';
import { formatIfBlock, formatIfBlockFromHashes } from '../../src/protocol/if-block';
import { decodeResponse, fetchLogged, fetchRaw, startCrcsync, TestServer } from './http-helpers';
import { makeFixtures } from './fixtures';

const pair = makeFixtures()[1];
const engine = getDefaultEngine();
const goodIfBlock = formatIfBlock(pair.old, engine)!;
const goodHashes = goodIfBlock.split('h=')[1];

/** n copies of one 8-byte hash, base64. */
function equalHashes(count: number): string {
  const hashes = new Uint8Array(count * 8);
  for (let i = 0; i < count; i++) hashes.set([1, 2, 3, 4, 5, 6, 7, 8], i * 8);
  return encodeBase64Unpadded(hashes);
}

const HOSTILE: Array<[string, string, string]> = [
  ['oversized header (over 4 KiB)', `v=1; fs=${pair.old.length}; h=${goodHashes}; x=${'a'.repeat(4096)}`, 'invalid-if-block'],
  ['n = 0 (empty h)', `v=1; fs=${pair.old.length}; h=`, 'invalid-if-block'],
  ['n = 0 (fewer than 8 bytes)', `v=1; fs=${pair.old.length}; h=AAAAAAA`, 'invalid-if-block'],
  ['n > 256', `v=1; fs=100000; h=${encodeBase64Unpadded(new Uint8Array(257 * 8))}`, 'invalid-if-block'],
  ['n > fs', `v=1; fs=10; h=${goodHashes}`, 'invalid-if-block'],
  ['fs = 0', `v=1; fs=0; h=${goodHashes}`, 'invalid-if-block'],
  ['fs over 64 MiB', `v=1; fs=${64 * 1024 * 1024 + 1}; h=${goodHashes}`, 'invalid-if-block'],
  ['fs huge', `v=1; fs=${'9'.repeat(400)}; h=${goodHashes}`, 'invalid-if-block'],
  ['fs negative', `v=1; fs=-40; h=${goodHashes}`, 'invalid-if-block'],
  ['fs not decimal', `v=1; fs=0x100; h=${goodHashes}`, 'invalid-if-block'],
  ['garbage base64', `v=1; fs=${pair.old.length}; h=!!!!${goodHashes}`, 'invalid-if-block'],
  ['commas as separators', `v=1, fs=${pair.old.length}, h=${goodHashes}`, 'invalid-if-block'],
  ['duplicate fields', `v=1; fs=${pair.old.length}; fs=${pair.old.length}; h=${goodHashes}`, 'invalid-if-block'],
  ['duplicate h', `v=1; fs=${pair.old.length}; h=${goodHashes}; h=${goodHashes}`, 'invalid-if-block'],
  ['other version', `v=2; fs=${pair.old.length}; h=${goodHashes}`, 'invalid-if-block'],
  ['missing h', `v=1; fs=${pair.old.length}`, 'invalid-if-block'],
  ['field without value', `v=1; fs; h=${goodHashes}`, 'invalid-if-block'],
  ['empty value', '', 'invalid-if-block'],
  ['10,000 equal hashes (over 4 KiB)', `v=1; fs=1000000; h=${equalHashes(10_000)}`, 'invalid-if-block'],
  ['one 64 MiB block (bs over 128 KiB)', `v=1; fs=${64 * 1024 * 1024}; h=${equalHashes(1)}`, 'block-size'],
  ['bs = 4 (fs = 160, n = 40)', `v=1; fs=160; h=${equalHashes(40)}`, 'block-size'],
];

describe('§5 limits over HTTP', () => {
  let server: TestServer;
  let root: string;

  beforeAll(async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    root = mkdtempSync(join(tmpdir(), 'crcsync-limits-'));
    writeFileSync(join(root, 'page.html'), pair.new);
    writeFileSync(join(root, 'repetitive.txt'), Buffer.alloc(4 * 1024 * 1024, 'a'));
    server = await startCrcsync({ root });
  });
  afterAll(async () => {
    await server?.close();
    const { rmSync } = await import('node:fs');
    rmSync(root, { recursive: true, force: true });
  });

  it.each(HOSTILE)('%s: the normal response', async (_label, value, reason) => {
    for (const acceptEncoding of ['gzip', '']) {
      const result = await fetchLogged(server, '/page.html', { headers: { 'If-Block': value, 'Accept-Encoding': acceptEncoding } });
      expect(result.status).toBe(200);
      expect(result.headers['content-encoding']).toBe(acceptEncoding || undefined);
      expect(result.headers.capability).toBe('crcsync; m=1');
      expect(String(result.headers.vary ?? '')).not.toContain('If-Block');
      expect(decodeResponse(result, null).equals(pair.new)).toBe(true);
      expect(result.log.passReason).toBe(reason);
    }
  });

  it('treats two If-Block header lines as invalid', async () => {
    // Node joins repeated unknown headers with ", ": the joined value repeats fields.
    const result = await fetchRaw(`${server.url}/page.html`, { headers: { 'If-Block': [goodIfBlock, goodIfBlock] as unknown as string } });
    expect(result.headers['content-encoding']).toBeUndefined();
    expect(result.body.equals(pair.new)).toBe(true);
  });

  it('still serves deltas after all of that', async () => {
    const result = await fetchRaw(`${server.url}/page.html`, { headers: { 'If-Block': goodIfBlock } });
    expect(result.headers['content-encoding']).toBe('crcsync');
    expect(decodeResponse(result, pair.old).equals(pair.new)).toBe(true);
  });

  it('256 equal hashes (a base of one repeated byte) encode a 4 MiB body in linear time', async () => {
    // All 256 blocks of a base of 'a's have the same hash: the worst case for
    // a matcher that would try every block with that hash (§5).
    const base = Buffer.alloc(256 * 4096, 'a');
    const hashes = engine.blockHashes(base, 256);
    expect(new Set(Array.from({ length: 256 }, (_, i) => Buffer.from(hashes.subarray(i * 8, i * 8 + 8)).toString('hex'))).size).toBe(1);
    const started = performance.now();
    const result = await fetchRaw(`${server.url}/repetitive.txt`, { headers: { 'If-Block': formatIfBlockFromHashes(base.length, hashes) } });
    const elapsed = performance.now() - started;
    expect(result.headers['content-encoding']).toBe('crcsync');
    // 4 MiB / 4096-byte blocks: 1024 × `B 255` (the highest index wins, §4) + S.
    expect(result.body.length).toBe(1024 * 2 + 21);
    expect(result.body[1]).toBe(255);
    const decoded = decodeResponse(result, base, 256);
    expect(decoded.length).toBe(4 * 1024 * 1024);
    expect(decoded.every((byte) => byte === 0x61)).toBe(true);
    // Quadratic work (256 candidates per byte) would take many seconds; linear is well under one.
    expect(elapsed).toBeLessThan(3000);
  });
});
