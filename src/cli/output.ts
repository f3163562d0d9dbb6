import fs from 'node:fs';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { fileError, isSeismoError, resourceError, SeismoError } from '../errors.js';

/** Options every command takes. */
export interface CommonOptions {
  /** Print one machine-readable JSON object on stdout ({@link JsonEnvelope}); human output and progress go to stderr. */
  json?: boolean;
  /**
   * Global (`seismo --verbose <command>` or after the command): say more on stderr, e.g. which
   * execution providers were tried and skipped and why, and let onnxruntime log its warnings.
   */
  verbose?: boolean;
}

/**
 * The one shape of `--json` output, for every command: a single JSON object on stdout.
 * - success: `{"ok": true, "command": "eval nab", "result": {...}}` (`result` is the command's own summary);
 * - failure: `{"ok": false, "command": "detect", "error": {"code": "ERR_...", "message": "...", "hint": "..."}}`
 *   (`code` is a stable {@link SeismoError} code, or `ERR_USAGE` when the command line itself could not be
 *   parsed; `hint` is there only when there is more to say than the message does).
 */
export type JsonEnvelope =
  | { ok: true; command: string; result: Record<string, unknown> }
  | { ok: false; command: string; error: { code: string; message: string; hint?: string } };

/**
 * Exit codes of every command: 0 done; 1 the command failed (the error's code says why, e.g.
 * `ERR_INVALID_OPTION` for a value it rejected); 2 the command line could not be parsed
 * (`ERR_USAGE`: unknown command or option, missing required option or argument).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Writes `envelope` as one line of JSON on stdout. */
export function writeEnvelope(envelope: JsonEnvelope): void {
  process.stdout.write(`${JSON.stringify(envelope, jsonNumbers)}\n`);
}

/** `eval nab` for the command object of `seismo eval nab` (its names below the program). */
export function commandPath(command: { name(): string; parent?: unknown } | undefined): string {
  const names: string[] = [];
  for (let c = command as { name(): string; parent?: unknown } | undefined; c?.parent; c = c.parent as typeof c) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Wraps a command's action: its result object is printed in the {@link JsonEnvelope} with
 * `--json` (a command that prints its own envelope, e.g. once a server listens, returns nothing),
 * errors become `seismo: ERR_CODE: message` on stderr (and the failure envelope on stdout with
 * `--json`) and exit code 1.
 */
export function action<O extends CommonOptions, A extends unknown[]>(
  run: (...args: [...A, O]) => Promise<Record<string, unknown> | void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    // commander passes (...arguments, options, command); a subcommand's `--json` may sit on its parent.
    const command = args[args.length - 1] as { optsWithGlobals?: () => O; name(): string; parent?: unknown } | undefined;
    const opts = (command?.optsWithGlobals?.() ?? args[args.length - 2]) as O;
    args[args.length - 2] = opts;
    const name = commandPath(command);
    try {
      const result = await run(...(args.slice(0, -1) as [...A, O]));
      if (opts.json && result) writeEnvelope({ ok: true, command: name, result });
    } catch (caught) {
      const err = explain(caught);
      const code = isSeismoError(err) ? err.code : 'ERR_UNEXPECTED';
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`seismo: ${code}: ${message}\n`);
      // Only a bug (an error no part of seismo understood) is worth a stack trace.
      if (!isSeismoError(err) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
      const hint =
        code === 'ERR_UNEXPECTED'
          ? 'this is a bug in seismo: the stack trace is on stderr'
          : code === 'ERR_INVALID_OPTION'
            ? `see \`seismo ${name} --help\``
            : undefined;
      if (opts.json) writeEnvelope({ ok: false, command: name, error: { code, message, ...(hint ? { hint } : {}) } });
      process.exitCode = EXIT.failed;
    }
  };
}

/**
 * What a command's uncoded error means, when it can be told: out of memory (`ERR_RESOURCE`), a
 * file operation that failed (`ERR_IO`, naming the path). Anything else stays as it is and is
 * reported as `ERR_UNEXPECTED` with its stack.
 */
function explain(err: unknown): unknown {
  if (isSeismoError(err)) return err;
  const resource = resourceError(err, 'running the command');
  if (resource) return resource;
  const e = err as NodeJS.ErrnoException | undefined;
  if (typeof e?.syscall === 'string' && typeof e.path === 'string') return fileError(e.path, err, e.syscall === 'open' ? 'open' : e.syscall);
  return err;
}

/**
 * Checks, before any work starts, that `file` can be written: its folder exists and is writable
 * and `file` is not itself a folder. A run that scores or trains for minutes must not fail at the
 * last step on a typo in `--out`.
 * @param flag the option that named the file, for the message (e.g. `--out`).
 * @throws SeismoError `ERR_IO`.
 */
export function checkOutputFile(file: string, flag: string): void {
  const dir = path.dirname(path.resolve(file));
  let info: fs.Stats;
  try {
    info = fs.statSync(dir);
  } catch (err) {
    throw new SeismoError('ERR_IO', `${flag} ${file}: the folder ${dir} does not exist; create it first or choose another path`, { file, flag }, { cause: err });
  }
  if (!info.isDirectory()) throw new SeismoError('ERR_IO', `${flag} ${file}: ${dir} is not a folder`, { file, flag });
  writable(dir, file, flag);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    throw new SeismoError('ERR_IO', `${flag} ${file} is a folder; give a file name (e.g. ${path.join(file, 'scores.csv')})`, { file, flag });
  }
}

/**
 * Checks, before any work starts, that the folder `dir` exists and is writable or can be created
 * (its nearest existing ancestor is a writable folder).
 * @throws SeismoError `ERR_IO`.
 */
export function checkOutputDir(dir: string, flag: string): void {
  let probe = path.resolve(dir);
  while (!fs.existsSync(probe)) {
    const up = path.dirname(probe);
    if (up === probe) break;
    probe = up;
  }
  if (!fs.statSync(probe).isDirectory()) {
    throw new SeismoError('ERR_IO', `${flag} ${dir}: ${probe} is a file, not a folder; choose another path`, { dir, flag });
  }
  writable(probe, dir, flag);
}

function writable(dir: string, target: string, flag: string): void {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new SeismoError('ERR_IO', `${flag} ${target}: cannot write into ${dir} (permission denied)`, { target, flag }, { cause: err });
  }
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
