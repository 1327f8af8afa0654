// Operators keep paths out of delta encoding (BREACH, SECURITY.md): with
// `noDelta` / `--no-delta`, a client with a valid If-Block gets the normal
// (gzip) response for those paths, however it spells them, and a delta
// everywhere else.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { formatIfBlock } from '../../src/protocol/if-block';
import { ServeArgumentError, serveConfigFromArgs } from '../../src/server/serve-command';
import { decodeResponse, fetchLogged, startCrcsync, TestServer } from './http-helpers';
import { makeFixtures } from './fixtures';

const pair = makeFixtures()[1];
const ifBlock = formatIfBlock(pair.old, getDefaultEngine())!;

describe('paths excluded from delta encoding', () => {
  let root: string;
  let server: TestServer;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'crcsync-no-delta-'));
    mkdirSync(join(root, 'account'));
    writeFileSync(join(root, 'account', 'settings.html'), pair.new);
    writeFileSync(join(root, 'news.html'), pair.new);
    server = await startCrcsync({ root, noDelta: ['/account/*'] });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it.each(['/account/settings.html', '/%61ccount/settings.html', '/account/./settings.html'])('%s gets the normal response, logged pass=excluded', async (path) => {
    const result = await fetchLogged(server, path, { headers: { 'If-Block': ifBlock, 'Accept-Encoding': 'gzip' } });
    expect(result.status).toBe(200);
    expect(result.headers['content-encoding']).toBe('gzip');
    expect(result.headers.capability).toBe('crcsync; m=1');
    expect(decodeResponse(result, null).equals(pair.new)).toBe(true);
    expect(result.log.passReason).toBe('excluded');
  });

  it('other paths still get their delta', async () => {
    const result = await fetchLogged(server, '/news.html', { headers: { 'If-Block': ifBlock, 'Accept-Encoding': 'gzip' } });
    expect(result.headers['content-encoding']).toBe('crcsync');
    expect(decodeResponse(result, pair.old).equals(pair.new)).toBe(true);
  });

  it('crcsync serve takes --no-delta PATTERN, repeated, and refuses a pattern that is not a path', () => {
    expect(serveConfigFromArgs({ root, 'no-delta': ['/account/*', '/search'] }).options).toMatchObject({ noDelta: ['/account/*', '/search'] });
    expect(() => serveConfigFromArgs({ root, 'no-delta': ['account'] })).toThrow(ServeArgumentError);
  });
});
