// Static files as an origin (`crcsync serve --root DIR`): GET and HEAD,
// identity bodies streamed from disk (small files kept in memory while
// unchanged: file-cache.ts), a validator ETag and If-None-Match,
// `Cache-Control: no-cache` so browsers revalidate (and a crcsync client
// then asks with If-Block). No byte ranges: a Range header is ignored and
// the whole body is served (RFC 9110 §14.2 allows that).

import { BigIntStats, createReadStream, realpathSync, statSync } from 'node:fs';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { DEFAULT_FILE_CACHE_BYTES, FileCache } from './file-cache';
import { HeaderMap } from './headers';
import { Origin, OriginResponse } from './origin';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.mjs': 'application/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

const BINARY_TYPE = 'application/octet-stream';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const SNIFF_BYTES = 512;
const SNIFF_CACHE_ENTRIES = 1024;

/**
 * Text or binary, from a file's first bytes (the WHATWG MIME sniffing
 * "binary data byte" rule): files without a known extension, like the
 * corpus's `old` / `new`, then still get compressed when they are text.
 */
export function looksLikeText(head: Uint8Array): boolean {
  for (const byte of head) {
    if (byte <= 0x08 || byte === 0x0b || (byte >= 0x0e && byte <= 0x1a) || (byte >= 0x1c && byte <= 0x1f)) return false;
  }
  return true;
}

async function sniffType(path: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    const head = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await file.read(head, 0, SNIFF_BYTES, 0);
    return looksLikeText(head.subarray(0, bytesRead)) ? TEXT_TYPE : BINARY_TYPE;
  } finally {
    await file.close();
  }
}

const READ_CHUNK_BYTES = 64 * 1024;

/** Whether an If-None-Match list names this entity tag (weak comparison, RFC 9110 §13.1.2). */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '').replace(/-crcsync-[a-z0-9-]+$/i, '');
  const wanted = opaque(etag);
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === wanted);
}

function simpleResponse(status: number, headers: Record<string, string>): OriginResponse {
  return { status, headers: new Map(Object.entries(headers)), body: null };
}

function isInside(directory: string, path: string): boolean {
  return path === directory || path.startsWith(directory.endsWith(sep) ? directory : directory + sep);
}

export interface StaticOriginOptions {
  /** Content type for files whose extension is not known (default: sniffed, text/plain or application/octet-stream). */
  defaultType?: string;
  /** File served for a directory (default index.html). */
  index?: string;
  /** Bytes of small unchanged files kept in memory (file-cache.ts; default 32 MiB, 0 = none). */
  fileCacheBytes?: number;
}

/** One Buffer as a byte stream (one chunk, not object mode, as a file stream gives it). */
function bytesStream(bytes: Buffer): Readable {
  return new Readable({
    read() {
      this.push(bytes);
      this.push(null);
    },
  });
}

export function staticOrigin(root: string, options: StaticOriginOptions = {}): Origin {
  const base = resolve(root);
  const index = options.index ?? 'index.html';
  // Sniffed types by path, size and mtime: one read per file version, bounded.
  const sniffed = new Map<string, string>();
  async function typeOf(path: string, version: string): Promise<string> {
    const known = CONTENT_TYPES[extname(path).toLowerCase()] ?? options.defaultType;
    if (known) return known;
    const key = `${path}\0${version}`;
    let type = sniffed.get(key);
    if (type === undefined) {
      type = await sniffType(path);
      if (sniffed.size >= SNIFF_CACHE_ENTRIES) sniffed.delete(sniffed.keys().next().value!);
      sniffed.set(key, type);
    }
    return type;
  }
  /**
   * The file's real path (symlinks resolved), or null when it does not
   * exist or resolves to somewhere outside the root's own real path (nginx's
   * `disable_symlinks if_not_owner` idea, simpler): a link inside the root must
   * not publish /etc/passwd. Served by its real path, so the file opened is
   * the one checked (a link swapped in between needs write access to the
   * root, which is outside this threat model).
   */
  async function insideRoot(path: string): Promise<{ path: string; info: BigIntStats } | null> {
    if (files.holdsPath(path)) return checkedNow(path);
    // stat follows the links realpath resolves, so the three go to the thread pool together.
    const [real, realBase, info] = await Promise.all([realpath(path).catch(() => null), realpath(base).catch(() => null), stat(path, { bigint: true }).catch(() => null)]);
    return resolvedInside(path, real, realBase, info);
  }
  /**
   * The same checks, synchronously, for a path whose bytes are kept: it was
   * read moments ago, so its names and inode are in the kernel's caches and
   * the three calls take microseconds. On the thread pool each would be a
   * round trip queued behind whatever gzip / br / deflate work is there, a
   * wait every response of a busy server paid (issue 11).
   */
  function checkedNow(path: string): { path: string; info: BigIntStats } | null {
    const attempt = <T>(call: () => T): NonNullable<T> | null => {
      try {
        return call() ?? null;
      } catch {
        return null;
      }
    };
    return resolvedInside(
      path,
      attempt(() => realpathSync.native(path)),
      attempt(() => realpathSync.native(base)),
      attempt(() => statSync(path, { bigint: true, throwIfNoEntry: false })),
    );
  }
  function resolvedInside(path: string, real: string | null, realBase: string | null, info: BigIntStats | null): { path: string; info: BigIntStats } | null {
    if (real === null || realBase === null || info === null || !isInside(realBase, real)) {
      files.forgetPath(path);
      return null;
    }
    return { path: real, info };
  }
  const files = new FileCache(options.fileCacheBytes ?? DEFAULT_FILE_CACHE_BYTES);
  /** The body of a GET: the kept bytes of this version (also as wholeBody), else read whole (and kept) when small, else streamed. */
  async function bodyOf(requested: string, path: string, info: BigIntStats): Promise<{ body: Readable; wholeBody?: Buffer }> {
    const key = files.keyOf(path, info);
    if (key === null) return { body: createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }) };
    const kept = files.get(key, requested);
    if (kept) return { body: bytesStream(kept), wholeBody: kept };
    const bytes = await readFile(path).catch(() => null);
    // Changed since the stat (or gone): streamed as before, and not kept under the old version's key.
    if (bytes === null || BigInt(bytes.length) !== info.size) return { body: createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }) };
    files.put(key, bytes, requested);
    return { body: bytesStream(bytes), wholeBody: bytes };
  }
  return async (req) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return simpleResponse(405, { allow: 'GET, HEAD', 'content-length': '0' });
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://host').pathname);
    } catch {
      return simpleResponse(400, { 'content-length': '0' });
    }
    if (pathname.includes('\0')) return simpleResponse(400, { 'content-length': '0' });
    const requested = resolve(join(base, pathname));
    if (!isInside(base, requested)) return null;
    let found = await insideRoot(requested);
    if (found?.info.isDirectory()) found = await insideRoot(join(found.path, index));
    if (!found?.info.isFile()) return null;
    const { path, info } = found;

    const etag = `"${info.size.toString(16)}-${(info.mtimeNs / 1_000_000n).toString(16)}"`;
    const headers: HeaderMap = new Map([
      ['content-type', await typeOf(path, etag)],
      ['content-length', String(info.size)],
      ['last-modified', info.mtime.toUTCString()],
      ['etag', etag],
      ['cache-control', 'no-cache'],
    ]);
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etag)) {
      headers.delete('content-length');
      headers.delete('content-type');
      return { status: 304, headers, body: null };
    }
    if (method === 'HEAD') return { status: 200, headers, body: null };
    return { status: 200, headers, ...(await bodyOf(requested, path, info)) };
  };
}
