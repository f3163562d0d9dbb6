// A model kind lives in one folder and nothing in training/ or the model directory imports in a circle.
import assert from 'node:assert/strict';
import path from 'node:path';
import { importCycles, importGraph } from '../helpers/import-graph.js';

const ROOT = path.resolve(__dirname, '../..');

describe('training/: imports', () => {
  it('has no import cycle through training/ or src/model/ (type-only imports count)', () => {
    const cycles = importCycles(importGraph([path.join(ROOT, 'src'), path.join(ROOT, 'training')]));
    const ours = cycles.filter((c) => c.some((f) => f.startsWith(path.join(ROOT, 'training')) || f.startsWith(path.join(ROOT, 'src/model'))));
    assert.deepEqual(ours.map((c) => c.map((f) => path.relative(ROOT, f))), []);
  });

  it('keeps training/ off src/ingest and the CLI: it takes statistics from src/stats', () => {
    const graph = importGraph([path.join(ROOT, 'training')]);
    for (const [file, targets] of graph) {
      for (const t of targets) assert.ok(!/src[\\/](ingest|cli)[\\/]/.test(path.relative(ROOT, t)), `${path.relative(ROOT, file)} imports ${path.relative(ROOT, t)}`);
    }
  });
});
