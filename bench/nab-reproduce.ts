/**
 * Reproduces NAB's published final scores (results/final_results.json) for the detectors whose
 * results CSVs ship in a NAB checkout, from their anomaly_score columns and the tuned thresholds
 * in config/thresholds.json, and also reports what seismo's threshold optimiser finds.
 *
 *   npx tsx bench/nab-reproduce.ts <nab-root> [detector ...]
 *
 * Default detectors: windowedGaussian random. Exits 1 if any figure is off by 0.01 or more.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNabProfiles, loadNabResults, loadNabThresholds } from '../src/evaluate/nab-corpus';
import { readNabWindows } from '../src/ingest/nab';
import { prepareNabFile, scoreNabCorpus } from '../src/evaluate/nab';
import { optimizeNabThreshold } from '../src/evaluate/nab-run';

const root = process.argv[2];
if (!root) {
  console.error('usage: npx tsx bench/nab-reproduce.ts <nab-root> [detector ...]');
  process.exit(2);
}
const detectors = process.argv.length > 3 ? process.argv.slice(3) : ['windowedGaussian', 'random'];
const published = JSON.parse(readFileSync(join(root, 'results', 'final_results.json'), 'utf8')) as Record<string, Record<string, number>>;
const windows = readNabWindows(root);
const profiles = loadNabProfiles(root);
let worst = 0;
for (const detector of detectors) {
  const t0 = Date.now();
  const files = loadNabResults(join(root, 'results'), detector).map((f) => prepareNabFile(f, windows[f.path]));
  const thresholds = loadNabThresholds(root, detector) ?? {};
  for (const [profile, cost] of Object.entries(profiles)) {
    const thr = thresholds[profile];
    const ours = thr === undefined ? undefined : scoreNabCorpus(files, cost, thr);
    const opt = optimizeNabThreshold(files, cost);
    const optScore = scoreNabCorpus(files, cost, opt.threshold);
    const pub = published[detector]?.[profile];
    const diff = ours && pub !== undefined ? Math.abs(ours.normalized - pub) : NaN;
    if (Number.isFinite(diff)) worst = Math.max(worst, diff);
    console.log(
      [
        detector.padEnd(17),
        profile.padEnd(19),
        `threshold ${thr ?? '-'}`,
        `raw ${ours?.rawScore.toFixed(4) ?? '-'}`,
        `ours ${ours?.normalized.toFixed(4) ?? '-'}`,
        `published ${pub?.toFixed(4) ?? '-'}`,
        `|diff| ${diff.toExponential(2)}`,
        `optimised: threshold ${opt.threshold} -> ${optScore.normalized.toFixed(4)}`,
      ].join('  '),
    );
  }
  console.log(`${detector}: ${files.length} files, ${Date.now() - t0} ms`);
}
console.log(`largest |ours - published| = ${worst.toExponential(3)}`);
process.exit(worst < 0.01 ? 0 : 1);
