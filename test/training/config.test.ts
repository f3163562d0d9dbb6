// One settings schema per kind: unknown keys refused by name, defaults as before, the generated reference up to date.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { isSeismoError } from '../../src/errors.js';
import { registerTrain, trainKind } from '../../src/cli/train.js';
import { configReference } from '../../training/config-docs.js';
import { BIGAN_DEFAULTS, DC_VAE_DEFAULTS, DEEPANT_DEFAULTS, getKind, listKinds, LSTM_AE_DEFAULTS, OCSVM_DEFAULTS, PCA_DEFAULTS, trainModel } from '../../training/index.js';
import { BUILTIN_KINDS } from '../../training/kinds/names.js';

const ROOT = path.resolve(__dirname, '../..');
const TRAIN = { epochs: 50, batchSize: 64, learningRate: 1e-3, validationSplit: 0.2, patience: 5, seed: 42 };

describe('training/config: one settings schema per kind', () => {
  it('refuses an unknown setting by name, with the closest known one, for every kind', () => {
    for (const kind of listKinds()) {
      assert.throws(
        () => getKind(kind).resolveConfig({ windw: 32 } as never, 3),
        (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /unknown setting "windw" \(did you mean "window"\?\)/.test(e.message) && e.message.startsWith(`${kind} config:`),
        kind,
      );
    }
  });

  it('refuses it before training starts (trainModel)', async () => {
    const frames = new Float32Array(200 * 2).map((_, i) => Math.sin(i / 7));
    await assert.rejects(trainModel({ kind: 'lstm-ae', frames, channels: ['a', 'b'], config: { windw: 32 } as never }), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /windw/.test(e.message));
  });

  it('names the setting and the value that is out of range', () => {
    assert.throws(() => getKind('lstm-ae').resolveConfig({ encoderUnits: [8, 0] } as never, 3), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /encoderUnits\[1\] must be > 0, got 0/.test(e.message));
    assert.throws(() => getKind('ocsvm').resolveConfig({ gamma: 'auto' } as never, 3), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /gamma/.test(e.message));
    assert.throws(() => getKind('dense-ae').resolveConfig({ channels: 4 } as never, 3), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /channels is 4 but the data have 3/.test(e.message));
  });

  it('keeps the defaults every figure was measured with', () => {
    assert.deepEqual({ ...LSTM_AE_DEFAULTS }, { window: 64, encoderUnits: [32], decoderUnits: [16], ...TRAIN });
    assert.deepEqual({ ...DC_VAE_DEFAULTS }, { window: 64, depth: 5, filters: 32, kernelSize: 2, latent: 4, activation: 'relu', klWeight: 0.1, logVarBound: 8, alpha: 3, ...TRAIN });
    assert.deepEqual({ ...DEEPANT_DEFAULTS }, { window: 48, horizon: 1, filters: [32, 32], kernelSize: 2, poolSize: 2, hidden: 40, attention: false, attentionUnits: 16, ...TRAIN });
    assert.deepEqual({ ...PCA_DEFAULTS }, { window: 1, ...TRAIN, epochs: 1, components: null, explainedVariance: 0.9, maxWindows: 20000 });
    assert.deepEqual({ ...BIGAN_DEFAULTS }, { window: 1, ...TRAIN, epochs: 20, learningRate: 1e-4, patience: 0, latent: 32, encoderUnits: [64], generatorUnits: [64, 128], discriminatorUnits: 128, alpha: 0.9 });
    assert.deepEqual({ ...OCSVM_DEFAULTS }, { window: 1, ...TRAIN, epochs: 1, nu: 0.1, gamma: 'scale', maxWindows: 2000, tolerance: 1e-3 });
    // dense-ae and vae mirror the encoder into the decoder.
    assert.deepEqual(getKind('dense-ae').resolveConfig(undefined, 3), { window: 1, channels: 3, ...TRAIN, encoderUnits: [64, 16], decoderUnits: [64], activation: 'tanh' });
    assert.deepEqual(getKind('vae').resolveConfig(undefined, 3), { window: 1, channels: 3, ...TRAIN, encoderUnits: [64], latent: 8, decoderUnits: [64], activation: 'tanh', klWeight: 1 });
  });

  it('resolves exactly the settings its schema names, and the built-in kinds are the eight the CLI lists', () => {
    assert.deepEqual(listKinds(), [...BUILTIN_KINDS]);
    for (const kind of listKinds()) {
      const spec = getKind(kind);
      assert.deepEqual(Object.keys(spec.resolveConfig(undefined, 3)).sort(), Object.keys(spec.schema.shape).sort(), kind);
    }
  });

  it('docs/config.md is the reference generated from the schemas (`npm run docs:config`)', () => {
    const committed = fs.readFileSync(path.join(ROOT, 'docs/config.md'), 'utf8');
    assert.equal(committed, configReference(), 'docs/config.md is stale: run `npm run docs:config` and commit it');
    for (const kind of listKinds()) assert.match(committed, new RegExp(`^## ${kind}$`, 'm'));
  });
});

describe('seismo train --kind', () => {
  it('lists all eight kinds in --help', () => {
    const program = new Command();
    registerTrain(program);
    const help = program.commands.find((c) => c.name() === 'train')!.helpInformation();
    for (const kind of BUILTIN_KINDS) assert.ok(help.includes(kind), `${kind} missing from: ${help}`);
    assert.match(help, /--kind <kind>/);
    assert.match(help, /--model <kind>\s+deprecated alias of --kind/);
  });

  it('takes --model as a deprecated alias for one release, and refuses a missing, unknown or contradictory kind', () => {
    assert.equal(trainKind({ kind: 'dc-vae' }), 'dc-vae');
    const write = process.stderr.write;
    let warned = '';
    process.stderr.write = ((chunk: string) => ((warned += chunk), true)) as typeof process.stderr.write;
    try {
      assert.equal(trainKind({ model: 'pca' }), 'pca');
    } finally {
      process.stderr.write = write;
    }
    assert.match(warned, /--model <kind> is deprecated.*use --kind pca/);
    assert.throws(() => trainKind({}), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /needs --kind/.test(e.message));
    assert.throws(() => trainKind({ kind: 'transformer' }), (e: unknown) => isSeismoError(e, 'ERR_TRAINING') && /lstm-ae, dc-vae/.test(e.message));
    assert.throws(() => trainKind({ kind: 'pca', model: 'vae' }), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /disagree/.test(e.message));
  });
});
