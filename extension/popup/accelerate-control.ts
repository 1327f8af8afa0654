// The popup's "Accelerate page loads (Chrome)" control (issue 10 item 7),
// shown in the Chromium builds only. The mode needs the optional `debugger`
// permission, and while it is on Chrome shows its "started debugging this
// browser" bar: both are explained in the popup BEFORE Chrome's prompt.
// Switching it on without the permission reveals that explanation with an
// "Allow and turn on" button; that button's click calls
// permissions.request first thing (a user gesture is needed, so nothing is
// awaited before it: whether the permission is held was read when the
// popup rendered).

import { browser } from '../shared/browser';
import type { PopupState } from '../shared/messages';
import { sendMessage } from '../shared/messages';

const DEBUGGER = { permissions: ['debugger'] } as unknown as Parameters<typeof browser.permissions.request>[0];

function element<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

export interface AccelerateControl {
  /** Shows the state (the setting, and whether the permission is held). */
  render(state: PopupState): Promise<void>;
}

/** Wires the control; `rendered` re-renders the whole popup with the background's new state. */
export function setUpAccelerateControl(rendered: (state: PopupState) => void, say: (text: string) => void): AccelerateControl | null {
  if (globalThis.__CRCSYNC_BROWSER__ !== 'chromium') return null;
  const section = element('accelerate-section');
  const checkbox = element<HTMLInputElement>('accelerate-page-loads');
  const confirm = element('accelerate-confirm');
  section.hidden = false;
  let permitted = false;

  async function turnOn(): Promise<void> {
    confirm.hidden = true;
    const state = await sendMessage('setAcceleratePageLoads', { enabled: true });
    rendered(state);
  }

  checkbox.addEventListener('change', async () => {
    if (!checkbox.checked) {
      confirm.hidden = true;
      rendered(await sendMessage('setAcceleratePageLoads', { enabled: false }));
      return;
    }
    if (permitted) return turnOn();
    // Not yet: explain first; Chrome's prompt comes from the button below.
    checkbox.checked = false;
    confirm.hidden = false;
  });

  element<HTMLButtonElement>('accelerate-allow').addEventListener('click', async () => {
    // First thing in the click: the user gesture must still be live.
    const granted = await browser.permissions.request(DEBUGGER).catch(() => false);
    if (!granted) {
      confirm.hidden = true;
      say('Page loads stay as they are: crcsync needs the debugger permission to rebuild them.');
      return;
    }
    permitted = true;
    await turnOn();
  });

  element<HTMLButtonElement>('accelerate-not-now').addEventListener('click', () => {
    confirm.hidden = true;
  });

  return {
    async render(state) {
      permitted = await browser.permissions.contains(DEBUGGER).catch(() => false);
      // Without the permission (removed in chrome://extensions) the mode is off whatever the setting says.
      checkbox.checked = state.acceleratePageLoads && permitted;
      checkbox.disabled = !state.enabled;
    },
  };
}
