// Paths an operator keeps out of delta encoding: responses that reflect
// what a request carries (a search term, a form field) beside a secret (a
// CSRF token, an account number) leak that secret through their size to an
// attacker who can make the victim's browser ask many times and can watch
// the encrypted traffic (BREACH, 2013). A delta is compression, so such
// responses get the normal response instead (SECURITY.md, "Compression side
// channels"). Pure, so every adapter (the Node server, an edge worker)
// matches the same way.

/**
 * A compiled list of path patterns. A pattern starts with `/`; `*` matches
 * any run of characters, `/` included; everything else is literal. Matching
 * is against the request's path (no query), percent-decoded and with dot
 * segments resolved, and ignores case: an origin that treats `/%61ccount`,
 * `/x/../account` or `/ACCOUNT` as `/account` must not get a delta for it,
 * and excluding too much only costs a delta.
 */
export interface DeltaExclusions {
  readonly patterns: readonly string[];
  /** Whether a request target (`/path?query`) is excluded. */
  excludes(requestTarget: string): boolean;
}

export function compileDeltaExclusions(patterns: readonly string[]): DeltaExclusions {
  for (const pattern of patterns) {
    if (!pattern.startsWith('/')) throw new RangeError(`a delta exclusion pattern starts with "/", got "${pattern}"`);
  }
  const expressions = patterns.map(
    (pattern) => new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'is'),
  );
  return {
    patterns: [...patterns],
    excludes(requestTarget: string): boolean {
      if (expressions.length === 0) return false;
      const path = normalizedPath(requestTarget);
      return path === null || expressions.some((expression) => expression.test(path));
    },
  };
}

/** No pattern: nothing is excluded. */
export const NO_DELTA_EXCLUSIONS: DeltaExclusions = compileDeltaExclusions([]);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The path as an origin would most likely resolve it: query dropped,
 * percent escapes decoded (leniently, twice over for double encoding),
 * backslashes taken as slashes, dot segments resolved (RFC 3986 §5.2.4).
 * Null when it cannot be read as a path at all: treated as excluded.
 */
function normalizedPath(requestTarget: string): string | null {
  const queryAt = requestTarget.search(/[?#]/);
  let path = queryAt < 0 ? requestTarget : requestTarget.slice(0, queryAt);
  for (let round = 0; round < 2; round++) path = path.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  if (!path.startsWith('/') && !path.startsWith('\\')) return null;
  const resolved: string[] = [];
  const segments = path.split(/[/\\]/).slice(1);
  segments.forEach((segment, index) => {
    if (segment === '..') resolved.pop();
    if (segment === '.' || segment === '..') {
      if (index === segments.length - 1) resolved.push('');
      return;
    }
    resolved.push(segment);
  });
  return `/${resolved.join('/')}`;
}
