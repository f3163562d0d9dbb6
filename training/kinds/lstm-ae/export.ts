/**
 * ONNX export of the LSTM-AE ({@link buildLstmAe}), following the graph contract of
 * `src/model/manifest.ts`: `frames` + `starts` in; `score`, `channel_score`, `reconstruction` out.
 *
 * The body runs time-major (`[W, N, F]`) from the first Transpose to the last, because ONNX's
 * LSTM takes `[seq, batch, feature]` and ORT rejects `layout=1`; one Transpose in, one out.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { LSTM_AE_LAYERS, type LstmAeConfig } from './model';
import { contractIO, type LstmWeights, type ScalerParams, dense, lstm, reconstructionScore, repeatTimeMajor, seismoMetadata, swapBatchTime, windowPrologue } from '../../export/blocks';
import { GraphBuilder, OPSET } from '../../export/onnx-graph';

function weightsOf(model: tfl.LayersModel, name: string): Float32Array[] {
  return model.getLayer(name).getWeights().map((t) => t.dataSync() as Float32Array);
}

function lstmWeights(model: tfl.LayersModel, name: string, inputSize: number, units: number): LstmWeights {
  const layer = model.getLayer(name);
  const cfg = layer.getConfig();
  const recurrentActivation = cfg['recurrentActivation'];
  if (recurrentActivation !== 'sigmoid' && recurrentActivation !== 'hardSigmoid') {
    throw new Error(`LSTM ${name}: recurrentActivation ${String(recurrentActivation)} has no ONNX export here`);
  }
  if (cfg['activation'] !== 'tanh') throw new Error(`LSTM ${name}: activation ${String(cfg['activation'])} has no ONNX export here`);
  const [kernel, recurrentKernel, bias] = weightsOf(model, name);
  return { kernel: kernel!, recurrentKernel: recurrentKernel!, bias, inputSize, units, recurrentActivation, activation: 'tanh' };
}

/** Inputs and outputs of an exported LSTM-AE graph, in order. */
export const LSTM_AE_IO = contractIO(['reconstruction']);

/**
 * Writes a trained LSTM-AE as an ONNX model.
 *
 * @param model the tfjs model from {@link buildLstmAe} (trained).
 * @param config the config it was built with.
 * @param channelNames channel names, length C, in column order of `frames`.
 * @param scaler per-channel mean/std (raw units) that the graph applies first.
 * @returns the bytes of `model.onnx`.
 */
export function exportLstmAe(model: tfl.LayersModel, config: LstmAeConfig, channelNames: readonly string[], scaler: ScalerParams): Uint8Array {
  const { window: W, channels: C } = config;
  if (channelNames.length !== C) throw new Error(`exportLstmAe: ${channelNames.length} channel names for ${C} channels`);
  const g = new GraphBuilder();
  const { scaled } = windowPrologue(g, W, scaler); // [N, W, C]
  let x = swapBatchTime(g, scaled); // [W, N, C]
  let features = C;
  config.encoderUnits.forEach((units, i) => {
    const last = i === config.encoderUnits.length - 1;
    x = lstm(g, x, lstmWeights(model, LSTM_AE_LAYERS.encoder(i), features, units), !last, `enc${i}`); // [W, N, H] or, last, [N, H]
    features = units;
  });
  x = repeatTimeMajor(g, x, W); // [W, N, H]
  config.decoderUnits.forEach((units, i) => {
    x = lstm(g, x, lstmWeights(model, LSTM_AE_LAYERS.decoder(i), features, units), true, `dec${i}`); // [W, N, H']
    features = units;
  });
  x = swapBatchTime(g, x); // [N, W, H']
  const [kernel, bias] = weightsOf(model, LSTM_AE_LAYERS.output);
  const rec = dense(g, x, { kernel: kernel!, bias, inputSize: features, units: C }, 'out'); // [N, W, C]
  reconstructionScore(g, scaled, rec, W, C);
  return g.encode({
    graphName: 'seismo_lstm_ae',
    docString: `seismo lstm-ae: encoder ${JSON.stringify(config.encoderUnits)}, decoder ${JSON.stringify(config.decoderUnits)}, window ${W}, channels ${C}`,
    metadata: seismoMetadata('lstm-ae', W, channelNames),
  });
}
