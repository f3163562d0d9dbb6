/**
 * tf.train.adam's update computed in JavaScript on gradient buffers, for the native training steps.
 *
 * Why: applying a native step's gradients through tfjs' `AdamOptimizer.applyGradients` took ~13
 * tfjs ops per variable (~0.7 ms a step of the bench LSTM-AE on the wasm backend, ~45 ms an epoch,
 * ~150 ms in the first one, where every kernel is first set up) plus one tensor per gradient; the
 * arithmetic itself is ~8.5k elements. Here the same update runs as one loop per variable and
 * writes each variable, moment and accumulator back with one `assign`.
 *
 * The contract kept: the optimizer's own state is what is updated, in its own variables (the
 * `<name>/m` and `<name>/v` moments by position, `accBeta1`/`accBeta2`, the iteration count), so
 * `getWeights`/`setWeights`, serialisation and tfjs' own `applyGradients` see no difference and the
 * two can alternate. The arithmetic is tfjs-core's (adam_optimizer.js), op by op in float32: every
 * product, sum, quotient and square root rounded to float32 as each tfjs op stores it, the scalars
 * (beta1, 1 - beta1, epsilon, -learningRate) rounded to float32 as tfjs makes them tensors. On the
 * wasm and cpu backends, whose float32 ops are IEEE-rounded, the results are the same bits as
 * `applyGradients` (test/training/adam.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';

/** One variable and its gradient (same length, row-major), in the order the optimizer's state is kept. */
export interface VariableGradient {
  variable: tf.Variable;
  gradient: Float32Array;
}

interface Moment {
  originalName: string;
  variable: tf.Variable;
}

/** The fields of tfjs-core 4.x's AdamOptimizer this update reads and writes (private there). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: (Moment | undefined)[];
  accumulatedSecondMoment: (Moment | undefined)[];
  incrementIterations(): void;
}

/**
 * The optimizer as {@link applyAdam} can update it: tfjs-core's own AdamOptimizer (not a subclass,
 * which may change the update) with the state fields this version has; else undefined.
 */
export function plainAdam(optimizer: tf.Optimizer | undefined): tf.AdamOptimizer | undefined {
  if (!optimizer || Object.getPrototypeOf(optimizer) !== tf.AdamOptimizer.prototype) return undefined;
  const s = optimizer as unknown as Partial<AdamState>;
  const ok =
    s.accBeta1 instanceof tf.Variable &&
    s.accBeta2 instanceof tf.Variable &&
    Array.isArray(s.accumulatedFirstMoment) &&
    Array.isArray(s.accumulatedSecondMoment) &&
    typeof s.incrementIterations === 'function' &&
    [s.learningRate, s.beta1, s.beta2, s.epsilon].every((v) => typeof v === 'number');
  return ok ? (optimizer as tf.AdamOptimizer) : undefined;
}

function replace(variable: tf.Variable, values: Float32Array): void {
  const t = tf.tensor(values, variable.shape, 'float32');
  variable.assign(t);
  t.dispose();
}

/**
 * One Adam step of `optimizer` (from {@link plainAdam}) over `grads`, as
 * `optimizer.applyGradients` would apply the same gradients as tensors in this order.
 * The gradient buffers are only read.
 */
export function applyAdam(optimizer: tf.AdamOptimizer, grads: readonly VariableGradient[]): void {
  const o = optimizer as unknown as AdamState;
  const f = Math.fround;
  const b1 = f(o.beta1);
  const b2 = f(o.beta2);
  const c1 = f(1 - o.beta1);
  const c2 = f(1 - o.beta2);
  const eps = f(o.epsilon);
  const step = f(-o.learningRate);
  const acc1 = o.accBeta1.dataSync()[0]!;
  const acc2 = o.accBeta2.dataSync()[0]!;
  const d1 = f(1 - acc1);
  const d2 = f(1 - acc2);
  // Checked before anything changes, so that a refused call leaves the state as it was.
  for (const { variable, gradient } of grads) {
    if (gradient.length !== variable.size) throw new RangeError(`applyAdam: the gradient of ${variable.name} has ${gradient.length} values, the variable ${variable.size}`);
  }
  grads.forEach(({ variable, gradient: g }, i) => {
    // Created as applyGradients creates them (zeros, not trainable, named after the variable).
    const first = (o.accumulatedFirstMoment[i] ??= { originalName: `${variable.name}/m`, variable: tf.tidy(() => tf.zerosLike(variable).variable(false)) });
    const second = (o.accumulatedSecondMoment[i] ??= { originalName: `${variable.name}/v`, variable: tf.tidy(() => tf.zerosLike(variable).variable(false)) });
    // dataSync may be the backend's own storage (cpu): read only; the results go to fresh arrays,
    // which the new tensors may keep (cpu does) without copying.
    const m = first.variable.dataSync() as Float32Array;
    const v = second.variable.dataSync() as Float32Array;
    const w = variable.dataSync() as Float32Array;
    const n = w.length;
    const m1 = new Float32Array(n);
    const v1 = new Float32Array(n);
    const w1 = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      const gj = g[j]!;
      const mj = f(f(m[j]! * b1) + f(gj * c1));
      const vj = f(f(v[j]! * b2) + f(f(gj * gj) * c2));
      m1[j] = mj;
      v1[j] = vj;
      // value + (m^ / (sqrt(v^) + eps)) * -lr, m^ = m / (1 - beta1^t), v^ = v / (1 - beta2^t)
      w1[j] = f(f(f(f(mj / d1) / f(f(Math.sqrt(f(vj / d2))) + eps)) * step) + w[j]!);
    }
    replace(first.variable, m1);
    replace(second.variable, v1);
    replace(variable, w1);
  });
  replace(o.accBeta1, Float32Array.of(f(acc1 * b1)));
  replace(o.accBeta2, Float32Array.of(f(acc2 * b2)));
  o.incrementIterations();
}
