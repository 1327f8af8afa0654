// The `crcsync` CLI contract (the one ../shared/tools/check-vectors.sh and
// other peers test against), run as a real process on dist/cli.js.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mutate, randomBytes, seededRandom } from '../helpers/random';
import { SHARED_DIR, VECTORS_DIR, reportSharedMissing } from '../helpers/shared-data';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist/cli.js');
const work = mkdtempSync(join(tmpdir(), 'crcsync-cli-'));

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'buffer' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

function file(name: string, data: Uint8Array | string): string {
  const path = join(work, name);
  writeFileSync(path, data);
  return path;
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
});

describe('crcsync CLI', () => {
  const random = seededRandom(11);
  const old = randomBytes(random, 30000, 64);
  const next = mutate(random, old, 5);
  const oldPath = file('old', old);
  const newPath = file('new', next);

  it('hashes -> encode -> decode rebuilds the new file exactly', () => {
    const hashes = run('hashes', oldPath);
    expect(hashes.status).toBe(0);
    const ifBlock = hashes.stdout.toString().trim();
    expect(ifBlock).toMatch(/^v=1; fs=30000; h=[A-Za-z0-9+/]{427}$/);
    for (const deflater of ['pako', 'fflate']) {
      const encoded = run('encode', newPath, '--if-block', ifBlock, '--deflater', deflater);
      expect(encoded.status).toBe(0);
      expect(encoded.stdout.length).toBeLessThan(next.length / 4);
      const decoded = run('decode', oldPath, file(`delta-${deflater}`, encoded.stdout));
      expect(decoded.status).toBe(0);
      expect(decoded.stdout.equals(Buffer.from(next))).toBe(true);
    }
  });

  it('hashes exits 3 with no output for bodies under 200 bytes or over 4 MiB', () => {
    for (const size of [0, 199, 4 * 1024 * 1024 + 1]) {
      const result = run('hashes', file(`size-${size}`, new Uint8Array(size)));
      expect([result.status, result.stdout.length]).toEqual([3, 0]);
    }
    expect(run('hashes', file('size-200', new Uint8Array(200))).status).toBe(0);
  });

  it('encode exits 3 and writes nothing for an invalid If-Block, saying why', () => {
    for (const bad of ['v=2; fs=100; h=AAAAAAAAAAA', 'v=1; fs=0; h=AAAAAAAAAAA', 'garbage', `v=1; fs=5; h=${'A'.repeat(5000)}`]) {
      const result = run('encode', newPath, '--if-block', bad);
      expect([result.status, result.stdout.length]).toEqual([3, 0]);
      expect(result.stderr).toMatch(/pass-through/);
    }
  });

  it('decode exits 2 with empty stdout on a damaged delta, a missing file or a wrong base', () => {
    const ifBlock = run('hashes', oldPath).stdout.toString().trim();
    const delta = run('encode', newPath, '--if-block', ifBlock).stdout;
    const flipped = Buffer.from(delta);
    flipped[flipped.length - 1] ^= 1;
    const cases = [
      [oldPath, file('flipped', flipped), /SHA-1/],
      [oldPath, file('truncated', delta.subarray(0, delta.length - 30)), /ends|no S/],
      [file('other-base', mutate(random, old, 50)), file('delta', delta), /SHA-1/],
      [oldPath, join(work, 'does-not-exist'), /ENOENT|no such file/],
    ] as const;
    for (const [base, deltaPath, why] of cases) {
      const result = run('decode', base, deltaPath);
      expect([result.status, result.stdout.length]).toEqual([2, 0]);
      expect(result.stderr).toMatch(why);
    }
  });

  it('--help works on every command; usage errors exit 2', () => {
    for (const command of [[], ['hashes'], ['encode'], ['decode']]) {
      const result = run(...command, '--help');
      expect(result.status).toBe(0);
      expect(result.stdout.toString()).toMatch(/usage: crcsync/);
    }
    expect(run('frobnicate').status).toBe(2);
    expect(run('encode', newPath).status).toBe(2);
    expect(run('decode', oldPath).status).toBe(2);
  });
});

describe('check-vectors.sh against dist/cli.js', () => {
  const script = join(SHARED_DIR, 'tools/check-vectors.sh');
  if (!existsSync(script) || !existsSync(VECTORS_DIR)) {
    reportSharedMissing('check-vectors.sh');
    return;
  }
  it('passes every check', () => {
    const result = spawnSync('bash', [script, VECTORS_DIR, process.execPath, CLI], { encoding: 'utf8', timeout: 300000 });
    const failures = result.stdout.split('\n').filter((line) => line.startsWith('FAIL'));
    expect(failures).toEqual([]);
    expect(result.stdout).toMatch(/^(\d+)\/\1 passed$/m);
    expect(result.status).toBe(0);
  });
});
