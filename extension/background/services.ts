// The background's state, loaded behind one init promise: IndexedDB (bodies,
// exchange log, holds) and storage.local (settings, savings). Browser-neutral;
// index.ts starts it once and hands it to the request path and the UI.

import { BodyStore } from './body-store';
import { openDatabase } from './database';
import { ExchangeLog } from './exchange-log';
import { HoldStore } from './if-block-holds';
import { log } from './log';
import { SavingsBook } from './savings-book';
import { SettingsStore } from './settings-store';

export interface Services {
  db: IDBDatabase;
  settings: SettingsStore;
  store: BodyStore;
  exchanges: ExchangeLog;
  savings: SavingsBook;
  holds: HoldStore;
}

/** The services as the listeners see them: ready or not yet. */
export interface ServiceHandle {
  /** The services once init finished; null before that (and forever if it failed). */
  readonly current: Services | null;
  /** The one init promise; no top-level await (STYLE.md habit 5). */
  readonly ready: Promise<Services>;
  /** The services, waiting for init at most INIT_WAIT_MS; null when they are not there by then. */
  whenReady(): Promise<Services | null>;
}

/** A request arriving before init finished waits at most this long, then goes out without If-Block. */
const INIT_WAIT_MS = 3000;

async function init(): Promise<Services> {
  // Requests that wake the event page wait for this (whenReady): the database and the
  // settings are independent, so neither waits for the other (issue 9).
  const [db, settings] = await Promise.all([openDatabase(), SettingsStore.load()]);
  const [store, exchanges, savings, holds] = await Promise.all([
    BodyStore.open(db, () => settings.current.storeCapBytes, log),
    ExchangeLog.open(db, log),
    SavingsBook.load(),
    HoldStore.open(db, log),
  ]);
  return { db, settings, store, exchanges, savings, holds };
}

/** Starts loading the services (call once, at the top level of the background). */
export function startServices(): ServiceHandle {
  let current: Services | null = null;
  const ready = init().then((services) => (current = services));
  ready.catch((error) => log('init failed; crcsync stays off until restart', error));
  return {
    get current() {
      return current;
    },
    ready,
    whenReady() {
      if (current) return Promise.resolve(current);
      return Promise.race([ready, new Promise<null>((resolve) => setTimeout(() => resolve(null), INIT_WAIT_MS))]).catch(() => null);
    },
  };
}
