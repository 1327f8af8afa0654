// Where Chromium's page-fetch content scripts run (extension/background/chromium/page-scripts.ts):
// only on the sites crcsync is on for, registered at run time, never declared in a manifest
// (declared, their patterns would grant every HTTPS site at install).

import { pageScriptMatches, PAGE_SCRIPTS } from '../../../extension/background/chromium/page-script-matches';
import { defaultSettings } from '../../../extension/shared/settings';
import { callEsModule } from '../build/es-module';
import { join } from 'node:path';

const BUILD = join(__dirname, '../../../scripts/build-extension.mjs');
const view = (changes: Partial<ReturnType<typeof defaultSettings>> & { capableOrigins?: Record<string, number> } = {}, testBuild = false) => ({
  ...defaultSettings(testBuild),
  capableOrigins: {},
  ...changes,
});

describe('pageScriptMatches', () => {
  it('nothing while no site is on, or when crcsync is off', () => {
    expect(pageScriptMatches(view())).toEqual([]);
    expect(pageScriptMatches(view({ enabled: false, sites: { 'https://news.example': true } }))).toEqual([]);
  });

  it('the sites switched on, one pattern per host (every port), never the ones switched off', () => {
    const settings = view({ sites: { 'https://news.example': true, 'https://news.example:8443': true, 'https://bank.example': false } });
    expect(pageScriptMatches(settings)).toEqual(['https://news.example/*']);
  });

  it('"every site that supports it": the capable origins, minus the ones the user switched off', () => {
    const settings = view({ enableAllCapable: true, sites: { 'https://b.example': false }, capableOrigins: { 'https://a.example': 1, 'https://b.example': 2 } });
    expect(pageScriptMatches(settings)).toEqual(['https://a.example/*']);
  });

  it('plain http only where crcsync may ever go (PROTOCOL.md §6): not for an http site the user named', () => {
    expect(pageScriptMatches(view({ sites: { 'http://plain.example': true } }))).toEqual([]);
  });

  it('the test build: 127.0.0.1 and localhost', () => {
    expect(pageScriptMatches(view({}, true))).toEqual(['http://127.0.0.1/*', 'http://localhost/*']);
  });
});

describe('manifests and build', () => {
  type Manifest = { content_scripts?: unknown; permissions?: string[]; host_permissions?: string[] };
  const manifestOf = (target: string): Manifest => {
    const result = callEsModule(BUILD, 'manifestFor', [target]);
    if (!result.ok) throw new Error(result.message);
    return result.value as Manifest;
  };

  it('no manifest declares content scripts; Chromium holds scripting to register them, and no host up front', () => {
    for (const target of ['firefox', 'firefox-test', 'chromium', 'chromium-test']) expect([target, manifestOf(target).content_scripts]).toEqual([target, undefined]);
    expect(manifestOf('chromium').permissions).toContain('scripting');
    expect(manifestOf('chromium').host_permissions).toBeUndefined();
  });

  it('the Chromium build writes both scripts the background registers, relay first', () => {
    const result = callEsModule(BUILD, 'chromiumPageScriptFiles', []);
    const built = result.ok ? result.value : result.message;
    expect(PAGE_SCRIPTS.map((script) => script.js[0])).toEqual(built);
    expect(PAGE_SCRIPTS.map((script) => script.world)).toEqual(['ISOLATED', 'MAIN']);
  });
});
