/**
 * SVG to PNG through resvg (@resvg/resvg-js): a prebuilt native renderer with no JS
 * dependencies that installs offline. Chosen over vega (+ resvg), which would pull a large
 * ESM-only dependency tree into a CJS build for charts this small, and over @napi-rs/canvas,
 * whose Canvas 2D drawing would still need a second path to write SVG: here the SVG is the one
 * drawing and the PNG is its rendering, so the two files cannot disagree.
 */
import { Resvg } from '@resvg/resvg-js';

/**
 * Renders an SVG document to PNG bytes at `scale` times its pixel size (2 = crisp on high-DPI
 * screens). Text uses the system fonts (DejaVu Sans where present).
 */
export function svgToPng(svg: string, scale = 1.5): Buffer {
  const r = new Resvg(svg, {
    background: '#ffffff',
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return r.render().asPng();
}
