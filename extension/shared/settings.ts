// User settings: defaults + validation + migration (the Dark Reader habit).
// The background is the only writer; the popup asks it through messages.
// Pure functions here; storage access lives in background/settings-store.ts.

import { IS_TEST_BUILD } from './build-flags';

export const SETTINGS_VERSION = 1;

/** Origins remembered as crcsync-capable, newest kept (bounds storage). */
export const MAX_CAPABLE_ORIGINS = 2000;

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
  /** Explicit per-origin choices: true = on, false = off (wins over enableAllCapable). */
  sites: Record<string, boolean>;
  /** Origin -> last time (ms) a response carried `Capability: crcsync` (PROTOCOL.md §2). */
  capableOrigins: Record<string, number>;
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
    sites: {},
    capableOrigins: {},
    storeCapBytes: DEFAULT_STORE_CAP_BYTES,
    deltaStallTimeoutMs: DEFAULT_DELTA_STALL_TIMEOUT_MS,
    localTestOriginsEnabled: testBuild,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOriginKey(key: string): boolean {
  return /^https?:\/\/[^/\s]+$/.test(key);
}

/**
 * Turns whatever storage holds (nothing, an older version, garbage) into
 * valid settings. Unknown fields are dropped; bad values fall back to defaults.
 */
export function normalizeSettings(raw: unknown, testBuild: boolean = IS_TEST_BUILD): Settings {
  const settings = defaultSettings(testBuild);
  if (!isRecord(raw)) return settings;
  // Versions before 1 did not exist; a newer version than ours keeps the fields we understand.
  if (typeof raw.enabled === 'boolean') settings.enabled = raw.enabled;
  if (typeof raw.enableAllCapable === 'boolean') settings.enableAllCapable = raw.enableAllCapable;
  if (typeof raw.subresourceDeltas === 'boolean') settings.subresourceDeltas = raw.subresourceDeltas;
  if (isRecord(raw.sites)) {
    for (const [origin, enabled] of Object.entries(raw.sites)) {
      if (isOriginKey(origin) && typeof enabled === 'boolean') settings.sites[origin] = enabled;
    }
  }
  if (isRecord(raw.capableOrigins)) {
    const seen = Object.entries(raw.capableOrigins).filter(
      (pair): pair is [string, number] => isOriginKey(pair[0]) && typeof pair[1] === 'number' && Number.isFinite(pair[1]),
    );
    settings.capableOrigins = Object.fromEntries(trimNewest(seen, MAX_CAPABLE_ORIGINS));
  }
  if (typeof raw.storeCapBytes === 'number' && raw.storeCapBytes >= MIN_STORE_CAP_BYTES && raw.storeCapBytes <= MAX_STORE_CAP_BYTES) {
    settings.storeCapBytes = Math.floor(raw.storeCapBytes);
  }
  if (isValidStallTimeout(raw.deltaStallTimeoutMs)) settings.deltaStallTimeoutMs = Math.floor(raw.deltaStallTimeoutMs);
  // Never switched on from storage in a production build.
  settings.localTestOriginsEnabled = testBuild && raw.localTestOriginsEnabled !== false;
  return settings;
}

function trimNewest(pairs: [string, number][], limit: number): [string, number][] {
  if (pairs.length <= limit) return pairs;
  return [...pairs].sort((a, b) => b[1] - a[1]).slice(0, limit);
}

function isLocalTestOrigin(origin: string): boolean {
  return /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(origin);
}

/** Whether requests to `origin` use crcsync (If-Block out, bodies kept). */
export function isOriginEnabled(settings: Settings, origin: string): boolean {
  if (!settings.enabled) return false;
  const choice = settings.sites[origin];
  if (choice !== undefined) return choice;
  if (settings.enableAllCapable && settings.capableOrigins[origin] !== undefined) return true;
  return settings.localTestOriginsEnabled && isLocalTestOrigin(origin);
}

export function isOriginCapable(settings: Settings, origin: string): boolean {
  return settings.capableOrigins[origin] !== undefined;
}

/** Records a Capability sighting; returns the new settings, or null when nothing changed enough to save. */
export function withCapableOrigin(settings: Settings, origin: string, now: number): Settings | null {
  const previous = settings.capableOrigins[origin];
  // Refresh the timestamp at most hourly: one storage write per origin per hour, not per response.
  if (previous !== undefined && now - previous < 60 * 60 * 1000) return null;
  const capable = trimNewest([...Object.entries(settings.capableOrigins), [origin, now]], MAX_CAPABLE_ORIGINS);
  return { ...settings, capableOrigins: Object.fromEntries(capable) };
}

/**
 * Forgets that origins advertised crcsync (PROTOCOL.md §6: clearing a site's
 * data clears what crcsync learned about it): `null` forgets every origin
 * (all history cleared). Returns null when nothing was known about them.
 */
export function withoutCapableOrigins(settings: Settings, origins: readonly string[] | null): Settings | null {
  const known = Object.entries(settings.capableOrigins);
  const forgotten = origins === null ? known : known.filter(([origin]) => origins.includes(origin));
  if (!forgotten.length) return null;
  const kept = origins === null ? [] : known.filter(([origin]) => !origins.includes(origin));
  return { ...settings, capableOrigins: Object.fromEntries(kept) };
}

/** The host-permission pattern that covers one origin (optional_host_permissions are requested per origin). */
export function permissionPatternFor(origin: string): string {
  const url = new URL(origin);
  // Match patterns take no port: the pattern covers every port of the host.
  return `${url.protocol}//${url.hostname}/*`;
}
