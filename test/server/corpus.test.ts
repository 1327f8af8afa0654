// Every corpus pair served from disk (`--root ../shared/corpus`) and fetched
// over HTTP by a client holding `old`: the decoded body equals `new`, and
// the delta is no bigger than the plain body it replaces. Clients without
// If-Block get gzip / br that inflates to `new` too.

import { formatIfBlock } from '../../src/protocol/if-block';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { CORPUS_DIR, loadCorpus, reportSharedMissing } from '../helpers/shared-data';
import { decodeResponse, fetchRaw, startCrcsync, TestServer } from './http-helpers';

const corpus = loadCorpus();

if (corpus.length === 0) {
  describe('corpus over HTTP', () => reportSharedMissing('corpus over HTTP'));
} else {
  describe('corpus over HTTP (static root)', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startCrcsync({ root: CORPUS_DIR });
    });
    afterAll(() => server?.close());

    it.each(corpus.map((pair) => [pair.name, pair] as const))('%s', async (name, pair) => {
      const ifBlock = formatIfBlock(pair.old, getDefaultEngine());
      expect(ifBlock).not.toBeNull();
      const url = `${server.url}/${name}/new`;
      // No Accept-Encoding: the delta competes with the identity body and always wins here
      // (against br some pairs go plain: test/reference/never-worse-corpus.test.ts).
      const delta = await fetchRaw(url, { headers: { 'If-Block': ifBlock! } });
      expect(delta.status).toBe(200);
      expect(delta.headers['content-encoding']).toBe('crcsync');
      expect(delta.headers.vary).toBe('If-Block');
      expect(delta.headers.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"-crcsync-identity$/);
      expect(delta.headers['content-length']).toBeUndefined();
      expect(decodeResponse(delta, pair.old).equals(pair.new)).toBe(true);
      // Literal runs are deflated, so a delta is at most a little over the body's own size.
      expect(delta.body.length).toBeLessThan(pair.new.length + 1024);

      const gzip = await fetchRaw(url, { headers: { 'Accept-Encoding': 'gzip' } });
      expect(gzip.headers['content-encoding']).toBe('gzip');
      expect(decodeResponse(gzip, null).equals(pair.new)).toBe(true);
    });
  });
}
