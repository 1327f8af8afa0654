// The body pass that makes a crcsync delta (PROTOCOL.md §3, §4): a Node
// Transform around the streaming DeltaEncoder. Chunks are encoded as they
// arrive; the Transform's buffering gives backpressure, and destroying it
// (client gone) drops the encoder and its WASM matcher at once.

import { Transform, TransformCallback } from 'node:stream';
import { DeltaEncoder, DeltaEncoderOptions, IfBlock } from '../protocol/index';

export class DeltaTransform extends Transform {
  private encoder: DeltaEncoder | null;

  constructor(ifBlock: IfBlock, options: DeltaEncoderOptions) {
    super();
    this.encoder = new DeltaEncoder(ifBlock, options, (chunk) => {
      if (chunk.length) this.push(chunk);
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.encoder!.push(chunk, false);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.encoder!.push(new Uint8Array(0), true);
      this.encoder = null;
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    // Client gone or upstream failed: hand the WASM matcher back to its pool now.
    this.encoder?.dispose();
    this.encoder = null;
    callback(error);
  }
}
