/**
 * ONNX export of the DC-VAE ({@link buildDcVae}) under the graph contract of
 * `src/model/manifest.ts`: `frames` + `starts` in; `score`, `channel_score`, `mean`, `std` out.
 *
 * The body runs channels-first (`[N, F, W]`, what ONNX Conv takes) from one Transpose on. The
 * graph is the inference path only: the latent is its mean (no sampling), and since only the last
 * frame is scored, the decoder's Gaussian head (a per-frame Dense) runs on that frame alone.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { DC_VAE_LAYERS, type DcVaeConfig } from './model';
import { contractIO, IO, type ScalerParams, seismoMetadata, activation, causalConv, swapTimeFeatures, windowPrologue } from '../../export/blocks';
import { DType, GraphBuilder, OPSET, attr } from '../../export/onnx-graph';

/** Inputs and outputs of an exported DC-VAE graph, in order. */
export const DC_VAE_IO = contractIO(['mean', 'std']);

function weightsOf(model: tfl.LayersModel, name: string): Float32Array[] {
  return model.getLayer(name).getWeights().map((t) => t.dataSync() as Float32Array);
}

/**
 * Writes a trained DC-VAE as an ONNX model.
 *
 * Outputs: `channel_score` `[N, C]` = `|x - mu| / sigma / C` at the window's last frame, `score`
 * `[N]` = its sum over channels; `mean` and `std` `[N, C]`: mu and sigma of that frame in scaled
 * units (raw = mean * scaler.std + scaler.mean, std * scaler.std), for the paper's
 * `mu +- alpha sigma` bands.
 *
 * @param model the tfjs model from {@link buildDcVae} (trained).
 * @param config the config it was built with.
 * @param channelNames channel names, length C, in column order of `frames`.
 * @param scaler per-channel mean/std (raw units) that the graph applies first.
 * @returns the bytes of `model.onnx`.
 */
export function exportDcVae(model: tfl.LayersModel, config: DcVaeConfig, channelNames: readonly string[], scaler: ScalerParams): Uint8Array {
  const { window: W, channels: C, latent: L, filters: F } = config;
  if (channelNames.length !== C) throw new Error(`exportDcVae: ${channelNames.length} channel names for ${C} channels`);
  const g = new GraphBuilder();
  const { scaled } = windowPrologue(g, W, scaler); // [N, W, C]
  const stack = (x: string, inputSize: number, name: (i: number) => string, prefix: string) => {
    for (let i = 0; i < config.depth; i++) {
      const [kernel, bias] = weightsOf(model, name(i));
      const w = { kernel: kernel!, bias: bias!, kernelSize: config.kernelSize, inputSize: i === 0 ? inputSize : F, filters: F, dilation: 2 ** i };
      x = activation(g, causalConv(g, x, w, `${prefix}${i}`), config.activation, `${prefix}${i}`); // [N, F, W]
    }
    return x;
  };
  const encoded = stack(swapTimeFeatures(g, scaled, 'scaled_nct'), C, DC_VAE_LAYERS.encoder, 'enc'); // [N, F, W]

  // Latent mean only: the first L outputs of the encoder's Gaussian head ([1, F, 2L] kernel).
  const [encKernel, encBias] = weightsOf(model, DC_VAE_LAYERS.encoderHead);
  const muKernel = new Float32Array(F * L);
  for (let i = 0; i < F; i++) muKernel.set(encKernel!.subarray(i * 2 * L, i * 2 * L + L), i * L);
  const z = causalConv(g, encoded, { kernel: muKernel, bias: encBias!.slice(0, L), kernelSize: 1, inputSize: F, filters: L, dilation: 1 }, 'latent_mean'); // [N, L, W]

  const decoded = stack(z, L, DC_VAE_LAYERS.decoder, 'dec'); // [N, F, W]
  const lastIndex = g.int64Const('last_frame', [W - 1], []);
  const lastFeatures = g.op('Gather', [decoded, lastIndex], { axis: attr.int(2) }, 'dec_last'); // [N, F]
  const [decKernel, decBias] = weightsOf(model, DC_VAE_LAYERS.decoderHead);
  const head = g.op('Add', [g.op('MatMul', [lastFeatures, g.floatConst('dec_head_W', decKernel!, [F, 2 * C])], {}, 'dec_head_mm'), g.floatConst('dec_head_B', decBias!, [2 * C])], {}, 'dec_head'); // [N, 2C]
  const [mean, rawLogVar] = g.node('Split', [head, g.int64Const('split_mean_logvar', [C, C], [2])], { axis: attr.int(1) }, ['mean_x', 'raw_log_var_x']);
  const bound = config.logVarBound;
  const logVar = g.op('Clip', [rawLogVar!, g.floatConst('log_var_min', [-bound], []), g.floatConst('log_var_max', [bound], [])], {}, 'log_var_x'); // [N, C]

  const x = g.op('Gather', [scaled, lastIndex], { axis: attr.int(1) }, 'x_last'); // [N, C]
  const invStd = g.op('Exp', [g.op('Mul', [logVar, g.floatConst('minus_half', [-0.5], [])], {}, 'neg_half_log_var')], {}, 'inv_std');
  const zScore = g.op('Mul', [g.op('Abs', [g.op('Sub', [x, mean!], {}, 'deviation')], {}, 'abs_deviation'), invStd], {}, 'z_score'); // [N, C]
  const channelScore = g.op('Div', [zScore, g.floatConst('channel_count', [C], [])], {}, 'channel_share');
  g.output(channelScore, IO.channelScore, DType.float, ['N', C]);
  g.output(g.op('ReduceSum', [channelScore, g.int64Const('axes_score', [1], [1])], { keepdims: attr.int(0) }, 'window_score'), IO.score, DType.float, ['N']);
  g.output(mean!, 'mean', DType.float, ['N', C]);
  g.output(g.op('Exp', [g.op('Mul', [logVar, g.floatConst('half', [0.5], [])], {}, 'half_log_var')], {}, 'std_x'), 'std', DType.float, ['N', C]);
  return g.encode({
    graphName: 'seismo_dc_vae',
    docString: `seismo dc-vae: depth ${config.depth}, filters ${F}, kernel ${config.kernelSize}, latent ${L}, window ${W}, channels ${C}; score = mean_c |x - mu| / sigma at the last frame`,
    metadata: { ...seismoMetadata('dc-vae', W, channelNames), 'seismo.alpha': String(config.alpha) },
  });
}
