// The server's small passes, each on its own: header passes, content
// negotiation, the response plan, the access-log format, the static origin's
// helpers, the proxy's URL mapping, the native literal compressor and the
// delta Transform.

import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getDefaultEngine } from '../../src/core/embedded-core';
import { DeltaDecoder } from '../../src/protocol/delta-decoder';
import { pakoCompressor } from '../../src/protocol/deflaters';
import { DeltaEncoder } from '../../src/protocol/delta-encoder';
import { formatIfBlock, parseIfBlock } from '../../src/protocol/if-block';
import { formatAccessLog } from '../../src/server/access-log';
import { DEFAULT_COMPRESSION, isCompressibleType, negotiateCompression } from '../../src/server/content-coding';
import { DeltaTransform, DeltaTransformOptions } from '../../src/server/delta-transform';
import { addCapability, applyCompressionHeaders, applyDeltaHeaders, stripHopByHop, upstreamRequestHeaders } from '../../src/server/header-passes';
import { HeaderMap, headerName, toOutgoing } from '../../src/server/headers';
import { nodeSha1 } from '../../src/server/node-codecs';
import { planResponse } from '../../src/server/response-plan';
import { requestFraming, upstreamPath } from '../../src/server/request-framing';
import { etagMatches, looksLikeText } from '../../src/server/static-origin';
import { readSections } from '../helpers/delta-sections';
import { mutate, randomBytes, randomSplit, seededRandom } from '../helpers/random';

const engine = getDefaultEngine();

describe('header passes', () => {
  it('adds Capability to any headers', () => {
    const headers: HeaderMap = new Map();
    addCapability(headers);
    expect(toOutgoing(headers)).toEqual({ Capability: 'crcsync; m=1' });
  });

  it('applies the §2 edits of an encoded response', () => {
    const headers: HeaderMap = new Map([
      ['etag', '"v1"'],
      ['vary', 'Accept-Encoding'],
      ['content-length', '10'],
      ['content-md5', 'x'],
      ['accept-ranges', 'bytes'],
      ['content-type', 'text/html'],
    ]);
    applyDeltaHeaders(headers, 'identity');
    expect(Object.fromEntries(headers)).toEqual({ etag: '"v1"-crcsync-identity', vary: 'Accept-Encoding, If-Block', 'content-encoding': 'crcsync', 'content-type': 'text/html' });
  });

  it('weakens the ETag and merges Vary for gzip / br', () => {
    const headers: HeaderMap = new Map([['etag', '"v1"'], ['content-length', '10']]);
    applyCompressionHeaders(headers, 'br');
    expect(Object.fromEntries(headers)).toEqual({ etag: 'W/"v1"', vary: 'Accept-Encoding', 'content-encoding': 'br' });
  });

  it('strips hop-by-hop headers and those Connection names', () => {
    const headers: HeaderMap = new Map([['connection', 'close, X-Hop'], ['x-hop', '1'], ['keep-alive', 'timeout=5'], ['transfer-encoding', 'chunked'], ['x-end', '2']]);
    stripHopByHop(headers);
    expect(Object.fromEntries(headers)).toEqual({ 'x-end': '2' });
  });

  it('builds upstream request headers without If-Block, with Host and X-Forwarded-*', () => {
    const req = new IncomingMessage(new Socket());
    req.headers = { host: 'proxy.example', 'if-block': 'v=1; fs=1; h=x', 'x-forwarded-for': '10.0.0.1', te: 'trailers', accept: '*/*' };
    const headers = upstreamRequestHeaders(req, new URL('https://origin.example:8443/base'));
    expect(headers).toMatchObject({ host: 'origin.example:8443', 'x-forwarded-host': 'proxy.example', 'x-forwarded-proto': 'http', accept: '*/*' });
    // A client's own X-Forwarded-For is not trusted by default (replaced by what the socket says).
    expect(headers['x-forwarded-for']).not.toMatch(/10\.0\.0\.1/);
    expect(headers['if-block']).toBeUndefined();
    expect(headers.te).toBeUndefined();
  });

  it('spells header names as the vectors do', () => {
    expect(['etag', 'content-md5', 'content-encoding', 'vary', 'x-a-b'].map(headerName)).toEqual(['ETag', 'Content-MD5', 'Content-Encoding', 'Vary', 'X-A-B']);
  });
});

describe('content negotiation', () => {
  it.each([
    [undefined, null],
    ['', null],
    ['gzip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['br', 'br'],
    ['gzip, deflate, br, zstd', 'br'],
    ['br;q=0.8, gzip;q=0.9', 'gzip'],
    ['gzip;q=0, br;q=0', null],
    ['*', 'br'],
    ['*;q=0.5, br;q=0', 'gzip'],
    ['identity', null],
    ['gzip;q=nonsense', null],
  ])('Accept-Encoding %p -> %p', (header, coding) => {
    expect(negotiateCompression(header)).toBe(coding);
  });

  it.each([
    ['text/html; charset=utf-8', true],
    ['application/javascript', true],
    ['application/feed+json', true],
    ['image/svg+xml', true],
    ['image/png', false],
    ['application/octet-stream', false],
    [undefined, false],
  ])('%p compressible: %p', (type, compressible) => {
    expect(isCompressibleType(type)).toBe(compressible);
  });
});

describe('planResponse', () => {
  const base = Buffer.alloc(1000, 'x');
  const settings = { compression: DEFAULT_COMPRESSION };
  const origin = (headers: Record<string, string>, status = 200) => ({ status, headers: new Map(Object.entries(headers)) });

  it('plans a delta, decoding gzip first', () => {
    const plan = planResponse({ method: 'GET', ifBlock: formatIfBlock(base, engine)!, acceptEncoding: 'gzip' }, origin({ 'content-encoding': 'gzip', etag: '"a"', 'content-type': 'text/html' }), settings);
    expect(plan).toMatchObject({ decode: 'gzip', compress: null, encoding: 'crcsync', passReason: null });
    expect(plan.delta?.fileSize).toBe(1000);
    expect(Object.fromEntries(plan.headers)).toMatchObject({ 'content-encoding': 'crcsync', etag: '"a"-crcsync-gzip', capability: 'crcsync; m=1' });
  });

  it('plans gzip for a client without If-Block, identity for tiny or binary bodies', () => {
    expect(planResponse({ method: 'GET', ifBlock: undefined, acceptEncoding: 'gzip' }, origin({ 'content-type': 'text/css' }), settings)).toMatchObject({ compress: 'gzip', passReason: 'no-if-block' });
    expect(planResponse({ method: 'GET', ifBlock: undefined, acceptEncoding: 'gzip' }, origin({ 'content-type': 'text/css', 'content-length': '100' }), settings).compress).toBeNull();
    expect(planResponse({ method: 'GET', ifBlock: undefined, acceptEncoding: 'gzip' }, origin({ 'content-type': 'image/png' }), settings).compress).toBeNull();
  });

  it('never compresses or decodes a no-transform response', () => {
    const plan = planResponse({ method: 'GET', ifBlock: formatIfBlock(base, engine)!, acceptEncoding: 'gzip' }, origin({ 'content-type': 'text/html', 'cache-control': 'no-transform', 'content-encoding': 'br' }), settings);
    expect(plan).toMatchObject({ decode: null, delta: null, compress: null, encoding: 'br', passReason: 'no-transform' });
  });

  it('does not change the origin headers it was given', () => {
    const given = origin({ etag: '"a"', 'content-type': 'text/html' });
    planResponse({ method: 'GET', ifBlock: formatIfBlock(base, engine)!, acceptEncoding: undefined }, given, settings);
    expect(Object.fromEntries(given.headers)).toEqual({ etag: '"a"', 'content-type': 'text/html' });
  });
});

describe('small helpers', () => {
  it('formats one access-log line, escaping the URL', () => {
    const line = formatAccessLog({ time: new Date(0), method: 'GET', url: '/a b\n', status: 200, encoding: 'crcsync', sentBytes: 10, fullBytes: 100, milliseconds: 1.25, passReason: 'no-store', aborted: true });
    expect(line).toBe('1970-01-01T00:00:00.000Z GET /a%20b%0A 200 crcsync sent=10 full=100 1.3ms pass=no-store aborted');
  });

  it('matches If-None-Match weakly, through the crcsync suffix', () => {
    expect(etagMatches('"a", W/"b"', '"b"')).toBe(true);
    expect(etagMatches('"b"-crcsync-gzip', '"b"')).toBe(true);
    expect(etagMatches('*', '"b"')).toBe(true);
    expect(etagMatches('"c"', '"b"')).toBe(false);
  });

  it('tells text from binary by the first bytes', () => {
    expect(looksLikeText(Buffer.from('<p>héllo</p>\r\n\t'))).toBe(true);
    expect(looksLikeText(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(false);
  });

  it('maps request paths under the upstream path, byte for byte', () => {
    expect(upstreamPath('/base/', '/a?b=c')).toBe('/base/a?b=c');
    expect(upstreamPath('/base', '/a%2Fb?c=/../d')).toBe('/base/a%2Fb?c=/../d');
    expect(upstreamPath('/', '/')).toBe('/');
    expect(upstreamPath('/base/', '//evil.example/x')).toBe('/base//evil.example/x');
  });

  it('refuses request targets that could leave the upstream path', () => {
    for (const target of ['/..', '/../x', '/a/./b', '/%2e%2E/x', '/..%2f', '/x%5c..%5cy', '/%252e%252e/', '/%2e%2e/%zz', '/a\\b', 'http://elsewhere.example/x', '*', '', '/%25252525252e']) {
      expect([target, upstreamPath('/base/', target)]).toEqual([target, null]);
    }
  });

  it('reads the body framing the client used', () => {
    expect(requestFraming({})).toEqual({ kind: 'none' });
    expect(requestFraming({ 'content-length': '12' })).toEqual({ kind: 'length', length: '12' });
    expect(requestFraming({ 'transfer-encoding': 'Chunked' })).toEqual({ kind: 'chunked' });
    expect(requestFraming({ 'transfer-encoding': 'gzip, chunked' })).toEqual({ kind: 'unsupported', codings: 'gzip, chunked' });
  });
});

describe('DeltaTransform', () => {
  const random = seededRandom(13);
  const old = randomBytes(random, 50_000, 50);
  const updated = mutate(random, old, 10);
  const ifBlock = parseIfBlock(formatIfBlock(old, engine)!);

  it('streams a delta that decodes, for any chunking', async () => {
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    await pipeline(Readable.from(randomSplit(random, updated, 30).map((piece) => Buffer.from(piece))), new DeltaTransform(ifBlock, { engine, sha1: nodeSha1 }), sink);
    let rebuilt: Uint8Array | null = null;
    new DeltaDecoder(old, {}, (body) => (rebuilt = body)).push(Buffer.concat(chunks), true);
    expect(Buffer.from(rebuilt!).equals(Buffer.from(updated))).toBe(true);
  });

  async function transformed(body: Uint8Array, base: Uint8Array, pieces: number, options: Partial<DeltaTransformOptions> = {}): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    const transform = new DeltaTransform(parseIfBlock(formatIfBlock(base, engine)!), { engine, sha1: nodeSha1, ...options });
    await pipeline(Readable.from(randomSplit(random, body, pieces).map((piece) => Buffer.from(piece))), transform, sink);
    return Buffer.concat(chunks);
  }

  it('deflates literal runs with node zlib into the same sections as the portable encoder, in order', async () => {
    const base = randomBytes(random, 300_000, 40);
    const body = mutate(random, base, 60);
    for (let round = 0; round < 3; round++) {
      const delta = await transformed(body, base, 20);
      const reference: Uint8Array[] = [];
      new DeltaEncoder(parseIfBlock(formatIfBlock(base, engine)!), { engine }, (chunk) => reference.push(chunk)).push(body, true);
      // Same blocks and literal bytes as the fflate encoder, Z streams valid (readSections inflates each one).
      const simplify = (bytes: Uint8Array) => readSections(bytes).map((section) => (section.kind === 'Z' ? { kind: 'Z', literal: section.literal } : section));
      expect(simplify(delta)).toEqual(simplify(Buffer.concat(reference)));
      expect(simplify(delta).filter((section) => section.kind === 'Z').length).toBeGreaterThan(5);
      let rebuilt: Uint8Array | null = null;
      new DeltaDecoder(base, {}, (verified) => (rebuilt = verified)).push(delta, true);
      expect(Buffer.from(rebuilt!).equals(Buffer.from(body))).toBe(true);
    }
  });

  it('mixes runs deflated in one call with a run streamed on the thread pool, each a valid Z stream in order', async () => {
    const base = randomBytes(random, 300_000, 41);
    // Short edits around one run of 200 KB new bytes: the long run streams (past 128 KiB), the others do not.
    const body = Buffer.concat([mutate(random, base.subarray(0, 150_000), 8), randomBytes(random, 200_000, 42), mutate(random, base.subarray(150_000), 8)]);
    const reference: Uint8Array[] = [];
    new DeltaEncoder(parseIfBlock(formatIfBlock(base, engine)!), { engine }, (chunk) => reference.push(chunk)).push(body, true);
    const simplify = (bytes: Uint8Array) => readSections(bytes).map((section) => (section.kind === 'Z' ? { kind: 'Z', literal: section.literal } : section));
    // Inline (an idle loop) and on the thread pool (a busy one, every run streamed): the same sections.
    for (const deflateInline of [() => true, () => false]) {
      const delta = await transformed(body, base, 25, { deflateInline });
      expect(simplify(delta)).toEqual(simplify(Buffer.concat(reference)));
      const runs = simplify(delta).flatMap((section) => (section.kind === 'Z' ? [section.literal.length] : []));
      expect(Math.max(...runs)).toBeGreaterThan(200_000);
      expect(runs.filter((length) => length < 128 * 1024).length).toBeGreaterThan(3);
      let rebuilt: Uint8Array | null = null;
      new DeltaDecoder(base, {}, (verified) => (rebuilt = verified)).push(delta, true);
      expect(Buffer.from(rebuilt!).equals(body)).toBe(true);
    }
  });

  it('makes one valid Z stream of a run longer than many thread-pool segments', async () => {
    const body = randomBytes(random, 500_000, 30);
    const delta = await transformed(body, randomBytes(random, 1000), 7);
    const sections = readSections(delta);
    expect(sections.map((section) => section.kind)).toEqual(['Z', 'S']);
    expect(sections[0].kind === 'Z' && sections[0].literal.equals(Buffer.from(body))).toBe(true);
  });

  it('with a synchronous compressor (pako) reproduces the byte-exact encoder output', async () => {
    const body = mutate(random, old, 20);
    const reference: Uint8Array[] = [];
    new DeltaEncoder(ifBlock, { engine, compressor: pakoCompressor }, (chunk) => reference.push(chunk)).push(body, true);
    expect((await transformed(body, old, 15, { compressor: pakoCompressor })).equals(Buffer.concat(reference))).toBe(true);
  });

  it('can be destroyed mid-stream and reports encoder errors as stream errors', async () => {
    const transform = new DeltaTransform(ifBlock, { engine });
    transform.write(Buffer.from(updated.subarray(0, 1000)));
    transform.destroy();
    await new Promise((resolve) => transform.once('close', resolve));
    expect(transform.destroyed).toBe(true);

    const failing = new DeltaTransform(ifBlock, {
      engine,
      compressor: () => ({
        push() {
          throw new Error('compressor broke');
        },
      }),
    });
    await expect(pipeline(Readable.from([Buffer.from(randomBytes(random, 100_000))]), failing, new PassThrough().resume())).rejects.toThrow('compressor broke');
  });
});
