// Runs a seismo command in this process, as `seismo <args>` would, capturing what it writes.
import { Command } from 'commander';

export interface CliRun {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Builds a program with `register` (e.g. `registerEval`), parses `args`, and returns stdout,
 * stderr and the exit code the command set. Commander's own exits are turned into exceptions.
 */
export async function runCli(register: (program: Command) => void, args: string[]): Promise<CliRun> {
  const program = new Command('seismo').exitOverride();
  register(program);
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'seismo', ...args]);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = before;
  return { stdout, stderr, code };
}
