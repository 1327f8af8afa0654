import { planOffer, planResponse, OfferFacts, ResponseFacts } from '../../../src/protocol/client-plan';
import { fallbackDropsBase } from '../../../src/protocol/client-policy';

const IF_BLOCK = `v=1; fs=1000; h=${'A'.repeat(427)}`;

function offer(overrides: Partial<OfferFacts> = {}, request: Partial<OfferFacts['request']> = {}): OfferFacts {
  return {
    request: {
      method: 'GET',
      url: 'https://news.example/today',
      type: 'main_frame',
      tabId: 3,
      originEnabled: true,
      incognito: false,
      cookieStoreId: 'firefox-default',
      topLevelOrigin: 'https://news.example',
      thirdParty: false,
      frameOrigins: [],
      requestHeaders: [],
      ...request,
    },
    canDecode: true,
    storedIfBlock: IF_BLOCK,
    heldBecause: null,
    offerExtension: true,
    ...overrides,
  };
}

describe('planOffer', () => {
  test('a navigation with a base goes out with the stored v=1 value plus the x=1 offer', () => {
    expect(planOffer(offer())).toEqual({ send: true, ifBlock: `${IF_BLOCK}; x=1`, keepsBody: true });
    expect(planOffer(offer({ offerExtension: false }))).toEqual({ send: true, ifBlock: IF_BLOCK, keepsBody: true });
  });

  test('no base, no decoder, a hold: no If-Block, but the body may still become the base', () => {
    expect(planOffer(offer({ storedIfBlock: null }))).toEqual({ send: false, reason: 'no-base', keepsBody: true });
    expect(planOffer(offer({ canDecode: false }))).toEqual({ send: false, reason: 'no-decoder', keepsBody: true });
    expect(planOffer(offer({ heldBecause: 'DELTA_TOO_LARGE' }))).toEqual({ send: false, reason: 'held', keepsBody: true, detail: 'DELTA_TOO_LARGE' });
  });

  test('contexts where no fallback could be done safely keep nothing; the page\'s own If-Block and Range keep their bodies', () => {
    expect(planOffer(offer({}, { incognito: true }))).toEqual({ send: false, reason: 'private-window', keepsBody: false });
    expect(planOffer(offer({}, { cookieStoreId: 'firefox-container-1' }))).toEqual({ send: false, reason: 'container', keepsBody: false });
    expect(planOffer(offer({}, { type: 'script', thirdParty: true }))).toEqual({ send: false, reason: 'third-party', keepsBody: false });
    expect(planOffer(offer({}, { requestHeaders: [{ name: 'If-Block', value: 'x' }] }))).toEqual({ send: false, reason: 'page-if-block', keepsBody: true });
    expect(planOffer(offer({}, { type: 'xmlhttprequest', requestHeaders: [{ name: 'Range', value: 'bytes=0-9' }] }))).toEqual({ send: false, reason: 'range', keepsBody: true });
  });
});

function answer(overrides: Partial<ResponseFacts> = {}, headers: [string, string][] = []): ResponseFacts {
  return {
    method: 'GET',
    url: 'https://news.example/today',
    status: 200,
    responseHeaders: headers.map(([name, value]) => ({ name, value })),
    offered: true,
    keepsBody: true,
    canDecode: true,
    ...overrides,
  };
}

describe('planResponse', () => {
  test('a delta to our If-Block is rebuilt under headers without the crcsync ones, and kept', () => {
    const plan = planResponse(answer({}, [['Content-Encoding', 'crcsync'], ['Vary', 'If-Block, Accept-Encoding'], ['Set-Cookie', 'a=1']]));
    expect(plan.action).toBe('rebuild');
    if (plan.action !== 'rebuild') return;
    expect(plan.keep).toBe(true);
    expect(plan.headers).toEqual([
      { name: 'Vary', value: 'Accept-Encoding' },
      { name: 'Set-Cookie', value: 'a=1' },
      { name: 'Cache-Control', value: 'no-store' },
    ]);
  });

  test('crcsync that nobody can decode is refetched at once, for a typed reason that keeps the base', () => {
    const plan = planResponse(answer({}, [['Content-Encoding', 'crcsync, gzip']]));
    expect(plan).toMatchObject({ action: 'refetch', reason: 'CONTENT_ENCODING crcsync, gzip' });
    if (plan.action === 'refetch') expect(fallbackDropsBase(plan.reason)).toBe(false);
    expect(planResponse(answer({ status: 404 }, [['Content-Encoding', 'crcsync']]))).toMatchObject({ action: 'refetch' });
  });

  test('a crcsync body nobody asked for, and redirects, are not ours', () => {
    expect(planResponse(answer({ offered: false }, [['Content-Encoding', 'crcsync']]))).toEqual({ action: 'ignore' });
    expect(planResponse(answer({ status: 302 }, [['Location', '/x']]))).toEqual({ action: 'ignore' });
  });

  test('a plain cacheable 200 is captured; an answer to If-Block with a coding is watched even when not kept', () => {
    expect(planResponse(answer({ offered: false }, [['Content-Type', 'text/html']]))).toEqual({ action: 'capture', keep: true, watch: false });
    expect(planResponse(answer({}, [['Content-Encoding', 'br'], ['Cache-Control', 'no-store']]))).toEqual({ action: 'capture', keep: false, watch: true });
  });

  test('what passes, and why; no-store drops the old base', () => {
    expect(planResponse(answer({ offered: false, keepsBody: false }))).toEqual({ action: 'pass', why: 'not kept', dropStored: false });
    expect(planResponse(answer({ offered: false, status: 404 }, [['Cache-Control', 'no-store']]))).toEqual({ action: 'pass', why: 'status', dropStored: true });
    expect(planResponse(answer({ offered: false, method: 'POST' }))).toEqual({ action: 'pass', why: 'not cacheable', dropStored: false });
    expect(planResponse(answer({ offered: false, canDecode: false }))).toEqual({ action: 'pass', why: 'not cacheable', dropStored: false });
  });
});
