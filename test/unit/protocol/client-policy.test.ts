import type { FallbackReason } from '../../../src/protocol/client-plan';
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
  IF_BLOCK_HOLD_FIRST_MS,
  IF_BLOCK_HOLD_MAX_MS,
  IfBlockRefusal,
  IfBlockRequest,
  RefetchRefusal,
  RefetchResponse,
  isIfBlockHeld,
  isSameResource,
  loadErrorHoldsIfBlock,
  nextIfBlockHold,
  fallbackHoldsIfBlock,
  undecodedAnswerReason,
  refetchCredentials,
  refetchRefusal,
  refetchContinuesRelease,
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

describe('shouldOfferIfBlock: only where a fallback refetch would use the same cookie jar (§5, §6)', () => {
  const top = 'https://news.example';
  const base: IfBlockRequest = {
    method: 'GET',
    url: `${top}/app.js`,
    type: 'script',
    tabId: 3,
    originEnabled: true,
    incognito: false,
    cookieStoreId: 'firefox-default',
    topLevelOrigin: top,
    thirdParty: false,
    frameOrigins: [top],
    requestHeaders: [],
  };
  const refusal = (request: IfBlockRequest) => {
    const decision = shouldOfferIfBlock(request);
    return decision.offer ? null : decision.reason;
  };

  test('a same-site subresource of a normal tab, in the default jar', () => expect(shouldOfferIfBlock(base)).toEqual({ offer: true }));
  test('a top-level navigation, wherever it came from', () =>
    expect(refusal({ ...base, type: 'main_frame', url: `${top}/`, frameOrigins: [], thirdParty: false })).toBeNull());
  test('a same-site sub_frame navigation, and a CORS fetch to another host that Firefox calls same-site (a subdomain: its PSL, not ours)', () => {
    expect(refusal({ ...base, type: 'sub_frame', url: `${top}/frame.html` })).toBeNull();
    expect(refusal({ ...base, type: 'xmlhttprequest', url: 'https://api-news.example/feed' })).toBeNull();
  });
  test.each([
    ['a cross-site subresource', { url: 'https://cdn.example/app.js', thirdParty: true }],
    ['a cross-site frame', { type: 'sub_frame', url: 'https://ads.example/frame.html', thirdParty: true }],
    ['a same-site request inside a cross-site frame (A in B in A)', { frameOrigins: ['https://news.example', 'https://ads.example'], thirdParty: true }],
    ['a request to another scheme than the top-level document', { url: 'http://localhost/app.js', topLevelOrigin: 'https://localhost', thirdParty: false }],
    ['a request whose top-level document is unknown', { topLevelOrigin: null }],
  ] as [string, Partial<IfBlockRequest>][])('not %s (third-party: a partitioned jar)', (_what, change) => expect(refusal({ ...base, ...change })).toBe('third-party'));
  test('without Firefox\'s thirdParty flag, only the top-level host counts as same-site (no PSL: err toward refusing)', () => {
    const unknown = { ...base, thirdParty: undefined };
    expect(refusal(unknown)).toBeNull();
    expect(refusal({ ...unknown, url: 'https://static-news.example/app.js' })).toBe('third-party');
    expect(refusal({ ...unknown, frameOrigins: [top, 'https://ads.example'] })).toBe('third-party');
    expect(refusal({ ...unknown, frameOrigins: [null] })).toBe('third-party');
  });
  test.each([
    ['other methods', { method: 'POST' }, 'not-get'],
    ['plain http to other hosts', { url: 'http://news.example/app.js' }, 'insecure-url'],
    ['an origin the user did not enable', { originEnabled: false }, 'site-off'],
    ['a request whose page set its own If-Block', { requestHeaders: [{ name: 'if-block', value: 'v=1; fs=1; h=AA' }] }, 'page-if-block'],
    ['a private window', { incognito: true }, 'private-window'],
    ['a container', { cookieStoreId: 'firefox-container-2' }, 'container'],
    ['a request without a tab (workers, the browser)', { tabId: -1 }, 'no-tab'],
    ['a media request (Range)', { type: 'media' }, 'request-type'],
    ['a websocket', { type: 'websocket' }, 'request-type'],
    ['a Range request', { requestHeaders: [{ name: 'Range', value: 'bytes=0-99' }] }, 'range'],
  ] as [string, Partial<IfBlockRequest>, IfBlockRefusal][])('not for %s', (_what, change, reason) => expect(refusal({ ...base, ...change })).toBe(reason));
  test('a private window is refused even for a top-level navigation', () =>
    expect(refusal({ ...base, type: 'main_frame', incognito: true, cookieStoreId: 'firefox-private' })).toBe('private-window'));
});

describe('the fallback refetch (§5: a normal fetch of the same URL, or nothing)', () => {
  test('refetchCredentials: cookies only when the page\'s request carried a Cookie header', () => {
    expect(refetchCredentials([{ name: 'Cookie', value: 'session=1' }])).toBe('include');
    expect(refetchCredentials([{ name: 'cookie', value: 'a=b' }, { name: 'Accept', value: '*/*' }])).toBe('include');
    expect(refetchCredentials([{ name: 'Authorization', value: 'Bearer x' }])).toBe('omit');
    expect(refetchCredentials([{ name: 'Cookie', value: '  ' }])).toBe('omit');
    expect(refetchCredentials([])).toBe('omit');
    expect(refetchCredentials(undefined)).toBe('omit');
  });

  const ok = { requestedUrl: 'https://news.example/a?b=1', responseUrl: 'https://news.example/a?b=1', responseType: 'basic', status: 200, contentEncoding: null };
  test('a 200 of the very URL is written', () => {
    expect(refetchRefusal(ok)).toBeNull();
    expect(refetchRefusal({ ...ok, requestedUrl: 'https://news.example/a?b=1#top' })).toBeNull();
    expect(refetchRefusal({ ...ok, contentEncoding: 'gzip' })).toBeNull();
  });
  test.each([
    ['an opaque redirect (redirect: manual)', { responseType: 'opaqueredirect', status: 0, responseUrl: '' }, 'REFETCH_REDIRECTED'],
    ['a 302', { status: 302 }, 'REFETCH_REDIRECTED'],
    ['a 404', { status: 404 }, 'REFETCH_STATUS'],
    ['a 500', { status: 500 }, 'REFETCH_STATUS'],
    ['a 206', { status: 206 }, 'REFETCH_STATUS'],
    ['a response of another URL (a followed redirect)', { responseUrl: 'https://bank.example/account' }, 'REFETCH_OTHER_URL'],
    ['a response of another query', { responseUrl: 'https://news.example/a?b=2' }, 'REFETCH_OTHER_URL'],
    ['a body labelled crcsync', { contentEncoding: 'crcsync' }, 'REFETCH_ENCODED'],
    ['a body labelled gzip, crcsync', { contentEncoding: 'gzip, CRCSYNC' }, 'REFETCH_ENCODED'],
  ] as [string, Partial<RefetchResponse>, RefetchRefusal][])('refuses %s', (_what, change, reason) => expect(refetchRefusal({ ...ok, ...change })).toBe(reason));
  test('isSameResource ignores only the fragment', () => {
    expect(isSameResource('https://a.example/x#1', 'https://a.example/x')).toBe(true);
    expect(isSameResource('https://a.example/x', 'https://a.example/x/')).toBe(false);
    expect(isSameResource('https://a.example/x', 'not a url')).toBe(false);
  });
});

describe('holds: a broken peer breaks a page once, not on every visit', () => {
  const hour = 60 * 60 * 1000;
  test('one hour after the first failed load, doubling with each failure in a row, at most 30 days', () => {
    const first = nextIfBlockHold(undefined, 'NS_ERROR_INVALID_CONTENT_ENCODING', 1000);
    expect(first).toEqual({ failures: 1, failedAt: 1000, heldUntil: 1000 + hour, reason: 'NS_ERROR_INVALID_CONTENT_ENCODING' });
    expect(first.heldUntil - first.failedAt).toBe(IF_BLOCK_HOLD_FIRST_MS);
    const second = nextIfBlockHold(first, 'FILTER_ERROR', 5000);
    expect(second).toEqual({ failures: 2, failedAt: 5000, heldUntil: 5000 + 2 * hour, reason: 'FILTER_ERROR' });
    let hold = second;
    for (let i = 0; i < 40; i++) hold = nextIfBlockHold(hold, 'x', 0);
    expect(hold.heldUntil).toBe(IF_BLOCK_HOLD_MAX_MS);
  });
  test('isIfBlockHeld: until heldUntil, not after', () => {
    const hold = nextIfBlockHold(undefined, 'x', 0);
    expect(isIfBlockHeld(hold, 0)).toBe(true);
    expect(isIfBlockHeld(hold, hour - 1)).toBe(true);
    expect(isIfBlockHeld(hold, hour)).toBe(false);
    expect(isIfBlockHeld(undefined, 0)).toBe(false);
  });
  test('undecodedAnswerReason: a 200 with a content-coding that decoded to nothing did not load', () => {
    expect(undecodedAnswerReason({ status: 200, contentEncoding: 'gzip', decodedBytes: 0 })).toBe('CONTENT_DECODING_FAILED gzip');
    expect(undecodedAnswerReason({ status: 200, contentEncoding: 'GZIP, br', decodedBytes: 0 })).toBe('CONTENT_DECODING_FAILED gzip, br');
    expect(undecodedAnswerReason({ status: 200, contentEncoding: 'gzip', decodedBytes: 1 })).toBeNull();
    expect(undecodedAnswerReason({ status: 200, contentEncoding: undefined, decodedBytes: 0 })).toBeNull(); // an empty identity body is just empty
    expect(undecodedAnswerReason({ status: 200, contentEncoding: 'identity', decodedBytes: 0 })).toBeNull();
    expect(undecodedAnswerReason({ status: 404, contentEncoding: 'gzip', decodedBytes: 0 })).toBeNull();
  });
  test('a load the page or the user stopped does not count against the URL', () => {
    expect(loadErrorHoldsIfBlock('NS_BINDING_ABORTED')).toBe(false);
    expect(loadErrorHoldsIfBlock('NS_ERROR_INVALID_CONTENT_ENCODING')).toBe(true);
    expect(loadErrorHoldsIfBlock('NS_ERROR_NET_RESET')).toBe(true);
  });
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
  test('errors a wrong base produces drop it, and so does a decompression bomb (the next load must not repeat it)', () => {
    for (const reason of <FallbackReason[]>['DELTA_DIGEST_MISMATCH', 'DELTA_BLOCK_OUT_OF_RANGE', 'BASE_UNUSABLE', 'DECODER_EXCEPTION', 'DELTA_INFLATE_RATIO']) {
      expect(fallbackDropsBase(reason)).toBe(true);
    }
  });
  test('x=1: a wrong checkpoint or a wrong dictionary is evidence of a different base, like a wrong S (docs/extensions.md §3.5)', () => {
    for (const reason of <FallbackReason[]>['DELTA_CHECKPOINT_MISMATCH', 'DELTA_DICTIONARY', 'DELTA_DICTIONARY_WORK']) {
      expect(fallbackDropsBase(reason)).toBe(true);
    }
  });
  test('x=1: a server breaking the wire rules (version, checkpoint spacing) keeps it', () => {
    for (const reason of <FallbackReason[]>['DELTA_EXTENSION_VERSION', 'DELTA_CHECKPOINT_SPACING']) {
      expect(fallbackDropsBase(reason)).toBe(false);
    }
  });
  test('a stall, a broken or truncated stream, a lying server, storage or filter trouble keep it', () => {
    for (const reason of <FallbackReason[]>[
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

test('fallbackHoldsIfBlock: a bomb, an oversized rebuild or too much dictionary work holds the URL, other fallbacks do not', () => {
  expect(fallbackHoldsIfBlock('DELTA_INFLATE_RATIO')).toBe(true);
  expect(fallbackHoldsIfBlock('DELTA_TOO_LARGE')).toBe(true);
  expect(fallbackHoldsIfBlock('DELTA_DICTIONARY_WORK')).toBe(true);
  for (const reason of <FallbackReason[]>[
    'DELTA_DIGEST_MISMATCH',
    'DELTA_ZLIB',
    'DELTA_STALLED',
    'BASE_MISSING',
    'CONTENT_ENCODING gzip, crcsync',
    'DELTA_CHECKPOINT_MISMATCH',
    'DELTA_CHECKPOINT_SPACING',
    'DELTA_DICTIONARY',
    'DELTA_EXTENSION_VERSION',
  ]) {
    expect(fallbackHoldsIfBlock(reason)).toBe(false);
  }
});

describe('refetchContinuesRelease (docs/extensions.md §3.4: never a mix of two bodies)', () => {
  const text = (value: string) => new TextEncoder().encode(value);
  test('a refetch that starts with exactly the released ranges continues them, however they were cut', () => {
    expect(refetchContinuesRelease([text('<html><he'), text('ad>')], text('<html><head><title>new</title>'))).toBe(true);
    expect(refetchContinuesRelease([text('<html><head>')], text('<html><head>'))).toBe(true);
    expect(refetchContinuesRelease([], text('anything'))).toBe(true);
  });
  test('a refetch that differs anywhere in the released bytes, or is shorter than them, does not', () => {
    expect(refetchContinuesRelease([text('<html><he'), text('ad>')], text('<html><hEad><title>new</title>'))).toBe(false);
    expect(refetchContinuesRelease([text('<html><he'), text('ad>')], text('<html><he'))).toBe(false);
    expect(refetchContinuesRelease([text('x')], new Uint8Array(0))).toBe(false);
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
