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
import { StepLayers } from '../../export/step';
import { STEP_IO, type StepLayer, historyInput, stepColumns } from '../../../src/infer/step-state';

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

/**
 * Frames that the score of a window's last frame depends on through the whole network: the
 * encoder's receptive field, then the decoder's again over the latents, `1 + 2(k-1)(2^depth - 1)`.
 * When the window holds at least this many frames, the window graph's zero padding at the
 * window's start never reaches the last frame's score, so that score is the causal stream's,
 * and the step graph ({@link exportDcVaeStep}) gives it for every window from one state per series.
 */
export function dcVaeNetworkField(config: Pick<DcVaeConfig, 'kernelSize' | 'depth'>): number {
  return 1 + 2 * (config.kernelSize - 1) * (2 ** config.depth - 1);
}

/**
 * Whether the DC-VAE has a step graph: its window covers {@link dcVaeNetworkField} (otherwise
 * each window's score depends on where the window starts, through the zero padding, and no
 * per-series state can give every window's score; such models keep the window path).
 */
export function dcVaeStepExact(config: Pick<DcVaeConfig, 'kernelSize' | 'depth' | 'window'>): boolean {
  return config.kernelSize >= 2 ? config.window >= dcVaeNetworkField(config) : true;
}

/** The `history_l` inputs of the DC-VAE's step graph: one per dilated layer (2 x depth). */
function stepHistoryInputs(config: Pick<DcVaeConfig, 'depth'>): string[] {
  return Array.from({ length: 2 * config.depth }, (_, l) => historyInput(l));
}

/**
 * The step graph of a trained DC-VAE and its inputs and outputs (for `manifest.step`), or
 * undefined when the window does not cover the network ({@link dcVaeStepExact}): then no
 * per-series state gives the window graph's scores, and the model keeps the window path.
 */
export function dcVaeStep(model: tfl.LayersModel, config: DcVaeConfig, channelNames: readonly string[], scaler: ScalerParams): { onnx: Uint8Array; inputs: string[]; outputs: string[] } | undefined {
  if (!dcVaeStepExact(config)) return undefined;
  if (config.kernelSize < 2) return undefined; // pointwise: the window path is already one frame's work
  return {
    onnx: exportDcVaeStep(model, config, channelNames, scaler),
    inputs: [STEP_IO.frames, ...stepHistoryInputs(config)],
    outputs: [...DC_VAE_IO.outputs, ...stepHistoryInputs(config).map((_, l) => stepColumns(l))],
  };
}

/**
 * Writes the step graph of a trained DC-VAE (`training/export/step.ts` says the contract): from T
 * new raw frames per series and the cached columns of its 2 x depth dilated layers, the same
 * `score`, `channel_score`, `mean` and `std` that {@link exportDcVae}'s graph gives for the
 * windows ending at those frames (`[T, B]`, `[T, B, C]`; same ops in the same order after the
 * convolutions; deterministic latent mean), and the new columns. Scores are those of the window
 * graph when {@link dcVaeStepExact} holds and the state was stepped from at most `window` frames
 * before (zero state = the window graph's zero padding).
 *
 * @returns the bytes of `model.step.onnx`.
 */
export function exportDcVaeStep(model: tfl.LayersModel, config: DcVaeConfig, channelNames: readonly string[], scaler: ScalerParams): Uint8Array {
  const { window: W, channels: C, latent: L, filters: F, kernelSize: k } = config;
  if (channelNames.length !== C) throw new Error(`exportDcVaeStep: ${channelNames.length} channel names for ${C} channels`);
  const g = new GraphBuilder();
  const planned: StepLayer[] = [];
  if (k > 1) {
    for (let i = 0; i < config.depth; i++) planned.push({ in: i === 0 ? C : F, dilation: 2 ** i, kernel: k });
    for (let i = 0; i < config.depth; i++) planned.push({ in: i === 0 ? L : F, dilation: 2 ** i, kernel: k });
  }
  const step = new StepLayers(g, C, planned);
  // The window graph's prologue on the new frames: Sub then Div, as there.
  const centred = g.op('Sub', [step.frames, g.floatConst('scaler_mean', scaler.mean, [C])], {}, 'centred');
  const scaled = g.op('Div', [centred, g.floatConst('scaler_std', scaler.std, [C])], {}, 'scaled'); // [T, B, C]
  const stack = (x: string, inputSize: number, name: (i: number) => string, prefix: string) => {
    for (let i = 0; i < config.depth; i++) {
      const [kernel, bias] = weightsOf(model, name(i));
      const w = { kernel: kernel!, bias: bias!, kernelSize: k, inputSize: i === 0 ? inputSize : F, filters: F, dilation: 2 ** i };
      x = step.unrows(activation(g, step.conv(x, w, `${prefix}${i}`), config.activation, `${prefix}${i}`), F, `${prefix}${i}`); // [T, B, F]
    }
    return x;
  };
  const encoded = stack(scaled, C, DC_VAE_LAYERS.encoder, 'enc');
  const [encKernel, encBias] = weightsOf(model, DC_VAE_LAYERS.encoderHead);
  const muKernel = new Float32Array(F * L);
  for (let i = 0; i < F; i++) muKernel.set(encKernel!.subarray(i * 2 * L, i * 2 * L + L), i * L);
  const z = step.unrows(step.conv(encoded, { kernel: muKernel, bias: encBias!.slice(0, L), kernelSize: 1, inputSize: F, filters: L, dilation: 1 }, 'latent_mean'), L, 'latent_mean'); // [T, B, L]
  const decoded = stack(z, L, DC_VAE_LAYERS.decoder, 'dec'); // [T, B, F]

  const [decKernel, decBias] = weightsOf(model, DC_VAE_LAYERS.decoderHead);
  const head = g.op('Add', [g.op('MatMul', [decoded, g.floatConst('dec_head_W', decKernel!, [F, 2 * C])], {}, 'dec_head_mm'), g.floatConst('dec_head_B', decBias!, [2 * C])], {}, 'dec_head'); // [T, B, 2C]
  const [mean, rawLogVar] = g.node('Split', [head, g.int64Const('split_mean_logvar', [C, C], [2])], { axis: attr.int(2) }, ['mean_x', 'raw_log_var_x']);
  const bound = config.logVarBound;
  const logVar = g.op('Clip', [rawLogVar!, g.floatConst('log_var_min', [-bound], []), g.floatConst('log_var_max', [bound], [])], {}, 'log_var_x');
  const invStd = g.op('Exp', [g.op('Mul', [logVar, g.floatConst('minus_half', [-0.5], [])], {}, 'neg_half_log_var')], {}, 'inv_std');
  const zScore = g.op('Mul', [g.op('Abs', [g.op('Sub', [scaled, mean!], {}, 'deviation')], {}, 'abs_deviation'), invStd], {}, 'z_score');
  const channelScore = g.op('Div', [zScore, g.floatConst('channel_count', [C], [])], {}, 'channel_share');
  g.output(channelScore, IO.channelScore, DType.float, ['T', 'B', C]);
  g.output(g.op('ReduceSum', [channelScore, g.int64Const('axes_score', [2], [1])], { keepdims: attr.int(0) }, 'window_score'), IO.score, DType.float, ['T', 'B']);
  g.output(mean!, 'mean', DType.float, ['T', 'B', C]);
  g.output(g.op('Exp', [g.op('Mul', [logVar, g.floatConst('half', [0.5], [])], {}, 'half_log_var')], {}, 'std_x'), 'std', DType.float, ['T', 'B', C]);
  const layout = step.finish();
  return g.encode({
    graphName: 'seismo_dc_vae_step',
    docString: `seismo dc-vae step graph: T frames per series, depth ${config.depth}, filters ${F}, kernel ${k}, latent ${L}, window ${W}, channels ${C}`,
    metadata: { ...seismoMetadata('dc-vae', W, channelNames), 'seismo.alpha': String(config.alpha), ...layout },
  });
}
