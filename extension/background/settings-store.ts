// Settings in storage.local, held in memory for the synchronous request path.
// The background is the only writer.

import { browser } from '../shared/browser';
import { Settings, normalizeSettings } from '../shared/settings';

const SETTINGS_KEY = 'settings';

export class SettingsStore {
  private constructor(private settings: Settings) {}

  static async load(): Promise<SettingsStore> {
    const stored = await browser.storage.local.get(SETTINGS_KEY);
    return new SettingsStore(normalizeSettings(stored[SETTINGS_KEY]));
  }

  get current(): Settings {
    return this.settings;
  }

  async update(change: (settings: Settings) => Settings | null): Promise<Settings> {
    const next = change(this.settings);
    if (next === null) return this.settings;
    this.settings = normalizeSettings(next);
    await browser.storage.local.set({ [SETTINGS_KEY]: this.settings });
    return this.settings;
  }
}
