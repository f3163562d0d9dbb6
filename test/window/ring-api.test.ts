import assert from 'node:assert/strict';
import { FrameRings } from '../../src/window/frame-rings.js';
import { isSeismoError } from '../../src/errors.js';
import { ringArenas } from '../../src/native.js';
import { forEachRingImplementation } from '../helpers/ring-implementations.js';

/** Frames `from..from+n-1` of `channels` floats whose values encode (frame, channel): frame * 10 + channel. */
function frames(from: number, n: number, channels: number): Float32Array {
  const out = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = (from + i) * 10 + c;
  return out;
}

/** Both copies of every retained frame of `slot` (the ring row and its mirror) hold `expected(k)`. */
function assertRetained(rings: FrameRings, slot: number, expected: (frame: number) => Float32Array): void {
  const { written } = rings.state(slot);
  const from = Math.max(0, written - rings.capacity);
  const ch = rings.channels;
  for (let k = from; k < written; k++) {
    const row = rings.rowOf(slot, k);
    const want = Array.from(expected(k));
    const primary = slot * 2 * rings.capacity + (k % rings.capacity);
    assert.deepEqual(Array.from(rings.view.subarray(primary * ch, (primary + 1) * ch)), want, `frame ${k} (row)`);
    const mirror = primary + rings.capacity;
    assert.deepEqual(Array.from(rings.view.subarray(mirror * ch, (mirror + 1) * ch)), want, `frame ${k} (mirror)`);
    assert.ok(row === primary);
  }
}

forEachRingImplementation((implementation) => {
  describe('FrameRings: ring API edge cases (issue 15)', () => {
    it('pushes a span of its own slot into that slot (aliasing memory): data and mirror are right', () => {
      for (const policy of ['reject', 'drop-oldest'] as const) {
        const capacity = 8;
        const rings = new FrameRings({ channels: 3, capacity, slots: 2, overflow: policy });
        // Frames 0..7, then the retained span [2, 8) is pushed again: frames 8..13 repeat 2..7.
        rings.push(0, frames(0, 8, 3));
        rings.release(0, 8);
        const values: Float32Array[] = [];
        for (let k = 0; k < 8; k++) values.push(frames(k, 1, 3));
        for (let round = 0; round < 5; round++) {
          const { written } = rings.state(0);
          const from = written - 6;
          const span = rings.span(0, from, written);
          for (let k = from; k < written; k++) values[k + 6] = values[k]!;
          rings.push(0, span);
          rings.release(0, written + 6);
          assertRetained(rings, 0, (k) => values[k]!);
        }
        // A span of one slot pushed into another slot of the same arena.
        rings.push(1, rings.span(0, rings.state(0).written - 8, rings.state(0).written));
        const w0 = rings.state(0).written;
        assertRetained(rings, 1, (k) => values[w0 - 8 + k]!);
        rings.dispose();
      }
    });

    it('counts every lost frame under drop-oldest, also for a push larger than the capacity', () => {
      const rings = new FrameRings({ channels: 1, capacity: 4, overflow: 'drop-oldest' });
      rings.push(0, frames(0, 3, 1)); // 3 live, unreleased
      rings.push(0, frames(3, 10, 1)); // 13 written, 4 retained: 9 frames never scored
      assert.deepEqual(rings.state(0), { written: 13, released: 9, dropped: 9 });
      rings.release(0, 13);
      rings.push(0, frames(13, 6, 1)); // nothing live; 2 of the new frames are lost
      assert.deepEqual(rings.state(0), { written: 19, released: 15, dropped: 11 });
      assertRetained(rings, 0, (k) => frames(k, 1, 1));
      rings.dispose();
    });

    it('refuses slot numbers that are not integers in range with ERR_INVALID_OPTION, writing nothing', () => {
      const rings = new FrameRings({ channels: 1, capacity: 4, slots: 2 });
      for (const slot of [1.5, Number.NaN, -1, 2, 2 ** 32, 2 ** 32 + 1, Infinity, -0.5, '1' as unknown as number]) {
        for (const call of [
          () => rings.push(slot, frames(0, 1, 1)),
          () => rings.release(slot, 0),
          () => rings.state(slot),
          () => rings.span(slot, 0, 0),
          () => rings.rowOf(slot, 0),
        ]) {
          assert.throws(call, (e: unknown) => isSeismoError(e) && e.code === 'ERR_INVALID_OPTION' && /slot/.test(e.message), `slot ${String(slot)}`);
        }
      }
      assert.deepEqual(rings.state(0), { written: 0, released: 0, dropped: 0 });
      assert.deepEqual(rings.state(1), { written: 0, released: 0, dropped: 0 });
      for (const upTo of [1.5, Number.NaN, -1]) {
        assert.throws(() => rings.release(0, upTo), (e: unknown) => isSeismoError(e) && e.code === 'ERR_INVALID_OPTION');
      }
      rings.dispose();
    });
  });

  describe('FrameRings: the arena\'s memory is returned (issue 15)', function () {
    this.timeout(60_000);
    const MiB = 1024 * 1024;
    /** 60 arenas of 64 MiB, one after the other; returns the peak RSS growth over the loop, in MiB. */
    async function cycle(dispose: boolean): Promise<number> {
      await new Promise((r) => setImmediate(r));
      const base = process.memoryUsage().rss;
      let peak = 0;
      const capacity = (64 * MiB) / 32;
      // A full ring writes every page of the block (rows and mirror): untouched pages of a fresh
      // allocation would not show in RSS at all.
      const full = new Float32Array(capacity * 4).fill(1);
      for (let i = 0; i < 60; i++) {
        // 64 MiB: 1 slot * 2 * capacity rows * 4 channels * 4 bytes.
        const rings = new FrameRings({ channels: 4, capacity });
        rings.push(0, full);
        if (dispose) {
          rings.dispose();
          assert.equal(rings.view.length, 0, 'the view is detached at dispose');
        }
        await new Promise((r) => setImmediate(r));
        peak = Math.max(peak, process.memoryUsage().rss - base);
      }
      return peak / MiB;
    }

    it('frees the block at dispose(): 60 cycles of 64 MiB stay far below 60 * 64 MiB', async () => {
      const growth = await cycle(true);
      assert.ok(growth < 160, `RSS grew by ${growth.toFixed(0)} MiB over 60 disposed 64 MiB arenas`);
    });

    // Not a fail-first test here: with this loop V8 collected the old arenas anyway (peak 290 MiB
    // before the change, 225 MiB after); it guards the accounting against regressions.
    it('reports the memory to the GC, so arenas dropped without dispose() are collected', async () => {
      const growth = await cycle(false);
      assert.ok(growth < 1536, `RSS grew by ${growth.toFixed(0)} MiB over 60 dropped 64 MiB arenas`);
    });

    it('the arena under FrameRings is zeroed memory of the right size, refuses bad shapes, and detaches at dispose', () => {
      const { RingArena } = ringArenas();
      const arena = new RingArena(3, 4, 2);
      const view = new Float32Array(arena.buffer());
      assert.equal(view.length, 2 * 2 * 4 * 3);
      assert.ok(view.every((v) => v === 0));
      for (const shape of [[0, 4, 2], [3, 0, 2], [3, 4, 0], [3, 2 ** 31, 2 ** 31]] as [number, number, number][]) {
        assert.throws(() => new RingArena(...shape), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_OPTION', `shape ${shape.join('x')}`);
      }
      arena.dispose();
      assert.equal(view.length, 0);
      assert.throws(() => arena.buffer(), (e: Error & { code?: string }) => e.code === 'ERR_DISPOSED');
    });
  });
});
