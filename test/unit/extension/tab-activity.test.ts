import { TabActivity } from '../../../extension/background/tab-activity';
import { DELTA_RESOURCE_TYPES, DOCUMENT_AND_FETCH_TYPES, SUBRESOURCE_TYPES } from '../../../extension/background/request-scope';
import { shouldOfferIfBlock } from '../../../src/protocol/client-policy';

describe('TabActivity: store work waits until a page stops loading', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function settledAfter(promise: Promise<void>): { done: boolean } {
    const state = { done: false };
    void promise.then(() => (state.done = true));
    return state;
  }

  async function advance(ms: number): Promise<void> {
    await jest.advanceTimersByTimeAsync(ms);
  }

  test('waits while the tab has requests in flight, then for the quiet period', async () => {
    const activity = new TabActivity();
    activity.started('doc', 7);
    activity.started('css', 7);
    const quiet = settledAfter(activity.whenQuiet(7, { quietMs: 50, maxWaitMs: 5000 }));
    await advance(1000);
    expect(quiet.done).toBe(false);
    activity.ended('doc');
    await advance(100);
    expect(quiet.done).toBe(false); // the stylesheet is still loading
    activity.ended('css');
    await advance(49);
    expect(quiet.done).toBe(false);
    await advance(1);
    expect(quiet.done).toBe(true);
  });

  test('a request starting during the quiet period starts it over', async () => {
    const activity = new TabActivity();
    const quiet = settledAfter(activity.whenQuiet(3, { quietMs: 50, maxWaitMs: 5000 }));
    await advance(40);
    activity.started('late-script', 3);
    await advance(200);
    expect(quiet.done).toBe(false);
    activity.ended('late-script');
    await advance(50);
    expect(quiet.done).toBe(true);
  });

  test('a tab that never goes quiet (polling) is waited for at most maxWaitMs', async () => {
    const activity = new TabActivity();
    activity.started('long-poll', 1);
    const quiet = settledAfter(activity.whenQuiet(1, { quietMs: 50, maxWaitMs: 3000 }));
    await advance(2999);
    expect(quiet.done).toBe(false);
    await advance(1);
    expect(quiet.done).toBe(true);
  });

  test('other tabs, requests without a tab, redirects and closed tabs', async () => {
    const activity = new TabActivity();
    activity.started('other-tab', 2);
    activity.started('worker', -1);
    const own = settledAfter(activity.whenQuiet(5, { quietMs: 10, maxWaitMs: 5000 }));
    const noTab = settledAfter(activity.whenQuiet(-1));
    await advance(10);
    expect(own.done).toBe(true);
    expect(noTab.done).toBe(true);

    activity.started('redirected', 9);
    activity.started('redirected', 9); // the same request after a redirect
    activity.ended('redirected');
    expect(activity.inFlight(9)).toBe(0);

    activity.started('never-ends', 4);
    const closed = settledAfter(activity.whenQuiet(4, { quietMs: 10, maxWaitMs: 5000 }));
    activity.forgetTab(4);
    await advance(0);
    expect(closed.done).toBe(true);
    expect(activity.inFlight(4)).toBe(0);
  });
});

describe('request scope: the listeners see exactly the types crcsync may serve', () => {
  const request = (type: string) => ({
    method: 'GET',
    url: 'https://example.org/page',
    type,
    tabId: 1,
    originEnabled: true,
    incognito: false,
    topLevelOrigin: 'https://example.org',
    thirdParty: false,
    cookieStoreId: undefined,
    frameOrigins: ['https://example.org'],
    requestHeaders: [],
  });

  test('documents, frames, scripts, styles and fetches are seen; each may be offered If-Block', () => {
    for (const type of ['main_frame', 'sub_frame', 'script', 'stylesheet', 'xmlhttprequest']) expect(DELTA_RESOURCE_TYPES).toContain(type);
    for (const type of DELTA_RESOURCE_TYPES) expect(shouldOfferIfBlock(request(type))).toEqual({ offer: true });
  });

  test('by default only documents and fetches are hooked; scripts and stylesheets on request', () => {
    expect([...DOCUMENT_AND_FETCH_TYPES].sort()).toEqual(['main_frame', 'sub_frame', 'xmlhttprequest']);
    expect(SUBRESOURCE_TYPES).toEqual(expect.arrayContaining(['script', 'stylesheet']));
    expect(SUBRESOURCE_TYPES.filter((type) => DOCUMENT_AND_FETCH_TYPES.includes(type))).toEqual([]);
  });

  test('images, fonts, media and bodiless requests never reach a blocking listener', () => {
    for (const type of ['image', 'imageset', 'font', 'media', 'object', 'ping', 'beacon', 'csp_report', 'websocket', 'speculative']) {
      expect(DELTA_RESOURCE_TYPES).not.toContain(type);
    }
  });
});
