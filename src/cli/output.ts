import { SingleBar } from 'cli-progress';
import { isSeismoError } from '../errors.js';

/** Options every command takes. */
export interface CommonOptions {
  /** Print one machine-readable JSON object on stdout; human output and progress go to stderr. */
  json?: boolean;
}

/**
 * Wraps a command's action: its result object is printed as JSON with `--json`, errors become
 * `seismo: ERR_CODE: message` on stderr (and `{"error": {...}}` on stdout with `--json`) and exit code 1.
 */
export function action<O extends CommonOptions, A extends unknown[]>(
  run: (...args: [...A, O]) => Promise<Record<string, unknown>>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    // commander passes (...arguments, options, command); a subcommand's `--json` may sit on its parent.
    const command = args[args.length - 1] as { optsWithGlobals?: () => O } | undefined;
    const opts = (command?.optsWithGlobals?.() ?? args[args.length - 2]) as O;
    args[args.length - 2] = opts;
    try {
      const result = await run(...(args.slice(0, -1) as [...A, O]));
      if (opts.json) process.stdout.write(`${JSON.stringify(result, jsonNumbers)}\n`);
    } catch (err) {
      const code = isSeismoError(err) ? err.code : 'ERR_UNEXPECTED';
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`seismo: ${code}: ${message}\n`);
      if (!isSeismoError(err) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
      if (opts.json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
      process.exitCode = 1;
    }
  };
}

/** NaN and Infinity are not JSON: write them as null rather than fail. */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

/** Human-readable lines: stdout normally, stderr when stdout carries JSON. */
export function say(opts: CommonOptions, line: string): void {
  (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
}

/**
 * Progress of long work on stderr: a bar on a terminal, a line every few seconds otherwise
 * (logs of CI and services), so stdout stays clean for `--json`.
 */
export class Progress {
  private readonly bar: SingleBar | undefined;
  private lastLine = 0;
  private readonly label: string;
  private total: number;

  constructor(label: string, total: number) {
    this.label = label;
    this.total = total;
    if (process.stderr.isTTY) {
      this.bar = new SingleBar({
        stream: process.stderr,
        format: `${label} [{bar}] {percentage}% | {value}/{total} | {info}`,
        barCompleteChar: '#',
        barIncompleteChar: '-',
        hideCursor: true,
        clearOnComplete: false,
      });
      this.bar.start(total, 0, { info: '' });
    }
  }

  update(value: number, info = '', total?: number): void {
    if (total !== undefined) {
      this.total = total;
      this.bar?.setTotal(total);
    }
    if (this.bar) {
      this.bar.update(value, { info });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine >= 2000 || value >= this.total) {
      this.lastLine = now;
      process.stderr.write(`${this.label}: ${value}/${this.total} ${info}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
