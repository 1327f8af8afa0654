import {
  DEFAULT_DELTA_STALL_TIMEOUT_MS,
  LEARNED_STORAGE_KEY,
  MAX_CAPABLE_ORIGINS,
  SETTINGS_STORAGE_KEY,
  SETTINGS_VERSION,
  SettingsView,
  defaultSettings,
  emptyLearnedSites,
  isOriginCapable,
  isOriginEnabled,
  loadStoredSettings,
  normalizeLearnedSites,
  normalizeSettings,
  permissionPatternFor,
  withCapableOrigin,
  withoutCapableOrigins,
} from '../../../extension/shared/settings';

/** Choices and learned state as the background reads them (SettingsStore.current). */
function view(testBuild: boolean, change: Partial<SettingsView> = {}): SettingsView {
  return { ...defaultSettings(testBuild), ...emptyLearnedSites(), ...change };
}

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
    const learned = normalizeLearnedSites({ capableOrigins: many });
    expect(Object.keys(learned.capableOrigins).length).toBe(MAX_CAPABLE_ORIGINS);
    expect(learned.capableOrigins['https://s0.example']).toBeUndefined();
  });
  test('learned state: bad origins and times are dropped, garbage is empty', () => {
    expect(normalizeLearnedSites({ capableOrigins: { 'https://a.example': 5, 'ftp://b.example': 1, 'https://c.example': 'now', 'https://d.example': NaN } })).toEqual({
      capableOrigins: { 'https://a.example': 5 },
    });
    for (const garbage of [undefined, null, 'x', [], { capableOrigins: [1] }]) expect(normalizeLearnedSites(garbage)).toEqual(emptyLearnedSites());
  });
});

describe('loadStoredSettings: the version 1 layout is migrated once (choices and learned state in separate keys)', () => {
  const v1 = {
    version: 1,
    enabled: false,
    enableAllCapable: true,
    subresourceDeltas: true,
    sites: { 'https://a.example': true, 'https://b.example': false },
    capableOrigins: { 'https://a.example': 1000, 'https://c.example': 2000 },
    storeCapBytes: 8 * 1024 * 1024,
    deltaStallTimeoutMs: 4000,
    localTestOriginsEnabled: false,
  };

  test('nothing is lost: every choice stays, the capable origins move to the learned key, the version is bumped', () => {
    const loaded = loadStoredSettings({ [SETTINGS_STORAGE_KEY]: v1 }, false);
    expect(loaded.settings).toEqual({
      version: SETTINGS_VERSION,
      enabled: false,
      enableAllCapable: true,
      subresourceDeltas: true,
      // Not in version 1: reads as off (an opt-in that needs a permission the user grants).
      acceleratePageLoads: false,
      sites: { 'https://a.example': true, 'https://b.example': false },
      storeCapBytes: 8 * 1024 * 1024,
      deltaStallTimeoutMs: 4000,
      localTestOriginsEnabled: false,
    });
    expect(SETTINGS_VERSION).toBe(2);
    expect(loaded.learned).toEqual({ capableOrigins: { 'https://a.example': 1000, 'https://c.example': 2000 } });
    // Written back once: the settings without capableOrigins, the learned state under its own key.
    expect(loaded.migration).toEqual({ [SETTINGS_STORAGE_KEY]: loaded.settings, [LEARNED_STORAGE_KEY]: loaded.learned });
    expect('capableOrigins' in loaded.migration![SETTINGS_STORAGE_KEY]).toBe(false);
    // What the user sees does not change: "all capable sites" still covers the site learned before the update.
    const settings = { ...loaded.settings, ...loaded.learned };
    expect(isOriginEnabled({ ...settings, enabled: true }, 'https://c.example')).toBe(true);
    expect(isOriginCapable(settings, 'https://c.example')).toBe(true);
  });

  test('reading what the migration wrote needs no second migration and gives the same state', () => {
    const first = loadStoredSettings({ [SETTINGS_STORAGE_KEY]: v1 }, false);
    const again = loadStoredSettings(JSON.parse(JSON.stringify(first.migration)), false);
    expect(again).toEqual({ settings: first.settings, learned: first.learned, migration: null });
  });

  test('a migration done twice (its write interrupted) keeps the newer sighting of an origin', () => {
    const loaded = loadStoredSettings({ [SETTINGS_STORAGE_KEY]: v1, [LEARNED_STORAGE_KEY]: { capableOrigins: { 'https://a.example': 5000, 'https://d.example': 1 } } }, false);
    expect(loaded.learned.capableOrigins).toEqual({ 'https://a.example': 5000, 'https://c.example': 2000, 'https://d.example': 1 });
  });

  test('an object written before `version` existed is the version 1 layout', () => {
    const { version: _omitted, ...unversioned } = v1;
    const loaded = loadStoredSettings({ [SETTINGS_STORAGE_KEY]: unversioned }, false);
    expect(loaded.learned.capableOrigins).toEqual(v1.capableOrigins);
    expect(loaded.migration).not.toBeNull();
  });

  test('nothing stored or garbage: the defaults, nothing to write', () => {
    for (const stored of [{}, { [SETTINGS_STORAGE_KEY]: 'garbage', [LEARNED_STORAGE_KEY]: 42 }, { [SETTINGS_STORAGE_KEY]: null }]) {
      expect(loadStoredSettings(stored, false)).toEqual({ settings: defaultSettings(false), learned: emptyLearnedSites(), migration: null });
    }
  });

  test('a v1 object of garbage fields normalizes to the defaults (and is rewritten as version 2)', () => {
    const loaded = loadStoredSettings({ [SETTINGS_STORAGE_KEY]: { version: 1, enabled: 'no', sites: 7, capableOrigins: 'all' } }, false);
    expect(loaded.settings).toEqual(defaultSettings(false));
    expect(loaded.learned).toEqual(emptyLearnedSites());
  });

  test('a newer version than ours is read as far as understood and never written back here', () => {
    const loaded = loadStoredSettings({ [SETTINGS_STORAGE_KEY]: { version: 3, enabled: false, future: true }, [LEARNED_STORAGE_KEY]: { capableOrigins: { 'https://a.example': 1 } } }, false);
    expect(loaded.settings.enabled).toBe(false);
    expect(loaded.learned.capableOrigins).toEqual({ 'https://a.example': 1 });
    expect(loaded.migration).toBeNull();
  });

  test('a learned origin never becomes a choice, and a choice never a learned origin', () => {
    const loaded = loadStoredSettings({ [SETTINGS_STORAGE_KEY]: { version: 2, sites: { 'https://a.example': true }, capableOrigins: { 'https://x.example': 1 } } }, false);
    // A version 2 settings object carries no capableOrigins; one that somehow does is ignored, not learned.
    expect(loaded.learned).toEqual(emptyLearnedSites());
    expect(Object.keys(loaded.settings)).not.toContain('capableOrigins');
  });
});

describe('isOriginEnabled', () => {
  const origin = 'https://news.example';
  test('off by default in production', () => expect(isOriginEnabled(view(false), origin)).toBe(false));
  test('an explicit choice wins', () => {
    const settings = view(false, { enableAllCapable: true, capableOrigins: { [origin]: 1 } });
    expect(isOriginEnabled(settings, origin)).toBe(true);
    expect(isOriginEnabled({ ...settings, sites: { [origin]: false } }, origin)).toBe(false);
  });
  test('"all capable sites" covers only sites that advertised crcsync', () => {
    const settings = view(false, { enableAllCapable: true, capableOrigins: { [origin]: 1 } });
    expect(isOriginEnabled(settings, 'https://other.example')).toBe(false);
  });
  test('global off wins over everything', () =>
    expect(isOriginEnabled(view(false, { enabled: false, sites: { [origin]: true } }), origin)).toBe(false));
  test('the test build enables 127.0.0.1 and localhost only', () => {
    const settings = view(true);
    expect(isOriginEnabled(settings, 'http://127.0.0.1:4321')).toBe(true);
    expect(isOriginEnabled(settings, 'http://localhost:80')).toBe(true);
    expect(isOriginEnabled(settings, 'https://example.org')).toBe(false);
    expect(isOriginEnabled({ ...settings, sites: { 'http://127.0.0.1:4321': false } }, 'http://127.0.0.1:4321')).toBe(false);
  });
});

describe('withCapableOrigin', () => {
  test('writes at most hourly per origin', () => {
    const first = withCapableOrigin(emptyLearnedSites(), 'https://a.example', 1000)!;
    expect(first.capableOrigins['https://a.example']).toBe(1000);
    expect(withCapableOrigin(first, 'https://a.example', 2000)).toBeNull();
    expect(withCapableOrigin(first, 'https://a.example', 1000 + 60 * 60 * 1000)!.capableOrigins['https://a.example']).toBe(1000 + 60 * 60 * 1000);
  });
  test('returns the learned state only: given the whole view, no choice is carried into the learned key', () => {
    const learned = withCapableOrigin(view(false, { sites: { 'https://b.example': true } }), 'https://a.example', 1000)!;
    expect(learned).toEqual({ capableOrigins: { 'https://a.example': 1000 } });
  });
  test('refreshing a known origin at the bound evicts nobody', () => {
    const full = normalizeLearnedSites({
      capableOrigins: Object.fromEntries(Array.from({ length: MAX_CAPABLE_ORIGINS }, (_, i) => [`https://${`s${i}`}.example`, i])),
    });
    const refreshed = withCapableOrigin(full, 'https://s5.example', 10 * 60 * 60 * 1000)!;
    expect(Object.keys(refreshed.capableOrigins).length).toBe(MAX_CAPABLE_ORIGINS);
    expect(refreshed.capableOrigins['https://s0.example']).toBe(0);
  });
  test('"__proto__" and other Object.prototype names are never capable', () => {
    expect(isOriginCapable(emptyLearnedSites(), 'constructor')).toBe(false);
    expect(isOriginCapable(emptyLearnedSites(), '__proto__')).toBe(false);
  });
});

describe('withoutCapableOrigins (PROTOCOL.md §6: forgetting a site forgets what was learned about it)', () => {
  const learned = view(false, { enableAllCapable: true, capableOrigins: { 'https://a.example': 1, 'https://b.example': 2 } });
  test('forgets the named origins only, and with them "every capable site" no longer covers them', () => {
    const forgotten = { ...learned, ...withoutCapableOrigins(learned, ['https://a.example'])! };
    expect(forgotten.capableOrigins).toEqual({ 'https://b.example': 2 });
    expect(isOriginEnabled(forgotten, 'https://a.example')).toBe(false);
    expect(isOriginEnabled(forgotten, 'https://b.example')).toBe(true);
    expect(learned.capableOrigins).toEqual({ 'https://a.example': 1, 'https://b.example': 2 });
  });
  test('null forgets every origin (all history cleared)', () => expect(withoutCapableOrigins(learned, null)!.capableOrigins).toEqual({}));
  test('the user\'s own per-site choices are not touched: only the learned state is returned', () => {
    const chosen = { ...learned, sites: { 'https://a.example': true } };
    expect(withoutCapableOrigins(chosen, ['https://a.example'])).toEqual({ capableOrigins: { 'https://b.example': 2 } });
  });
  test('nothing known: nothing to save (null)', () => {
    expect(withoutCapableOrigins(learned, ['https://c.example'])).toBeNull();
    expect(withoutCapableOrigins(emptyLearnedSites(), null)).toBeNull();
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

describe('acceleratePageLoads (issue 10 item 7: Chromium navigations through the debugger, opt-in)', () => {
  test('off by default, in a user build and in the test build (the e2e tests switch it on)', () => {
    expect(defaultSettings(false).acceleratePageLoads).toBe(false);
    expect(defaultSettings(true).acceleratePageLoads).toBe(false);
  });

  test('a stored choice is kept; anything but a boolean, or nothing (a settings object stored before it existed), reads as off', () => {
    expect(normalizeSettings({ acceleratePageLoads: true }, false).acceleratePageLoads).toBe(true);
    expect(normalizeSettings({ acceleratePageLoads: false }, true).acceleratePageLoads).toBe(false);
    for (const bad of ['yes', 1, null, {}]) expect(normalizeSettings({ acceleratePageLoads: bad }, false).acceleratePageLoads).toBe(false);
    const current = { ...defaultSettings(false) } as Record<string, unknown>;
    delete current.acceleratePageLoads;
    const loaded = loadStoredSettings({ [SETTINGS_STORAGE_KEY]: current }, false);
    expect(loaded.settings.acceleratePageLoads).toBe(false);
    // The same layout version: nothing to migrate, nothing written at load.
    expect(loaded.migration).toBeNull();
  });

  test('switching it on changes nothing else, and survives a round trip through storage', () => {
    const on = normalizeSettings({ ...defaultSettings(false), acceleratePageLoads: true }, false);
    expect(on).toEqual({ ...defaultSettings(false), acceleratePageLoads: true });
    expect(normalizeSettings(JSON.parse(JSON.stringify(on)), false)).toEqual(on);
  });
});
