// Which page scripts the Chromium background registers, and on which sites
// (page-scripts.ts does the registering). Pure: no browser API, so the rules
// are unit-tested on their own.

import { SettingsView, namedEnabledOrigins, permissionPatternFor } from '../../shared/settings';

/** The isolated-world relay and the main-world wrapper, in the order they must run (scripts/build-extension.mjs writes both files). */
export const PAGE_SCRIPTS = [
  { id: 'crcsync-page-relay', js: ['page/isolated-relay.js'], world: 'ISOLATED' },
  { id: 'crcsync-page-main', js: ['page/main-world.js'], world: 'MAIN' },
] as const;

/** The test build's own origins (settings.localTestOriginsEnabled), every port. */
const LOCAL_TEST_PATTERNS = ['http://127.0.0.1/*', 'http://localhost/*'];

/** Match patterns of every site crcsync is on for (sorted, no duplicates); empty when crcsync is off. */
export function pageScriptMatches(settings: SettingsView): string[] {
  if (!settings.enabled) return [];
  const patterns = new Set(namedEnabledOrigins(settings).map(permissionPatternFor));
  if (settings.localTestOriginsEnabled) for (const pattern of LOCAL_TEST_PATTERNS) patterns.add(pattern);
  return [...patterns].sort();
}
