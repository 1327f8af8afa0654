import {
  advertisesCrcsync,
  classifyDeltaResponse,
  isCacheableBodySize,
  isCacheableResponse,
  isCrcsyncEligibleUrl,
  originOf,
  rebuiltResponseHeaders,
  shouldOfferIfBlock,
  countsTowardSavings,
  fallbackDropsBase,
  nextBaselineBytes,
} from '../../../src/protocol/client-policy';

describe('isCrcsyncEligibleUrl (PROTOCOL.md §6)', () => {
  test.each([
    ['https://example.org/a', true],
    ['http://127.0.0.1:8080/', true],
    ['http://localhost/x', true],
    ['http://example.org/', false],
    ['ftp://example.org/', false],
    ['data:text/plain,hi', false],
    ['not a url', false],
  ])('%s -> %s', (url, eligible) => expect(isCrcsyncEligibleUrl(url)).toBe(eligible));
});

test('originOf drops paths and refuses opaque origins', () => {
  expect(originOf('https://example.org:8443/a?b#c')).toBe('https://example.org:8443');
  expect(originOf('data:text/plain,x')).toBeNull();
  expect(originOf(undefined)).toBeNull();
});

describe('shouldOfferIfBlock', () => {
  const base = { method: 'GET', url: 'https://example.org/', originEnabled: true, privateContext: false, requestHeaders: [] };
  test('GET to an enabled HTTPS origin', () => expect(shouldOfferIfBlock(base)).toBe(true));
  test('not for other methods', () => expect(shouldOfferIfBlock({ ...base, method: 'POST' })).toBe(false));
  test('not when the origin is off', () => expect(shouldOfferIfBlock({ ...base, originEnabled: false })).toBe(false));
  test('not from a private window', () => expect(shouldOfferIfBlock({ ...base, privateContext: true })).toBe(false));
  test('not over plain http to other hosts', () => expect(shouldOfferIfBlock({ ...base, url: 'http://example.org/' })).toBe(false));
  test('a page that set its own If-Block keeps it', () =>
    expect(shouldOfferIfBlock({ ...base, requestHeaders: [{ name: 'if-block', value: 'v=1; fs=1; h=AA' }] })).toBe(false));
});

test('advertisesCrcsync reads the Capability header case-insensitively', () => {
  expect(advertisesCrcsync([{ name: 'capability', value: 'crcsync; m=1' }])).toBe(true);
  expect(advertisesCrcsync([{ name: 'Capability', value: 'CRCSYNC' }])).toBe(true);
  expect(advertisesCrcsync([{ name: 'Capability', value: 'other' }])).toBe(false);
  expect(advertisesCrcsync([])).toBe(false);
});

describe('classifyDeltaResponse (§2: decode only exactly crcsync)', () => {
  test.each([
    [200, 'crcsync', 'delta'],
    [200, ' CRCSYNC ', 'delta'],
    [200, 'gzip', 'plain'],
    [200, undefined, 'plain'],
    [200, 'gzip, crcsync', 'unusable'],
    [404, 'crcsync', 'unusable'],
  ] as const)('%d %s -> %s', (status, encoding, kind) => {
    const headers = encoding === undefined ? [] : [{ name: 'Content-Encoding', value: encoding }];
    expect(classifyDeltaResponse(status, headers)).toBe(kind);
  });
});

test('rebuiltResponseHeaders drops the crcsync headers and the If-Block token of Vary', () => {
  const rebuilt = rebuiltResponseHeaders([
    { name: 'Content-Type', value: 'text/html' },
    { name: 'Content-Encoding', value: 'crcsync' },
    { name: 'Content-Length', value: '101' },
    { name: 'Content-MD5', value: 'x' },
    { name: 'Vary', value: 'Accept-Encoding, If-Block' },
    { name: 'Vary', value: 'if-block' },
    { name: 'Cache-Control', value: 'max-age=60' },
    { name: 'ETag', value: '"v1"-crcsync-identity' },
  ]);
  expect(rebuilt).toEqual([
    { name: 'Content-Type', value: 'text/html' },
    { name: 'Vary', value: 'Accept-Encoding' },
    { name: 'ETag', value: '"v1"-crcsync-identity' },
    { name: 'Cache-Control', value: 'no-store' },
  ]);
});

describe('isCacheableResponse (§6)', () => {
  const base = { method: 'GET', url: 'https://example.org/', status: 200, privateContext: false, responseHeaders: [] };
  test('a plain GET 200', () => expect(isCacheableResponse(base)).toBe(true));
  test('not no-store', () =>
    expect(isCacheableResponse({ ...base, responseHeaders: [{ name: 'Cache-Control', value: 'private, no-store' }] })).toBe(false));
  test('no-cache is fine (revalidated anyway)', () =>
    expect(isCacheableResponse({ ...base, responseHeaders: [{ name: 'Cache-Control', value: 'no-cache' }] })).toBe(true));
  test('not other statuses', () => expect(isCacheableResponse({ ...base, status: 206 })).toBe(false));
  test('not from private windows', () => expect(isCacheableResponse({ ...base, privateContext: true })).toBe(false));
  test('not announced over 4 MiB', () =>
    expect(isCacheableResponse({ ...base, responseHeaders: [{ name: 'Content-Length', value: String(4 * 1024 * 1024 + 1) }] })).toBe(false));
  test("a delta's Content-Length says nothing about the rebuilt size", () =>
    expect(
      isCacheableResponse({
        ...base,
        responseHeaders: [
          { name: 'Content-Encoding', value: 'crcsync' },
          { name: 'Content-Length', value: String(5 * 1024 * 1024) },
        ],
      }),
    ).toBe(true));
  test('body sizes 200 B .. 4 MiB', () => {
    expect(isCacheableBodySize(199)).toBe(false);
    expect(isCacheableBodySize(200)).toBe(true);
    expect(isCacheableBodySize(4 * 1024 * 1024)).toBe(true);
    expect(isCacheableBodySize(4 * 1024 * 1024 + 1)).toBe(false);
  });
});

describe('fallbackDropsBase (§5: the cached copy is left as it was, or dropped if it was the cause)', () => {
  test('errors a wrong base produces drop it', () => {
    for (const reason of ['DELTA_DIGEST_MISMATCH', 'DELTA_BLOCK_OUT_OF_RANGE', 'BASE_UNUSABLE', 'DECODER_EXCEPTION']) {
      expect(fallbackDropsBase(reason)).toBe(true);
    }
  });
  test('a stall, a broken or truncated stream, a lying server, storage or filter trouble keep it', () => {
    for (const reason of [
      'DELTA_STALLED',
      'DELTA_TRUNCATED',
      'DELTA_MISSING_DIGEST',
      'DELTA_ZLIB',
      'DELTA_UNKNOWN_SECTION',
      'DELTA_TRAILING_DATA',
      'DELTA_TOO_LARGE',
      'CONTENT_ENCODING gzip, crcsync',
      'BASE_MISSING',
      'STORAGE_ERROR',
      'FILTER_ERROR',
    ]) {
      expect(fallbackDropsBase(reason)).toBe(false);
    }
  });
});

describe('savings: only measured exchanges that sent If-Block count', () => {
  test('countsTowardSavings', () => {
    expect(countsTowardSavings({ ifBlockSent: true, wireBytes: 300, baselineBytes: 2000 })).toBe(true);
    expect(countsTowardSavings({ ifBlockSent: false, wireBytes: 2000, baselineBytes: 2000 })).toBe(false);
    expect(countsTowardSavings({ ifBlockSent: true, wireBytes: null, baselineBytes: 2000 })).toBe(false);
    expect(countsTowardSavings({ ifBlockSent: true, wireBytes: 300, baselineBytes: null })).toBe(false);
  });
  test('nextBaselineBytes: a full download is its own baseline; a rebuilt body keeps the one it replaced', () => {
    expect(nextBaselineBytes(1800, 2000)).toBe(1800);
    expect(nextBaselineBytes(null, 2000)).toBe(2000);
    expect(nextBaselineBytes(null, null)).toBeNull();
  });
});
