// What `npm run bench:load` needs from a browser, whichever it is
// (firefox-driver.ts, chromium-driver.ts): per condition one browser with
// one tab, a way to leave that tab between visits, and for "on" a line to
// the extension's background. Plus the parts that are the same in every
// browser: bounded waits, a visit that answers the page's Navigation
// Timing, and the DOM check against the corpus files.

import type { Page } from 'puppeteer-core';
import type { MessageMap, MessageType } from '../../extension/shared/messages';
import { waitFor as boundedWaitFor, withTimeout as boundedWithTimeout } from '../../test/helpers/bounded-wait';
import type { BrowserText, Condition } from './report';

/** Bound on every wait; a 1 Mbit/s load of the largest page is far below it. */
export const WAIT_MS = 60_000;

export type BrowserName = 'firefox' | 'chromium';
export const BROWSER_NAMES: readonly BrowserName[] = ['firefox', 'chromium'];

/** The extension's background, as the bench talks to it (from an extension page of the "on" browser). */
export interface ExtensionControl {
  ask<T extends MessageType>(type: T, request: MessageMap[T]['request']): Promise<MessageMap[T]['response']>;
  /** The extension's tab id of the one tab showing `url`. */
  tabIdShowing(url: string): Promise<number>;
}

/** One condition's browser, as the load sequence uses it. */
export interface Browsing {
  condition: Condition;
  /** The one tab every visit of this browser happens in (left at a resting page between visits). */
  tab: Page;
  /** The extension's background ("on" only). */
  control: ExtensionControl | null;
  /** Leaves `tab` for the resting page, so the next visit starts from an empty page, as in a new tab. */
  rest(): Promise<void>;
}

/** What a driver sets up for one bench run. */
export interface BenchBrowsers {
  on: Browsing;
  off: Browsing;
  /** Null when the floor condition is not measured. */
  floor: Browsing | null;
  /** The browser's version as puppeteer reports it, e.g. "firefox/153.8.0". */
  version: string;
}

export interface BrowserSetUp {
  /** A plain page on the static site through its proxy (127.0.0.1, enabled in the test builds). */
  startUrl: string;
  /** The same page straight from the server, not through the proxy: where a tab may rest between visits without touching the link. */
  restingUrl: string;
  floor: boolean;
  /** Keep the browser's HTTP cache on (--warm-assets); off otherwise, so every load goes to the network. */
  httpCache: boolean;
  /** Registers something to stop when the bench ends, whatever happens. */
  onCleanup(step: () => Promise<void> | void): void;
}

export interface LoadDriver {
  browser: BrowserName;
  /** The extension build the "on" browser runs (a path under the repository). */
  extensionDir: string;
  /** The floor extension, or null when this browser has none (no --floor here). */
  floorExtensionDir: string | null;
  /** What bench/load*.md says that depends on the browser. */
  text: BrowserText;
  setUp(options: BrowserSetUp): Promise<BenchBrowsers>;
}

export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  return boundedWithTimeout(promise, what, ms);
}

/** Polls `check` until it returns a value other than undefined; bounded. */
export function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = WAIT_MS): Promise<T> {
  return boundedWaitFor(what, check, ms, { firstPollMs: 10, maxPollMs: 100 });
}

/** Navigation Timing of the page's document, ms from the navigation's start. */
export interface NavigationTiming {
  responseStart: number;
  domInteractive: number;
  domContentLoadedEventEnd: number;
  loadEventEnd: number;
}

/**
 * Navigates `tab` to `url` and waits for the load event to have finished
 * (loadEventEnd is set after the load handlers ran, a moment after
 * puppeteer's "load"); answers the document's Navigation Timing.
 */
export async function visit(tab: Page, url: string): Promise<NavigationTiming> {
  await tab.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
  // One round trip: the page polls for loadEventEnd itself (waitForFunction costs several under load).
  return withTimeout(
    tab.evaluate(
      () =>
        new Promise<NavigationTiming>((resolve) => {
          const check = () => {
            const entry = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
            if (!entry || entry.loadEventEnd <= 0) return void setTimeout(check, 5);
            resolve({
              responseStart: entry.responseStart,
              domInteractive: entry.domInteractive,
              domContentLoadedEventEnd: entry.domContentLoadedEventEnd,
              loadEventEnd: entry.loadEventEnd,
            });
          };
          check();
        }),
    ),
    `loadEventEnd of ${url}`,
  );
}

/** What the DOM check found: the page's DOM against the old and new files, parsed by the same browser. */
export interface DomCheck {
  matchesNew: boolean;
  /** Only looked at when the new one does not match. */
  matchesOld: boolean;
  /** Where the live DOM first differs from the new file's (serialized), when it does. */
  firstDifference: string | null;
}

/**
 * Compares the live document with `DOMParser` parses of the two versions.
 * `style` attributes are left out on both sides: the Django pages' inline
 * script shows the search box by setting one. Scripts that do not run in the
 * parsed copy (the corpus pages' others fail on 404s) change nothing else.
 */
export function checkDom(tab: Page, newText: string, oldText: string): Promise<DomCheck> {
  return withTimeout(
    tab.evaluate(
      (expectedNew, expectedOld) => {
        const serialize = (root: Element) => {
          const copy = root.cloneNode(true) as Element;
          for (const element of [copy, ...Array.from(copy.querySelectorAll('[style]'))]) element.removeAttribute('style');
          return copy.outerHTML;
        };
        const live = serialize(document.documentElement);
        const parsed = (text: string) => serialize(new DOMParser().parseFromString(text, 'text/html').documentElement);
        const fresh = parsed(expectedNew);
        let at = 0;
        while (at < live.length && live[at] === fresh[at]) at++;
        return {
          matchesNew: live === fresh,
          matchesOld: live !== fresh && live === parsed(expectedOld),
          firstDifference: live === fresh ? null : `at ${at}: page ${JSON.stringify(live.slice(at, at + 60))} vs file ${JSON.stringify(fresh.slice(at, at + 60))}`,
        };
      },
      newText,
      oldText,
    ),
    'the DOM check',
  );
}
