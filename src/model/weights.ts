/**
 * A model version's trainable state (`weights.json` + `weights.bin`): the format is in
 * ./weights-format.ts, reading and writing the files is the model directory's (./model-dir.ts).
 * This module gathers both for the stages that continue training a version.
 */
export { decodeWeights, encodeWeights, sha256, WEIGHTS_FILE, WEIGHTS_INDEX_FILE, type WeightsIndex, type WeightTensor } from './weights-format.js';
export { readWeights, writeWeights } from './model-dir.js';
