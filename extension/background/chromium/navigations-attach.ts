// The debugger sessions of the navigation path: one per tab that shows an
// enabled site while "accelerate page loads" is on (navigations-scope.ts
// decides which). Attach = chrome.debugger.attach, Fetch.enable with the
// documents-of-enabled-sites patterns, Page.getFrameTree for the main
// frame's id; detach = chrome.debugger.detach. Operations on one tab run
// one after another, so a quick attach-detach-attach never interleaves.
//
// Chrome shows "<extension> started debugging this browser" while any
// session is attached, on every window; it goes a few seconds after the
// last detach. The sessions keep the service worker alive; after a restart
// of the browser or of the worker, nothing is attached until the tabs are
// looked at again (navigations.ts does that at start-up).

import type { FetchRequestPattern, FrameTree } from './cdp';
import { CDP_VERSION, ChromeDebuggerApi } from './cdp';
import type { AttachedTab } from './navigations-exchange';

export interface AttachmentDeps {
  /** chrome.debugger, or null without the permission. */
  api(): ChromeDebuggerApi | null;
  /** Fetch.enable's patterns as the settings stand. */
  patterns(): FetchRequestPattern[];
  log(message: string, error?: unknown): void;
}

export class TabAttachments {
  private readonly tabs = new Map<number, AttachedTab>();
  private readonly queues = new Map<number, Promise<unknown>>();
  /** The patterns each attached tab was last given (JSON), so an unrelated settings write sends nothing. */
  private readonly enabledPatterns = new Map<number, string>();

  constructor(private readonly deps: AttachmentDeps) {}

  /** The tab as attached, or undefined. */
  get(tabId: number): AttachedTab | undefined {
    return this.tabs.get(tabId);
  }

  attachedTabs(): number[] {
    return [...this.tabs.keys()];
  }

  /** Attaches to the tab (if not yet) and pauses its enabled documents; resolves whether it is attached. */
  attach(tabId: number, incognito: boolean): Promise<boolean> {
    return this.queued(tabId, async () => {
      if (this.tabs.has(tabId)) return true;
      const api = this.deps.api();
      const patterns = this.deps.patterns();
      // Fetch.enable without patterns would pause every request of the tab.
      if (!api || !patterns.length) return false;
      try {
        await api.attach({ tabId }, CDP_VERSION);
      } catch (error) {
        // A session of ours that outlived the service worker (its state did not) answers commands:
        // it is taken over below. chrome:// pages, the Web Store and another extension's session do not.
        const ours = await api.sendCommand({ tabId }, 'Fetch.disable').then(
          () => true,
          () => false,
        );
        if (!ours) {
          this.deps.log(`tab ${tabId}: could not attach the debugger`, error);
          return false;
        }
      }
      const tab: AttachedTab = { mainFrameId: null, incognito };
      this.tabs.set(tabId, tab);
      try {
        await api.sendCommand({ tabId }, 'Fetch.enable', { patterns });
        this.enabledPatterns.set(tabId, JSON.stringify(patterns));
        const { frameTree } = (await api.sendCommand({ tabId }, 'Page.getFrameTree')) as FrameTree;
        tab.mainFrameId = frameTree.frame.id;
        return true;
      } catch (error) {
        this.deps.log(`tab ${tabId}: could not set the debugger session up; detaching`, error);
        this.tabs.delete(tabId);
        this.enabledPatterns.delete(tabId);
        await api.detach({ tabId }).catch(() => undefined);
        return false;
      }
    });
  }

  /** Detaches from the tab, if attached (Chrome resumes whatever the session held paused). */
  detach(tabId: number): Promise<void> {
    return this.queued(tabId, async () => {
      this.enabledPatterns.delete(tabId);
      if (!this.tabs.delete(tabId)) return;
      await this.deps.api()?.detach({ tabId }).catch((error: unknown) => this.deps.log(`tab ${tabId}: detach failed (already gone?)`, error));
    });
  }

  detachAll(): Promise<void> {
    return Promise.all(this.attachedTabs().map((tabId) => this.detach(tabId))).then(() => undefined);
  }

  /** Chrome ended the session itself (chrome.debugger.onDetach): forget it, detach nothing. */
  forget(tabId: number): void {
    this.tabs.delete(tabId);
    this.enabledPatterns.delete(tabId);
  }

  /** The enabled sites changed: every attached tab pauses the new set of documents (nothing is sent when they did not). */
  refreshPatterns(): Promise<void> {
    const patterns = this.deps.patterns();
    if (!patterns.length) return this.detachAll();
    const key = JSON.stringify(patterns);
    return Promise.all(
      this.attachedTabs().map((tabId) =>
        this.queued(tabId, async () => {
          if (!this.tabs.has(tabId) || this.enabledPatterns.get(tabId) === key) return;
          this.enabledPatterns.set(tabId, key);
          await this.deps.api()?.sendCommand({ tabId }, 'Fetch.enable', { patterns }).catch((error: unknown) => this.deps.log(`tab ${tabId}: could not update Fetch patterns`, error));
        }),
      ),
    ).then(() => undefined);
  }

  private queued<T>(tabId: number, operation: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(tabId) ?? Promise.resolve();
    const next = previous.then(operation, operation);
    const tail = next.catch(() => undefined);
    this.queues.set(tabId, tail);
    void tail.then(() => {
      if (this.queues.get(tabId) === tail) this.queues.delete(tabId);
    });
    return next;
  }
}
