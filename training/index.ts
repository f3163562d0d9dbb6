/**
 * seismo/training: train a model kind on raw frames in TensorFlow.js and get back the model
 * directory's contents (`model.onnx` bytes and the `model.json` manifest), or write it.
 */
export { initBackend, type BackendAttempt, type BackendChoice } from './backend';
export { type BaseTrainConfig, type Scaler, type TrainProgress, fitScaler, applyScaler, windowStarts } from './fit';
export { type LstmAeConfig, LSTM_AE_DEFAULTS, buildLstmAe, resolveLstmAeConfig } from './kinds/lstm-ae/model';
export { registerKind, getKind, listKinds, type KindConfigs } from './kinds/index';
export { type ModelKindSpec, type KindTrainContext } from './kind-spec';
export { seismoMetadata } from './export/blocks';
export { exportLstmAe, LSTM_AE_IO } from './kinds/lstm-ae/export';
export { type DcVaeConfig, DC_VAE_DEFAULTS, buildDcVae, resolveDcVaeConfig, dcVaeScores, dcVaeReceptiveField } from './kinds/dc-vae/model';
export { type DeepAntConfig, DEEPANT_DEFAULTS, buildDeepAnt, resolveDeepAntConfig, deepAntScores } from './kinds/deepant/model';
export { causalConv1d } from './ops/causal-conv';
export { exportDcVae, DC_VAE_IO } from './kinds/dc-vae/export';
export { exportDeepAnt, DEEPANT_IO } from './kinds/deepant/export';
export { type DenseAeConfig, DENSE_AE_DEFAULTS, buildDenseAe, resolveDenseAeConfig } from './kinds/dense-ae/model';
export { type VaeConfig, VAE_DEFAULTS, buildVae, resolveVaeConfig, trainVae } from './kinds/vae/model';
export { type PcaConfig, PCA_DEFAULTS, buildPca, resolvePcaConfig, trainPca, pcaComponents } from './kinds/pca/model';
export { type BiganConfig, BIGAN_DEFAULTS, buildBigan, resolveBiganConfig, trainBigan, biganScores, biganAlpha } from './kinds/bigan/model';
export { type OcsvmConfig, OCSVM_DEFAULTS, buildOcsvm, resolveOcsvmConfig, trainOcsvm, ocsvmScores, ocsvmParams } from './kinds/ocsvm/model';

export { trainModel, THRESHOLD_QUANTILE, type TrainRequest, type TrainResult, predictScores, type PredictedScores, cutScaledWindows } from './train';
export { trainToDir, type TrainToDirOptions, type TrainSummary } from './train-to-dir';

// Named by the public signatures above; exported so that the API reference can show them.
export type { HiddenActivation } from './classic/common';
export type { DcVaeScoreTensors } from './kinds/dc-vae/model';
export type { DeepAntScoreTensors } from './kinds/deepant/model';
export type { ReconstructionScoreTensors } from './score';
export type { ScalerParams } from './export/blocks';
export { fitWindows, type FitOptions, type FitResult } from './fit';
export { dcVaeLoss, dcVaeTargets } from './kinds/dc-vae/model';
export { BIGAN_PARTS } from './kinds/bigan/model';
export { HIDDEN_ACTIVATIONS } from './classic/common';
export { LstmAeConfigSchema } from './kinds/lstm-ae/config';
export { DcVaeConfigSchema } from './kinds/dc-vae/config';
export { DeepAntConfigSchema } from './kinds/deepant/config';
export { DenseAeConfigSchema } from './kinds/dense-ae/config';
export { VaeConfigSchema } from './kinds/vae/config';
export { PcaConfigSchema } from './kinds/pca/config';
export { BiganConfigSchema } from './kinds/bigan/config';
export { OcsvmConfigSchema } from './kinds/ocsvm/config';
