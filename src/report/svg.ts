/**
 * A small SVG chart kit: one plot area with linear axes, "nice" ticks, a title, axis labels and a
 * legend; lines, step areas, bars, shaded spans and reference lines. SVG is the one drawing
 * surface: it is written as is (vector, text stays text) and rasterised to PNG by resvg
 * (./png.ts), so both files always show the same picture.
 */

/** Colours (Okabe-Ito, safe for colour-blind readers). */
export const COLORS = {
  blue: '#0072B2',
  orange: '#E69F00',
  green: '#009E73',
  red: '#D55E00',
  purple: '#CC79A7',
  sky: '#56B4E9',
  yellow: '#F0E442',
  grey: '#777777',
  ink: '#222222',
  grid: '#e6e6e6',
};

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick values covering [lo, hi], about `count` of them (1, 2, 5 x 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export interface LegendItem {
  label: string;
  color: string;
  /** `line` (default), `box` (filled swatch), `dash` or `dot`. */
  kind?: 'line' | 'box' | 'dash' | 'dot';
  opacity?: number;
}

export interface ChartOptions {
  /** Pixels. */
  width?: number;
  height?: number;
  title: string;
  xLabel: string;
  yLabel: string;
  x: [number, number];
  y: [number, number];
  /** Custom x tick labels (value, text), e.g. timestamps. */
  xTicks?: { value: number; text: string }[];
  legend?: LegendItem[];
  /** Corner of the plot area that holds the legend. Default `top-right`. */
  legendAt?: 'top-right' | 'bottom-right';
}

/** One chart being drawn; call the drawing methods, then {@link Chart.toSvg}. */
export class Chart {
  readonly width: number;
  readonly height: number;
  private readonly o: ChartOptions;
  private readonly left = 78;
  private readonly right = 24;
  private readonly top = 48;
  private readonly bottom = 58;
  private readonly body: string[] = [];

  constructor(options: ChartOptions) {
    this.o = options;
    this.width = options.width ?? 820;
    this.height = options.height ?? 440;
    if (!(options.x[1] > options.x[0])) options.x = [options.x[0] - 0.5, options.x[0] + 0.5];
    if (!(options.y[1] > options.y[0])) options.y = [options.y[0] - 0.5, options.y[0] + 0.5];
  }

  /** Pixel x of a data x. */
  px(x: number): number {
    const [a, b] = this.o.x;
    return this.left + ((x - a) / (b - a)) * (this.width - this.left - this.right);
  }

  /** Pixel y of a data y. */
  py(y: number): number {
    const [a, b] = this.o.y;
    return this.height - this.bottom - ((y - a) / (b - a)) * (this.height - this.top - this.bottom);
  }

  /** A polyline through (xs[i], ys[i]); NaNs break the line. */
  line(xs: ArrayLike<number>, ys: ArrayLike<number>, color: string, width = 1.5, dash?: string): void {
    let d = '';
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      const y = ys[i]!;
      if (!Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${this.px(xs[i]!).toFixed(1)},${this.py(y).toFixed(1)}`;
      pen = true;
    }
    if (d) this.body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${width}" stroke-linejoin="round"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
  }

  /** Vertical bands over [from, to) in data x, spanning `yFrom..yTo` as fractions of the plot height (0 bottom, 1 top). */
  spans(ranges: { from: number; to: number }[], color: string, opacity: number, yFrom = 0, yTo = 1): void {
    const top = this.top + (1 - yTo) * (this.height - this.top - this.bottom);
    const h = (yTo - yFrom) * (this.height - this.top - this.bottom);
    for (const r of ranges) {
      const x0 = this.px(r.from);
      const w = Math.max(1, this.px(r.to) - x0);
      this.body.push(`<rect x="${x0.toFixed(1)}" y="${top.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${color}" fill-opacity="${opacity}"/>`);
    }
  }

  /** Bars from y = base up to ys[i], over [x0s[i], x1s[i]). */
  bars(x0s: ArrayLike<number>, x1s: ArrayLike<number>, ys: ArrayLike<number>, color: string, opacity = 1, base = 0): void {
    for (let i = 0; i < ys.length; i++) {
      const x = this.px(x0s[i]!);
      const w = Math.max(0.5, this.px(x1s[i]!) - x);
      const y1 = this.py(ys[i]!);
      const y0 = this.py(base);
      this.body.push(`<rect x="${x.toFixed(1)}" y="${Math.min(y0, y1).toFixed(1)}" width="${w.toFixed(1)}" height="${Math.abs(y0 - y1).toFixed(1)}" fill="${color}" fill-opacity="${opacity}"/>`);
    }
  }

  /** A filled dot at data (x, y), radius in pixels. */
  point(x: number, y: number, color: string, radius = 5): void {
    this.body.push(`<circle cx="${this.px(x).toFixed(1)}" cy="${this.py(y).toFixed(1)}" r="${radius}" fill="${color}" stroke="#ffffff" stroke-width="1.5"/>`);
  }

  /** A horizontal reference line at data y with a label at the right end. */
  hline(y: number, color: string, label?: string, dash = '6 4'): void {
    const py = this.py(y).toFixed(1);
    this.body.push(`<line x1="${this.left}" x2="${this.width - this.right}" y1="${py}" y2="${py}" stroke="${color}" stroke-width="1.5" stroke-dasharray="${dash}"/>`);
    if (label) this.text(this.width - this.right - 4, Number(py) - 5, label, { anchor: 'end', color, size: 12 });
  }

  /** A vertical reference line at data x. */
  vline(x: number, color: string, label?: string, dash = '6 4'): void {
    const px = this.px(x).toFixed(1);
    this.body.push(`<line x1="${px}" x2="${px}" y1="${this.top}" y2="${this.height - this.bottom}" stroke="${color}" stroke-width="1.5" stroke-dasharray="${dash}"/>`);
    if (label) this.text(Number(px) + 5, this.top + 14, label, { color, size: 12 });
  }

  text(x: number, y: number, s: string, o: { anchor?: 'start' | 'middle' | 'end'; color?: string; size?: number; weight?: string; rotate?: number } = {}): void {
    const rot = o.rotate ? ` transform="rotate(${o.rotate} ${x.toFixed(1)} ${y.toFixed(1)})"` : '';
    this.body.push(
      `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" font-size="${o.size ?? 13}" fill="${o.color ?? COLORS.ink}" text-anchor="${o.anchor ?? 'start'}"${o.weight ? ` font-weight="${o.weight}"` : ''}${rot}>${escapeXml(s)}</text>`,
    );
  }

  toSvg(): string {
    const { width: W, height: H, left: L, right: R, top: T, bottom: B } = this;
    const o = this.o;
    const parts: string[] = [];
    parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`);
    parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
    // Grid and ticks first, data on top, frame last.
    const axis: string[] = [];
    const yt = niceTicks(o.y[0], o.y[1]);
    for (const v of yt) {
      const y = this.py(v).toFixed(1);
      axis.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="${COLORS.grid}"/>`);
      axis.push(`<text x="${L - 8}" y="${Number(y) + 4}" font-family="${FONT}" font-size="12" fill="${COLORS.ink}" text-anchor="end">${escapeXml(formatTick(v))}</text>`);
    }
    const xt = o.xTicks ?? niceTicks(o.x[0], o.x[1], 6).map((v) => ({ value: v, text: formatTick(v) }));
    xt.forEach((t, k) => {
      const x = this.px(t.value).toFixed(1);
      // Long labels (timestamps) at the ends would run off the canvas: align them inward.
      const anchor = o.xTicks && k === 0 ? 'start' : o.xTicks && k === xt.length - 1 ? 'end' : 'middle';
      axis.push(`<line x1="${x}" x2="${x}" y1="${T}" y2="${H - B}" stroke="${COLORS.grid}"/>`);
      axis.push(`<text x="${x}" y="${H - B + 18}" font-family="${FONT}" font-size="12" fill="${COLORS.ink}" text-anchor="${anchor}">${escapeXml(t.text)}</text>`);
    });
    parts.push(...axis);
    parts.push(`<clipPath id="plot"><rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}"/></clipPath>`);
    parts.push(`<g clip-path="url(#plot)">`, ...this.body.filter((b) => !b.startsWith('<text')), `</g>`);
    parts.push(...this.body.filter((b) => b.startsWith('<text')));
    parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="${COLORS.ink}" stroke-width="1"/>`);
    parts.push(`<text x="${L}" y="${T - 18}" font-family="${FONT}" font-size="16" font-weight="bold" fill="${COLORS.ink}">${escapeXml(o.title)}</text>`);
    parts.push(`<text x="${(L + W - R) / 2}" y="${H - 14}" font-family="${FONT}" font-size="13" fill="${COLORS.ink}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
    parts.push(`<text x="18" y="${(T + H - B) / 2}" font-family="${FONT}" font-size="13" fill="${COLORS.ink}" text-anchor="middle" transform="rotate(-90 18 ${(T + H - B) / 2})">${escapeXml(o.yLabel)}</text>`);
    if (o.legend && o.legend.length > 0) parts.push(this.legendSvg(o.legend));
    parts.push('</svg>');
    return `${parts.join('\n')}\n`;
  }

  /** Legend in a box, top right inside the plot. */
  private legendSvg(items: LegendItem[]): string {
    const rowH = 18;
    const w = 28 + Math.max(...items.map((i) => i.label.length)) * 7.2 + 12;
    const h = items.length * rowH + 10;
    const x = this.width - this.right - w - 8;
    const y = this.o.legendAt === 'bottom-right' ? this.height - this.bottom - h - 8 : this.top + 8;
    const out = [`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="#ffffff" fill-opacity="0.9" stroke="#bbbbbb"/>`];
    items.forEach((it, i) => {
      const cy = y + 5 + rowH * i + rowH / 2;
      if (it.kind === 'dot') out.push(`<circle cx="${x + 16}" cy="${cy}" r="5" fill="${it.color}"/>`);
      else if (it.kind === 'box') out.push(`<rect x="${x + 8}" y="${cy - 6}" width="16" height="12" fill="${it.color}" fill-opacity="${it.opacity ?? 1}"/>`);
      else out.push(`<line x1="${x + 8}" x2="${x + 24}" y1="${cy}" y2="${cy}" stroke="${it.color}" stroke-width="2"${it.kind === 'dash' ? ' stroke-dasharray="5 3"' : ''}/>`);
      out.push(`<text x="${x + 30}" y="${cy + 4}" font-family="${FONT}" font-size="12" fill="${COLORS.ink}">${escapeXml(it.label)}</text>`);
    });
    return out.join('\n');
  }
}
