// The bytes of small files the static origin served recently, so that a
// request for a file that has not changed costs a stat and no open, read or
// close: each of those is a round trip to libuv's thread pool that the
// response waits for, and together they were most of what a response of a
// small page cost at one connection (issue 11: `crcsync serve` answered a
// 7 KiB page in 0.8-0.9 ms where a bare node:http server answering from
// memory took 0.3 ms). Not a response cache: every response is still
// encoded per request; this only stands in for the page cache's copy.
//
// Keyed by real path and the stat fields a write changes (size, mtime and
// ctime in ns, inode), so a file rewritten in place, renamed over or
// touched is read again. Bounded by bytes; least recently used go first.

import type { BigIntStats } from 'node:fs';

/** Default bytes kept (per server process). */
export const DEFAULT_FILE_CACHE_BYTES = 32 * 1024 * 1024;
/** Files larger than this are streamed from disk, never kept. */
export const MAX_CACHED_FILE_BYTES = 1024 * 1024;

/** Requested paths remembered with the key of their kept bytes (holdsPath); past this the oldest go. */
const MAX_REQUESTED_PATHS = 8192;

export class FileCache {
  /** Insertion-ordered: the first entry is the least recently used. */
  private readonly entries = new Map<string, Buffer>();
  /** The path a request named (before links are resolved) -> the key its bytes were last kept or found under. */
  private readonly requested = new Map<string, string>();
  private bytes = 0;

  constructor(readonly limitBytes = DEFAULT_FILE_CACHE_BYTES) {}

  /**
   * Whether the bytes last served for this requested path are still kept:
   * the file was read or served moments ago (static-origin.ts then checks
   * it synchronously). Says nothing about whether the file is unchanged.
   */
  holdsPath(path: string): boolean {
    const key = this.requested.get(path);
    return key !== undefined && this.entries.has(key);
  }

  /** The path no longer leads to a servable file (gone, or out of the root). */
  forgetPath(path: string): void {
    this.requested.delete(path);
  }

  private noteRequested(path: string | undefined, key: string): void {
    if (path === undefined || this.requested.get(path) === key) return;
    this.requested.delete(path);
    this.requested.set(path, key);
    if (this.requested.size > MAX_REQUESTED_PATHS) this.requested.delete(this.requested.keys().next().value!);
  }

  /** The key of one version of a file, or null when it is not kept (too large, or the cache is off). */
  keyOf(realPath: string, info: BigIntStats): string | null {
    if (info.size > BigInt(Math.min(MAX_CACHED_FILE_BYTES, this.limitBytes))) return null;
    return [realPath, info.size, info.mtimeNs, info.ctimeNs, info.ino, info.dev].join('\0');
  }

  /** The kept bytes of this version (`path`: the path the request named, for holdsPath). */
  get(key: string | null, path?: string): Buffer | undefined {
    if (key === null) return undefined;
    const bytes = this.entries.get(key);
    if (bytes) {
      this.entries.delete(key);
      this.entries.set(key, bytes);
      this.noteRequested(path, key);
    }
    return bytes;
  }

  put(key: string | null, bytes: Buffer, path?: string): void {
    if (key === null || bytes.length > this.limitBytes) return;
    this.noteRequested(path, key);
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.length;
      this.entries.delete(key);
    }
    this.entries.set(key, bytes);
    this.bytes += bytes.length;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.limitBytes) break;
      this.entries.delete(oldest);
      this.bytes -= value.length;
    }
  }

  /** Bytes held now. */
  get heldBytes(): number {
    return this.bytes;
  }
}
