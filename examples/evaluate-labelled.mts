// Evaluate a model on a labelled file: score every window, judge each one against the labels by
// the window-label rule (`any`: a window is anomalous when any row it covers is labelled), and
// print ranking and threshold metrics.
//
//   npx seismo demo --out seismo-demo/
//   npx tsx examples/evaluate-labelled.mts seismo-demo/ seismo-demo/series.csv seismo-demo/labels.csv
import { alignLabels, Detector, readLabelsCsv, readSeriesCsv, scoreTable } from 'seismo';
import { evaluate, windowLabels, withMissedAnomalies } from 'seismo/evaluate';

const [modelDir = 'seismo-demo', dataFile = 'seismo-demo/series.csv', labelsFile = 'seismo-demo/labels.csv'] = process.argv.slice(2);

const table = await readSeriesCsv(dataFile);
const rowLabels = alignLabels(table, await readLabelsCsv(labelsFile)); // one 0/1 per row of the series

const detector = await Detector.load(modelDir);
const scored = await scoreTable(detector, table.time, table.frames); // every window, in time order
await detector.close();

// Window i covers the `window` rows up to scored.endRows[i]. Labelled rows before the first
// window ends (or between strided windows) have no score: count them as missed, not dropped.
const judged = windowLabels(rowLabels, scored.endRows, detector.window, 'any');
const input = withMissedAnomalies(judged.labels, scored.scores, judged.unscoredAnomalies, scored.anomalies);
const m = evaluate(input.labels, input.scores, { predictions: input.predictions, slidingWindow: detector.window });

console.log(`${scored.scores.length} windows of ${detector.window} rows; ${judged.labels.reduce((a, b) => a + b, 0)} anomalous by the labels; ${judged.unscoredAnomalies} anomalous rows unscored`);
console.log(`ROC AUC ${m.rocAuc.toFixed(3)}  PR AUC ${m.prAuc.toFixed(3)}  VUS-PR ${m.vusPr.toFixed(3)}`);
console.log(`at the model's threshold: precision ${m.precision.toFixed(3)}  recall ${m.recall.toFixed(3)}  F1 ${m.f1.toFixed(3)}  (best F1 over all thresholds ${m.bestF1.toFixed(3)})`);
