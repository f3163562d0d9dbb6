import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { PACKAGE_ROOT } from '../native.js';
import { registerBench } from './bench.js';
import { registerCalibrate } from './calibrate.js';
import { registerConsume } from './consume.js';
import { registerDemo } from './demo.js';
import { registerDetect } from './detect.js';
import { registerEval } from './eval.js';
import { registerLabel } from './label.js';
import { registerLearn } from './learn.js';
import { registerServe } from './serve.js';
import { registerTrain } from './train.js';

/** Builds the `seismo` command line. */
export function buildProgram(): Command {
  const { version } = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  const program = new Command('seismo')
    .description('streaming time-series anomaly detection with deep models')
    .version(version)
    .showHelpAfterError();
  registerDemo(program);
  registerTrain(program);
  registerCalibrate(program);
  registerDetect(program);
  registerEval(program);
  registerBench(program);
  registerLearn(program);
  registerLabel(program);
  registerServe(program);
  registerConsume(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await buildProgram().parseAsync(argv);
}
