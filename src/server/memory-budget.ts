// A byte budget shared by the encodings in flight of one handler (deltas,
// gzip / br streams): each is charged an upper bound of what it can hold
// before it starts, and credited when its response ends, however it ends.
// Beyond the budget the handler picks a cheaper answer (PROTOCOL.md §5
// "bounded memory"; SECURITY.md, slow clients).

export interface MemoryReservation {
  readonly bytes: number;
  /** Returns the bytes to the budget; later calls do nothing. */
  release(): void;
}

export class MemoryBudget {
  private reserved = 0;
  private held = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes charged to encodings now in flight. */
  get reservedBytes(): number {
    return this.reserved;
  }

  /** Encodings now in flight. */
  get reservations(): number {
    return this.held;
  }

  /** Charges `bytes`, or returns null when they do not fit (the caller answers more cheaply). */
  tryReserve(bytes: number): MemoryReservation | null {
    if (this.reserved + bytes > this.limitBytes) return null;
    this.reserved += bytes;
    this.held++;
    let released = false;
    return {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        this.reserved -= bytes;
        this.held--;
      },
    };
  }
}
