// `crcsync serve` tunes glibc's malloc for its server process
// (allocator-tuning.ts): which environments get the setting, and that glibc's
// own loader reads the setting as meant (its --list-tunables is the oracle).

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SERVER_MALLOC_TUNABLES, runsOnGlibc, serverMallocEnv } from '../../src/server/allocator-tuning';

describe('serverMallocEnv', () => {
  it('adds the tunables on glibc, after any the operator set for other things', () => {
    expect(serverMallocEnv({}, true)).toEqual({ GLIBC_TUNABLES: SERVER_MALLOC_TUNABLES });
    expect(serverMallocEnv({ GLIBC_TUNABLES: 'glibc.pthread.rseq=0' }, true)).toEqual({ GLIBC_TUNABLES: `glibc.pthread.rseq=0:${SERVER_MALLOC_TUNABLES}` });
  });

  it("keeps the operator's own malloc settings, and adds nothing off glibc", () => {
    expect(serverMallocEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, true)).toBeNull();
    expect(serverMallocEnv({ GLIBC_TUNABLES: 'glibc.pthread.rseq=0:glibc.malloc.tcache_count=0' }, true)).toBeNull();
    expect(serverMallocEnv({ MALLOC_ARENA_MAX: '2' }, true)).toBeNull();
    expect(serverMallocEnv({ MALLOC_TRIM_THRESHOLD_: '0' }, true)).toBeNull();
    expect(serverMallocEnv({}, false)).toBeNull();
  });
});

const loader = ['/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1'].find(existsSync);
const glibcHere = runsOnGlibc() && loader !== undefined;
if (!glibcHere) console.log('allocator-tuning: not glibc here (or no ld.so found): the loader check is skipped');

(glibcHere ? it : it.skip)("glibc's loader reads the tunables as 4 MiB mmap threshold and 32 MiB trim threshold", () => {
  const listed = execFileSync(loader!, ['--list-tunables'], { env: { ...process.env, ...serverMallocEnv({}, true) }, encoding: 'utf8' });
  expect(listed).toMatch(/^glibc\.malloc\.mmap_threshold: 0x400000 /m);
  expect(listed).toMatch(/^glibc\.malloc\.trim_threshold: 0x2000000 /m);
});
