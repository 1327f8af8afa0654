// Where a relay's port comes from, and what its request may be (issue 10
// item 6): pure, so the background's trust in a content script is unit-tested.
// Everything is read off Chromium's MessageSender (tab, frame, document URL),
// never off a message: a content script runs beside the page, in the page's
// renderer process, and is trusted no further than the page's own origin.

import { originOf } from '../../../src/protocol/client-policy';
import { MainFetchRequest, parseMainMessage } from '../../page/page-messages';

/** The fields of runtime.MessageSender (a content script's) this bridge reads. */
export interface PageSender {
  id?: string;
  url?: string;
  frameId?: number;
  tab?: { id?: number; url?: string; incognito: boolean };
}

/** Where a relay's request comes from, as Chromium says (never as the message says). */
export interface PagePlace {
  tabId: number;
  documentUrl: string;
  topLevelOrigin: string;
  documentOrigin: string;
  incognito: boolean;
}

/**
 * The sender of a relay port, or null when it is not one of our content
 * scripts in a tab whose top-level page we can see (tab.url needs the host
 * permission of the top-level site: without it no base is ever keyed there).
 */
export function pagePlaceOf(sender: PageSender | undefined, extensionId: string): PagePlace | null {
  if (!sender || sender.id !== extensionId || !sender.tab || typeof sender.tab.id !== 'number' || sender.tab.id < 0) return null;
  const documentUrl = sender.url;
  const documentOrigin = originOf(documentUrl);
  const topLevelOrigin = originOf(sender.frameId === 0 ? documentUrl : sender.tab.url);
  if (!documentUrl || !documentOrigin || !topLevelOrigin) return null;
  return { tabId: sender.tab.id, documentUrl, topLevelOrigin, documentOrigin, incognito: sender.tab.incognito === true };
}

/** The relay's request, checked again here (a content script's process is not trusted further than the page's origin). */
export function parseRelayRequest(message: unknown, place: PagePlace): Omit<MainFetchRequest, 'kind' | 'id'> | null {
  if (typeof message !== 'object' || message === null || (message as { kind?: unknown }).kind !== 'request') return null;
  const parsed = parseMainMessage({ ...(message as object), kind: 'fetch', id: 0 }, place.documentUrl);
  if (!parsed || parsed.kind !== 'fetch') return null;
  const { url, cache, credentials, headers } = parsed;
  return { url, cache, credentials, headers };
}
