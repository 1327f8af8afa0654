// What every delta body pass of the server shares (v=1: delta-transform.ts;
// the x=1 extension: ext-delta-transform.ts): a Node Transform whose output
// is a queue of sections in body order, each a ready byte array or a pending
// thread-pool job. Input is encoded slice by slice (SCAN_SLICE_BYTES) and
// each slice's jobs are awaited before the next slice is scanned, so what
// waits for zlib is bounded by one slice whatever the chunk size, and the
// next chunk is taken only when this one's sections are out: backpressure.
//
// A pass can start *held* (delta-response.ts): the subclass matches a prefix
// of the body without compressing or emitting, then release()s it into the
// queue; queuedOutputBytes() and pushEncoded() let the server measure and
// send what is encoded before it hands the rest of the body to the pipeline.

import { Transform, TransformCallback } from 'node:stream';
import { SCAN_SLICE_BYTES } from '../protocol/delta-sections';

/** One section (or part of one) of the delta, ready or being compressed on the thread pool. */
export type QueuedSection = Uint8Array | Promise<Uint8Array>;

export abstract class SectionQueueTransform extends Transform {
  private queue: QueuedSection[] = [];
  private pendingJobs = 0;

  /** Held and not yet released. */
  abstract get isHeld(): boolean;

  /** Some queued section is still being compressed elsewhere (thread pool, worker). */
  get hasPendingJobs(): boolean {
    return this.pendingJobs > 0;
  }
  /** The scan has seen the end of the body (its last sections are queued or held). */
  abstract get isFinished(): boolean;
  /** Scans one slice of live input (the last one with `final`); its sections go to enqueue(). */
  protected abstract encodeSlice(slice: Uint8Array, final: boolean): void;
  /** Scans one slice while held (the last one with `final`): nothing compressed or emitted until release(). */
  protected abstract holdSlice(slice: Uint8Array, final: boolean): void;

  /**
   * Held: takes `chunk` (the next body bytes; `final` when it is the last)
   * without compressing or emitting. Synchronous: the caller decides how
   * often to yield to the event loop. Same slicing as live encoding, so
   * release() reproduces the live delta byte for byte.
   */
  scanHeld(chunk: Uint8Array, final: boolean): void {
    if (!this.isHeld || this.isFinished) throw new Error('scanHeld needs a held transform that has not seen the end');
    let at = 0;
    do {
      const slice = chunk.subarray(at, at + SCAN_SLICE_BYTES);
      at += slice.length;
      this.holdSlice(slice, final && at >= chunk.length);
    } while (at < chunk.length);
  }
  /** The last slice's sections are out: release what compressed them. */
  protected abstract endEncoding(): void;
  /** The pass is destroyed (client gone, upstream failed): release the matcher and compressors now. */
  protected abstract releaseResources(): void;

  protected enqueue(section: QueuedSection): void {
    if (section instanceof Promise) this.pendingJobs++;
    this.queue.push(section);
  }

  /**
   * After release: the delta bytes queued so far. Waits for the queued
   * thread-pool jobs (their output stays queued, in order).
   */
  async queuedOutputBytes(): Promise<number> {
    if (this.isHeld) throw new Error('queuedOutputBytes needs a released transform');
    const settled = await Promise.all(this.queue);
    this.queue = settled;
    this.pendingJobs = 0;
    return settled.reduce((sum, piece) => sum + piece.length, 0);
  }

  /**
   * After queuedOutputBytes(): sends what is encoded so far now, as live
   * encoding would have by this point, rather than with the next input
   * (which a pausing origin may hold back until the client sees a byte).
   */
  pushEncoded(): void {
    if (this.isHeld || this.pendingJobs > 0) throw new Error('pushEncoded needs a released transform with no job running');
    this.pushReady();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.encode(chunk, false, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.encode(new Uint8Array(0), true, callback);
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.releaseResources();
    this.queue = [];
    callback(error);
  }

  private encode(chunk: Uint8Array, final: boolean, callback: TransformCallback): void {
    const done = (error?: Error) => {
      if (final) this.endEncoding(); // only once its last job has come back
      callback(error);
    };
    if (this.isHeld) return done(new Error('a held delta pass takes input through scanHeld() until release()'));
    if (this.isFinished) {
      // The held scan already saw the end of the body: only its sections are left to go out.
      if (chunk.length) return done(new Error('input after the end of the body'));
      if (this.pendingJobs > 0) this.drain().then(() => done(), done);
      else {
        this.pushReady();
        done();
      }
      return;
    }
    let at = 0;
    const step = (): void => {
      try {
        for (;;) {
          const slice = chunk.subarray(at, at + SCAN_SLICE_BYTES);
          at += slice.length;
          const last = at >= chunk.length;
          this.encodeSlice(slice, final && last);
          if (this.pendingJobs > 0) {
            this.drain().then(() => (last || this.destroyed ? done() : step()), done);
            return;
          }
          this.pushReady();
          if (last) return done();
        }
      } catch (error) {
        done(error as Error);
      }
    };
    step();
  }

  /** Pushes the queued sections, all of them ready, as one chunk. */
  private pushReady(): void {
    const ready = this.queue as Uint8Array[];
    this.queue = [];
    if (ready.length) this.push(ready.length === 1 ? ready[0] : Buffer.concat(ready));
  }

  /** Waits for the queued thread-pool jobs, then pushes the sections in order as one chunk (fewer, larger socket writes). */
  private async drain(): Promise<void> {
    const pieces = this.queue;
    this.queue = [];
    this.pendingJobs = 0;
    const settled = await Promise.all(pieces);
    if (this.destroyed) return;
    this.queue = settled;
    this.pushReady();
  }
}
