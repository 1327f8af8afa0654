// User settings: defaults + validation + migration (the Dark Reader habit).
// The background is the only writer; the popup asks it through messages.
// Pure functions here; storage access lives in background/settings-store.ts.

import { isCrcsyncEligibleUrl } from '../../src/protocol/client-policy';
import { IS_TEST_BUILD } from './build-flags';

/**
 * Version of the storage.local layout of settings:
 *   1: one `settings` object, the user's choices and the learned capableOrigins together.
 *   2: the user's choices under `settings` (Settings), what the extension learned
 *      about sites under `learned` (LearnedSites): learning writes often (a new
 *      capable origin, an hourly refresh), choices rarely, and neither write
 *      should carry, or risk, the other.
 * loadStoredSettings migrates an older layout once.
 */
export const SETTINGS_VERSION = 2;

/** storage.local key of the user's choices (Settings). */
export const SETTINGS_STORAGE_KEY = 'settings';
/** storage.local key of what was learned about sites (LearnedSites); since SETTINGS_VERSION 2. */
export const LEARNED_STORAGE_KEY = 'learned';

/** Origins remembered as crcsync-capable, newest kept (bounds storage). */
export const MAX_CAPABLE_ORIGINS = 2000;

/** The user's choices: written only when the user (or a test) changes one. */
export interface Settings {
  version: typeof SETTINGS_VERSION;
  /** Global on/off. */
  enabled: boolean;
  /** Use crcsync on every origin that advertised `Capability: crcsync`. */
  enableAllCapable: boolean;
  /**
   * Also scripts and stylesheets (and the other subresource types of
   * extension/background/request-scope.ts), not only documents and
   * fetch()/XHR. Off by default: every hooked request waits for the
   * background twice, and on a page with many head scripts that cost more
   * than their deltas save (bench/load.md, issue 9). On in the test build.
   */
  subresourceDeltas: boolean;
  /**
   * Chromium only, opt-in: "accelerate page loads". Navigations of enabled
   * sites are rebuilt through chrome.debugger and the CDP Fetch domain
   * (extension/background/chromium/navigations.ts), which needs the optional
   * `debugger` permission and makes Chrome show its "started debugging this
   * browser" bar while a tab is attached. Off by default, in the test build
   * too (the e2e tests switch it on); the user pressing Cancel on that bar
   * switches it off. Added within SETTINGS_VERSION 2: a stored object without
   * it reads as off, so no layout migration is needed. Firefox ignores it.
   */
  acceleratePageLoads: boolean;
  /** Explicit per-origin choices: true = on, false = off (wins over enableAllCapable). */
  sites: Record<string, boolean>;
  /** Byte cap of the body store; least recently used bodies go first. */
  storeCapBytes: number;
  /**
   * A delta response that delivers no byte for this long is abandoned and the
   * URL fetched in full (PROTOCOL.md §5: a stalled decode falls back).
   */
  deltaStallTimeoutMs: number;
  /**
   * Test build only (dist/firefox-test): http://127.0.0.1 and localhost count
   * as enabled unless switched off, so e2e tests need no permission prompt.
   */
  localTestOriginsEnabled: boolean;
}

/** What the extension learned from responses, stored apart from the choices (LEARNED_STORAGE_KEY). */
export interface LearnedSites {
  /** Origin -> last time (ms) a response carried `Capability: crcsync` (PROTOCOL.md §2). */
  capableOrigins: Record<string, number>;
}

/** Choices and learned state together, as the request path and the popup read them; in memory only. */
export type SettingsView = Readonly<Settings & LearnedSites>;

export const DEFAULT_STORE_CAP_BYTES = 64 * 1024 * 1024;
const MIN_STORE_CAP_BYTES = 1024 * 1024;
const MAX_STORE_CAP_BYTES = 1024 * 1024 * 1024;

/** 10 s: far above a healthy gap between two packets, short enough that a user still waits for the page. */
export const DEFAULT_DELTA_STALL_TIMEOUT_MS = 10_000;
/** Below 0.5 s a slow but live server would be refetched for nothing; above 2 min the user has given up. */
export const MIN_DELTA_STALL_TIMEOUT_MS = 500;
export const MAX_DELTA_STALL_TIMEOUT_MS = 120_000;

/** Whether a value may be stored as deltaStallTimeoutMs. */
export function isValidStallTimeout(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= MIN_DELTA_STALL_TIMEOUT_MS && value <= MAX_DELTA_STALL_TIMEOUT_MS;
}

export function defaultSettings(testBuild: boolean = IS_TEST_BUILD): Settings {
  return {
    version: SETTINGS_VERSION,
    enabled: true,
    enableAllCapable: false,
    subresourceDeltas: testBuild,
    acceleratePageLoads: false,
    sites: {},
    storeCapBytes: DEFAULT_STORE_CAP_BYTES,
    deltaStallTimeoutMs: DEFAULT_DELTA_STALL_TIMEOUT_MS,
    localTestOriginsEnabled: testBuild,
  };
}

export function emptyLearnedSites(): LearnedSites {
  return { capableOrigins: {} };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOriginKey(key: string): boolean {
  return /^https?:\/\/[^/\s]+$/.test(key);
}

/**
 * Turns whatever storage holds (nothing, an older version, garbage) into
 * valid settings. Unknown fields are dropped (a version 1 object's
 * capableOrigins too: loadStoredSettings moves them out first); bad values
 * fall back to defaults.
 */
export function normalizeSettings(raw: unknown, testBuild: boolean = IS_TEST_BUILD): Settings {
  const settings = defaultSettings(testBuild);
  if (!isRecord(raw)) return settings;
  // A newer version than ours keeps the fields we understand.
  if (typeof raw.enabled === 'boolean') settings.enabled = raw.enabled;
  if (typeof raw.enableAllCapable === 'boolean') settings.enableAllCapable = raw.enableAllCapable;
  if (typeof raw.subresourceDeltas === 'boolean') settings.subresourceDeltas = raw.subresourceDeltas;
  if (typeof raw.acceleratePageLoads === 'boolean') settings.acceleratePageLoads = raw.acceleratePageLoads;
  if (isRecord(raw.sites)) {
    for (const [origin, enabled] of Object.entries(raw.sites)) {
      if (isOriginKey(origin) && typeof enabled === 'boolean') settings.sites[origin] = enabled;
    }
  }
  if (typeof raw.storeCapBytes === 'number' && raw.storeCapBytes >= MIN_STORE_CAP_BYTES && raw.storeCapBytes <= MAX_STORE_CAP_BYTES) {
    settings.storeCapBytes = Math.floor(raw.storeCapBytes);
  }
  if (isValidStallTimeout(raw.deltaStallTimeoutMs)) settings.deltaStallTimeoutMs = Math.floor(raw.deltaStallTimeoutMs);
  // Never switched on from storage in a production build.
  settings.localTestOriginsEnabled = testBuild && raw.localTestOriginsEnabled !== false;
  return settings;
}

/** Valid learned state from whatever storage holds: bad origins and times dropped, newest MAX_CAPABLE_ORIGINS kept. */
export function normalizeLearnedSites(raw: unknown): LearnedSites {
  const learned = emptyLearnedSites();
  if (!isRecord(raw) || !isRecord(raw.capableOrigins)) return learned;
  const seen = Object.entries(raw.capableOrigins).filter(
    (pair): pair is [string, number] => isOriginKey(pair[0]) && typeof pair[1] === 'number' && Number.isFinite(pair[1]),
  );
  learned.capableOrigins = Object.fromEntries(trimNewest(seen, MAX_CAPABLE_ORIGINS));
  return learned;
}

/** What loadStoredSettings read, and what must be written back (a migration) or null. */
export interface LoadedSettings {
  settings: Settings;
  learned: LearnedSites;
  /** Items for storage.local.set when the stored layout was older than SETTINGS_VERSION; null when it is current. */
  migration: Record<string, Settings | LearnedSites> | null;
}

/** The layout version of a stored settings object; one written before `version` existed had the version 1 layout. */
function storedVersion(raw: Record<string, unknown>): number {
  return typeof raw.version === 'number' && Number.isFinite(raw.version) ? raw.version : 1;
}

/**
 * Reads the settings and the learned state from what storage.local holds
 * (`stored`: its values under SETTINGS_STORAGE_KEY and LEARNED_STORAGE_KEY).
 * A version 1 object is migrated: its capableOrigins join the learned state
 * (the newer time kept where both know an origin, so a migration interrupted
 * before its write and done again loses nothing) and the settings are
 * written back as the current version, without them. A newer version than
 * ours is read as far as we understand it and never written back here (it
 * belongs to a newer crcsync); nothing or garbage reads as the defaults.
 */
export function loadStoredSettings(stored: Record<string, unknown>, testBuild: boolean = IS_TEST_BUILD): LoadedSettings {
  const raw = stored[SETTINGS_STORAGE_KEY];
  const settings = normalizeSettings(raw, testBuild);
  const learned = normalizeLearnedSites(stored[LEARNED_STORAGE_KEY]);
  if (!isRecord(raw) || storedVersion(raw) >= SETTINGS_VERSION) return { settings, learned, migration: null };
  const merged = mergeLearnedSites(learned, normalizeLearnedSites({ capableOrigins: raw.capableOrigins }));
  return { settings, learned: merged, migration: { [LEARNED_STORAGE_KEY]: merged, [SETTINGS_STORAGE_KEY]: settings } };
}

/** Both sets of sightings; the later time where both know an origin. */
function mergeLearnedSites(a: LearnedSites, b: LearnedSites): LearnedSites {
  const capable = new Map(Object.entries(a.capableOrigins));
  for (const [origin, seenAt] of Object.entries(b.capableOrigins)) capable.set(origin, Math.max(seenAt, capable.get(origin) ?? seenAt));
  return { capableOrigins: Object.fromEntries(trimNewest([...capable], MAX_CAPABLE_ORIGINS)) };
}

function trimNewest(pairs: [string, number][], limit: number): [string, number][] {
  if (pairs.length <= limit) return pairs;
  return [...pairs].sort((a, b) => b[1] - a[1]).slice(0, limit);
}

function isLocalTestOrigin(origin: string): boolean {
  return /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(origin);
}

/** Whether requests to `origin` use crcsync (If-Block out, bodies kept). */
export function isOriginEnabled(settings: SettingsView, origin: string): boolean {
  if (!settings.enabled) return false;
  const choice = settings.sites[origin];
  if (choice !== undefined) return choice;
  if (settings.enableAllCapable && isOriginCapable(settings, origin)) return true;
  return settings.localTestOriginsEnabled && isLocalTestOrigin(origin);
}

/**
 * The origins crcsync may go to that are on by name: switched on by the user,
 * or capable under "every site that supports it" and not switched off
 * (isOriginEnabled's rule, as a list; the test build's local origins aside).
 * Empty when crcsync is off.
 */
export function namedEnabledOrigins(settings: SettingsView): string[] {
  if (!settings.enabled) return [];
  const origins = new Set<string>();
  for (const [origin, on] of Object.entries(settings.sites)) if (on) origins.add(origin);
  if (settings.enableAllCapable) {
    for (const origin of Object.keys(settings.capableOrigins)) if (settings.sites[origin] !== false) origins.add(origin);
  }
  return [...origins].filter((origin) => isCrcsyncEligibleUrl(`${origin}/`));
}

export function isOriginCapable(learned: LearnedSites, origin: string): boolean {
  return Object.hasOwn(learned.capableOrigins, origin);
}

/** Records a Capability sighting; returns the new learned state, or null when nothing changed enough to save. */
export function withCapableOrigin(learned: LearnedSites, origin: string, now: number): LearnedSites | null {
  const previous = isOriginCapable(learned, origin) ? learned.capableOrigins[origin] : undefined;
  // Refresh the timestamp at most hourly: one storage write per origin per hour, not per response.
  if (previous !== undefined && now - previous < 60 * 60 * 1000) return null;
  const others = Object.entries(learned.capableOrigins).filter(([known]) => known !== origin);
  const capable = trimNewest([...others, [origin, now]], MAX_CAPABLE_ORIGINS);
  return { capableOrigins: Object.fromEntries(capable) };
}

/**
 * Forgets that origins advertised crcsync (PROTOCOL.md §6: clearing a site's
 * data clears what crcsync learned about it): `null` forgets every origin
 * (all history cleared). Returns null when nothing was known about them.
 */
export function withoutCapableOrigins(learned: LearnedSites, origins: readonly string[] | null): LearnedSites | null {
  const known = Object.entries(learned.capableOrigins);
  const forgotten = origins === null ? known : known.filter(([origin]) => origins.includes(origin));
  if (!forgotten.length) return null;
  const kept = origins === null ? [] : known.filter(([origin]) => !origins.includes(origin));
  return { capableOrigins: Object.fromEntries(kept) };
}

/** The host-permission pattern that covers one origin (optional_host_permissions are requested per origin). */
export function permissionPatternFor(origin: string): string {
  const url = new URL(origin);
  // Match patterns take no port: the pattern covers every port of the host.
  return `${url.protocol}//${url.hostname}/*`;
}
