// chrome.debugger as the navigation path uses it (issue 10 item 7), typed
// for the few CDP commands and events it needs. The polyfill has no
// `debugger` (Firefox has none) and the project carries no @types/chrome,
// so the shapes are written here, from the protocol's definitions
// (https://chromedevtools.github.io/devtools-protocol/tot/Fetch/ and /IO/).
// `debugger` is an optional permission: chrome.debugger exists only once it
// is granted, so it is looked up on every use, never kept from start-up.

import type { HeaderEntry } from '../../../src/protocol/client-policy';

/** The CDP protocol version chrome.debugger.attach asks for. */
export const CDP_VERSION = '1.3';

export interface Debuggee {
  tabId?: number;
  targetId?: string;
  extensionId?: string;
}

interface ChromeEvent<Listener> {
  addListener(listener: Listener): void;
  removeListener(listener: Listener): void;
  hasListener(listener: Listener): boolean;
}

export type DebuggerEventListener = (source: Debuggee, method: string, params?: unknown) => void;
/** reason: 'target_closed', 'canceled_by_user' (the infobar's Cancel), 'replaced_with_devtools'... */
export type DebuggerDetachListener = (source: Debuggee, reason: string) => void;

/** The part of chrome.debugger (MV3: promise-returning) the navigation path uses. */
export interface ChromeDebuggerApi {
  attach(target: Debuggee, requiredVersion: string): Promise<void>;
  detach(target: Debuggee): Promise<void>;
  sendCommand(target: Debuggee, method: string, commandParams?: object): Promise<unknown>;
  onEvent: ChromeEvent<DebuggerEventListener>;
  onDetach: ChromeEvent<DebuggerDetachListener>;
}

/** chrome.debugger, or null while the optional `debugger` permission is not granted (or outside Chromium). */
export function chromeDebugger(): ChromeDebuggerApi | null {
  const chrome = (globalThis as { chrome?: { debugger?: ChromeDebuggerApi } }).chrome;
  return chrome?.debugger ?? null;
}

/** Sends one CDP command to a tab's session; rejects when the tab is not attached (any more). */
export interface CdpClient {
  send<T = unknown>(tabId: number, method: string, params?: object): Promise<T>;
}

/** The CdpClient over chrome.debugger (looked up per command: the permission can go at any time). */
export const CHROME_CDP: CdpClient = {
  send<T>(tabId: number, method: string, params?: object): Promise<T> {
    const api = chromeDebugger();
    if (!api) return Promise.reject(new Error('chrome.debugger is not available (the debugger permission is not granted)'));
    return api.sendCommand({ tabId }, method, params) as Promise<T>;
  },
};

// ---- the Fetch domain, as far as it is used ----

export interface FetchRequestPattern {
  urlPattern: string;
  resourceType: 'Document';
  requestStage: 'Request' | 'Response';
}

/** Fetch.requestPaused. A response-stage pause has responseStatusCode or responseErrorReason; a request-stage one neither. */
export interface FetchRequestPaused {
  requestId: string;
  request: { url: string; urlFragment?: string; method: string; headers: Record<string, string> };
  frameId: string;
  resourceType: string;
  responseErrorReason?: string;
  responseStatusCode?: number;
  responseStatusText?: string;
  responseHeaders?: HeaderEntry[];
  networkId?: string;
}

export function isResponseStage(event: FetchRequestPaused): boolean {
  return event.responseStatusCode !== undefined || event.responseErrorReason !== undefined;
}

/** CDP's request headers (an object) as the header list the protocol code reads. */
export function headerEntriesOf(headers: Record<string, string> | undefined): HeaderEntry[] {
  return Object.entries(headers ?? {}).map(([name, value]) => ({ name, value }));
}

/** Page.getFrameTree, as far as it is read: the main frame's id. */
export interface FrameTree {
  frameTree: { frame: { id: string } };
}
