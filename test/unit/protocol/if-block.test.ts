import { getDefaultEngine } from '../../../src/core/embedded-core';
import { createTwinEngine } from '../../../src/core/crc64-twin';
import { CrcsyncError } from '../../../src/protocol/errors';
import { canSendIfBlock, formatIfBlock, formatIfBlockFromHashes, parseIfBlock } from '../../../src/protocol/if-block';
import { randomBytes, seededRandom } from '../../helpers/random';

const engine = getDefaultEngine();

function codeOf(value: string): string {
  try {
    parseIfBlock(value);
  } catch (error) {
    expect(error).toBeInstanceOf(CrcsyncError);
    return (error as CrcsyncError).code;
  }
  return 'accepted';
}

describe('If-Block as the client sends it (PROTOCOL.md §1)', () => {
  it('is exactly "v=1; fs=N; h=" + 427 base64 characters for 40 hashes', () => {
    const body = randomBytes(seededRandom(1), 12345);
    const value = formatIfBlock(body, engine)!;
    expect(value).toMatch(/^v=1; fs=12345; h=[A-Za-z0-9+/]{427}$/);
    const hashes = Buffer.from(value.slice(value.indexOf('h=') + 2) + '=', 'base64');
    expect(hashes.equals(Buffer.from(createTwinEngine().blockHashes(body, 40)))).toBe(true);
  });

  it('is not sent below 200 bytes or above 4 MiB; exactly 200 bytes and exactly 4 MiB get one', () => {
    expect(canSendIfBlock(199)).toBe(false);
    expect(canSendIfBlock(200)).toBe(true);
    expect(canSendIfBlock(4194304)).toBe(true);
    expect(canSendIfBlock(4194305)).toBe(false);
    expect(formatIfBlock(new Uint8Array(199), engine)).toBeNull();
    expect(formatIfBlock(new Uint8Array(4194305), engine)).toBeNull();
    expect(formatIfBlock(new Uint8Array(200), engine)).toMatch(/^v=1; fs=200; /);
  });

  it('round-trips through the parser', () => {
    const body = randomBytes(seededRandom(2), 1079);
    const parsed = parseIfBlock(formatIfBlock(body, engine)!);
    expect(parsed.fileSize).toBe(1079);
    expect(parsed.layout).toEqual({ blockCount: 40, blockSize: 26, tailSize: 65 });
    expect(Buffer.from(parsed.hashes).equals(Buffer.from(engine.blockHashes(body, 40)))).toBe(true);
  });
});

describe('If-Block as a server parses it: lenient like the original, strict on limits (§1, §5)', () => {
  const hashes = engine.blockHashes(randomBytes(seededRandom(3), 5000), 40);
  const h = formatIfBlockFromHashes(5000, hashes).split('h=')[1];

  it('accepts any order, extra whitespace, padding, unknown fields, and v defaulting to 1', () => {
    for (const value of [`fs=5000; h=${h}`, `h=${h};fs=5000;v=1`, `  v = 1 ;fs= 5000 ;  h=${h}==  `, `v=1;\tfs=5000\t;h=${h}`, `v=1; fs=5000; h=${h}; x=y;`]) {
      const parsed = parseIfBlock(value);
      expect(parsed.fileSize).toBe(5000);
      expect(parsed.layout.blockCount).toBe(40);
    }
  });

  it('stops decoding base64 at the first character outside the alphabet', () => {
    // 16 valid characters (12 bytes -> 1 hash), then junk
    expect(parseIfBlock(`v=1; fs=5000; h=${h.slice(0, 16)}!${h.slice(16)}`).layout.blockCount).toBe(1);
    expect(parseIfBlock(`v=1; fs=5000; h=${h.slice(0, 11)}-${h}`).layout.blockCount).toBe(1);
  });

  it('takes n = floor(decoded bytes / 8), any n from 1 to 256, bs = floor(fs/n)', () => {
    const many = Buffer.alloc(256 * 8, 7).toString('base64');
    const parsed = parseIfBlock(`v=1; fs=1000; h=${many}`);
    expect(parsed.layout).toEqual({ blockCount: 256, blockSize: 3, tailSize: 3 + (1000 % 256) });
    expect(parseIfBlock(`v=1; fs=9; h=${Buffer.alloc(15).toString('base64')}`).layout.blockCount).toBe(1);
  });

  it.each([
    ['version 2', `v=2; fs=5000; h=${h}`, 'IF_BLOCK_VERSION'],
    ['missing fs', `v=1; h=${h}`, 'IF_BLOCK_FILE_SIZE'],
    ['fs = 0', `v=1; fs=0; h=${h}`, 'IF_BLOCK_FILE_SIZE'],
    ['negative fs', `v=1; fs=-5; h=${h}`, 'IF_BLOCK_FILE_SIZE'],
    ['fs not decimal', `v=1; fs=0x100; h=${h}`, 'IF_BLOCK_FILE_SIZE'],
    ['fs huge', `v=1; fs=99999999999999999999; h=${h}`, 'IF_BLOCK_FILE_SIZE'],
    ['fs over 64 MiB', `v=1; fs=67108865; h=${h}`, 'IF_BLOCK_FILE_SIZE'],
    ['missing h', 'v=1; fs=5000', 'IF_BLOCK_HASHES'],
    ['n = 0 (7 bytes)', `v=1; fs=5000; h=${Buffer.alloc(7).toString('base64')}`, 'IF_BLOCK_HASHES'],
    ['n = 257', `v=1; fs=5000; h=${Buffer.alloc(257 * 8).toString('base64')}`, 'IF_BLOCK_HASHES'],
    ['n > fs', `v=1; fs=39; h=${h}`, 'IF_BLOCK_HASHES'],
    ['garbage base64', 'v=1; fs=5000; h=!!!!not base64!!!!', 'IF_BLOCK_HASHES'],
    ['commas as separators', `v=1, fs=5000, h=${h}`, 'IF_BLOCK_VERSION'],
    ['commas between fields', `fs=5000, h=${h}`, 'IF_BLOCK_FILE_SIZE'],
    ['fs after a no-break space (not HTTP whitespace)', `v=1; fs=\u00a05000; h=${h}`, 'IF_BLOCK_FILE_SIZE'],
    ['a vertical tab inside the fs field', `v=1; fs=5000\u000b; h=${h}`, 'IF_BLOCK_FILE_SIZE'],
    ['duplicate fs', `v=1; fs=5000; fs=5000; h=${h}`, 'IF_BLOCK_MALFORMED'],
    ['duplicate h', `v=1; fs=5000; h=${h}; h=${h}`, 'IF_BLOCK_MALFORMED'],
    ['a field without =', `v=1; fs=5000; crcsync; h=${h}`, 'IF_BLOCK_MALFORMED'],
    ['over 4 KiB', `v=1; fs=5000; h=${h}; pad=${'x'.repeat(4096)}`, 'IF_BLOCK_TOO_LONG'],
    ['10,000 equal hashes', `v=1; fs=5000; h=${Buffer.alloc(80000, 1).toString('base64')}`, 'IF_BLOCK_TOO_LONG'],
  ])('refuses %s', (_what, value, code) => {
    expect(codeOf(value)).toBe(code);
  });
});
