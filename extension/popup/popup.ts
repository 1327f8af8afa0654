// Toolbar popup: global on/off, this site on/off, savings, forget this site.
// All state comes from the background (the single writer) through typed
// messages. Host permission for a site is requested here, in the click
// handler, because permissions.request needs a user gesture (MDN).

import { browser } from '../shared/browser';
import { formatBytes, formatSavedPercent } from '../shared/format';
import { PopupState, Savings, sendMessage } from '../shared/messages';
import { permissionPatternFor } from '../shared/settings';
import { originOf } from '../../src/protocol/client-policy';
import { AccelerateControl, setUpAccelerateControl } from './accelerate-control';

/** Pattern requested for "every site that supports it": crcsync works over HTTPS only (PROTOCOL.md §6). */
const ALL_HTTPS_SITES = 'https://*/*';

function element<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

/**
 * "saved" = what the last full download of the same URLs cost minus what the
 * crcsync exchanges cost, both as Firefox measured them on the network
 * (headers + body as transferred, so gzip/br is already in the baseline).
 * Only exchanges that sent If-Block count (see Savings in shared/messages.ts).
 */
function savedText(savings: Savings): string {
  if (savings.deltas + savings.fallbacks === 0) return 'nothing yet';
  const saved = savings.baselineBytes - savings.wireBytes;
  const exchanges = `${savings.deltas} ${savings.deltas === 1 ? 'delta' : 'deltas'}${savings.fallbacks ? `, ${savings.fallbacks} fell back` : ''}`;
  if (savings.baselineBytes === 0) return `${exchanges} (transfer sizes not measured)`;
  const amount = saved >= 0 ? `${formatBytes(saved)} saved` : `${formatBytes(-saved)} extra`;
  return `${amount} (${formatSavedPercent(savings.baselineBytes, savings.wireBytes)}): ${formatBytes(savings.wireBytes)} received instead of ${formatBytes(savings.baselineBytes)}, ${exchanges}`;
}

async function currentSiteOrigin(): Promise<string | null> {
  // Opened as a page (tests, or a tab): ?site=<origin> names the site.
  const fromQuery = new URLSearchParams(location.search).get('site');
  if (fromQuery) return originOf(fromQuery);
  // activeTab: clicking the toolbar button lets the popup read this tab's URL.
  const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
  return originOf(tab?.url);
}

/** Chromium only: "Accelerate page loads" (accelerate-control.ts); null in Firefox. */
let accelerate: AccelerateControl | null = null;

function render(state: PopupState): void {
  void accelerate?.render(state);
  element<HTMLInputElement>('global-enabled').checked = state.enabled;
  element<HTMLInputElement>('all-capable').checked = state.enableAllCapable;
  element<HTMLInputElement>('subresource-deltas').checked = state.subresourceDeltas;
  element('total-saved').textContent = savedText(state.total);
  element('total-cached').textContent = `${state.total.cachedEntries} bodies, ${formatBytes(state.total.cachedBytes)}`;
  const site = state.site;
  const siteSection = element('site-section');
  if (!site) {
    element('site-origin').textContent = 'No site in this tab';
    siteSection.classList.add('empty');
    for (const id of ['site-enabled', 'forget-site']) element<HTMLInputElement>(id).disabled = true;
    document.body.dataset.ready = 'true';
    return;
  }
  element('site-origin').textContent = site.origin;
  const notes: string[] = [];
  if (!site.eligible) notes.push('crcsync needs HTTPS.');
  notes.push(site.capable ? 'This site speaks crcsync.' : 'No crcsync seen from this site yet.');
  element('site-note').textContent = notes.join(' ');
  const siteEnabled = element<HTMLInputElement>('site-enabled');
  siteEnabled.checked = site.enabled;
  siteEnabled.disabled = !site.eligible || !state.enabled;
  element('site-saved').textContent = savedText(site.savings);
  element('site-cached').textContent = `${site.cachedEntries} bodies, ${formatBytes(site.cachedBytes)}`;
  element<HTMLButtonElement>('forget-site').disabled = false;
  document.body.dataset.ready = 'true';
}

function say(text: string): void {
  element('message').textContent = text;
}

async function main(): Promise<void> {
  const origin = await currentSiteOrigin();
  accelerate = setUpAccelerateControl(render, say);
  render(await sendMessage('getPopupState', { origin }));

  element<HTMLInputElement>('global-enabled').addEventListener('change', async (event) => {
    const enabled = (event.target as HTMLInputElement).checked;
    await sendMessage('setGlobalEnabled', { enabled });
    render(await sendMessage('getPopupState', { origin }));
  });

  element<HTMLInputElement>('site-enabled').addEventListener('change', async (event) => {
    if (!origin) return;
    const input = event.target as HTMLInputElement;
    const enabled = input.checked;
    if (enabled) {
      // Called before any await: the user gesture must still be live.
      const granted = await browser.permissions.request({ origins: [permissionPatternFor(origin)] }).catch(() => false);
      if (!granted) {
        input.checked = false;
        say('crcsync needs access to this site to add its header and rebuild its pages.');
        return;
      }
    }
    render(await sendMessage('setSiteEnabled', { origin, enabled }));
  });

  element<HTMLInputElement>('all-capable').addEventListener('change', async (event) => {
    const input = event.target as HTMLInputElement;
    const enabled = input.checked;
    if (enabled) {
      const granted = await browser.permissions.request({ origins: [ALL_HTTPS_SITES] }).catch(() => false);
      if (!granted) {
        input.checked = false;
        say('crcsync needs access to HTTPS sites to find the ones that support it.');
        return;
      }
    }
    await sendMessage('setAllCapableEnabled', { enabled });
    render(await sendMessage('getPopupState', { origin }));
  });

  element<HTMLInputElement>('subresource-deltas').addEventListener('change', async (event) => {
    await sendMessage('setSubresourceDeltas', { enabled: (event.target as HTMLInputElement).checked });
    render(await sendMessage('getPopupState', { origin }));
  });

  element<HTMLButtonElement>('forget-site').addEventListener('click', async () => {
    if (!origin) return;
    const { removedEntries } = await sendMessage('forgetSite', { origin });
    say(`Forgot ${removedEntries} cached ${removedEntries === 1 ? 'body' : 'bodies'} of ${origin}.`);
    render(await sendMessage('getPopupState', { origin }));
  });
}

main().catch((error) => say(`crcsync: ${error instanceof Error ? error.message : String(error)}`));
