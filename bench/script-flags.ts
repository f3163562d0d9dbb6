import { parseArgs } from 'node:util';
import { SeismoError } from '../src/errors.js';

/** The flags a bench script takes when run on its own, by kind of value. */
export interface ScriptFlagSpec<N extends string, S extends string, B extends string> {
  /** `--name 12.5`: a finite number. */
  numbers?: readonly N[];
  /** `--name text`. */
  strings?: readonly S[];
  /** `--name`, no value. */
  booleans?: readonly B[];
}

export type ScriptFlags<N extends string, S extends string, B extends string> = Partial<Record<N, number> & Record<S, string> & Record<B, boolean>>;

/**
 * Reads the flags of a bench script run on its own (`node dist/bench/soak.js --seconds 60`) with
 * node's own parser. A flag the script does not declare, or a number flag whose value is not a
 * finite number, is an error rather than silently ignored: a mistyped flag would otherwise run
 * the bench with its defaults and report figures for settings nobody asked for.
 * @throws SeismoError `ERR_INVALID_OPTION`
 */
export function scriptFlags<N extends string = never, S extends string = never, B extends string = never>(
  spec: ScriptFlagSpec<N, S, B>,
  args: readonly string[] = process.argv.slice(2),
): ScriptFlags<N, S, B> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const name of [...(spec.numbers ?? []), ...(spec.strings ?? [])]) options[name] = { type: 'string' };
  for (const name of spec.booleans ?? []) options[name] = { type: 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new SeismoError('ERR_INVALID_OPTION', `${(err as Error).message}; this script takes ${Object.keys(options).map((o) => `--${o}`).join(', ') || 'no flags'}`);
  }
  const out: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(values)) if (value !== undefined) out[name] = value;
  for (const name of spec.numbers ?? []) {
    const text = values[name];
    if (text === undefined) continue;
    const x = Number(text);
    if (text === '' || !Number.isFinite(x)) throw new SeismoError('ERR_INVALID_OPTION', `--${name} takes a number, got '${String(text)}'`);
    out[name] = x;
  }
  return out as ScriptFlags<N, S, B>;
}
