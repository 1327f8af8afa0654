// Paths kept out of delta encoding (BREACH, SECURITY.md): the patterns an
// operator writes match however a client spells the path, and excluding
// too much is the safe direction.

import { compileDeltaExclusions, NO_DELTA_EXCLUSIONS } from '../../../src/protocol/delta-exclusions';

describe('delta exclusions', () => {
  const exclusions = compileDeltaExclusions(['/account/*', '/search', '/api/*/token']);

  it.each([
    '/account/',
    '/account/settings',
    '/account/a/b?tab=1',
    '/search',
    '/search?q=secret',
    '/api/v2/token',
    '/api/v2/x/token',
    // Spellings an origin may treat as the same path.
    '/%61ccount/settings',
    '/ACCOUNT/settings',
    '/Search',
    '/x/../account/settings',
    '/./account/settings',
    '/account%2fsettings',
    '/%2561ccount/settings',
    '\\account\\settings',
  ])('excludes %s', (target) => {
    expect(exclusions.excludes(target)).toBe(true);
  });

  it.each(['/', '/accounts', '/account', '/searching', '/search/results', '/api/v2/tokens', '/x/account/settings', '/blog?next=/account/x'])('does not exclude %s', (target) => {
    expect(exclusions.excludes(target)).toBe(false);
  });

  it('treats what cannot be read as a path as excluded', () => {
    expect(exclusions.excludes('http://elsewhere.example/account/x')).toBe(true);
    expect(exclusions.excludes('*')).toBe(true);
  });

  it('without patterns excludes nothing, whatever the target', () => {
    expect(NO_DELTA_EXCLUSIONS.excludes('/account/x')).toBe(false);
    expect(NO_DELTA_EXCLUSIONS.excludes('*')).toBe(false);
  });

  it('takes * literally nowhere else: regular-expression characters are plain text', () => {
    const dotted = compileDeltaExclusions(['/a.b/(x)+']);
    expect(dotted.excludes('/a.b/(x)+')).toBe(true);
    expect(dotted.excludes('/aXb/xx')).toBe(false);
  });

  it('refuses a pattern that is not a path', () => {
    expect(() => compileDeltaExclusions(['account/*'])).toThrow(RangeError);
  });
});
