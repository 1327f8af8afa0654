// The store's rules that need no IndexedDB: LRU eviction planning, the
// private-window rule, and keying (the e2e tests cover the IndexedDB adapter).
// Private windows: the rules here, end to end in test/e2e/private.test.ts
// (a private window opened by the test build, the add-on installed with
// moz:allowPrivateBrowsing).

import { mayPersist } from '../../../extension/background/body-store';
import { planEviction } from '../../../extension/background/eviction';
import {
  cacheUrlOf,
  isOwnRequest,
  isPrivateContext,
  partitionOf,
  storeKeyFor,
  topLevelOriginOf,
} from '../../../extension/background/request-context';

describe('planEviction', () => {
  const entries = [
    { key: 'a', size: 40, lastUsedAt: 3 },
    { key: 'b', size: 40, lastUsedAt: 1 },
    { key: 'c', size: 40, lastUsedAt: 2 },
  ];
  test('nothing to evict under the cap', () => expect(planEviction(entries, { key: 'd', size: 30 }, 200)).toEqual([]));
  test('least recently used first, only as many as needed', () =>
    expect(planEviction(entries, { key: 'd', size: 50 }, 150)).toEqual(['b']));
  test('a replaced entry does not count and is not listed', () =>
    expect(planEviction(entries, { key: 'a', size: 60 }, 130)).toEqual(['b']));
  test('a body over the cap on its own is refused', () => expect(planEviction(entries, { key: 'd', size: 201 }, 200)).toBeNull());
});

describe('private windows persist nothing (PROTOCOL.md §6)', () => {
  test('mayPersist', () => {
    expect(mayPersist({ privateContext: true, partition: 'firefox-default' })).toBe(false);
    expect(mayPersist({ privateContext: false, partition: 'private' })).toBe(false);
    expect(mayPersist({ privateContext: false, partition: 'firefox-default' })).toBe(true);
  });
  test('incognito requests and the private cookie store are private', () => {
    const request = { url: 'https://a.example/', type: 'main_frame', tabId: 3 };
    expect(isPrivateContext({ ...request, incognito: true })).toBe(true);
    expect(isPrivateContext({ ...request, cookieStoreId: 'firefox-private' })).toBe(true);
    expect(isPrivateContext({ ...request, cookieStoreId: 'firefox-default' })).toBe(false);
    expect(partitionOf({ ...request, incognito: true })).toBe('private');
  });
});

describe('keys: by top-level origin and URL hash', () => {
  test('top-level origin of navigations, subresources and frames', () => {
    expect(topLevelOriginOf({ url: 'https://a.example/p', type: 'main_frame', tabId: 1 })).toBe('https://a.example');
    expect(topLevelOriginOf({ url: 'https://cdn.example/x.js', type: 'script', tabId: 1, documentUrl: 'https://a.example/p' })).toBe(
      'https://a.example',
    );
    expect(
      topLevelOriginOf({
        url: 'https://c.example/f',
        type: 'sub_frame',
        tabId: 1,
        documentUrl: 'https://b.example/',
        frameAncestors: [
          { url: 'https://b.example/', frameId: 5 },
          { url: 'https://a.example/', frameId: 0 },
        ],
      }),
    ).toBe('https://a.example');
  });
  test('the same URL under two top-level origins gets two keys; the fragment is ignored', () => {
    const url = 'https://cdn.example/lib.js';
    expect(storeKeyFor('firefox-default', 'https://a.example', url)).not.toBe(storeKeyFor('firefox-default', 'https://b.example', url));
    expect(storeKeyFor('firefox-default', 'https://a.example', `${url}#x`)).toBe(storeKeyFor('firefox-default', 'https://a.example', url));
    expect(storeKeyFor('firefox-default', 'https://a.example', url)).not.toContain('cdn.example');
    expect(cacheUrlOf('https://a.example/p?q#f')).toBe('https://a.example/p?q');
  });
  test("the extension's own refetch is recognised (it never gets If-Block)", () => {
    const base = 'moz-extension://1234/';
    expect(isOwnRequest({ url: 'https://a.example/', type: 'xmlhttprequest', tabId: -1, originUrl: `${base}_generated_background_page.html` }, base)).toBe(true);
    expect(isOwnRequest({ url: 'https://a.example/', type: 'xmlhttprequest', tabId: 4, originUrl: 'https://a.example/' }, base)).toBe(false);
    expect(isOwnRequest({ url: 'https://a.example/', type: 'xmlhttprequest', tabId: -1, originUrl: 'https://a.example/sw.js' }, base)).toBe(false);
  });
});

describe('planEviction with bodies whose write is on its way', () => {
  const entries = [
    { key: 'a', size: 100, lastUsedAt: 1 },
    { key: 'b', size: 100, lastUsedAt: 2 },
  ];
  test('a pinned entry counts but is never listed: the next oldest goes instead', () => {
    expect(planEviction(entries, { key: 'c', size: 100 }, 200, (key) => key === 'a')).toEqual(['b']);
  });
  test('when only pinned entries could make room, the store stays over the cap until the next write', () => {
    expect(planEviction(entries, { key: 'c', size: 100 }, 200, () => true)).toEqual([]);
  });
});
