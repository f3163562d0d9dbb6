// The shared output slots of the inference workers (src/infer/outbox.ts).
import assert from 'node:assert/strict';
import { Outbox, OutboxViews } from '../../src/infer/outbox';

describe('infer/outbox', () => {
  const layout = { windows: 4, outputs: [{ name: 'score', width: 1 }, { name: 'channel_score', width: 3 }], logTerms: 3 };

  it('hands out at most maxSlots slots, each its own memory, and reuses freed ones', () => {
    const box = new Outbox(layout, 2);
    const a = box.take()!;
    const b = box.take()!;
    assert.notEqual(a, b);
    assert.equal(box.take(), undefined);
    assert.notEqual(box.buffers[a], box.buffers[b]);
    // score [4] + channel_score [12] float32 = 64 bytes, then [4, 3] float64 logs.
    assert.equal(box.buffers[a]!.byteLength, 64 + 96);
    box.give(a);
    assert.equal(box.take(), a);
  });

  it('a worker-side view of a slot writes what the main thread reads, per output and window count', () => {
    const box = new Outbox(layout, 1);
    const slot = box.take()!;
    const worker = new OutboxViews(layout);
    worker.attach(slot, box.buffers[slot]!);
    worker.view(slot, 'channel_score', 2)!.set([1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(box.views.view(slot, 'channel_score', 2)!), [1, 2, 3, 4, 5, 6]);
    assert.equal(box.views.view(slot, 'score', 3)!.length, 3);
    assert.equal(box.views.view(slot, 'attention', 1), undefined);
    assert.equal(box.views.view(slot, 'score', 5), undefined, 'more windows than a slot holds');
  });

  it('logarithms are handed out only for the very spec a worker wrote them with, and forgotten when the slot is taken again', () => {
    const box = new Outbox(layout, 1);
    const slot = box.take()!;
    const spec = { term: 'channel-score' };
    assert.equal(box.logTermsOf(slot, spec, 2), undefined);
    box.logsWith[slot] = spec;
    assert.equal(box.logTermsOf(slot, spec, 2)!.length, 6);
    assert.equal(box.logTermsOf(slot, { term: 'channel-score' }, 2), undefined);
    assert.equal(box.logTermsOf(slot, undefined, 2), undefined);
    box.give(slot);
    assert.equal(box.take(), slot);
    assert.equal(box.logTermsOf(slot, spec, 2), undefined);
  });
});
