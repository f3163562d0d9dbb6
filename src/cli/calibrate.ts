/**
 * `seismo calibrate`: tunes a model's thresholds on a labelled validation series and writes them
 * into its model.json.
 *
 * Window labels follow the one label rule (`--label-rule`, src/evaluate/inputs.ts): by default a
 * window is anomalous when any of its frames is labelled, `last` takes its last frame's label.
 * `seismo eval` judges `seismo detect --out` (whose rows carry each window's first and last
 * timestamp) by the same rule, so the figures printed here are the ones `seismo eval` reports for
 * the same data, thresholds and rule.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Detector } from '../detector/index.js';
import { SeismoError } from '../errors.js';
import { parseLabelRule, windowLabels } from '../evaluate/inputs.js';
import { LABEL_RULE_HELP } from './eval.js';
import { metricsFromCounts, countConfusion, type PointMetrics } from '../evaluate/threshold-metrics.js';
import { alignLabels, readLabelsCsv, readSeriesCsv } from '../ingest/csv.js';
import { MANIFEST_FILE, type Manifest, type Threshold } from '../model/manifest.js';
import { readModelDir, writeThresholds } from '../model/model-dir.js';
import { scoreTable } from '../score/score-table.js';
import { applyRule, channelSigmaRules, FixedThreshold, OBJECTIVES, objectiveBeta, thresholdFromManifest, tuneChannels, tuneThreshold, type Objective } from '../threshold/index.js';
import { alignChannels } from './detect.js';
import { action, Progress, say, type CommonOptions } from './output.js';
import { PROVIDER_HELP, providerOption } from './options.js';

interface CalibrateOptions extends CommonOptions {
  model: string;
  data: string;
  labels: string;
  objective: string;
  method: string;
  provider: string;
  labelRule: string;
}

const METHODS = ['best', 'per-channel'] as const;
type Method = (typeof METHODS)[number];

/** Figures of one decision rule on the calibration windows. */
export interface CalibrationFigures extends PointMetrics {
  /** The global threshold on the window score. */
  threshold: number;
  /** Windows alarmed. */
  alarms: number;
}

function figures(labels: Uint8Array, predictions: Uint8Array, threshold: number): CalibrationFigures {
  const m = metricsFromCounts(countConfusion(labels, predictions));
  return { ...m, threshold, alarms: m.tp + m.fp };
}

export function registerCalibrate(program: Command): void {
  program
    .command('calibrate')
    .description("tune a model's thresholds on a labelled validation series and store them in its model.json")
    .requiredOption('--model <dir>', 'model directory (model.onnx + model.json); model.json is rewritten')
    .requiredOption('--data <csv>', "validation series: first column timestamp, then the model's channels")
    .requiredOption('--labels <csv>', 'labels CSV: timestamp,label (0/1); each window is judged by --label-rule')
    .option('--label-rule <rule>', LABEL_RULE_HELP, 'any')
    .option('--objective <name>', `what to maximise: ${OBJECTIVES.join('|')}`, 'f1')
    .option('--method <name>', 'best: one global threshold; per-channel: DC-VAE bands mu + alpha * sigma per channel, OR-ed with a global threshold, tuned jointly', 'best')
    .option('--provider <name>', PROVIDER_HELP, 'auto')
    .option('--json', 'print a JSON summary on stdout')
    .action(
      action<CalibrateOptions, []>(async (opts) => {
        const objective = opts.objective as Objective;
        objectiveBeta(objective); // throws ERR_INVALID_OPTION on an unknown objective
        if (!METHODS.includes(opts.method as Method)) throw new SeismoError('ERR_INVALID_OPTION', `--method must be one of ${METHODS.join(', ')}, got '${opts.method}'`);
        const provider = providerOption(opts.provider);
        const method = opts.method as Method;
        const rule = parseLabelRule(opts.labelRule, '--label-rule');
        const { manifest } = readModelDir(opts.model);
        const [table, labelTable] = await Promise.all([readSeriesCsv(opts.data), readLabelsCsv(opts.labels)]);
        const rowLabels = alignLabels(table, labelTable);
        const detector = await Detector.load(opts.model, { provider });
        let scores;
        try {
          const frames = alignChannels(table, detector.channels);
          const progress = new Progress('calibrate: scoring', table.length);
          try {
            scores = await scoreTable(detector, table.time, frames, { onProgress: (rows) => progress.update(rows) });
          } finally {
            progress.stop();
          }
        } finally {
          await detector.close();
        }
        const C = manifest.channels.length;
        const judged = windowLabels(rowLabels, scores.endRows, manifest.window, rule);
        const labels = judged.labels;
        const positives = labels.reduce((a, b) => a + b, 0);
        if (positives === 0 || positives === labels.length) {
          throw new SeismoError('ERR_EVAL', `calibration needs normal and anomalous windows; ${positives} of ${labels.length} windows are labelled anomalous`);
        }

        // Before: the stored rule exactly as a Detector would run it (streaming rules included).
        const beforeRule = thresholdFromManifest(manifest);
        const before = figures(labels, applyRule(beforeRule, scores.scores, scores.channelScores, C), beforeRule.threshold(0));

        const record = { objective, labelRule: rule, windows: labels.length, positives, data: path.basename(opts.data), date: new Date().toISOString() };
        let thresholds: Manifest['thresholds'];
        if (method === 'best') {
          const tuned = tuneThreshold(labels, scores.scores, objective);
          thresholds = { global: new FixedThreshold(tuned.threshold, `best-${objective}`, record).toJSON(), channels: null };
        } else {
          const tuned = tuneChannels(labels, scores.scores, scores.channelScores, C, objective);
          thresholds = {
            global: new FixedThreshold(tuned.global, `best-${objective}`, { ...record, jointWithChannels: true }).toJSON(),
            channels: channelSigmaRules(tuned.channels, { objective }).map((c) => c.toJSON()),
          };
        }
        // After: rebuilt from the JSON that is written, so what is reported is what will load.
        const stored: Manifest = { ...manifest, thresholds: JSON.parse(JSON.stringify(thresholds)) as Manifest['thresholds'] };
        const afterRule = thresholdFromManifest(stored);
        const after = figures(labels, applyRule(afterRule, scores.scores, scores.channelScores, C), afterRule.threshold(0));
        writeThresholds(opts.model, stored.thresholds);

        const key = objective === 'f0.5' ? 'f05' : objective;
        say(opts, `${labels.length} windows (${positives} labelled anomalous by label rule '${rule}') scored with ${opts.model}; tuned for ${objective} (${method}) and written to ${path.join(opts.model, MANIFEST_FILE)}`);
        if (judged.unscoredAnomalies > 0) say(opts, `${judged.unscoredAnomalies} anomalous rows lie where no window is judged (the first window-1 rows, or between strided windows): no threshold can catch them`);
        say(opts, `figures on the calibration data itself (optimistic: check on held-out data with \`seismo detect\` + \`seismo eval\`):`);
        say(opts, `${''.padEnd(22)} ${'threshold'.padStart(12)} ${'alarms'.padStart(7)} ${'precision'.padStart(10)} ${'recall'.padStart(8)} ${'F1'.padStart(7)} ${'F2'.padStart(7)} ${'F0.5'.padStart(7)}`);
        for (const [name, f] of [[`stored (${manifest.thresholds.global.method})`, before], ['calibrated', after]] as const) {
          say(opts, `${name.padEnd(22)} ${f.threshold.toPrecision(5).padStart(12)} ${String(f.alarms).padStart(7)} ${f.precision.toFixed(3).padStart(10)} ${f.recall.toFixed(3).padStart(8)} ${f.f1.toFixed(3).padStart(7)} ${f.f2.toFixed(3).padStart(7)} ${f.f05.toFixed(3).padStart(7)}`);
        }
        if (stored.thresholds.channels) {
          say(opts, 'per-channel bands (threshold = mu + alpha * sigma of the channel scores):');
          stored.thresholds.channels.forEach((c: Threshold, i: number) => say(opts, `  ${manifest.channels[i]!.padEnd(16)} alpha ${Number(c.params.alpha).toFixed(3).padStart(9)}  threshold ${c.value.toPrecision(5)}`));
        }
        return { model: opts.model, objective, method, labelRule: rule, windows: labels.length, positives, unscoredRows: judged.unscoredRows, unscoredAnomalies: judged.unscoredAnomalies, before, after, improvement: after[key] - before[key], thresholds: stored.thresholds };
      }),
    );
}
