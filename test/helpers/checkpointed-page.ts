// A page and its changed version for the progressive-release tests (x=1,
// docs/extensions.md): a 40 KiB page (1 KiB blocks) whose new version keeps
// the first 12 KiB, has 9 KiB of new text, then the rest, so the encoder
// checkpoints the kept part before the literal run, and again inside it.
import { seededRandom } from './random';

/** `size` bytes of markup-like words from a fixed seed. */
export function pageWords(seed: number, size: number): Buffer {
  const random = seededRandom(seed);
  const vocabulary = ['<li class="item">', 'verified', 'prefix', '</li>\n', 'crcsync', 'stream', 'the', 'page', '<a href="/n">', 'news'];
  let out = '';
  while (out.length < size) out += `${vocabulary[Math.floor(random() * vocabulary.length)]} `;
  return Buffer.from(out.slice(0, size));
}

export const CHECKPOINTED_BASE = pageWords(1, 40 * 1024);
export const CHECKPOINTED_NEW = Buffer.concat([CHECKPOINTED_BASE.subarray(0, 12 * 1024), pageWords(2, 9 * 1024), CHECKPOINTED_BASE.subarray(12 * 1024)]);
