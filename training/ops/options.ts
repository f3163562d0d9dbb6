/**
 * Config checks shared by the convolutional kinds (DC-VAE, DeepAnT): every error names the kind
 * and the field, so a bad `--config` file is fixed in one look.
 */
import { SeismoError } from '../../src/errors';
import type { BaseTrainConfig } from '../fit';

/** Checks fields of one kind's config, throwing `ERR_INVALID_OPTION` with the kind's name. */
export class ConfigChecker {
  constructor(private readonly kind: string) {}

  bad(message: string, details: Record<string, unknown>): never {
    throw new SeismoError('ERR_INVALID_OPTION', `${this.kind} config: ${message}`, details);
  }

  /** A safe integer >= `min` (default 1). */
  int(name: string, v: unknown, min = 1): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.bad(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`, { [name]: v });
    return v;
  }

  /** A finite number strictly above `above` (default 0). */
  positive(name: string, v: unknown, above = 0): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || !(v > above)) this.bad(`${name} must be a finite number > ${above}, got ${JSON.stringify(v)}`, { [name]: v });
    return v;
  }

  /** A finite number >= 0. */
  nonNegative(name: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || !(v >= 0)) this.bad(`${name} must be a finite number >= 0, got ${JSON.stringify(v)}`, { [name]: v });
    return v;
  }

  /** A non-empty list of integers >= 1. */
  intList(name: string, v: unknown): number[] {
    if (!Array.isArray(v) || v.length === 0) this.bad(`${name} must be a non-empty array of positive integers, got ${JSON.stringify(v)}`, { [name]: v });
    return v.map((u, i) => this.int(`${name}[${i}]`, u));
  }

  /** One of `options`. */
  oneOf<T extends string>(name: string, v: unknown, options: readonly T[]): T {
    if (typeof v !== 'string' || !options.includes(v as T)) this.bad(`${name} must be one of ${options.join(', ')}, got ${JSON.stringify(v)}`, { [name]: v });
    return v as T;
  }

  /** A boolean. */
  bool(name: string, v: unknown): boolean {
    if (typeof v !== 'boolean') this.bad(`${name} must be true or false, got ${JSON.stringify(v)}`, { [name]: v });
    return v;
  }

  /** The fields of {@link BaseTrainConfig}, checked; `channels` must agree with the data. */
  base(c: BaseTrainConfig & { channels?: number }, partialChannels: number | undefined, channels: number): BaseTrainConfig {
    if (partialChannels !== undefined && partialChannels !== channels) {
      this.bad(`channels is ${partialChannels} but the data have ${channels}`, { channels: partialChannels, dataChannels: channels });
    }
    const vs = c.validationSplit;
    if (typeof vs !== 'number' || !(vs >= 0 && vs < 1)) this.bad(`validationSplit must be in [0, 1), got ${vs}`, { validationSplit: vs });
    if (typeof c.seed !== 'number' || !Number.isSafeInteger(c.seed)) this.bad(`seed must be an integer, got ${c.seed}`, { seed: c.seed });
    return {
      window: this.int('window', c.window),
      epochs: this.int('epochs', c.epochs),
      batchSize: this.int('batchSize', c.batchSize),
      learningRate: this.positive('learningRate', c.learningRate),
      validationSplit: vs,
      patience: this.int('patience', c.patience, 0),
      seed: c.seed,
    };
  }
}
