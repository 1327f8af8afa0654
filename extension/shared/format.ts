// Human-readable numbers for the popup and the devtools panel.

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
}

/** Share of `full` that did not cross the wire, e.g. "93.1%"; "–" when nothing was measured. */
export function formatSavedPercent(fullBytes: number, wireBytes: number): string {
  if (fullBytes <= 0) return '–';
  return `${(((fullBytes - wireBytes) / fullBytes) * 100).toFixed(1)}%`;
}
