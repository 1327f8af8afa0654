// Every reference vector served over real HTTP through the reverse proxy: a
// local upstream answers with the vector's `new` and the origin headers the
// vector implies; the client sends if-block.txt and decodes with our
// DeltaDecoder against `old`. Headers must equal response-headers.txt
// (PROTOCOL.md §2), and with the pako deflater the body must equal
// delta.bin byte for byte (§3).

import { pakoCompressor } from '../../src/protocol/deflaters';
import { loadVectors, reportSharedMissing, Vector } from '../helpers/shared-data';
import { decodeResponse, fetchRaw, FetchResult, startCrcsync, startPlain, TestServer } from './http-helpers';

const vectors = loadVectors();
/** Added per connection by Node, not by the crcsync module: left out of the comparison. */
const CONNECTION_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** The origin response behind a vector: response-headers.txt without what the crcsync module added. */
function originHeaders(vector: Vector): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of vector.responseHeaders) {
    const lower = name.toLowerCase();
    if (lower === 'capability' || lower === 'vary' || lower === 'content-encoding') continue;
    headers[lower] = lower === 'etag' ? value.replace(/-crcsync-identity$/, '') : value;
  }
  headers['content-length'] = String(vector.new.length);
  return headers;
}

function receivedHeaders(result: FetchResult): Array<[string, string]> {
  return Object.entries(result.headers)
    .filter(([name]) => !CONNECTION_HEADERS.has(name))
    .map(([name, value]): [string, string] => [name, String(value)])
    .sort();
}

function expectedHeaders(vector: Vector): Array<[string, string]> {
  return vector.responseHeaders.map(([name, value]): [string, string] => [name.toLowerCase(), value]).sort();
}

if (vectors.length === 0) {
  describe('reference vectors over HTTP', () => reportSharedMissing('reference vectors over HTTP'));
} else {
  describe('reference vectors over HTTP (reverse proxy)', () => {
    let upstream: TestServer;
    let proxy: TestServer;
    let exactProxy: TestServer;

    beforeAll(async () => {
      const byPath = new Map(vectors.map((vector) => [`/${vector.name}`, vector]));
      upstream = await startPlain((req, res) => {
        const vector = byPath.get(req.url ?? '');
        if (!vector) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, originHeaders(vector));
        res.end(vector.new);
      });
      proxy = await startCrcsync({ upstream: upstream.url });
      exactProxy = await startCrcsync({ upstream: upstream.url, literalCompressor: pakoCompressor });
    });

    afterAll(async () => {
      await proxy?.close();
      await exactProxy?.close();
      await upstream?.close();
    });

    it.each(vectors.map((vector) => [vector.name, vector] as const))('%s', async (_name, vector) => {
      const headers: Record<string, string> = vector.ifBlock === null ? {} : { 'If-Block': vector.ifBlock };
      const result = await fetchRaw(`${proxy.url}/${vector.name}`, { headers });
      expect(result.status).toBe(200);
      expect(receivedHeaders(result)).toEqual(expectedHeaders(vector));
      expect(decodeResponse(result, vector.old).equals(vector.new)).toBe(true);
      if (vector.ifBlock === null) {
        expect(result.headers['content-encoding']).toBeUndefined();
        return;
      }
      expect(result.headers['content-encoding']).toBe('crcsync');
      if (vector.expect === 'decode-ok') {
        const exact = await fetchRaw(`${exactProxy.url}/${vector.name}`, { headers });
        expect(exact.body.equals(vector.delta!)).toBe(true);
      }
    });
  });
}
