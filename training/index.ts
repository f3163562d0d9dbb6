/**
 * seismo/training: train a model kind on raw frames in TensorFlow.js and get back the model
 * directory's contents (`model.onnx` bytes and the `model.json` manifest), or write it.
 */
export { initBackend, type BackendAttempt, type BackendChoice } from './backend';
export { type BaseTrainConfig, type Scaler, type TrainProgress, fitScaler, applyScaler, windowStarts } from './fit';
export { type LstmAeConfig, LSTM_AE_DEFAULTS, buildLstmAe, resolveLstmAeConfig } from './lstm-ae';
export { type ModelKindSpec, registerKind, getKind, listKinds } from './registry';
export { exportLstmAe, seismoMetadata } from './export/lstm-ae';
export { type DcVaeConfig, DC_VAE_DEFAULTS, buildDcVae, resolveDcVaeConfig, dcVaeScores, dcVaeReceptiveField } from './dc-vae';
export { type DeepAntConfig, DEEPANT_DEFAULTS, buildDeepAnt, resolveDeepAntConfig, deepAntScores } from './deepant';
export { causalConv1d } from './ops/causal-conv';
export { exportDcVae, DC_VAE_IO } from './export/dc-vae';
export { exportDeepAnt, DEEPANT_IO } from './export/deepant';
export { type DenseAeConfig, DENSE_AE_DEFAULTS, buildDenseAe, resolveDenseAeConfig } from './dense-ae';
export { type VaeConfig, VAE_DEFAULTS, buildVae, resolveVaeConfig, trainVae } from './vae';
export { type PcaConfig, PCA_DEFAULTS, buildPca, resolvePcaConfig, trainPca, pcaComponents } from './pca';
export { type BiganConfig, BIGAN_DEFAULTS, buildBigan, resolveBiganConfig, trainBigan, biganScores, biganAlpha } from './bigan';
export { type OcsvmConfig, OCSVM_DEFAULTS, buildOcsvm, resolveOcsvmConfig, trainOcsvm, ocsvmScores, ocsvmParams } from './ocsvm';
export { type KindTrainContext } from './registry';

export { trainModel, THRESHOLD_QUANTILE, type KindConfigs, type TrainRequest, type TrainResult, predictScores, type PredictedScores, cutScaledWindows } from './train';
export { trainToDir, type TrainToDirOptions, type TrainSummary } from './train-to-dir';

// Named by the public signatures above; exported so that the API reference can show them.
export type { HiddenActivation } from './classic/common';
export type { DcVaeScoreTensors } from './dc-vae';
export type { DeepAntScoreTensors } from './deepant';
export type { ReconstructionScoreTensors } from './score';
export type { ScalerParams } from './export/blocks';
export { fitWindows, type FitOptions, type FitResult } from './fit';
export { dcVaeLoss, dcVaeTargets } from './dc-vae';
export { BIGAN_PARTS } from './bigan';
