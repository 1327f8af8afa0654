// Which tabs the navigation path attaches the debugger to, and which of
// their requests it pauses (issue 10 item 7). Pure: settings in, answers out.
//
// - A tab is attached only while it shows a page of an enabled site (and
//   never a private window's: nothing of it may be stored, so there would
//   be no base, no If-Block, only the infobar). Every attached tab pauses
//   its document requests twice (request and response stage), each a round
//   trip to the service worker, so nothing else is attached.
// - In an attached tab only document requests to enabled sites are paused
//   (Fetch.enable patterns): a link to another site leaves without a stop.

import { isCrcsyncEligibleUrl, originOf } from '../../../src/protocol/client-policy';
import { SettingsView, isOriginEnabled, namedEnabledOrigins } from '../../shared/settings';
import type { FetchRequestPattern } from './cdp';

/** The mode is on: the user's setting, crcsync itself on, and the debugger permission held. */
export function navigationsWanted(settings: SettingsView, debuggerGranted: boolean): boolean {
  return debuggerGranted && settings.enabled && settings.acceleratePageLoads;
}

/** Whether a tab showing `url` is to be attached (the mode being on). */
export function tabWanted(settings: SettingsView, url: string | undefined, incognito: boolean): boolean {
  if (incognito || !url || !isCrcsyncEligibleUrl(url)) return false;
  const origin = originOf(url);
  return origin !== null && isOriginEnabled(settings, origin);
}

/** The test build's own origins (isOriginEnabled: localTestOriginsEnabled), any port. */
const LOCAL_TEST_URL_PATTERNS = ['http://127.0.0.1/*', 'http://127.0.0.1:*/*', 'http://localhost/*', 'http://localhost:*/*'];

/**
 * URL patterns (CDP Fetch: `*` any characters, `?` one) of every enabled
 * origin. A superset is harmless (the request stage checks the origin
 * again and lets anything else go unchanged); a missing origin only means
 * its pages load without crcsync.
 */
export function enabledUrlPatterns(settings: SettingsView): string[] {
  if (!settings.enabled) return [];
  const patterns = namedEnabledOrigins(settings).map((origin) => `${origin}/*`);
  if (settings.localTestOriginsEnabled) patterns.push(...LOCAL_TEST_URL_PATTERNS);
  return patterns;
}

/** Fetch.enable's patterns: documents of enabled sites, paused before they go out and when their answer arrives. */
export function documentPatterns(settings: SettingsView): FetchRequestPattern[] {
  return enabledUrlPatterns(settings).flatMap((urlPattern) => [
    { urlPattern, resourceType: 'Document' as const, requestStage: 'Request' as const },
    { urlPattern, resourceType: 'Document' as const, requestStage: 'Response' as const },
  ]);
}
