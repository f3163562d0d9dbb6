/**
 * DC-VAE depth and window against detection quality, on synthetic series that no other figure was
 * tuned on: why the default is depth 5 at window 64 (its network reaches 63 frames, so it streams
 * through the step graph) rather than depth 6 (127 frames). Per seed, one generated series
 * (6 channels, 6,000 rows, anomalies in the second half); each config trains on the clean first
 * half (30 epochs at most, early stopping as usual) and the window graph scores the whole series
 * at stride 1; the figures are window-level ROC AUC and average precision over windows ending in
 * the second half.
 *
 *   npx tsx bench/dc-vae-depth.ts --seeds 71,72,73 [--epochs 30] [--configs w64-d5,w64-d6,w128-d6]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../src/detector/index.js';
import { averagePrecision, rocAuc } from '../src/evaluate/index.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { scoreTable } from '../src/score/score-table.js';
import { trainToDir } from '../training/train-to-dir.js';
import { scriptFlags } from './script-flags.js';

const CONFIGS: Record<string, { window: number; depth: number }> = {
  'w64-d5': { window: 64, depth: 5 },
  'w64-d6': { window: 64, depth: 6 },
  'w128-d6': { window: 128, depth: 6 },
};

async function main(): Promise<void> {
  const flags = scriptFlags({ strings: ['seeds', 'configs'], numbers: ['epochs'] });
  const seeds = (flags.seeds ?? '71,72,73').split(',').map(Number);
  const epochs = flags.epochs ?? 30;
  const names = (flags.configs ?? Object.keys(CONFIGS).join(',')).split(',');
  for (const seed of seeds) {
    const data = generateSeries({ length: 6000, channels: 6, seed });
    const C = data.table.channels.length;
    const half = Math.ceil(0.5 * data.table.length);
    for (const name of names) {
      const config = CONFIGS[name];
      if (!config) throw new Error(`unknown config ${name}: one of ${Object.keys(CONFIGS).join(', ')}`);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-depth-'));
      try {
        const { summary } = await trainToDir('dc-vae', data.table.frames.slice(0, half * C), data.table.channels, dir, { config: { ...config, epochs }, stride: 1, seed: 42 });
        const detector = await Detector.load(dir, { stride: 1, stepGraph: false });
        const scored = await scoreTable(detector, Float64Array.from(data.table.time), data.table.frames).finally(() => detector.close());
        const labels: number[] = [];
        const scores: number[] = [];
        scored.endRows.forEach((row, i) => {
          if (row < half) return;
          labels.push(data.labels[row]!);
          scores.push(scored.scores[i]!);
        });
        const L = Uint8Array.from(labels);
        const S = Float64Array.from(scores);
        console.log(JSON.stringify({ seed, config: name, epochs: summary.epochs, secondsPerEpoch: +summary.secondsPerEpoch.toFixed(2), rocAuc: +rocAuc(L, S).toFixed(3), averagePrecision: +averagePrecision(L, S).toFixed(3) }));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
