/**
 * The kernels keep no per-isolate state (their scratch is per thread): the addon's kernels run in a
 * worker thread and give the same bits as on the main thread.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { loadNative, PACKAGE_ROOT } from '../../src/native';

describe('native training kernels in a worker thread', () => {
  it('run there and match the main thread bit for bit', async () => {
    // A load failure fails this test (the addon is part of the package), it does not skip it.
    const native = loadNative();
    const [N, T, Cin, Cout, k, d] = [3, 20, 4, 5, 2, 3];
    const x = Float32Array.from({ length: N * T * Cin }, (_, i) => Math.sin(i));
    const w = Float32Array.from({ length: k * Cin * Cout }, (_, i) => Math.cos(i));
    const b = Float32Array.from({ length: Cout }, (_, i) => i / 10);
    const y = new Float32Array(N * T * Cout);
    native.convForward(x, w, b, y, N, T, Cin, Cout, k, d);
    // Plain JS in the worker: it loads the same binary the way src/native.ts does.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const native = require(require.resolve('node-gyp-build', { paths: [workerData.root] }))(workerData.root);
       const { x, w, b, dims } = workerData;
       const y = new Float32Array(dims[0] * dims[1] * dims[3]);
       native.convForward(x, w, b, y, ...dims);
       parentPort.postMessage(y);`,
      { eval: true, workerData: { root: PACKAGE_ROOT, x, w, b, dims: [N, T, Cin, Cout, k, d] } },
    );
    const [fromWorker] = (await once(worker, 'message')) as [Float32Array];
    await worker.terminate();
    assert.deepEqual(Array.from(fromWorker), Array.from(y));
  });
});
