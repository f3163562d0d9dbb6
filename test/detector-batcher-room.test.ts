// WindowBatcher.room() from its own copy of each ring's `released` mark (not asked of the ring
// per call): random stores, batches and releases under both overflow policies, the room checked
// against the ring's own counters after every step, on both ring implementations.
import assert from 'node:assert/strict';
import { WindowBatcher } from '../src/detector/batcher.js';
import type { LiveModel } from '../src/detector/versions.js';
import { isSeismoError } from '../src/errors.js';
import { mulberry32 } from '../src/stats/random.js';
import type { OverflowPolicy } from '../src/window/frame-rings.js';
import { forEachRingImplementation } from './helpers/ring-implementations.js';

// `next()` only reads the version's rule, to hand it to the batch; nothing here decides.
const model = { rule: {} } as unknown as LiveModel;

function runSequence(seed: number, overflow: OverflowPolicy): void {
  const rand = mulberry32(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const window = 1 + int(4);
  const stride = 1 + int(2);
  const capacity = window + stride + int(8);
  const slots = 1 + int(3);
  const batcher = new WindowBatcher({ window, stride, channels: 2, capacity, batchSize: 1 + int(6), maxSeries: slots, overflow });
  try {
    for (let s = 0; s < slots; s++) batcher.slotFor(`s${s}`);
    const held: ReturnType<WindowBatcher['next']>[] = [];
    const time = new Float64Array(capacity + 4);
    let clock = 0;
    for (let step = 0; step < 300; step++) {
      const op = rand();
      if (op < 0.6) {
        const slot = int(slots);
        const count = 1 + int(overflow === 'drop-oldest' ? capacity + 3 : 3);
        for (let i = 0; i < count; i++) time[i] = clock++;
        try {
          batcher.store(slot, time, 0, new Float32Array(count * 2), count);
        } catch (err) {
          // Reject: a full ring refuses the push whole; the room then says so.
          assert.ok(isSeismoError(err, 'ERR_RING_OVERFLOW'), `seed ${seed} step ${step}: ${String(err)}`);
          assert.ok(batcher.room(slot) < count, `seed ${seed} step ${step}: refused ${count} frames with room ${batcher.room(slot)}`);
        }
      } else if (op < 0.8) {
        const batch = batcher.next(model, rand() < 0.5);
        if (batch) held.push(batch);
      } else if (held.length > 0) {
        // Batches come back in dispatch order, as the pipeline delivers them.
        batcher.release(held.shift()!);
      }
      for (let slot = 0; slot < slots; slot++) {
        const state = batcher.rings.state(slot);
        assert.equal(batcher.room(slot), capacity - (state.written - state.released), `seed ${seed} step ${step} slot ${slot} (${overflow})`);
      }
    }
  } finally {
    batcher.dispose();
  }
}

describe('WindowBatcher.room', () => {
  forEachRingImplementation(() => {
    for (const overflow of ['reject', 'drop-oldest'] as const) {
      it(`equals the ring's own room after random stores, batches and releases (${overflow})`, () => {
        for (let seed = 1; seed <= 40; seed++) runSequence(seed, overflow);
      });
    }
  });
});
