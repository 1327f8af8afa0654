// A process and its children (Linux /proc), for the benches and tests that
// measure or check `crcsync serve`: on glibc it is a parent and its server
// child (src/server/allocator-tuning.ts), with --workers a primary and its
// workers. What they measure (CPU, resident memory) is summed over the tree.

import { readFileSync } from 'node:fs';

/** /proc reports a process's CPU time in clock ticks of 1/100 s (USER_HZ, fixed on Linux whatever the kernel's HZ). */
const TICKS_PER_SECOND = 100;

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

/** utime + stime of one process (all its threads), in ms; 0 once it is gone. */
function ownCpuMilliseconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the parenthesised name: fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** A `kB` field of one process's /proc status (VmRSS, VmHWM) in MiB; 0 once it is gone. */
function ownStatusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system, all threads) of the process and its children, in ms. */
export function treeCpuMilliseconds(pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + ownCpuMilliseconds(each), 0);
}

/** VmRSS (resident now) or VmHWM (peak) of the process and its children together, in MiB. */
export function treeMemoryMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  return processTree(pid).reduce((sum, each) => sum + ownStatusMiB(each, field), 0);
}
