import assert from 'node:assert/strict';
import path from 'node:path';
import { once } from 'node:events';
import { startWorker } from '../../src/infer/start-worker.js';
import * as ort from 'onnxruntime-node';
import { attachFrameRings, FrameRings } from '../../src/window/frame-rings.js';
import { isSeismoError } from '../../src/errors.js';
import { forEachRingImplementation } from '../helpers/ring-implementations.js';

/** Frames 0..n-1 of `channels` floats whose values encode (frame, channel): frame * 10 + channel. */
function frames(from: number, n: number, channels: number): Float32Array {
  const out = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = (from + i) * 10 + c;
  return out;
}

forEachRingImplementation((implementation) => {
  describe('FrameRings', () => {
    it('keeps every retained span contiguous across the wrap point', () => {
      const rings = new FrameRings({ channels: 3, capacity: 5, slots: 2 });
      let written = 0;
      // Push in uneven chunks so that spans start at every offset of the ring.
      for (const n of [2, 3, 1, 4, 2, 5, 3]) {
        rings.release(1, Math.max(0, written + n - 5));
        written = rings.push(1, frames(written, n, 3));
        const from = Math.max(0, written - 5);
        const span = rings.span(1, from, written);
        assert.deepEqual(Array.from(span), Array.from(frames(from, written - from, 3)), `after ${written} frames`);
      }
      assert.equal(written, 20);
      // Slot 0 was never touched.
      assert.deepEqual(Array.from(rings.view.subarray(0, 30)), new Array(30).fill(0));
      rings.dispose();
    });

    it('is zero copy: a view sees a later native write, and an ORT tensor shares the memory', () => {
      const rings = new FrameRings({ channels: 2, capacity: 8 });
      rings.push(0, frames(0, 4, 2));
      const span = rings.span(0, 0, 4);
      assert.equal(span.buffer, rings.view.buffer);
      const tensor = new ort.Tensor('float32', span, [4, 2]);
      rings.release(0, 4);
      // Frames 8..11 land on the rows of 0..3 (capacity 8): the old view must see them.
      rings.push(0, frames(4, 8, 2));
      assert.deepEqual(Array.from(span), Array.from(frames(8, 4, 2)));
      assert.deepEqual(Array.from(tensor.data as Float32Array), Array.from(frames(8, 4, 2)));
      rings.dispose();
    });

    it('reports which arena it stands on', () => {
      const rings = new FrameRings({ channels: 1, capacity: 2 });
      assert.equal(rings.implementation, implementation);
      rings.dispose();
    });

    if (implementation === 'typescript') {
      // Its memory is an ordinary ArrayBuffer: the inference worker gets copies of spans instead
      // (InferenceWorker.runArena), so attaching from another thread is refused by name.
      it('is viewed by id on its own thread only', async () => {
        const rings = new FrameRings({ channels: 4, capacity: 16, slots: 3 });
        rings.push(2, frames(0, 3, 4));
        const row = rings.rowOf(2, 0);
        assert.deepEqual(Array.from(attachFrameRings(rings.id).view.subarray(row * 4, (row + 3) * 4)), Array.from(frames(0, 3, 4)));
        const worker = startWorker(path.join(__dirname, '../helpers/ring-reader.worker.ts'), { workerData: { id: rings.id } });
        const [err] = (await once(worker, 'error')) as [Error & { code?: string }];
        assert.equal(err.code, 'ERR_DISPOSED');
        assert.match(err.message, /not shared between threads/);
        rings.dispose();
      });
    }

    if (implementation === 'native') it('is readable from a worker thread without copies, including later writes', async () => {
      const rings = new FrameRings({ channels: 4, capacity: 16, slots: 3 });
      const worker = startWorker(path.join(__dirname, '../helpers/ring-reader.worker.ts'), { workerData: { id: rings.id } });
      try {
        assert.equal((await once(worker, 'message'))[0], 'ready');
        rings.push(2, frames(0, 3, 4));
        const row = rings.rowOf(2, 0);
        worker.postMessage({ from: row * 4, to: (row + 3) * 4 });
        assert.deepEqual((await once(worker, 'message'))[0], Array.from(frames(0, 3, 4)));
        rings.push(2, frames(3, 2, 4));
        worker.postMessage({ from: row * 4, to: (row + 5) * 4 });
        assert.deepEqual((await once(worker, 'message'))[0], Array.from(frames(0, 5, 4)));
      } finally {
        worker.postMessage('exit');
        await once(worker, 'exit');
        rings.dispose();
      }
    });

    it('rejects an overflowing push whole under the reject policy, writing nothing', () => {
      const rings = new FrameRings({ channels: 2, capacity: 4 });
      rings.push(0, frames(0, 3, 2));
      const before = Array.from(rings.view);
      assert.throws(() => rings.push(0, frames(3, 2, 2)), (err: unknown) => isSeismoError(err, 'ERR_RING_OVERFLOW') && /release/.test((err as Error).message));
      assert.deepEqual(Array.from(rings.view), before);
      assert.deepEqual(rings.state(0), { written: 3, released: 0, dropped: 0 });
      rings.release(0, 1);
      assert.equal(rings.push(0, frames(3, 2, 2)), 5);
      rings.dispose();
    });

    it('counts what drop-oldest overwrites', () => {
      const rings = new FrameRings({ channels: 1, capacity: 4, overflow: 'drop-oldest' });
      rings.push(0, frames(0, 3, 1));
      rings.release(0, 1);
      rings.push(0, frames(3, 4, 1)); // live 2 + 4 = 6 > 4: frames 1 and 2 are lost
      assert.deepEqual(rings.state(0), { written: 7, released: 3, dropped: 2 });
      assert.deepEqual(Array.from(rings.span(0, 3, 7)), [30, 40, 50, 60]);
      // A push larger than the capacity keeps its last `capacity` frames.
      rings.push(0, frames(7, 6, 1));
      assert.deepEqual(Array.from(rings.span(0, 9, 13)), [90, 100, 110, 120]);
      // 4 live frames overwritten and 2 of the push's own never stored: 2 + 6 lost in all.
      assert.equal(rings.state(0).dropped, 8);
      rings.dispose();
    });

    it('gives typed errors for bad shapes, bad options and use after dispose', () => {
      assert.throws(() => new FrameRings({ channels: 0, capacity: 4 }), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION'));
      assert.throws(() => new FrameRings({ channels: 2, capacity: 4, overflow: 'wait' as never }), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION'));
      const rings = new FrameRings({ channels: 2, capacity: 4 });
      assert.throws(() => rings.push(0, new Float32Array(3)), (e: unknown) => isSeismoError(e, 'ERR_BAD_SHAPE'));
      assert.throws(() => rings.push(1, new Float32Array(2)), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION'));
      assert.throws(() => rings.release(0, 5), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION'));
      rings.push(0, frames(0, 2, 2));
      const view = rings.view;
      rings.dispose();
      assert.throws(() => rings.push(0, new Float32Array(2)), (e: unknown) => isSeismoError(e, 'ERR_DISPOSED'));
      // dispose() frees the memory at once: views taken on this thread are detached (length 0),
      // never left pointing at freed memory.
      assert.equal(view.length, 0);
      rings.dispose(); // a second dispose does nothing
    });
  });
});
