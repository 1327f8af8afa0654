// gzip / br as the server makes them (content-coding.ts): br of a body of
// known size gets a window that just covers it (less encoder memory, the
// same matches), the stream and the one-call paths give the same bytes.

import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_COMPRESSION, compressOnce, createCompressor } from '../../src/server/content-coding';

/** The window a brotli stream declares in its first bits (RFC 7932 §9.1, WBITS). */
function declaredWindowBits(stream: Buffer): number {
  const first = stream[0]!;
  if ((first & 1) === 0) return 16;
  const n = (first >> 1) & 7;
  if (n !== 0) return 17 + n;
  const m = (first >> 4) & 7;
  return m === 0 ? 17 : 8 + m;
}

/** Page-like text that repeats at long distances, so a window too small would show in the size. */
function pageOf(bytes: number): Buffer {
  const lines: string[] = [];
  for (let i = 0, length = 0; length < bytes; i++) {
    const line = `<li class="item-${i % 97}">entry ${i} of the index, see section ${(i * 7919) % 1000}</li>\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

async function streamed(body: Buffer, sizeHint: number | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(Readable.from([body]), createCompressor('br', DEFAULT_COMPRESSION, sizeHint), new PassThrough().on('data', (chunk: Buffer) => chunks.push(chunk)));
  return Buffer.concat(chunks);
}

describe('br of a body of known size', () => {
  it.each([
    [1_000, 17],
    [100_000, 17],
    [131_056, 17], // 2^17 - 16: the largest body a 17-bit window reaches back over whole
    [131_057, 18],
    [3_000_000, 22],
    [9_000_000, 22],
  ])('a %i-byte body gets a %i-bit window and decodes exactly', async (bytes, windowBits) => {
    const body = pageOf(bytes);
    const made = await streamed(body, bytes);
    expect(declaredWindowBits(made)).toBe(windowBits);
    expect(brotliDecompressSync(made).equals(body)).toBe(true);
    expect((await compressOnce('br', DEFAULT_COMPRESSION, body, bytes)).equals(made)).toBe(true);
  });

  it('is as small as with the default 4 MiB window, to within a byte', async () => {
    for (const bytes of [20_000, 300_000]) {
      const body = pageOf(bytes);
      const defaultWindow = brotliCompressSync(body, {
        params: { [constants.BROTLI_PARAM_QUALITY]: DEFAULT_COMPRESSION.brotliQuality, [constants.BROTLI_PARAM_SIZE_HINT]: bytes },
      });
      expect(declaredWindowBits(defaultWindow)).toBe(22);
      expect(Math.abs((await streamed(body, bytes)).length - defaultWindow.length)).toBeLessThanOrEqual(1);
    }
  });

  it('keeps the default window when the size is not known', async () => {
    expect(declaredWindowBits(await streamed(pageOf(5_000), undefined))).toBe(22);
  });
});
