// The per-browser manifests: manifest.json holds only what every browser
// takes, the patches beside it (manifest.<browser>.json) add each browser's
// own fields through the merge rule of scripts/manifest-merge.mjs, and the
// icons a manifest names are real PNGs of the stated sizes (Chromium shows
// no SVG icon). The build writes a target's manifest, static files and icons
// into a folder of the test's, not dist/.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { callEsModule } from './es-module';
import { decodePng, pixelAt } from './png';

const REPO = resolve(__dirname, '../../..');
const BUILD_MODULE = join(REPO, 'scripts/build-extension.mjs');
const MERGE_MODULE = join(REPO, 'scripts/manifest-merge.mjs');

interface Manifest {
  name: string;
  permissions: string[];
  host_permissions?: string[];
  background?: { scripts?: string[]; service_worker?: string };
  action?: { default_icon?: string | Record<string, string>; default_popup?: string };
  icons?: Record<string, string>;
  devtools_page?: string;
  browser_specific_settings?: { gecko?: { id?: string } };
  [key: string]: unknown;
}

const readJson = (path: string): Manifest => JSON.parse(readFileSync(path, 'utf8')) as Manifest;

/** Top-level keys both Firefox and Chromium take in an MV3 manifest with the same meaning. */
const SHARED_KEYS = new Set([
  'manifest_version', 'name', 'short_name', 'version', 'description', 'author', 'homepage_url', 'default_locale',
  'permissions', 'optional_permissions', 'host_permissions', 'optional_host_permissions',
  'action', 'icons', 'devtools_page', 'options_ui', 'commands', 'omnibox', 'incognito',
  'content_scripts', 'web_accessible_resources', 'content_security_policy', 'declarative_net_request',
]);

/** Permissions both browsers grant in MV3. Not here, e.g.: webRequestBlocking and webRequestFilterResponse (Firefox), debugger and offscreen (Chromium). */
const SHARED_PERMISSIONS = new Set([
  'activeTab', 'alarms', 'bookmarks', 'browsingData', 'contextMenus', 'cookies', 'declarativeNetRequest',
  'declarativeNetRequestFeedback', 'declarativeNetRequestWithHostAccess', 'downloads', 'history', 'idle',
  'management', 'nativeMessaging', 'notifications', 'scripting', 'search', 'sessions', 'storage', 'tabs',
  'topSites', 'unlimitedStorage', 'webNavigation', 'webRequest',
]);

const FIREFOX_ONLY_PERMISSIONS = ['webRequestBlocking', 'webRequestFilterResponse'];

describe('manifest.json: what every browser takes', () => {
  const neutral = readJson(join(REPO, 'manifest.json'));

  it('uses only keys that Firefox and Chromium both take (a browser-only key goes in that browser patch)', () => {
    expect(Object.keys(neutral).filter((key) => !SHARED_KEYS.has(key))).toEqual([]);
  });

  it('has no background: Firefox runs scripts, Chromium a service worker', () => {
    expect(neutral.background).toBeUndefined();
  });

  it('asks only for permissions that both browsers grant', () => {
    const permissions = [...neutral.permissions, ...((neutral.optional_permissions as string[] | undefined) ?? [])];
    expect(permissions.filter((permission) => !SHARED_PERMISSIONS.has(permission))).toEqual([]);
  });

  it('names PNG icons, which every browser shows', () => {
    const named = [...Object.values(neutral.icons ?? {}), ...Object.values(neutral.action?.default_icon ?? {})];
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((path) => !path.endsWith('.png'))).toEqual([]);
  });
});

describe('merge rule (scripts/manifest-merge.mjs)', () => {
  const merge = (...manifests: unknown[]) => callEsModule(MERGE_MODULE, 'mergeManifest', manifests);

  it('merges objects key by key and replaces arrays and scalars', () => {
    const base = { action: { title: 'a', popup: 'p.html' }, list: [1, 2], kept: 'yes' };
    const patch = { action: { title: 'b' }, list: [3], added: { deep: true } };
    expect(merge(base, patch)).toEqual({
      ok: true,
      value: { action: { title: 'b', popup: 'p.html' }, list: [3], kept: 'yes', added: { deep: true } },
    });
  });

  it('"$add" appends the items the list does not hold yet, in order', () => {
    expect(merge({ permissions: ['storage', 'webRequest'] }, { permissions: { $add: ['webRequest', 'webRequestBlocking', 'webRequestBlocking'] } })).toEqual({
      ok: true,
      value: { permissions: ['storage', 'webRequest', 'webRequestBlocking'] },
    });
  });

  it('applies patches in order (firefox-test on top of firefox)', () => {
    expect(merge({ name: 'crcsync', permissions: ['storage'] }, { permissions: { $add: ['a'] } }, { name: 'crcsync (test build)', hosts: ['h'] })).toEqual({
      ok: true,
      value: { name: 'crcsync (test build)', permissions: ['storage', 'a'], hosts: ['h'] },
    });
  });

  it.each([
    ['null (removing a field)', { action: { title: 'a' } }, { action: { title: null } }, 'action.title'],
    ['an object turned into a string', { background: { scripts: ['b.js'] } }, { background: 'b.js' }, 'background'],
    ['a list turned into an object', { permissions: ['storage'] }, { permissions: { storage: true } }, 'permissions'],
    ['"$add" where the base has no list', { name: 'x' }, { permissions: { $add: ['storage'] } }, 'permissions'],
    ['"$add" next to other keys', { permissions: ['storage'] }, { permissions: { $add: ['tabs'], more: 1 } }, 'permissions'],
  ])('refuses %s, naming where', (_case, base, patch, path) => {
    const result = merge(base, patch);
    expect(result).toMatchObject({ ok: false, errorName: 'ManifestPatchError' });
    expect(result.ok === false && result.message).toContain(`at ${path}:`);
  });
});

describe('built manifests (scripts/build-extension.mjs)', () => {
  const TARGETS = ['firefox', 'firefox-test', 'chromium', 'chromium-test'] as const;
  let outRoot: string;
  const built = {} as Record<(typeof TARGETS)[number], Manifest>;
  const neutral = readJson(join(REPO, 'manifest.json'));

  beforeAll(() => {
    outRoot = mkdtempSync(join(tmpdir(), 'crcsync-manifest-'));
    for (const target of TARGETS) {
      const result = callEsModule(BUILD_MODULE, 'writeManifestAndAssets', [target, join(outRoot, target)]);
      if (!result.ok) throw new Error(`${target}: ${result.errorName}: ${result.message}`);
      built[target] = readJson(join(outRoot, target, 'manifest.json'));
    }
  });

  afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

  it('chromium: a service worker, none of the Firefox-only permissions or settings', () => {
    const chromium = built.chromium;
    expect(chromium.background).toEqual({ service_worker: 'background.js' });
    expect(chromium.permissions.filter((permission) => FIREFOX_ONLY_PERMISSIONS.includes(permission))).toEqual([]);
    expect(chromium.browser_specific_settings).toBeUndefined();
  });

  it('firefox: background scripts, the gecko id and the blocking webRequest and response filter permissions', () => {
    const firefox = built.firefox;
    expect(firefox.background).toEqual({ scripts: ['background.js'] });
    expect(firefox.browser_specific_settings?.gecko?.id).toBe('crcsync@example.org');
    expect(firefox.permissions).toEqual(expect.arrayContaining(['webRequest', ...FIREFOX_ONLY_PERMISSIONS]));
    // Production builds ask for no host up front: the user grants sites from the popup.
    expect(firefox.host_permissions).toBeUndefined();
  });

  it('firefox-test: the firefox manifest plus 127.0.0.1 and localhost granted at install and a name that says so', () => {
    const { name, host_permissions: hostPermissions, ...rest } = built['firefox-test'];
    expect(hostPermissions).toEqual(['http://127.0.0.1/*', 'http://localhost/*']);
    expect(name).toBe(`${built.firefox.name} (test build)`);
    const { name: _firefoxName, ...firefoxRest } = built.firefox;
    expect(rest).toEqual(firefoxRest);
  });

  it('chromium-test: the chromium manifest plus 127.0.0.1 and localhost granted at install (no prompt in tests), a name that says so', () => {
    const test = built['chromium-test'];
    expect(test.host_permissions).toEqual(['http://127.0.0.1/*', 'http://localhost/*']);
    expect(test.name).toBe(`${built.chromium.name} (test build)`);
    expect(test.background).toEqual(built.chromium.background);
    expect(test.permissions).toEqual(expect.arrayContaining(built.chromium.permissions));
  });

  it('every browser gets the shared fields of manifest.json unchanged, and all of its permissions', () => {
    for (const target of ['firefox', 'chromium'] as const) {
      for (const [key, value] of Object.entries(neutral)) {
        if (key === 'permissions') expect(built[target].permissions).toEqual(expect.arrayContaining(neutral.permissions));
        // Chromium adds the optional `debugger` ("accelerate page loads", issue 10 item 7): the shared ones all stay.
        else if (key === 'optional_permissions') expect(built[target].optional_permissions).toEqual(expect.arrayContaining(neutral.optional_permissions as string[]));
        else expect([target, key, built[target][key]]).toEqual([target, key, value]);
      }
    }
  });

  it.each(TARGETS)('%s: every icon it names is a PNG of the stated size, drawn (green, rounded corners)', (target) => {
    const manifest = built[target];
    const defaultIcon = manifest.action?.default_icon;
    const icons = [...Object.entries(manifest.icons ?? {}), ...(typeof defaultIcon === 'string' ? [] : Object.entries(defaultIcon ?? {}))];
    expect(icons.map(([size]) => size)).toEqual(expect.arrayContaining(['16', '32', '48', '128']));
    expect(typeof defaultIcon === 'object' && Object.keys(defaultIcon)).toEqual(expect.arrayContaining(['16', '32']));
    for (const [size, path] of icons) {
      const png = decodePng(readFileSync(join(outRoot, target, path)));
      expect([path, png.width, png.height]).toEqual([path, Number(size), Number(size)]);
      const centre = pixelAt(png, png.width / 2, png.height / 2);
      // extension/icons/crcsync.svg's background: #0b6e4f, opaque.
      expect(centre.map((channel, index) => Math.abs(channel - [0x0b, 0x6e, 0x4f, 0xff][index]) <= 2)).toEqual([true, true, true, true]);
      expect(pixelAt(png, 0, 0)[3]).toBeLessThan(255);
    }
  });

  it.each(TARGETS)('%s: the pages it names are there', (target) => {
    const manifest = built[target];
    const pages = [manifest.action?.default_popup, manifest.devtools_page].filter((path): path is string => typeof path === 'string');
    expect(pages).toHaveLength(2);
    expect(pages.filter((path) => !existsSync(join(outRoot, target, path)))).toEqual([]);
  });
});
