// Locates ../shared (reference vectors and corpus). The project's own tests
// make their own fixtures; tests over ../shared run in addition wherever it
// is present (CI has it) and say so plainly when it is not.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SHARED_DIR = resolve(__dirname, '../../../shared');
export const VECTORS_DIR = join(SHARED_DIR, 'vectors');
export const CORPUS_DIR = join(SHARED_DIR, 'corpus');

export interface Vector {
  name: string;
  dir: string;
  expect: 'decode-ok' | 'decode-error' | 'no-if-block';
  old: Buffer;
  new: Buffer;
  ifBlock: string | null;
  delta: Buffer | null;
  responseHeaders: Array<[string, string]>;
}

export interface CorpusPair {
  name: string;
  old: Buffer;
  new: Buffer;
}

function readOptional(path: string): Buffer | null {
  return existsSync(path) ? readFileSync(path) : null;
}

export function loadVectors(): Vector[] {
  if (!existsSync(VECTORS_DIR)) return [];
  return readdirSync(VECTORS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(VECTORS_DIR, entry.name, 'expect.txt')))
    .map((entry) => {
      const dir = join(VECTORS_DIR, entry.name);
      const headers = readFileSync(join(dir, 'response-headers.txt'), 'utf8')
        .split('\n')
        .filter((line) => line.includes(':'))
        .map((line): [string, string] => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
        });
      return {
        name: entry.name,
        dir,
        expect: readFileSync(join(dir, 'expect.txt'), 'utf8').trim() as Vector['expect'],
        old: readFileSync(join(dir, 'old')),
        new: readFileSync(join(dir, 'new')),
        ifBlock: readOptional(join(dir, 'if-block.txt'))?.toString('utf8') ?? null,
        delta: readOptional(join(dir, 'delta.bin')),
        responseHeaders: headers,
      };
    });
}

export function loadCorpus(): CorpusPair[] {
  if (!existsSync(CORPUS_DIR)) return [];
  return readdirSync(CORPUS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(CORPUS_DIR, entry.name, 'old')))
    .map((entry) => ({
      name: entry.name,
      old: readFileSync(join(CORPUS_DIR, entry.name, 'old')),
      new: readFileSync(join(CORPUS_DIR, entry.name, 'new')),
    }));
}

/** Registers a skipped test that names why, so a run without ../shared says so. */
export function reportSharedMissing(what: string): void {
  const message = `${what}: ${SHARED_DIR} is not present, so these checks did not run`;
  console.warn(message);
  it.skip(message, () => undefined);
}
