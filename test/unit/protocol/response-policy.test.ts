// The server-side rules of PROTOCOL.md §2 and §5 as pure functions.

import { getDefaultEngine } from '../../../src/core/embedded-core';
import { formatIfBlock } from '../../../src/protocol/if-block';
import {
  DeltaEncodingInput,
  cacheControlDirectives,
  crcsyncEtag,
  decideDeltaEncoding,
  mergeVary,
  originContentEncoding,
} from '../../../src/protocol/response-policy';

const base = new Uint8Array(4000).map((_, i) => i % 251);
const ifBlock = formatIfBlock(base, getDefaultEngine())!;
const encodable: DeltaEncodingInput = {
  method: 'GET',
  status: 200,
  ifBlock,
  contentEncoding: undefined,
  contentRange: undefined,
  cacheControl: undefined,
  decodable: ['gzip', 'br'],
};

describe('decideDeltaEncoding', () => {
  it('encodes a GET 200 identity response with a valid If-Block', () => {
    const decision = decideDeltaEncoding(encodable);
    expect(decision.encode).toBe(true);
    if (decision.encode) {
      expect(decision.ifBlock.fileSize).toBe(4000);
      expect(decision.originEncoding).toBe('identity');
    }
  });

  it.each([
    ['HEAD', { method: 'HEAD' }, 'method'],
    ['POST', { method: 'POST' }, 'method'],
    ['304', { status: 304 }, 'status'],
    ['206', { status: 206 }, 'status'],
    ['204', { status: 204 }, 'status'],
    ['a Content-Range on a 200', { contentRange: 'bytes 0-9/10' }, 'partial'],
    ['no-transform', { cacheControl: 'max-age=0, No-Transform' }, 'no-transform'],
    ['no-store', { cacheControl: ['private', 'no-store'] }, 'no-store'],
    ['no If-Block', { ifBlock: undefined }, 'no-if-block'],
    ['an undecodable coding', { contentEncoding: 'zstd' }, 'encoded'],
    ['two codings', { contentEncoding: 'gzip, br' }, 'encoded'],
    ['an invalid If-Block', { ifBlock: 'v=1, fs=4000, h=AAAA' }, 'invalid-if-block'],
    ['two If-Block lines', { ifBlock: [ifBlock, ifBlock] }, 'invalid-if-block'],
    ['a tail over the budget', { maxBlockBytes: 50 }, 'window-too-large'],
    ['a path the operator excluded', { excluded: true }, 'excluded'],
    ['a body that ends when the connection closes', { bodyEndsAtClose: true }, 'close-delimited'],
  ] as const)('passes through %s', (_label, change, reason) => {
    const decision = decideDeltaEncoding({ ...encodable, ...change });
    expect(decision).toMatchObject({ encode: false, reason });
  });

  describe('block size (§5: 5 B <= bs <= 128 KiB, what honest clients send)', () => {
    const hashes = (count: number) => 'A'.repeat(Math.ceil((count * 8 * 4) / 3));
    it.each([
      ['bs = 1 (fs = 256, n = 256)', 256, 256, 'block-size'],
      ['bs = 4 (fs = 199, n = 40)', 199, 40, 'block-size'],
      ['bs = 128 KiB + 1 (n = 1)', 128 * 1024 + 1, 1, 'block-size'],
      ['bs = 4 MiB (n = 1)', 4 * 1024 * 1024, 1, 'block-size'],
      ['bs = 256 KiB (fs = 64 MiB, n = 256)', 64 * 1024 * 1024, 256, 'block-size'],
    ] as const)('passes through %s', (_label, fileSize, count, reason) => {
      expect(decideDeltaEncoding({ ...encodable, ifBlock: `v=1; fs=${fileSize}; h=${hashes(count)}` })).toMatchObject({ encode: false, reason });
    });
    it.each([
      ['bs = 5 (fs = 200, n = 40: the smallest honest base)', 200, 40],
      ['bs = 104,857 (fs = 4 MiB, n = 40: the largest honest base)', 4 * 1024 * 1024, 40],
      ['bs = 128 KiB exactly (n = 1)', 128 * 1024, 1],
      ['bs = 5 with n = 256 (fs = 1280)', 1280, 256],
    ] as const)('encodes %s', (_label, fileSize, count) => {
      expect(decideDeltaEncoding({ ...encodable, ifBlock: `v=1; fs=${fileSize}; h=${hashes(count)}` })).toMatchObject({ encode: true });
    });
  });

  it('keeps the parse error for the log', () => {
    const decision = decideDeltaEncoding({ ...encodable, ifBlock: `v=1; fs=4000; h=${'A'.repeat(5000)}` });
    expect(decision).toMatchObject({ encode: false, reason: 'invalid-if-block', error: { code: 'IF_BLOCK_TOO_LONG' } });
  });

  it('encodes after decoding a coding the adapter can undo', () => {
    expect(decideDeltaEncoding({ ...encodable, contentEncoding: 'GZIP' })).toMatchObject({ encode: true, originEncoding: 'gzip' });
    expect(decideDeltaEncoding({ ...encodable, contentEncoding: 'identity' })).toMatchObject({ encode: true, originEncoding: 'identity' });
  });
});

describe('header rules', () => {
  it('merges If-Block into Vary once, and leaves * alone', () => {
    expect(mergeVary(undefined, 'If-Block')).toBe('If-Block');
    expect(mergeVary('Accept-Encoding', 'If-Block')).toBe('Accept-Encoding, If-Block');
    expect(mergeVary(['Accept-Encoding', 'Cookie'], 'If-Block')).toBe('Accept-Encoding, Cookie, If-Block');
    expect(mergeVary('accept-encoding, if-block', 'If-Block')).toBe('accept-encoding, if-block');
    expect(mergeVary('*', 'If-Block')).toBe('*');
    expect(mergeVary(' , ', 'If-Block')).toBe('If-Block');
  });

  it('suffixes the ETag after the closing quote with the origin coding', () => {
    expect(crcsyncEtag('"v1"', 'identity')).toBe('"v1"-crcsync-identity');
    expect(crcsyncEtag('W/"ad8f"', '')).toBe('W/"ad8f"-crcsync-identity');
    expect(crcsyncEtag('"g1"', 'gzip')).toBe('"g1"-crcsync-gzip');
  });

  it('reads Cache-Control directives case-insensitively, ignoring values', () => {
    expect([...cacheControlDirectives('max-age=60, No-Store,private="x"')]).toEqual(['max-age', 'no-store', 'private']);
    expect(cacheControlDirectives(undefined).size).toBe(0);
  });

  it('normalises the origin coding', () => {
    expect(originContentEncoding(undefined)).toBe('identity');
    expect(originContentEncoding(' Identity ')).toBe('identity');
    expect(originContentEncoding('BR')).toBe('br');
  });
});
