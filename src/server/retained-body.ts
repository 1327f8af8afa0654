// The body bytes an x=1 pass still needs to compress: its literal pieces
// and their preset dictionaries (the 32 KiB before each piece) are ranges of
// the new body, so the pass keeps a copy of the recent body instead of a
// copy per piece and per dictionary (a hostile If-Block can make hundreds of
// dictionary pieces in one slice: copies would cost 32 KiB each, ranges of
// one copy cost nothing). Stored in fixed blocks that are written once and
// never moved, so a view handed to a thread-pool job stays valid after the
// store has dropped its block.

/** Size of one storage block: a scan slice, so a view pins at most one slice's worth. */
export const RETAINED_BLOCK_BYTES = 64 * 1024;

export class RetainedBody {
  /** blocks[i] holds body[(firstBlock + i) * RETAINED_BLOCK_BYTES, ...). */
  private blocks: Uint8Array[] = [];
  private firstBlock = 0;
  private length = 0;

  /** Body bytes appended so far: the end offset. */
  get end(): number {
    return this.length;
  }

  /** First body offset still held. */
  get start(): number {
    return Math.min(this.firstBlock * RETAINED_BLOCK_BYTES, this.length);
  }

  /** Bytes of storage held now (whole blocks). */
  get heldBytes(): number {
    return this.blocks.length * RETAINED_BLOCK_BYTES;
  }

  /** Copies the next body bytes in. */
  append(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      const within = this.length % RETAINED_BLOCK_BYTES;
      if (within === 0) this.blocks.push(new Uint8Array(RETAINED_BLOCK_BYTES));
      const block = this.blocks[this.blocks.length - 1];
      const take = Math.min(bytes.length - at, RETAINED_BLOCK_BYTES - within);
      block.set(bytes.subarray(at, at + take), within);
      at += take;
      this.length += take;
    }
  }

  /**
   * body[from, to): a view when it lies in one block (never overwritten, so
   * safe to hand to an asynchronous job), else a joined copy.
   */
  range(from: number, to: number): Uint8Array {
    if (from < this.start || to > this.length || from > to) {
      throw new RangeError(`body range [${from}, ${to}) is outside the bytes held [${this.start}, ${this.length})`);
    }
    if (from === to) return new Uint8Array(0);
    const first = Math.floor(from / RETAINED_BLOCK_BYTES);
    const last = Math.floor((to - 1) / RETAINED_BLOCK_BYTES);
    const offsetIn = (offset: number, block: number) => offset - block * RETAINED_BLOCK_BYTES;
    if (first === last) return this.blocks[first - this.firstBlock].subarray(offsetIn(from, first), offsetIn(to, first));
    const out = new Uint8Array(to - from);
    let at = 0;
    for (let block = first; block <= last; block++) {
      const storage = this.blocks[block - this.firstBlock];
      const part = storage.subarray(block === first ? offsetIn(from, block) : 0, block === last ? offsetIn(to, block) : RETAINED_BLOCK_BYTES);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /** Drops every block: nothing will be read again (the pass ended or was destroyed). */
  clear(): void {
    this.firstBlock += this.blocks.length;
    this.blocks = [];
  }

  /** Drops the blocks that lie wholly before `offset`. */
  discardBefore(offset: number): void {
    const keepFrom = Math.floor(Math.min(offset, this.length) / RETAINED_BLOCK_BYTES);
    const drop = keepFrom - this.firstBlock;
    if (drop <= 0) return;
    this.blocks.splice(0, drop);
    this.firstBlock = keepFrom;
  }
}
