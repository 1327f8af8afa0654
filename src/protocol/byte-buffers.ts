// Small byte containers for the streaming codecs.

/** Bytes at absolute stream offsets [start, end): append at the end, drop from the front. */
export class ByteWindow {
  private storage = new Uint8Array(64 * 1024);
  private head = 0; // storage index of absolute offset `start`
  private size = 0;
  start = 0;

  get end(): number {
    return this.start + this.size;
  }

  append(bytes: Uint8Array): void {
    if (this.head + this.size + bytes.length > this.storage.length) {
      const needed = this.size + bytes.length;
      if (needed > this.storage.length / 2) {
        const grown = new Uint8Array(Math.max(needed * 2, this.storage.length));
        grown.set(this.storage.subarray(this.head, this.head + this.size));
        this.storage = grown;
      } else {
        this.storage.copyWithin(0, this.head, this.head + this.size);
      }
      this.head = 0;
    }
    this.storage.set(bytes, this.head + this.size);
    this.size += bytes.length;
  }

  /** A view of [from, to) (absolute); valid until the next append. */
  view(from: number, to: number): Uint8Array {
    return this.storage.subarray(this.head + from - this.start, this.head + to - this.start);
  }

  discardBefore(offset: number): void {
    const drop = Math.min(offset - this.start, this.size);
    if (drop <= 0) return;
    this.head += drop;
    this.size -= drop;
    this.start += drop;
  }
}

/** Collects output pieces and joins them into one array (one copy). */
export class OutputCollector {
  private pieces: Uint8Array[] = [];
  private length = 0;

  add(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pieces.push(bytes);
    this.length += bytes.length;
  }

  addByte(value: number): void {
    this.add(Uint8Array.of(value));
  }

  take(): Uint8Array {
    const pieces = this.pieces;
    this.pieces = [];
    const total = this.length;
    this.length = 0;
    if (pieces.length === 1) return pieces[0].slice();
    return concatBytes(pieces, total);
  }
}

/** The pieces one after another in a new array (`total`: their summed length, when the caller knows it). */
export function concatBytes(pieces: readonly Uint8Array[], total = pieces.reduce((sum, piece) => sum + piece.length, 0)): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
