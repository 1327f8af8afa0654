// SettingsStore over a fake storage.local: the version 1 object is migrated
// once at load, and afterwards the user's choices and the learned state are
// written under their own keys, each write touching only its own.

import { LEARNED_STORAGE_KEY, SETTINGS_STORAGE_KEY, SETTINGS_VERSION, withCapableOrigin, withoutCapableOrigins } from '../../../extension/shared/settings';
import { SettingsStorage, SettingsStore } from '../../../extension/background/settings-store';

// The polyfill refuses to load outside an extension; these tests pass their own storage.
jest.mock('../../../extension/shared/browser', () => ({ browser: {} }));

/** storage.local as a JSON copy per key (what the browser keeps is structured-cloned, never shared). */
class FakeStorage implements SettingsStorage {
  readonly items = new Map<string, string>();
  readonly writes: string[][] = [];
  failWrites = false;

  constructor(initial: Record<string, unknown> = {}) {
    for (const [key, value] of Object.entries(initial)) this.items.set(key, JSON.stringify(value));
  }

  async get(keys: string[]): Promise<Record<string, unknown>> {
    return Object.fromEntries(keys.filter((key) => this.items.has(key)).map((key) => [key, JSON.parse(this.items.get(key)!)]));
  }

  async set(items: Record<string, unknown>): Promise<void> {
    if (this.failWrites) throw new Error('QuotaExceededError');
    this.writes.push(Object.keys(items).sort());
    for (const [key, value] of Object.entries(items)) this.items.set(key, JSON.stringify(value));
  }

  read(key: string): Record<string, unknown> | undefined {
    const text = this.items.get(key);
    return text === undefined ? undefined : JSON.parse(text);
  }
}

const V1 = {
  version: 1,
  enabled: true,
  enableAllCapable: true,
  subresourceDeltas: false,
  sites: { 'https://chosen.example': false },
  capableOrigins: { 'https://learned.example': 1000 },
  storeCapBytes: 2 * 1024 * 1024,
  deltaStallTimeoutMs: 3000,
  localTestOriginsEnabled: false,
};

const quiet = () => undefined;

test('a version 1 object is migrated once at load, with nothing lost, and not again at the next start', async () => {
  const storage = new FakeStorage({ [SETTINGS_STORAGE_KEY]: V1 });
  const store = await SettingsStore.load(storage, quiet);
  expect(storage.writes).toEqual([[LEARNED_STORAGE_KEY, SETTINGS_STORAGE_KEY]]);
  expect(storage.read(SETTINGS_STORAGE_KEY)).toMatchObject({ version: SETTINGS_VERSION, sites: { 'https://chosen.example': false }, storeCapBytes: 2 * 1024 * 1024 });
  expect(storage.read(SETTINGS_STORAGE_KEY)).not.toHaveProperty('capableOrigins');
  expect(storage.read(LEARNED_STORAGE_KEY)).toEqual({ capableOrigins: { 'https://learned.example': 1000 } });
  expect(store.current).toMatchObject({ enableAllCapable: true, deltaStallTimeoutMs: 3000, capableOrigins: { 'https://learned.example': 1000 } });

  const restarted = await SettingsStore.load(storage, quiet);
  expect(storage.writes.length).toBe(1);
  expect(restarted.current).toEqual(store.current);
});

test('learning writes only the learned key; a choice writes only the settings key', async () => {
  const storage = new FakeStorage();
  const store = await SettingsStore.load(storage, quiet);
  expect(storage.writes).toEqual([]);

  await store.learn((learned) => withCapableOrigin(learned, 'https://new.example', 5000));
  expect(storage.writes).toEqual([[LEARNED_STORAGE_KEY]]);
  expect(store.current.capableOrigins).toEqual({ 'https://new.example': 5000 });
  // Within the hour: nothing to save, nothing written.
  await store.learn((learned) => withCapableOrigin(learned, 'https://new.example', 6000));
  expect(storage.writes.length).toBe(1);

  await store.update((settings) => ({ ...settings, sites: { ...settings.sites, 'https://new.example': true } }));
  expect(storage.writes).toEqual([[LEARNED_STORAGE_KEY], [SETTINGS_STORAGE_KEY]]);
  expect(storage.read(SETTINGS_STORAGE_KEY)).not.toHaveProperty('capableOrigins');
  expect(store.current).toMatchObject({ sites: { 'https://new.example': true }, capableOrigins: { 'https://new.example': 5000 } });

  await store.learn((learned) => withoutCapableOrigins(learned, ['https://new.example']));
  expect(storage.read(LEARNED_STORAGE_KEY)).toEqual({ capableOrigins: {} });
  // Forgetting what was learned leaves the user's choice for the site alone.
  expect(storage.read(SETTINGS_STORAGE_KEY)).toMatchObject({ sites: { 'https://new.example': true } });
});

test('a migration storage refused is carried by the next write, so a forgotten origin does not come back from the old object', async () => {
  const storage = new FakeStorage({ [SETTINGS_STORAGE_KEY]: V1 });
  storage.failWrites = true;
  const problems: string[] = [];
  const store = await SettingsStore.load(storage, (message) => problems.push(message));
  expect(problems.length).toBe(1);
  // Still running, on the migrated state.
  expect(store.current.capableOrigins).toEqual({ 'https://learned.example': 1000 });

  storage.failWrites = false;
  await store.learn((learned) => withoutCapableOrigins(learned, ['https://learned.example']));
  expect(storage.writes).toEqual([[LEARNED_STORAGE_KEY, SETTINGS_STORAGE_KEY]]);
  const restarted = await SettingsStore.load(storage, quiet);
  expect(restarted.current.capableOrigins).toEqual({});
  expect(restarted.current.sites).toEqual({ 'https://chosen.example': false });
});
