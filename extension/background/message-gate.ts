// Which runtime messages reach the popup/panel handlers (ui-handlers.ts onMessage).
// Pure, so it is tested without a browser.
//
// The handlers change settings and forget sites, so only the extension's own
// pages may call them: the popup and the devtools panel. Content scripts
// (we have none today; a future one runs beside untrusted pages) and web
// pages never. A page of ours is known by its sender: `id` is our runtime.id
// and `url` is under our base URL (runtime.getURL('')), the check MDN gives
// for runtime.onMessage's MessageSender. Firefox passes the sender as the
// listener's second argument, as Chromium does.
//
// The handler is looked up by own property only: `type: '__proto__'`,
// 'toString' or 'constructor' would otherwise find Object.prototype's
// members on the handlers object and call them.

import type { Message, MessageHandlers, MessageType } from '../shared/messages';
import { isMessage } from '../shared/messages';

/** The fields of runtime.MessageSender this gate reads. */
export interface MessageSenderFields {
  id?: string;
  url?: string;
}

/** This extension, as seen from its background: runtime.id and runtime.getURL(''). */
export interface OwnExtension {
  id: string;
  baseUrl: string;
}

/** Why a message was not handed to a handler; stable strings for the log. */
export type MessageRefusal =
  | 'not-a-message' // not { type: string, ... }: another listener's (test hooks) or garbage
  | 'no-such-handler' // a type with no own handler (including Object.prototype names)
  | 'foreign-sender'; // not one of our pages: a content script, a web page, another extension

export type MessageGateResult = { message: Message } | { refused: MessageRefusal };

/** Whether `sender` is one of this extension's own pages (popup, devtools panel, options). */
export function isOwnExtensionPage(sender: MessageSenderFields | undefined, own: OwnExtension): boolean {
  if (!sender || sender.id !== own.id || typeof sender.url !== 'string') return false;
  // A base URL without its trailing slash would let moz-extension://<id>-other/ through a prefix test.
  const base = own.baseUrl.endsWith('/') ? own.baseUrl : `${own.baseUrl}/`;
  return sender.url.startsWith(base);
}

/** Whether `type` names one of the handlers themselves, not something inherited. */
export function hasHandler(handlers: MessageHandlers, type: string): type is MessageType {
  return Object.hasOwn(handlers, type);
}

/** The message when a handler may take it; otherwise why not. */
export function admitMessage(handlers: MessageHandlers, message: unknown, sender: MessageSenderFields | undefined, own: OwnExtension): MessageGateResult {
  if (!isMessage(message)) return { refused: 'not-a-message' };
  if (!hasHandler(handlers, message.type)) return { refused: 'no-such-handler' };
  if (!isOwnExtensionPage(sender, own)) return { refused: 'foreign-sender' };
  return { message };
}
