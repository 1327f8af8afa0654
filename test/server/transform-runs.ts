// Drives a server delta transform (DeltaTransform, ExtDeltaTransform) the
// two ways delta-response.ts does: live through a pipeline, or held (scanned
// without emitting, then released) and replayed. Both collect every byte out.
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** What a held pass offers besides being a Transform (delta-transform.ts, ext-delta-transform.ts). */
export interface HoldableTransform extends Transform {
  scanHeld(chunk: Uint8Array, final: boolean): void;
  readonly isFinished: boolean;
  release(): void;
}

export async function runLive(transform: Transform, chunks: Uint8Array[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), transform, sink);
  return Buffer.concat(out);
}

/** Scans every chunk held, then releases and collects the replay; the scan must have seen the end. */
export async function runHeld(delta: HoldableTransform, chunks: Uint8Array[]): Promise<{ finished: boolean; bytes: Buffer }> {
  for (const chunk of chunks) delta.scanHeld(chunk, false);
  delta.scanHeld(new Uint8Array(0), true);
  const finished = delta.isFinished;
  delta.release();
  const out: Buffer[] = [];
  delta.on('data', (chunk: Buffer) => out.push(chunk));
  await new Promise((resolve, reject) => {
    delta.once('end', resolve);
    delta.once('error', reject);
    delta.end();
  });
  return { finished, bytes: Buffer.concat(out) };
}
