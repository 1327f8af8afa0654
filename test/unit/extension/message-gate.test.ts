// Who reaches the background's popup/panel handlers (message-gate.ts): the
// extension's own pages, with a type that is one of the handlers themselves.

import { MessageSenderFields, OwnExtension, admitMessage, hasHandler, isOwnExtensionPage } from '../../../extension/background/message-gate';
import type { MessageHandlers } from '../../../extension/shared/messages';

// messages.ts imports the polyfill, which refuses to load outside an extension; the gate needs none of it.
jest.mock('../../../extension/shared/browser', () => ({ browser: {} }));

const OWN: OwnExtension = { id: 'crcsync@example.org', baseUrl: 'moz-extension://0f1e2d3c-aaaa-bbbb-cccc-1234567890ab/' };
const POPUP: MessageSenderFields = { id: OWN.id, url: `${OWN.baseUrl}popup/popup.html?site=https%3A%2F%2Fa.example` };
const PANEL: MessageSenderFields = { id: OWN.id, url: `${OWN.baseUrl}devtools/panel.html?tab=3` };

const forget = jest.fn(async () => ({ removedEntries: 0 }));
const handlers = { forgetSite: forget, getExchanges: async () => [] } as unknown as MessageHandlers;

describe('admitMessage', () => {
  test('the popup and the devtools panel reach the handlers', () => {
    const message = { type: 'forgetSite', request: { origin: 'https://a.example' } };
    expect(admitMessage(handlers, message, POPUP, OWN)).toEqual({ message });
    expect(admitMessage(handlers, { type: 'getExchanges', request: { tabId: 3 } }, PANEL, OWN)).toHaveProperty('message');
  });

  test('a content script (our id, a web page URL), a web page or another extension never do', () => {
    const message = { type: 'forgetSite', request: { origin: 'https://a.example' } };
    const senders: (MessageSenderFields | undefined)[] = [
      { id: OWN.id, url: 'https://a.example/page.html' },
      { url: 'https://a.example/page.html' },
      { id: 'other@example.org', url: 'moz-extension://ffffffff-0000-0000-0000-000000000000/popup.html' },
      // Our id claimed from a page of another extension's base URL.
      { id: OWN.id, url: 'moz-extension://ffffffff-0000-0000-0000-000000000000/popup.html' },
      { id: OWN.id },
      undefined,
    ];
    for (const sender of senders) expect(admitMessage(handlers, message, sender, OWN)).toEqual({ refused: 'foreign-sender' });
  });

  test('Object.prototype names are not handlers, whoever asks', () => {
    for (const type of ['__proto__', 'toString', 'constructor', 'hasOwnProperty', 'valueOf']) {
      expect(admitMessage(handlers, { type, request: {} }, POPUP, OWN)).toEqual({ refused: 'no-such-handler' });
      expect(hasHandler(handlers, type)).toBe(false);
    }
    expect(admitMessage(handlers, { type: 'setEverything', request: {} }, POPUP, OWN)).toEqual({ refused: 'no-such-handler' });
  });

  test('what is not a message is left to other listeners (the test hooks) or dropped', () => {
    for (const value of [null, undefined, 'forgetSite', 42, { type: 7 }, Object.create({ type: 'forgetSite' }), { type: 'crcsync-test:checkStore' }]) {
      const result = admitMessage(handlers, value, POPUP, OWN);
      expect('refused' in result && result.refused !== 'foreign-sender').toBe(true);
    }
    expect(forget).not.toHaveBeenCalled();
  });
});

describe('isOwnExtensionPage', () => {
  test('the base URL is matched as a whole path prefix, trailing slash or not', () => {
    const bare = { ...OWN, baseUrl: OWN.baseUrl.slice(0, -1) };
    expect(isOwnExtensionPage(POPUP, bare)).toBe(true);
    // moz-extension://<uuid>-evil/ shares the string prefix without the slash.
    expect(isOwnExtensionPage({ id: OWN.id, url: `${bare.baseUrl}-evil/popup.html` }, bare)).toBe(false);
  });

  test('Chromium URLs work the same way', () => {
    const chromium = { id: 'abcdefghijklmnopabcdefghijklmnop', baseUrl: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop/' };
    expect(isOwnExtensionPage({ id: chromium.id, url: `${chromium.baseUrl}popup/popup.html` }, chromium)).toBe(true);
    expect(isOwnExtensionPage({ id: chromium.id, url: 'https://a.example/' }, chromium)).toBe(false);
  });
});
