// Devtools panel: this tab's exchanges, live. Past ones come from the
// background's history (kept in IndexedDB, written in batches); new ones
// arrive on a runtime port.

import { browser } from '../shared/browser';
import { formatBytes } from '../shared/format';
import { EXCHANGES_PORT_PREFIX, ExchangeRecord, sendMessage } from '../shared/messages';
import { exchangesToHar } from './har';

const records: ExchangeRecord[] = [];

function inspectedTabId(): number {
  // Opened as a page (tests): ?tab=<id>; docked in devtools: the inspected tab.
  const fromQuery = new URLSearchParams(location.search).get('tab');
  if (fromQuery !== null) return Number(fromQuery);
  return browser.devtools.inspectedWindow.tabId;
}

function cell(row: HTMLTableRowElement, text: string, className?: string): void {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
}

function resultText(record: ExchangeRecord): string {
  // An x=1 body (docs/extensions.md) says so, with what the page got before the delta ended.
  const extension = record.extensionBody ? `x=1, ${formatBytes(record.releasedEarlyBytes ?? 0)} early` : null;
  const details = [extension, record.reason].filter((part) => part);
  return details.length ? `${record.outcome} (${details.join('; ')})` : record.outcome;
}

function addRow(record: ExchangeRecord): void {
  const body = document.getElementById('exchanges') as HTMLTableSectionElement;
  const row = body.insertRow();
  row.className = record.outcome;
  row.dataset.url = record.url;
  row.dataset.outcome = record.outcome;
  if (record.extensionBody) row.dataset.extension = 'x=1';
  cell(row, record.url, 'url');
  row.cells[0].title = record.url;
  cell(row, String(record.status), 'num');
  cell(row, record.ifBlock ? 'sent' : record.ifBlockWithheld ? `withheld (${record.ifBlockWithheld})` : '–');
  cell(row, record.encoding);
  cell(row, record.wireBytes === null ? '–' : formatBytes(record.wireBytes), 'num');
  cell(row, formatBytes(record.bodyBytes), 'num');
  cell(row, formatBytes(record.fullBytes), 'num');
  cell(row, record.rebuildMs === null ? '–' : `${record.rebuildMs.toFixed(1)} ms`, 'num');
  cell(row, resultText(record), 'result');
}

/** Totals over the rows Firefox measured (wire known): received vs. the body bytes pages got. */
function renderSummary(): void {
  let full = 0;
  let wire = 0;
  let measured = 0;
  for (const record of records) {
    if (record.wireBytes === null) continue;
    measured++;
    full += record.fullBytes;
    wire += record.wireBytes;
  }
  const summary = document.getElementById('summary')!;
  summary.textContent = `${records.length} exchanges; ${measured} measured: ${formatBytes(wire)} received (headers + body as sent) for ${formatBytes(full)} of content`;
  document.body.dataset.count = String(records.length);
}

function add(record: ExchangeRecord): void {
  if (records.some((known) => known.id === record.id)) return;
  records.push(record);
  addRow(record);
  renderSummary();
}

function harJson(): string {
  return JSON.stringify(exchangesToHar(records, browser.runtime.getManifest().version), null, 2);
}

function exportHar(): void {
  const blob = new Blob([harJson()], { type: 'application/json' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `crcsync-tab-${inspectedTabId()}.har.json`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

async function main(): Promise<void> {
  const tabId = inspectedTabId();
  // Connect first so nothing between the snapshot and the subscription is lost (duplicates are skipped).
  const port = browser.runtime.connect({ name: `${EXCHANGES_PORT_PREFIX}${tabId}` });
  port.onMessage.addListener((message) => add(message as ExchangeRecord));
  for (const record of await sendMessage('getExchanges', { tabId })) add(record);
  renderSummary();
  document.getElementById('export')!.addEventListener('click', exportHar);
  document.getElementById('clear')!.addEventListener('click', async () => {
    await sendMessage('clearExchanges', { tabId });
    records.length = 0;
    (document.getElementById('exchanges') as HTMLTableSectionElement).replaceChildren();
    renderSummary();
  });
  document.body.dataset.ready = 'true';
}

/** The export as text, for scripted use (and the e2e test) without a download dialog. */
(globalThis as { crcsyncHarJson?: () => string }).crcsyncHarJson = harJson;

void main();
