/**
 * A small SVG chart kit: one plot area with linear or log axes, "nice" ticks, a title, axis labels
 * and a legend; lines, step areas, bars, shaded spans, reference lines and point labels. Layout
 * rules that keep text readable: the legend sits in rows between the title and the plot (it never
 * hides data), and a point's label is placed beside the point on whichever side keeps it inside
 * the plot area (never over the title, never clipped at an edge). SVG is the one drawing
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

/** Round tick values covering [lo, hi] (both > 0) on a log axis: powers of 10, with 2 and 5 between when the range is short. */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const mults = b - a <= 2 ? [1, 2, 5] : b - a <= 4 ? [1, 3] : [1];
  const step = Math.max(1, Math.ceil((b - a) / 8));
  const out: number[] = [];
  for (let e = a; e <= b; e += step) {
    for (const m of mults) {
      const v = m * Math.pow(10, e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(Number(v.toPrecision(6)));
    }
  }
  return out;
}

/**
 * Whether positive values are better read on a log axis: they span two decades or more, so a
 * linear axis would press the bulk of them flat against zero beside a few large ones.
 */
export function wantsLog(values: ArrayLike<number>, extra: number[] = []): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length + extra.length; i++) {
    const v = i < values.length ? values[i]! : extra[i - values.length]!;
    if (!Number.isFinite(v)) continue;
    if (v <= 0) return false;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi / lo >= 100;
}

/** A robust lower bound for a log axis: a low quantile of the positive values (the very smallest would waste decades). */
export function logFloor(values: ArrayLike<number>, q = 0.001): number {
  const sorted = Float64Array.from(values).filter((v) => v > 0 && Number.isFinite(v)).sort();
  return sorted.length === 0 ? 1 : sorted[Math.floor(q * (sorted.length - 1))]!;
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
  /** Axis scales. `log` needs a range above 0 (data at or below 0 is clamped to the bottom). Default `linear`. */
  xScale?: 'linear' | 'log';
  yScale?: 'linear' | 'log';
  /** Custom x tick labels (value, text), e.g. timestamps. */
  xTicks?: { value: number; text: string }[];
  legend?: LegendItem[];
}

const LEGEND_ROW = 18;
/** Approximate advance of a 12 px DejaVu Sans character, for laying out legend rows. */
const CHAR_W = 7.2;

/** One chart being drawn; call the drawing methods, then {@link Chart.toSvg}. */
export class Chart {
  readonly width: number;
  readonly height: number;
  private readonly o: ChartOptions;
  private readonly left = 78;
  private readonly right = 28;
  /** Title, then the legend rows, then the plot. */
  private readonly top: number;
  private readonly bottom = 58;
  private readonly legendRows: { item: LegendItem; x: number; row: number }[] = [];
  private readonly body: string[] = [];
  private readonly labels: string[] = [];

  constructor(options: ChartOptions) {
    this.o = { ...options };
    this.width = options.width ?? 820;
    this.height = options.height ?? 440;
    const fix = (r: [number, number], scale: 'linear' | 'log' | undefined): [number, number] => {
      if (scale === 'log') {
        const lo = r[0] > 0 ? r[0] : 1e-6;
        return r[1] > lo ? [lo, r[1]] : [lo / 10, lo * 10];
      }
      return r[1] > r[0] ? r : [r[0] - 0.5, r[0] + 0.5];
    };
    this.o.x = fix(options.x, options.xScale);
    this.o.y = fix(options.y, options.yScale);
    // Legend items flow left to right under the title, wrapping to as many rows as they need.
    let x = this.left;
    let row = 0;
    for (const item of options.legend ?? []) {
      const w = 30 + item.label.length * CHAR_W + 18;
      if (x + w > this.width - this.right && x > this.left) {
        row++;
        x = this.left;
      }
      this.legendRows.push({ item, x, row });
      x += w;
    }
    const rows = this.legendRows.length === 0 ? 0 : row + 1;
    this.top = 44 + rows * LEGEND_ROW + (rows > 0 ? 8 : 0);
  }

  private unit(v: number, r: [number, number], scale: 'linear' | 'log' | undefined): number {
    if (scale === 'log') {
      const lv = Math.log10(Math.max(v, r[0] * 1e-3));
      return (lv - Math.log10(r[0])) / (Math.log10(r[1]) - Math.log10(r[0]));
    }
    return (v - r[0]) / (r[1] - r[0]);
  }

  /** Pixel x of a data x. */
  px(x: number): number {
    return this.left + this.unit(x, this.o.x, this.o.xScale) * (this.width - this.left - this.right);
  }

  /** Pixel y of a data y. */
  py(y: number): number {
    return this.height - this.bottom - this.unit(y, this.o.y, this.o.yScale) * (this.height - this.top - this.bottom);
  }

  /**
   * A label beside a data point, on the side `prefer` names (default above right: give the side
   * away from the curve through the point), flipped to the other side where it would leave the
   * plot area: never over the title, never clipped at an edge.
   */
  pointLabel(x: number, y: number, s: string, o: { color?: string; size?: number; weight?: string; prefer?: { h: 'left' | 'right'; v: 'above' | 'below' } } = {}): void {
    const size = o.size ?? 12;
    const w = s.length * size * 0.62;
    const px = this.px(x);
    const py = this.py(y);
    const fitsRight = px + 9 + w <= this.width - this.right - 4;
    const fitsLeft = px - 9 - w >= this.left + 4;
    const fitsAbove = py - 9 - size >= this.top + 4;
    const fitsBelow = py + 9 + size <= this.height - this.bottom - 4;
    const want = o.prefer ?? { h: 'right', v: 'above' };
    const right = want.h === 'right' ? fitsRight || !fitsLeft : !fitsLeft && fitsRight;
    const above = want.v === 'above' ? fitsAbove || !fitsBelow : !fitsBelow && fitsAbove;
    this.text(right ? px + 9 : px - 9, above ? py - 9 : py + 9 + size, s, { color: o.color, size, weight: o.weight, anchor: right ? 'start' : 'end' });
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

  /** A filled dot at data (x, y), radius in pixels; drawn over the frame, so a point on an edge or corner shows whole. */
  point(x: number, y: number, color: string, radius = 5): void {
    this.labels.push(`<circle cx="${this.px(x).toFixed(1)}" cy="${this.py(y).toFixed(1)}" r="${radius}" fill="${color}" stroke="#ffffff" stroke-width="1.5"/>`);
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
    this.labels.push(
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
    const yt = o.yScale === 'log' ? logTicks(o.y[0], o.y[1]) : niceTicks(o.y[0], o.y[1]);
    for (const v of yt) {
      const y = this.py(v).toFixed(1);
      axis.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="${COLORS.grid}"/>`);
      axis.push(`<text x="${L - 8}" y="${Number(y) + 4}" font-family="${FONT}" font-size="12" fill="${COLORS.ink}" text-anchor="end">${escapeXml(formatTick(v))}</text>`);
    }
    const xt = o.xTicks ?? (o.xScale === 'log' ? logTicks(o.x[0], o.x[1]) : niceTicks(o.x[0], o.x[1], 6)).map((v) => ({ value: v, text: formatTick(v) }));
    xt.forEach((t, k) => {
      const x = this.px(t.value).toFixed(1);
      // Long labels (timestamps) at the ends would run off the canvas: align them inward.
      const anchor = o.xTicks && k === 0 ? 'start' : o.xTicks && k === xt.length - 1 ? 'end' : 'middle';
      axis.push(`<line x1="${x}" x2="${x}" y1="${T}" y2="${H - B}" stroke="${COLORS.grid}"/>`);
      axis.push(`<text x="${x}" y="${H - B + 18}" font-family="${FONT}" font-size="12" fill="${COLORS.ink}" text-anchor="${anchor}">${escapeXml(t.text)}</text>`);
    });
    parts.push(...axis);
    parts.push(`<clipPath id="plot"><rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}"/></clipPath>`);
    parts.push(`<g clip-path="url(#plot)">`, ...this.body, `</g>`);
    parts.push(...this.labels);
    parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="${COLORS.ink}" stroke-width="1"/>`);
    parts.push(`<text x="${L}" y="28" font-family="${FONT}" font-size="16" font-weight="bold" fill="${COLORS.ink}">${escapeXml(o.title)}</text>`);
    parts.push(`<text x="${(L + W - R) / 2}" y="${H - 14}" font-family="${FONT}" font-size="13" fill="${COLORS.ink}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
    parts.push(`<text x="18" y="${(T + H - B) / 2}" font-family="${FONT}" font-size="13" fill="${COLORS.ink}" text-anchor="middle" transform="rotate(-90 18 ${(T + H - B) / 2})">${escapeXml(o.yLabel)}</text>`);
    if (this.legendRows.length > 0) parts.push(this.legendSvg());
    parts.push('</svg>');
    return `${parts.join('\n')}\n`;
  }

  /** The legend rows between the title and the plot (laid out in the constructor). */
  private legendSvg(): string {
    const out: string[] = [];
    for (const { item: it, x, row } of this.legendRows) {
      const cy = 44 + row * LEGEND_ROW + LEGEND_ROW / 2;
      if (it.kind === 'dot') out.push(`<circle cx="${x + 8}" cy="${cy}" r="5" fill="${it.color}"/>`);
      else if (it.kind === 'box') out.push(`<rect x="${x}" y="${cy - 6}" width="16" height="12" fill="${it.color}" fill-opacity="${it.opacity ?? 1}"/>`);
      else out.push(`<line x1="${x}" x2="${x + 16}" y1="${cy}" y2="${cy}" stroke="${it.color}" stroke-width="2"${it.kind === 'dash' ? ' stroke-dasharray="5 3"' : ''}/>`);
      out.push(`<text x="${x + 22}" y="${cy + 4}" font-family="${FONT}" font-size="12" fill="${COLORS.ink}">${escapeXml(it.label)}</text>`);
    }
    return out.join('\n');
  }
}
