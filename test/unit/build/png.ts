// A PNG reader for the icon tests: checks the file the way a browser would
// refuse it (signature, chunk CRCs, IHDR first, IEND last) and decodes
// 8-bit RGBA, non-interlaced images (what the build's renderer writes) to
// pixels, so a test can tell a drawn icon from a blank one.

import { crc32, inflateSync } from 'node:zlib';

export class PngFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngFormatError';
  }
}

export interface DecodedPng {
  width: number;
  height: number;
  /** Row-major RGBA, 4 bytes per pixel. */
  rgba: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOUR_TYPE_RGBA = 6;

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  if (toLeft <= toUp && toLeft <= toUpLeft) return left;
  return toUp <= toUpLeft ? up : upLeft;
}

/** Undoes the per-row filters (PNG spec §9) of 4-byte pixels. */
function unfilter(filtered: Buffer, width: number, height: number): Uint8Array {
  const stride = width * 4;
  if (filtered.length !== height * (stride + 1)) throw new PngFormatError(`image data is ${filtered.length} bytes, want ${height * (stride + 1)}`);
  const out = new Uint8Array(height * stride);
  for (let row = 0; row < height; row++) {
    const filter = filtered[row * (stride + 1)];
    for (let column = 0; column < stride; column++) {
      const raw = filtered[row * (stride + 1) + 1 + column];
      const left = column >= 4 ? out[row * stride + column - 4] : 0;
      const up = row > 0 ? out[(row - 1) * stride + column] : 0;
      const upLeft = row > 0 && column >= 4 ? out[(row - 1) * stride + column - 4] : 0;
      const predictors = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)];
      if (filter >= predictors.length) throw new PngFormatError(`row ${row}: unknown filter ${filter}`);
      out[row * stride + column] = (raw + predictors[filter]) & 0xff;
    }
  }
  return out;
}

export function decodePng(bytes: Buffer): DecodedPng {
  if (!bytes.subarray(0, 8).equals(SIGNATURE)) throw new PngFormatError('no PNG signature');
  const chunks: { type: string; data: Buffer }[] = [];
  for (let offset = 8; offset < bytes.length; ) {
    if (offset + 12 > bytes.length) throw new PngFormatError(`chunk header cut at byte ${offset}`);
    const length = bytes.readUInt32BE(offset);
    const typeAndData = bytes.subarray(offset + 4, offset + 8 + length);
    if (offset + 12 + length > bytes.length) throw new PngFormatError(`chunk at byte ${offset} runs past the end`);
    const type = typeAndData.subarray(0, 4).toString('latin1');
    if (crc32(typeAndData) !== bytes.readUInt32BE(offset + 8 + length)) throw new PngFormatError(`${type}: CRC mismatch`);
    chunks.push({ type, data: typeAndData.subarray(4) });
    offset += 12 + length;
  }
  if (chunks[0]?.type !== 'IHDR') throw new PngFormatError('IHDR is not the first chunk');
  if (chunks.at(-1)?.type !== 'IEND') throw new PngFormatError('IEND is not the last chunk');
  const header = chunks[0].data;
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  const [bitDepth, colourType, , , interlace] = header.subarray(8, 13);
  if (bitDepth !== 8 || colourType !== COLOUR_TYPE_RGBA || interlace !== 0) {
    throw new PngFormatError(`only 8-bit RGBA without interlace is read here (bit depth ${bitDepth}, colour type ${colourType}, interlace ${interlace})`);
  }
  const imageData = inflateSync(Buffer.concat(chunks.filter((chunk) => chunk.type === 'IDAT').map((chunk) => chunk.data)));
  return { width, height, rgba: unfilter(imageData, width, height) };
}

/** [r, g, b, a] of the pixel at column x, row y. */
export function pixelAt(png: DecodedPng, x: number, y: number): number[] {
  const start = (y * png.width + x) * 4;
  return [...png.rgba.subarray(start, start + 4)];
}
