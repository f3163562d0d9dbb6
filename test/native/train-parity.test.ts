/**
 * A seeded model trained through the native kernels and through plain tfjs ops reaches the same
 * losses, epoch by epoch (float32 rounding differs between the paths, so "the same" is within a
 * relative 1e-4 after a few hundred Adam steps' worth of drift).
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backend';
import { buildDcVae, dcVaeTargets, resolveDcVaeConfig } from '../../training/kinds/dc-vae/model';
import { fitScaler, applyScaler, fitWindows, windowStarts, type FitOptions } from '../../training/fit';
import { buildLstmAe, resolveLstmAeConfig } from '../../training/kinds/lstm-ae/model';
import { kernelPath, setNativeKernelsEnabled } from '../../training/native-ops';
import { sineMixture } from '../training/helpers';
import type * as tfl from '@tensorflow/tfjs-layers';

const LOSS_TOLERANCE = 1e-4;

async function lossesOf(build: () => tfl.LayersModel, native: boolean, frames: Float32Array, channels: number, fit: Omit<FitOptions, 'patience'>): Promise<number[]> {
  setNativeKernelsEnabled(native);
  try {
    assert.equal(kernelPath().path, native ? 'native' : 'tfjs');
    const model = build();
    const x = tf.tensor2d(applyScaler(frames, fitScaler(frames, channels)), [frames.length / channels, channels]);
    try {
      const starts = windowStarts(frames.length / channels, fit.window, 1);
      return (await fitWindows(model, x, starts, new Int32Array(0), { ...fit, patience: 0 })).losses;
    } finally {
      x.dispose();
      model.dispose();
    }
  } finally {
    setNativeKernelsEnabled(true);
  }
}

function assertSameLosses(a: number[], b: number[]) {
  assert.equal(a.length, b.length);
  a.forEach((l, i) => assert.ok(Math.abs(l - b[i]!) <= LOSS_TOLERANCE * Math.abs(b[i]!), `epoch ${i + 1}: native ${l} vs tfjs ${b[i]}`));
}

describe('training with and without the native kernels', function () {
  this.timeout(60_000);
  before(async function () {
    await initBackend();
    const p = kernelPath();
    // Switched off on purpose (SEISMO_NATIVE_KERNELS=0): nothing to compare. Failing to load is a failure.
    if (p.path !== 'native' && process.env['SEISMO_NATIVE_KERNELS'] !== '0') assert.fail(`the native kernels did not load: ${p.reason}`);
    if (p.path !== 'native') this.skip();
  });

  it('LSTM-AE (stacked encoder) reaches the same losses', async () => {
    const C = 3;
    const frames = sineMixture(200, C, 3);
    const config = resolveLstmAeConfig({ window: 12, encoderUnits: [8, 6], decoderUnits: [5], epochs: 3, batchSize: 16, learningRate: 0.01 }, C);
    const fit = { window: config.window, epochs: config.epochs, batchSize: config.batchSize, seed: 7 };
    const native = await lossesOf(() => buildLstmAe(config), true, frames, C, fit);
    const tfjs = await lossesOf(() => buildLstmAe(config), false, frames, C, fit);
    assertSameLosses(native, tfjs);
    assert.ok(native[2]! < native[0]!, 'the loss goes down');
  });

  it('DC-VAE (dilated causal convs) reaches the same losses', async () => {
    const C = 3;
    const frames = sineMixture(160, C, 4);
    const config = resolveDcVaeConfig({ window: 16, depth: 3, filters: 6, latent: 2, epochs: 3, batchSize: 16, learningRate: 0.01 }, C);
    const fit = { window: config.window, epochs: config.epochs, batchSize: config.batchSize, seed: 7, targets: dcVaeTargets(config) };
    const native = await lossesOf(() => buildDcVae(config), true, frames, C, fit);
    const tfjs = await lossesOf(() => buildDcVae(config), false, frames, C, fit);
    assertSameLosses(native, tfjs);
  });
});
