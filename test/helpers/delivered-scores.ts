/**
 * The check that closes the stride-1 overflow tests (DC-VAE, DeepAnT): every score a step
 * detector delivered equals the window graph's on the true frames, whatever the rings overwrote.
 */
import assert from 'node:assert/strict';
import { runModel } from './ort-run.js';

/**
 * Asserts each delivered score within 1e-5 (relative, or absolute below 1) of the window graph's.
 * @param got delivered scores keyed `s<k>@<start>` (series k's window starting at frame `start`).
 * @param series each series' true frames `[T, channels]` row-major.
 * @returns how many delivered scores were checked.
 */
export async function checkDeliveredScores(onnx: Uint8Array, series: readonly Float32Array[], got: ReadonlyMap<string, number>, channels: number, window: number): Promise<number> {
  let checked = 0;
  for (let k = 0; k < series.length; k++) {
    const T = series[k]!.length / channels;
    const starts = Array.from({ length: T - window + 1 }, (_, s) => s);
    const ref = (await runModel(onnx, series[k]!, channels, starts))['score']!.data;
    for (const s of starts) {
      const score = got.get(`s${k}@${s}`);
      if (score === undefined) continue;
      assert.ok(Math.abs(score - ref[s]!) <= 1e-5 * Math.max(1, Math.abs(ref[s]!)), `s${k}@${s}: ${score} vs ${ref[s]} (window graph on the true frames)`);
      checked++;
    }
  }
  return checked;
}
