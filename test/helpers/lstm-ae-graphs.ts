// LSTM-AE graphs as seismo's exporter writes them, without training: tfjs-layers models of any
// depth and gate activation with seeded random weights, exported by training/kinds/lstm-ae/export.ts.
// The native scorer's tests (extraction, parity with onnxruntime) run on these and on trained ones.
import * as tfl from '@tensorflow/tfjs-layers';
import { onnx } from 'onnx-proto';
import { initBackend } from '../../training/backend';
import { exportLstmAe } from '../../training/kinds/lstm-ae/export';
import { LSTM_AE_LAYERS, resolveLstmAeConfig } from '../../training/kinds/lstm-ae/model';
import { scrambleWeights } from '../training/helpers';

export interface LstmAeGraphOptions {
  window: number;
  channels: number;
  encoderUnits: number[];
  decoderUnits: number[];
  /** tfjs gate activation of every LSTM. Default `sigmoid`. */
  gate?: 'sigmoid' | 'hardSigmoid';
  /** Whether the LSTMs and the Dense have biases. Default true. */
  bias?: boolean;
  /** Seed of the weights. Default 1. */
  seed?: number;
  /** Weights uniform in [-scale, scale]. Default 0.6. */
  scale?: number;
}

/** A seeded scaler: means and stds on different scales per channel. */
export function someScaler(channels: number): { mean: number[]; std: number[] } {
  return { mean: Array.from({ length: channels }, (_, c) => 10 * c - 3), std: Array.from({ length: channels }, (_, c) => 0.5 + 2 * c) };
}

/** The model.onnx bytes of an LSTM-AE with the given shape and random weights (and the tfjs model's weights, for checks). */
export async function lstmAeGraph(o: LstmAeGraphOptions): Promise<{ onnx: Uint8Array; scaler: { mean: number[]; std: number[] }; weights: Record<string, Float32Array[]> }> {
  await initBackend();
  const { window: W, channels: C } = o;
  const gate = o.gate ?? 'sigmoid';
  const useBias = o.bias ?? true;
  const init = { recurrentInitializer: 'glorotUniform' as const, useBias };
  const model = tfl.sequential();
  o.encoderUnits.forEach((units, i) => {
    const last = i === o.encoderUnits.length - 1;
    model.add(tfl.layers.lstm({ ...init, units, returnSequences: !last, recurrentActivation: gate, name: LSTM_AE_LAYERS.encoder(i), ...(i === 0 ? { inputShape: [W, C] } : {}) }));
  });
  model.add(tfl.layers.repeatVector({ n: W }));
  o.decoderUnits.forEach((units, i) => model.add(tfl.layers.lstm({ ...init, units, returnSequences: true, recurrentActivation: gate, name: LSTM_AE_LAYERS.decoder(i) })));
  model.add(tfl.layers.dense({ units: C, useBias, name: LSTM_AE_LAYERS.output }));
  try {
    scrambleWeights(model, o.seed ?? 1, o.scale ?? 0.6);
    const scaler = someScaler(C);
    const config = resolveLstmAeConfig({ window: W, encoderUnits: o.encoderUnits, decoderUnits: o.decoderUnits }, C);
    const names = Array.from({ length: C }, (_, c) => `c${c}`);
    const weights: Record<string, Float32Array[]> = {};
    for (const layer of model.layers) weights[layer.name] = layer.getWeights().map((t) => t.dataSync() as Float32Array);
    return { onnx: exportLstmAe(model, config, names, scaler), scaler, weights };
  } finally {
    model.dispose();
  }
}

/** `bytes` decoded, changed by `change`, encoded again: a graph a test alters. */
export function alterGraph(bytes: Uint8Array, change: (model: onnx.ModelProto, graph: onnx.GraphProto) => void): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  change(model, model.graph as onnx.GraphProto);
  return onnx.ModelProto.encode(model).finish();
}
