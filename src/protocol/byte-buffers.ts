// Small byte containers for the streaming codecs.

/** A window's first storage, when no spare one is at hand. */
const INITIAL_WINDOW_BYTES = 64 * 1024;
/** Spare storage kept for the next window: at most this many arrays of at most SPARE_STORAGE_BYTES each (4 MiB). */
const SPARE_STORAGES = 8;
const SPARE_STORAGE_BYTES = 512 * 1024;
/**
 * Storage of released windows. A delta scan per response would otherwise
 * allocate and zero 64-256 KiB, and an ArrayBuffer's memory comes back only
 * with a garbage collection: on a busy server those buffers were most of
 * what made V8 collect its old generation several times a second (issue 11).
 */
const spareStorage: Uint8Array[] = [];

/** Bytes at absolute stream offsets [start, end): append at the end, drop from the front. */
export class ByteWindow {
  private storage = spareStorage.pop() ?? new Uint8Array(INITIAL_WINDOW_BYTES);
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

  /**
   * The window is done with: its storage goes to the next window. Every view
   * it gave out is void from now on (as after any append), and it must not
   * be used again.
   */
  release(): void {
    const storage = this.storage;
    this.storage = new Uint8Array(0);
    this.head = 0;
    this.size = 0;
    if (storage.length && storage.length <= SPARE_STORAGE_BYTES && spareStorage.length < SPARE_STORAGES) spareStorage.push(storage);
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
