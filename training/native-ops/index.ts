/**
 * tfjs ops on seismo's native training kernels (LSTM over a sequence, causal dilated conv), with
 * `tf.customGrad` gradients, usable on any tfjs backend; pure-tfjs equivalents are the fallback.
 */
export { describeKernelPath, kernelPath, nativeKernels, setNativeKernelsEnabled, type KernelPath, type KernelPathInfo } from './kernels';
export { lstmSequence, lstmSequenceNative, lstmSequenceTfjs, type LstmSequenceOptions } from './lstm';
export { routeLstmThroughKernels } from './lstm-layer';
export { causalConv1dNative } from './causal-conv';
