import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { PACKAGE_ROOT } from '../native.js';
import { registerBench } from './bench.js';
import { registerCalibrate } from './calibrate.js';
import { registerConsume } from './consume.js';
import { registerDemo } from './demo.js';
import { registerDetect } from './detect.js';
import { registerEval } from './eval.js';
import { registerLabel } from './label.js';
import { registerLearn } from './learn.js';
import { EXIT, writeEnvelope } from './output.js';
import { registerServe } from './serve.js';
import { registerTrain } from './train.js';

/** Builds the `seismo` command line. */
export function buildProgram(): Command {
  const { version } = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  const program = new Command('seismo')
    .description('streaming time-series anomaly detection with deep models')
    .version(version)
    .option('--verbose', 'say more on stderr: providers tried and skipped (and why), onnxruntime\'s own log')
    .addHelpText(
      'after',
      [
        '',
        '--json (every command): one JSON object on stdout, progress and messages on stderr:',
        '  {"ok": true, "command": "<command>", "result": {...}}',
        '  {"ok": false, "command": "<command>", "error": {"code": "ERR_...", "message": "...", "hint": "..."}}',
        'Exit codes: 0 done, 1 the command failed (error.code says why), 2 usage error (ERR_USAGE).',
      ].join('\n'),
    )
    // Parse errors come back as exceptions (main() turns them into exit code 2 and, with --json,
    // the failure envelope); subcommands inherit both settings, so they are set before them.
    .exitOverride()
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
  const program = buildProgram();
  // Before any command runs: onnxruntime's own log (on the inference worker too) follows --verbose.
  if (argv.includes('--verbose')) process.env.SEISMO_ORT_VERBOSE ??= '1';
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // --help and --version end here too, with exit code 0 and nothing more to say.
    if (err.exitCode === 0) return;
    // commander has written the message (and the command's help) to stderr already.
    process.exitCode = EXIT.usage;
    if (argv.includes('--json')) {
      const command = usageCommand(program, argv.slice(2));
      const message = err.code === 'commander.help' ? 'no command given' : err.message.replace(/^error: /, '');
      writeEnvelope({ ok: false, command, error: { code: 'ERR_USAGE', message, hint: `see \`seismo ${command ? `${command} ` : ''}--help\`` } });
    }
  }
}

/** The command a command line names (`eval nab`), as far as it names registered ones. */
function usageCommand(program: Command, args: string[]): string {
  const names: string[] = [];
  let current = program;
  for (const arg of args) {
    if (arg.startsWith('-')) continue;
    const sub = current.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    names.push(sub.name());
    current = sub;
  }
  return names.join(' ');
}
