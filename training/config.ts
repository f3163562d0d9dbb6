/**
 * Hyper-parameters as data: each kind states its settings once, as a zod schema (type, range,
 * default, unit, meaning), and that one schema checks a user's config (refusing unknown keys by
 * name: a mistyped `windw` must not train with the default window), gives the config's TypeScript
 * type, and generates the reference in docs/config.md (`npm run docs:config`).
 */
import { z } from 'zod';
import { SeismoError } from '../src/errors';
import { MAX_WINDOW } from '../src/model/manifest';
import type { BaseTrainConfig } from './fit';

/** Metadata of one setting, for the generated reference. */
export interface SettingMeta {
  /** What it does, and what its values mean. */
  description: string;
  /** Unit of its values (`frames`, `windows`, `epochs`, ...), when it has one. */
  unit?: string;
}

/** `schema` with its reference text. */
export function setting<T extends z.ZodType>(schema: T, meta: SettingMeta): T {
  return schema.meta({ ...meta });
}

export const positiveInt = () => z.number().int().positive();
/** A list of layer widths (units), each a positive integer. */
export const unitList = (options: { allowEmpty?: boolean } = {}) => (options.allowEmpty ? z.array(positiveInt()) : z.array(positiveInt()).min(1));

/**
 * The settings every kind shares, with the kind's own defaults. `channels` is set from the data;
 * a config may name it, and must then agree with the data.
 */
export function baseSettings(d: BaseTrainConfig) {
  return {
    window: setting(positiveInt().max(MAX_WINDOW).default(d.window), { description: 'Frames per window (W): what the model reads and scores at once.', unit: 'frames' }),
    channels: setting(positiveInt().optional(), { description: 'Channels per frame (C). Set from the training data; when given it must agree with them.', unit: 'channels' }),
    epochs: setting(positiveInt().default(d.epochs), { description: 'Passes over the training windows, at most (early stopping may end sooner).', unit: 'epochs' }),
    batchSize: setting(positiveInt().default(d.batchSize), { description: 'Windows per gradient step.', unit: 'windows' }),
    learningRate: setting(z.number().positive().default(d.learningRate), { description: 'Adam step size.' }),
    validationSplit: setting(z.number().min(0).lt(1).default(d.validationSplit), {
      description:
        'Fraction of the windows held out for validation (early stopping, threshold), taken from the end of the series: overlapping windows would leak through a random split.',
    }),
    patience: setting(z.number().int().min(0).default(d.patience), { description: 'Epochs without a validation-loss improvement before training stops; 0 disables.', unit: 'epochs' }),
    seed: setting(z.number().int().default(d.seed), { description: 'Seed of every initializer and of the batch shuffling: same seed and data, same model.' }),
  };
}

/** Throws `ERR_INVALID_OPTION` prefixed with the kind. */
export function badConfig(kind: string, message: string, details: Record<string, unknown> = {}): never {
  throw new SeismoError('ERR_INVALID_OPTION', `${kind} config: ${message}`, details);
}

/**
 * A user's partial config, completed with the schema's defaults and checked; `channels` from the
 * data.
 * @throws SeismoError `ERR_INVALID_OPTION` naming the kind and the offending setting (for an
 *   unknown one, the closest known name and the list of them).
 */
export function resolveSettings<S extends z.ZodObject>(kind: string, schema: S, partial: unknown, channels: number): z.output<S> & { channels: number } {
  const given = partial ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) badConfig(kind, `must be an object of settings, got ${JSON.stringify(given)}`);
  const fields = given as Record<string, unknown>;
  if (fields.channels !== undefined && fields.channels !== channels) {
    badConfig(kind, `channels is ${JSON.stringify(fields.channels)} but the data have ${channels}`, { channels: fields.channels, dataChannels: channels });
  }
  const parsed = schema.safeParse({ ...fields, channels });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const known = Object.keys(schema.shape);
    if (issue.code === 'unrecognized_keys') {
      const unknown = issue.keys;
      const hint = unknown.map((k) => closest(k, known)).filter((k): k is string => k !== undefined);
      badConfig(
        kind,
        `unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}${hint.length ? ` (did you mean ${hint.map((k) => JSON.stringify(k)).join(', ')}?)` : ''}; ${kind} takes ${known.join(', ')} (docs/config.md)`,
        { unknown, known },
      );
    }
    const where = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(config)';
    badConfig(kind, `${where} ${describeIssue(issue)}, got ${JSON.stringify(valueAt(fields, issue.path))}`, { [where]: valueAt(fields, issue.path) });
  }
  return parsed.data as z.output<S> & { channels: number };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      return issue.origin === 'array' ? `must list at least ${issue.minimum}` : `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array' ? `must list at most ${issue.maximum}` : `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
    case 'invalid_type':
      return `must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return 'has neither of the accepted forms';
    default:
      return issue.message;
  }
}

function valueAt(value: unknown, at: readonly PropertyKey[]): unknown {
  let v = value;
  for (const key of at) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/** The known name within edit distance 2 of `name`, if any. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}
