// PNG icons rendered at build time from the one drawing,
// extension/icons/crcsync.svg: Chromium shows no SVG icon (toolbar, the
// extensions page), so without PNGs it shows a grey letter or puzzle piece.
//
// Firefox gets the same PNGs: manifest.json then names one icon set for every
// browser (no per-browser icon patch), and Firefox picks the size that fits
// the display density from 16/32/48/128 as Chromium does. The SVG itself is
// still shipped: the devtools panel's icon names it, and devtools pages
// render SVG in both browsers.
import { Resvg } from '@resvg/resvg-js';

/** Toolbar 16/32 (1x/2x), the extensions page 48, install and store 128. */
export const ICON_SIZES = [16, 32, 48, 128];

/** Where a size lands in the extension; manifest.json names these paths. */
export const iconPath = (size) => `icons/crcsync-${size}.png`;

export class IconRenderError extends Error {
  constructor(message) {
    super(message);
    this.name = 'IconRenderError';
  }
}

/**
 * @param {string | Buffer} svg the drawing
 * @returns {Map<string, Buffer>} extension path -> PNG bytes, one per ICON_SIZES
 */
export function renderIcons(svg) {
  const icons = new Map();
  for (const size of ICON_SIZES) {
    // No text in the drawing: skip scanning the system's fonts.
    const rendered = new Resvg(svg, { fitTo: { mode: 'width', value: size }, font: { loadSystemFonts: false } }).render();
    // The drawing is square; a non-square one would be stretched by the browser.
    if (rendered.width !== size || rendered.height !== size) {
      throw new IconRenderError(`icon rendered ${rendered.width}x${rendered.height}, want ${size}x${size}: the SVG is not square`);
    }
    icons.set(iconPath(size), rendered.asPng());
  }
  return icons;
}
