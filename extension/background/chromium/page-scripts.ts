// Where the page-fetch path's two content scripts run (issue 10 item 6):
// only on the sites crcsync is on for, registered at run time with
// chrome.scripting. Declared in the manifest instead, their match patterns
// would make Chrome grant the extension every HTTPS site at install and put
// a script into every frame of every page the user opens, sites that never
// heard of crcsync included; this way a site's pages get them once the user
// (or "every site that supports it") turned crcsync on for it, and the host
// permissions stay optional, granted per site from the popup.
//
// The relay still asks the background per page whether its site is on
// (page-fetch.ts): registration follows the settings a moment late (it is
// asynchronous), and a pattern covers every port of a host.

import { browser } from '../../shared/browser';
import { LEARNED_STORAGE_KEY, SETTINGS_STORAGE_KEY } from '../../shared/settings';
import { PAGE_SCRIPTS, pageScriptMatches } from './page-script-matches';
import type { ServiceHandle } from '../services';

interface RegisteredScript {
  id: string;
  js?: string[];
  matches?: string[];
  runAt?: 'document_start';
  allFrames?: boolean;
  world?: 'ISOLATED' | 'MAIN';
  persistAcrossSessions?: boolean;
}

/** chrome.scripting as used here (the polyfill's types lack `world`). */
interface ScriptingApi {
  getRegisteredContentScripts(filter?: { ids?: string[] }): Promise<RegisteredScript[]>;
  registerContentScripts(scripts: RegisteredScript[]): Promise<void>;
  updateContentScripts(scripts: RegisteredScript[]): Promise<void>;
  unregisterContentScripts(filter?: { ids?: string[] }): Promise<void>;
}

function scriptingApi(): ScriptingApi | null {
  const api = (browser as unknown as { scripting?: ScriptingApi }).scripting;
  return api && typeof api.registerContentScripts === 'function' ? api : null;
}

const sameList = (a: readonly string[] | undefined, b: readonly string[]) => (a ?? []).length === b.length && [...(a ?? [])].sort().every((item, index) => item === b[index]);

/**
 * Registers the scripts for the enabled sites now and whenever the settings
 * change; one change at a time. Call synchronously at the background's top
 * level (the storage listener must exist when an event wakes the worker).
 */
export function registerPageScripts({ services, log }: { services: ServiceHandle; log(message: string, error?: unknown): void }): { sync(): Promise<void> } {
  let queue: Promise<void> = Promise.resolve();

  async function apply(): Promise<void> {
    const scripting = scriptingApi();
    if (!scripting) return;
    const current = await services.ready;
    const matches = pageScriptMatches(current.settings.current);
    const ids = PAGE_SCRIPTS.map((script) => script.id);
    const registered = await scripting.getRegisteredContentScripts({ ids });
    if (matches.length === 0) {
      if (registered.length) await scripting.unregisterContentScripts({ ids: registered.map((script) => script.id) });
      return;
    }
    const wanted: RegisteredScript[] = PAGE_SCRIPTS.map((script) => ({
      id: script.id,
      js: [...script.js],
      world: script.world,
      matches,
      runAt: 'document_start',
      allFrames: true,
      persistAcrossSessions: true,
    }));
    if (registered.length === PAGE_SCRIPTS.length) {
      if (registered.every((script) => sameList(script.matches, matches))) return;
      // New sites: the same scripts, new patterns (no moment without them on the sites that stay).
      await scripting.updateContentScripts(wanted.map(({ id }) => ({ id, matches })));
      return;
    }
    // None or a stray one (an interrupted registration): both anew, in order, the relay first.
    if (registered.length) await scripting.unregisterContentScripts({ ids: registered.map((script) => script.id) });
    await scripting.registerContentScripts(wanted);
  }

  const sync = () => {
    queue = queue.then(apply).catch((error: unknown) => log('could not register the page scripts', error));
    return queue;
  };
  browser.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && (SETTINGS_STORAGE_KEY in changes || LEARNED_STORAGE_KEY in changes)) void sync();
  });
  void sync();
  return { sync };
}
