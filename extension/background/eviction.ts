// Least-recently-used eviction for the body store, as a pure plan so the
// IndexedDB adapter applies it inside the same transaction as the write.

export interface SizedEntry {
  key: string;
  size: number;
  lastUsedAt: number;
}

/**
 * The keys to delete so that `incoming` fits under `capBytes`: oldest use
 * first. An entry with the incoming key is being replaced, so its size does
 * not count and it is not listed. Entries for which `pinned` is true count
 * but are never listed (a body whose own write is on its way: deleting it in
 * a later transaction would remove the new body, not the old one), so the
 * store may stay over the cap until the next write. Returns null when the
 * body alone is over the cap.
 */
export function planEviction(
  existing: Iterable<SizedEntry>,
  incoming: { key: string; size: number },
  capBytes: number,
  pinned: (key: string) => boolean = () => false,
): string[] | null {
  if (incoming.size > capBytes) return null;
  const others: SizedEntry[] = [];
  let total = incoming.size;
  for (const entry of existing) {
    if (entry.key === incoming.key) continue;
    others.push(entry);
    total += entry.size;
  }
  if (total <= capBytes) return [];
  others.sort((a, b) => a.lastUsedAt - b.lastUsedAt || (a.key < b.key ? -1 : 1));
  const evicted: string[] = [];
  for (const entry of others) {
    if (total <= capBytes) break;
    if (pinned(entry.key)) continue;
    evicted.push(entry.key);
    total -= entry.size;
  }
  return evicted;
}
