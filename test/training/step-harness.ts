/**
 * The window-graph side of the step-graph tests (DC-VAE, DeepAnT): the windows a test plans, and
 * the window graph's outputs for them, to compare the step graph's with.
 */
import { runModel } from '../helpers/ort-run';

/** Windows to score, in dispatch order: (series, start). */
export type Plan = [number, number][];

/**
 * The window graph's outputs for the planned windows, in plan order: each output `[plan.length, ...]`.
 * @param series each series' frames `[T, channels]` row-major.
 */
export async function windowScores(bytes: Uint8Array, series: Float32Array[], plan: Plan, channels: number, outputs: readonly string[]): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  const perSeries = await Promise.all(series.map((s, i) => runModel(bytes, s, channels, plan.filter(([k]) => k === i).map(([, t]) => t))));
  const seen = series.map(() => 0);
  plan.forEach(([s], n) => {
    const k = seen[s]!++;
    for (const name of outputs) {
      const src = perSeries[s]![name]!;
      const width = src.data.length / src.dims[0]!;
      out[name] ??= new Float32Array(plan.length * width);
      out[name]!.set(src.data.subarray(k * width, (k + 1) * width), n * width);
    }
  });
  return out;
}
