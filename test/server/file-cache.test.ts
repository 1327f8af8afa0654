// The static origin's cache of small unchanged files (file-cache.ts): keyed by
// the stat fields a write changes, bounded by bytes, least recently used first.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCache, MAX_CACHED_FILE_BYTES } from '../../src/server/file-cache';
import { ServeArgumentError, serveConfigFromArgs } from '../../src/server/serve-command';

describe('FileCache', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'crcsync-file-cache-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keys a file by what a write changes: a rewrite of the same size is another key', () => {
    const path = join(dir, 'page.html');
    writeFileSync(path, 'one version');
    const first = new FileCache().keyOf(path, statSync(path, { bigint: true }));
    writeFileSync(path, 'two version');
    const second = new FileCache().keyOf(path, statSync(path, { bigint: true }));
    expect(first).not.toBeNull();
    expect(second).not.toBe(first);
  });

  it('keeps no file over 1 MiB or over its whole budget, and nothing with a budget of 0', () => {
    const path = join(dir, 'big.bin');
    writeFileSync(path, Buffer.alloc(MAX_CACHED_FILE_BYTES + 1));
    expect(new FileCache().keyOf(path, statSync(path, { bigint: true }))).toBeNull();
    writeFileSync(path, Buffer.alloc(2000));
    expect(new FileCache(1000).keyOf(path, statSync(path, { bigint: true }))).toBeNull();
    expect(new FileCache(0).keyOf(path, statSync(path, { bigint: true }))).toBeNull();
  });

  it('holds at most its budget, dropping the least recently used', () => {
    const cache = new FileCache(3000);
    cache.put('a', Buffer.alloc(1000, 1));
    cache.put('b', Buffer.alloc(1000, 2));
    cache.put('c', Buffer.alloc(1000, 3));
    expect(cache.get('a')?.[0]).toBe(1); // a is now the most recently used
    cache.put('d', Buffer.alloc(1000, 4));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.[0]).toBe(1);
    expect(cache.get('c')?.[0]).toBe(3);
    expect(cache.get('d')?.[0]).toBe(4);
    expect(cache.heldBytes).toBe(3000);
    cache.put('a', Buffer.alloc(500, 5));
    expect(cache.heldBytes).toBe(2500);
    expect(cache.get(null)).toBeUndefined();
  });

  it('says which requested paths have their bytes kept, until the entry goes or the path is forgotten', () => {
    const cache = new FileCache(2000);
    expect(cache.holdsPath('/root/a')).toBe(false);
    cache.put('a-key', Buffer.alloc(1000, 1), '/root/a');
    cache.put('b-key', Buffer.alloc(1000, 2));
    expect(cache.holdsPath('/root/a')).toBe(true);
    expect(cache.holdsPath('/root/b')).toBe(false); // kept, but no request named it
    expect(cache.get('b-key', '/root/b')?.[0]).toBe(2);
    expect(cache.holdsPath('/root/b')).toBe(true);
    cache.put('c-key', Buffer.alloc(1000, 3), '/root/c'); // evicts a, the least recently used
    expect(cache.holdsPath('/root/a')).toBe(false);
    cache.forgetPath('/root/b');
    expect(cache.holdsPath('/root/b')).toBe(false);
    expect(cache.holdsPath('/root/c')).toBe(true);
  });
});

describe('crcsync serve --file-cache', () => {
  it('takes MiB for the static root, rejects other values, and is refused without --root', () => {
    const root = serveConfigFromArgs({ root: '.', 'file-cache': '8' }).options as { root: string; fileCacheBytes?: number };
    expect(root.fileCacheBytes).toBe(8 * 1024 * 1024);
    expect((serveConfigFromArgs({ root: '.', 'file-cache': '0' }).options as { fileCacheBytes?: number }).fileCacheBytes).toBe(0);
    expect((serveConfigFromArgs({ root: '.' }).options as { fileCacheBytes?: number }).fileCacheBytes).toBeUndefined();
    for (const bad of ['-1', '1.5', 'lots', '']) expect(() => serveConfigFromArgs({ root: '.', 'file-cache': bad })).toThrow(ServeArgumentError);
    expect(() => serveConfigFromArgs({ demo: true, 'file-cache': '8' })).toThrow(ServeArgumentError);
  });
});
