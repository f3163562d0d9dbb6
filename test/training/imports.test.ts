// The layout has no import cycle (the stages import downwards only), and training/ stays off ingest and the CLI.
import assert from 'node:assert/strict';
import path from 'node:path';
import { importCycles, importGraph } from '../helpers/import-graph.js';

const ROOT = path.resolve(__dirname, '../..');

describe('training/: imports', () => {
  it('has no import cycle anywhere in src/, training/ or bench/ (type-only imports count)', () => {
    const cycles = importCycles(importGraph(['src', 'training', 'bench'].map((d) => path.join(ROOT, d))));
    assert.deepEqual(cycles.map((c) => c.map((f) => path.relative(ROOT, f))), []);
  });

  it('keeps training/ off src/ingest and the CLI: it takes statistics from src/stats', () => {
    const graph = importGraph([path.join(ROOT, 'training')]);
    for (const [file, targets] of graph) {
      for (const t of targets) assert.ok(!/src[\\/](ingest|cli)[\\/]/.test(path.relative(ROOT, t)), `${path.relative(ROOT, file)} imports ${path.relative(ROOT, t)}`);
    }
  });
});
