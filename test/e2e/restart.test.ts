// The cache survives a browser restart with the same profile: the If-Block
// index is rebuilt from IndexedDB at startup, so the first visit after the
// restart already sends If-Block and gets a delta.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LaunchedFirefox, WAIT_MS, askBackground, launchFirefox, openExtensionPage, waitFor } from './helpers/firefox';
import { SiteServer, startSiteServer } from './helpers/servers';
import { expectPageShows, siteVersion, writeSite } from './helpers/site-content';

let site: SiteServer;
let profileDir: string;
let firefox: LaunchedFirefox | undefined;

beforeAll(async () => {
  site = await startSiteServer();
  profileDir = mkdtempSync(join(tmpdir(), 'crcsync-e2e-restart-'));
});

afterAll(async () => {
  await firefox?.close();
  await site?.close();
  rmSync(profileDir, { recursive: true, force: true });
});

test('bodies stored before a restart are delta bases after it', async () => {
  writeSite(site.write, siteVersion(1));
  firefox = await launchFirefox({ profileDir });
  let page = await firefox.browser.newPage();
  await expectPageShows(page, `${site.origin}/index.html`, siteVersion(1), WAIT_MS);
  const control = await openExtensionPage(firefox.browser, page, `/__crcsync_test__/open-popup?site=${encodeURIComponent(site.origin)}`);
  await waitFor('four stored bodies', async () => ((await askBackground(control, 'getStoreSummary', { settle: true })).entries.length >= 4 ? true : undefined));
  await firefox.close();
  firefox = undefined;

  writeSite(site.write, siteVersion(2));
  firefox = await launchFirefox({ profileDir });
  page = await firefox.browser.newPage();
  const before = site.requests.length;
  const responsesBefore = site.responses.length;
  await expectPageShows(page, `${site.origin}/index.html`, siteVersion(2), WAIT_MS);
  const requests = site.requests.slice(before).filter((request) => !request.path.includes('favicon'));
  expect(requests.length).toBe(4);
  expect(requests.every((request) => request.ifBlock !== undefined)).toBe(true);
  const encodings = site.responses.slice(responsesBefore).filter((response) => response.status === 200).map((response) => response.encoding);
  expect(encodings).toEqual(['crcsync', 'crcsync', 'crcsync', 'crcsync']);
});
