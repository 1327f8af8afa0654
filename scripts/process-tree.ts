// A process and its children (Linux /proc), for the benches and tests that
// measure or check `crcsync serve`: on glibc it is a parent and its server
// child (src/server/allocator-tuning.ts), with --workers a primary and its
// workers.

import { readFileSync } from 'node:fs';

/** The pids of a process's children; none when it is gone or this is not Linux. */
export function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

/** The process and its children. */
export function processTree(pid: number): number[] {
  return [pid, ...childrenOf(pid)];
}
