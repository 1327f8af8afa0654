import {
  DEFAULT_DELTA_STALL_TIMEOUT_MS,
  MAX_CAPABLE_ORIGINS,
  SETTINGS_VERSION,
  defaultSettings,
  isOriginEnabled,
  normalizeSettings,
  permissionPatternFor,
  withCapableOrigin,
  withoutCapableOrigins,
} from '../../../extension/shared/settings';

describe('normalizeSettings', () => {
  test('nothing stored gives the defaults', () => {
    expect(normalizeSettings(undefined, false)).toEqual(defaultSettings(false));
    expect(defaultSettings(false).version).toBe(SETTINGS_VERSION);
  });
  test('bad values fall back, unknown fields and bad origins are dropped', () => {
    const settings = normalizeSettings(
      { enabled: 'yes', sites: { 'https://a.example': true, 'javascript:x': true, 'https://b.example': 'on' }, extra: 1, storeCapBytes: 5 },
      false,
    );
    expect(settings.enabled).toBe(true);
    expect(settings.sites).toEqual({ 'https://a.example': true });
    expect(settings.storeCapBytes).toBe(defaultSettings(false).storeCapBytes);
    expect('extra' in settings).toBe(false);
  });
  test('storage can never switch the test-only localhost default on in a production build', () => {
    expect(normalizeSettings({ localTestOriginsEnabled: true }, false).localTestOriginsEnabled).toBe(false);
    expect(normalizeSettings({}, true).localTestOriginsEnabled).toBe(true);
  });
  test('capable origins are bounded, newest kept', () => {
    const many = Object.fromEntries(Array.from({ length: MAX_CAPABLE_ORIGINS + 5 }, (_, i) => [`https://${`s${i}`}.example`, i]));
    const settings = normalizeSettings({ capableOrigins: many }, false);
    expect(Object.keys(settings.capableOrigins).length).toBe(MAX_CAPABLE_ORIGINS);
    expect(settings.capableOrigins['https://s0.example']).toBeUndefined();
  });
});

describe('isOriginEnabled', () => {
  const origin = 'https://news.example';
  test('off by default in production', () => expect(isOriginEnabled(defaultSettings(false), origin)).toBe(false));
  test('an explicit choice wins', () => {
    const settings = { ...defaultSettings(false), enableAllCapable: true, capableOrigins: { [origin]: 1 } };
    expect(isOriginEnabled(settings, origin)).toBe(true);
    expect(isOriginEnabled({ ...settings, sites: { [origin]: false } }, origin)).toBe(false);
  });
  test('"all capable sites" covers only sites that advertised crcsync', () => {
    const settings = { ...defaultSettings(false), enableAllCapable: true, capableOrigins: { [origin]: 1 } };
    expect(isOriginEnabled(settings, 'https://other.example')).toBe(false);
  });
  test('global off wins over everything', () =>
    expect(isOriginEnabled({ ...defaultSettings(false), enabled: false, sites: { [origin]: true } }, origin)).toBe(false));
  test('the test build enables 127.0.0.1 and localhost only', () => {
    const settings = defaultSettings(true);
    expect(isOriginEnabled(settings, 'http://127.0.0.1:4321')).toBe(true);
    expect(isOriginEnabled(settings, 'http://localhost:80')).toBe(true);
    expect(isOriginEnabled(settings, 'https://example.org')).toBe(false);
    expect(isOriginEnabled({ ...settings, sites: { 'http://127.0.0.1:4321': false } }, 'http://127.0.0.1:4321')).toBe(false);
  });
});

test('withCapableOrigin writes at most hourly per origin', () => {
  const first = withCapableOrigin(defaultSettings(false), 'https://a.example', 1000)!;
  expect(first.capableOrigins['https://a.example']).toBe(1000);
  expect(withCapableOrigin(first, 'https://a.example', 2000)).toBeNull();
  expect(withCapableOrigin(first, 'https://a.example', 1000 + 60 * 60 * 1000)!.capableOrigins['https://a.example']).toBe(1000 + 60 * 60 * 1000);
});

describe('withoutCapableOrigins (PROTOCOL.md §6: forgetting a site forgets what was learned about it)', () => {
  const learned = { ...defaultSettings(false), enableAllCapable: true, capableOrigins: { 'https://a.example': 1, 'https://b.example': 2 } };
  test('forgets the named origins only, and with them "every capable site" no longer covers them', () => {
    const forgotten = withoutCapableOrigins(learned, ['https://a.example'])!;
    expect(forgotten.capableOrigins).toEqual({ 'https://b.example': 2 });
    expect(isOriginEnabled(forgotten, 'https://a.example')).toBe(false);
    expect(isOriginEnabled(forgotten, 'https://b.example')).toBe(true);
    expect(learned.capableOrigins).toEqual({ 'https://a.example': 1, 'https://b.example': 2 });
  });
  test('null forgets every origin (all history cleared)', () => expect(withoutCapableOrigins(learned, null)!.capableOrigins).toEqual({}));
  test('the user\'s own per-site choices stay', () => {
    const chosen = { ...learned, sites: { 'https://a.example': true } };
    expect(withoutCapableOrigins(chosen, ['https://a.example'])!.sites).toEqual({ 'https://a.example': true });
  });
  test('nothing known: nothing to save (null)', () => {
    expect(withoutCapableOrigins(learned, ['https://c.example'])).toBeNull();
    expect(withoutCapableOrigins(defaultSettings(false), null)).toBeNull();
  });
});

test('permissionPatternFor covers the host on every port', () => {
  expect(permissionPatternFor('https://example.org')).toBe('https://example.org/*');
  expect(permissionPatternFor('http://127.0.0.1:8080')).toBe('http://127.0.0.1/*');
});

describe('deltaStallTimeoutMs (PROTOCOL.md §5: a stalled decode falls back)', () => {
  test('defaults to 10 s', () => {
    expect(defaultSettings(false).deltaStallTimeoutMs).toBe(DEFAULT_DELTA_STALL_TIMEOUT_MS);
    expect(DEFAULT_DELTA_STALL_TIMEOUT_MS).toBe(10_000);
  });
  test('values within 0.5 s .. 2 min are kept, others fall back to the default', () => {
    expect(normalizeSettings({ deltaStallTimeoutMs: 1500 }, false).deltaStallTimeoutMs).toBe(1500);
    expect(normalizeSettings({ deltaStallTimeoutMs: 500 }, false).deltaStallTimeoutMs).toBe(500);
    for (const bad of [0, 499, 120_001, Number.NaN, Infinity, '2000', null]) {
      expect(normalizeSettings({ deltaStallTimeoutMs: bad }, false).deltaStallTimeoutMs).toBe(DEFAULT_DELTA_STALL_TIMEOUT_MS);
    }
  });
});

describe('subresourceDeltas (issue 9: scripts and stylesheets hooked only on request)', () => {
  test('off in a user build, on in the test build', () => {
    expect(defaultSettings(false).subresourceDeltas).toBe(false);
    expect(defaultSettings(true).subresourceDeltas).toBe(true);
  });

  test('a stored choice is kept; anything but a boolean falls back to the default', () => {
    expect(normalizeSettings({ subresourceDeltas: true }, false).subresourceDeltas).toBe(true);
    expect(normalizeSettings({ subresourceDeltas: false }, true).subresourceDeltas).toBe(false);
    expect(normalizeSettings({ subresourceDeltas: 'yes' }, false).subresourceDeltas).toBe(false);
  });
});
