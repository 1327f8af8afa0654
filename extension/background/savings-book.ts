// Bytes saved per top-level origin and in total, for the popup. Written to
// storage.local in batches (at most once a second), not once per response.

import { browser } from '../shared/browser';
import type { Savings } from '../shared/messages';

// v2: wireBytes became Firefox's transfer size and baselineBytes was added;
// totals of the old key (decoded body bytes) are not comparable, so they are left behind.
const SAVINGS_KEY = 'savings.v2';
const SAVE_DELAY_MS = 1000;
/** Origins kept; the ones with the least traffic go first. */
const MAX_ORIGINS = 1000;

export function emptySavings(): Savings {
  return { fullBytes: 0, wireBytes: 0, baselineBytes: 0, deltas: 0, fallbacks: 0 };
}

function addSavings(target: Savings, change: Savings): void {
  target.fullBytes += change.fullBytes;
  target.wireBytes += change.wireBytes;
  target.baselineBytes += change.baselineBytes;
  target.deltas += change.deltas;
  target.fallbacks += change.fallbacks;
}

export class SavingsBook {
  private saveTimer: ReturnType<typeof setTimeout> | null = null;

  private constructor(private readonly byOrigin: Map<string, Savings>) {}

  static async load(): Promise<SavingsBook> {
    const stored = (await browser.storage.local.get(SAVINGS_KEY))[SAVINGS_KEY];
    const byOrigin = new Map<string, Savings>();
    if (stored && typeof stored === 'object') {
      for (const [origin, value] of Object.entries(stored as Record<string, Savings>)) {
        if (value && typeof value.fullBytes === 'number' && typeof value.wireBytes === 'number' && typeof value.baselineBytes === 'number') {
          byOrigin.set(origin, { ...emptySavings(), ...value });
        }
      }
    }
    // The v1 totals counted decoded bytes; drop them rather than mix units.
    void browser.storage.local.remove('savings').catch(() => undefined);
    return new SavingsBook(byOrigin);
  }

  record(origin: string, change: Savings): void {
    let savings = this.byOrigin.get(origin);
    if (!savings) this.byOrigin.set(origin, (savings = emptySavings()));
    addSavings(savings, change);
    if (!this.saveTimer) this.saveTimer = setTimeout(() => void this.save(), SAVE_DELAY_MS);
  }

  forOrigin(origin: string): Savings {
    return { ...(this.byOrigin.get(origin) ?? emptySavings()) };
  }

  total(): Savings {
    const total = emptySavings();
    for (const savings of this.byOrigin.values()) addSavings(total, savings);
    return total;
  }

  forget(origin: string): void {
    this.byOrigin.delete(origin);
    void this.save();
  }

  async save(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    let entries = [...this.byOrigin.entries()];
    if (entries.length > MAX_ORIGINS) {
      entries = entries.sort((a, b) => b[1].fullBytes - a[1].fullBytes).slice(0, MAX_ORIGINS);
    }
    await browser.storage.local.set({ [SAVINGS_KEY]: Object.fromEntries(entries) });
  }
}
