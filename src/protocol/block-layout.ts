// How a body of fs bytes splits into n blocks (PROTOCOL.md §1): n-1 blocks of
// bs = floor(fs/n) bytes, then the tail block of bs + fs mod n bytes.

export interface BlockLayout {
  readonly blockCount: number;
  readonly blockSize: number;
  readonly tailSize: number;
}

export function blockLayout(fileSize: number, blockCount: number): BlockLayout {
  const blockSize = Math.floor(fileSize / blockCount);
  return { blockCount, blockSize, tailSize: blockSize + (fileSize % blockCount) };
}

/** [start, end) of block `index` in the body. */
export function blockRange(layout: BlockLayout, index: number): [number, number] {
  const start = index * layout.blockSize;
  return [start, start + (index === layout.blockCount - 1 ? layout.tailSize : layout.blockSize)];
}
