// Settings in storage.local, held in memory for the synchronous request path.
// The background is the only writer. Two keys (SETTINGS_VERSION 2): the
// user's choices (`settings`, written when the user changes one) and what
// was learned about sites (`learned`, written on a new Capability sighting),
// so the frequent learning writes never rewrite, or race, the choices.

import { browser } from '../shared/browser';
import {
  LEARNED_STORAGE_KEY,
  LearnedSites,
  SETTINGS_STORAGE_KEY,
  Settings,
  SettingsView,
  loadStoredSettings,
  normalizeLearnedSites,
  normalizeSettings,
} from '../shared/settings';

/** The part of storage.local this store uses (a fake one in unit tests). */
export interface SettingsStorage {
  get(keys: string[]): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
}

function warn(message: string, error: unknown): void {
  console.warn(`crcsync: ${message}`, error);
}

export class SettingsStore {
  private view: SettingsView;
  /**
   * The migration read at load could not be written (storage refused it):
   * the next write of either key writes both, so the version 1 object with
   * its capableOrigins does not outlive a "forget" of one of them.
   */
  private migrationUnsaved: boolean;

  private constructor(
    private settings: Settings,
    private learned: LearnedSites,
    migrationUnsaved: boolean,
    private readonly storage: SettingsStorage,
  ) {
    this.view = { ...settings, ...learned };
    this.migrationUnsaved = migrationUnsaved;
  }

  /** Reads both keys, migrating an older layout once (shared/settings.ts loadStoredSettings). */
  static async load(storage: SettingsStorage = browser.storage.local, log: (message: string, error: unknown) => void = warn): Promise<SettingsStore> {
    const loaded = loadStoredSettings(await storage.get([SETTINGS_STORAGE_KEY, LEARNED_STORAGE_KEY]));
    let migrationUnsaved = false;
    if (loaded.migration) {
      try {
        // One set() for both keys: the learned state is never without its origins, whichever lands.
        await storage.set(loaded.migration);
      } catch (error) {
        // Running on the migrated copy in memory beats not running; the next write retries.
        log('could not write the migrated settings; will retry with the next change', error);
        migrationUnsaved = true;
      }
    }
    return new SettingsStore(loaded.settings, loaded.learned, migrationUnsaved, storage);
  }

  /** The choices with the learned state, for the request path and the popup. */
  get current(): SettingsView {
    return this.view;
  }

  /** Changes the user's choices; writes the `settings` key only. `change` returns null for "nothing to save". */
  async update(change: (settings: Settings) => Settings | null): Promise<SettingsView> {
    const next = change(this.settings);
    if (next === null) return this.view;
    this.settings = normalizeSettings(next);
    this.view = { ...this.settings, ...this.learned };
    await this.write({ [SETTINGS_STORAGE_KEY]: this.settings });
    return this.view;
  }

  /** Changes what was learned about sites; writes the `learned` key only. `change` returns null for "nothing to save". */
  async learn(change: (learned: LearnedSites) => LearnedSites | null): Promise<SettingsView> {
    const next = change(this.learned);
    if (next === null) return this.view;
    this.learned = normalizeLearnedSites(next);
    this.view = { ...this.settings, ...this.learned };
    await this.write({ [LEARNED_STORAGE_KEY]: this.learned });
    return this.view;
  }

  private async write(items: Record<string, Settings | LearnedSites>): Promise<void> {
    if (!this.migrationUnsaved) return this.storage.set(items);
    await this.storage.set({ [SETTINGS_STORAGE_KEY]: this.settings, [LEARNED_STORAGE_KEY]: this.learned });
    this.migrationUnsaved = false;
  }
}
