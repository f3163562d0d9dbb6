/**
 * `seismo label`: the expert's side of the label queue. Lists the windows an online learner asks
 * about (`label-queue.jsonl` in its folder) and appends answers (`label-answers.jsonl`) that the
 * learner imports with `importAnswers()`.
 *
 *   seismo label --dir <queue folder>                       # list pending questions
 *   seismo label --dir <queue folder> --normal k1,k2 --anomaly k3
 */
import type { Command } from 'commander';
import { SeismoError } from '../errors.js';
import { appendAnswers, readQueueFile, type LabelAnswer } from '../learn/label-queue.js';
import { action, say, type CommonOptions } from './output.js';

interface LabelOptions extends CommonOptions {
  dir: string;
  normal?: string;
  anomaly?: string;
  force?: boolean;
}

export function registerLabel(program: Command): void {
  program
    .command('label')
    .description('list the windows an online learner asks an expert about, or answer them')
    .requiredOption('--dir <folder>', "the learner's queue folder (its workDir, with label-queue.jsonl)")
    .option('--normal <keys>', 'comma-separated window keys (seriesId@start) to label normal')
    .option('--anomaly <keys>', 'comma-separated window keys (seriesId@start) to label anomalous')
    .option('--force', 'accept keys that are not pending in the queue')
    .option('--json', 'print the result as JSON on stdout')
    .action(
      action<LabelOptions, []>(async (opts) => {
        const pending = readQueueFile(opts.dir);
        const split = (s: string | undefined): string[] => (s ? s.split(',').map((k) => k.trim()).filter(Boolean) : []);
        const answers: LabelAnswer[] = [...split(opts.normal).map((key) => ({ key, anomaly: false })), ...split(opts.anomaly).map((key) => ({ key, anomaly: true }))];
        if (answers.length === 0) {
          if (pending.length === 0) say(opts, `no pending questions in ${opts.dir}`);
          for (const q of pending) {
            say(opts, `${q.key.padEnd(24)} score ${q.score.toPrecision(4).padStart(10)}  threshold ${q.threshold.toPrecision(4).padStart(10)}  ${q.versionName ?? `v${q.version}`}  ${q.reason}  t=${q.timestamp}`);
          }
          return { dir: opts.dir, pending };
        }
        const known = new Set(pending.map((q) => q.key));
        const unknown = answers.filter((a) => !known.has(a.key)).map((a) => a.key);
        if (unknown.length > 0 && !opts.force) {
          throw new SeismoError('ERR_LABEL', `not pending in ${opts.dir}: ${unknown.join(', ')} (list them with \`seismo label --dir ${opts.dir}\`; --force to answer anyway)`, { unknown });
        }
        appendAnswers(opts.dir, answers);
        say(opts, `recorded ${answers.length} answer(s); the learner applies them on its next importAnswers()`);
        return { dir: opts.dir, answered: answers };
      }),
    );
}
