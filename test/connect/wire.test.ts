// The wire contract without a server: partition hashing, entry and checkpoint encodings.
import assert from 'node:assert/strict';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/connect/checkpoint.js';
import { fnv1a32, partitionOf, partitionStream } from '../../src/connect/partition.js';
import { decodeEntry, encodeEntry, parseResult, resultFields } from '../../src/connect/wire.js';
import { isSeismoError } from '../../src/errors.js';

describe('connect: wire contract', () => {
  it('hashes series ids with FNV-1a 32 over UTF-8, as producers in other languages do', () => {
    // The published FNV-1a test vectors.
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
    // Multi-byte UTF-8 (checked against a Python implementation over str.encode()).
    assert.equal(fnv1a32('датчик-1'), 0x3eb7cb4a);
    assert.equal(partitionOf('датчик-1', 8), 0x3eb7cb4a % 8);
    assert.equal(partitionStream('in', 3), 'in:3');
    assert.throws(() => partitionOf('x', 0), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION'));
  });

  it('decodes JSON and binary entries to the same samples', () => {
    const t = [10, 20, 30];
    const x = [1, 2, 3, 4, 5, 6];
    for (const binary of [true, false]) {
      const b = decodeEntry(encodeEntry('s', t, x, 2, binary), 2);
      assert.equal(b.seriesId, 's');
      assert.deepEqual(Array.from(b.timestamps), t);
      assert.deepEqual(Array.from(b.frames), x);
    }
  });

  it('rejects bad entries with a code and a reason', () => {
    const code = (fields: string[], c: string) => assert.throws(() => decodeEntry(fields, 2), (e: unknown) => isSeismoError(e) && e.code === c);
    code(['t', '[1]', 'x', '[[1,2]]'], 'ERR_BAD_ENTRY');
    code(['series', 's', 't', '[1]'], 'ERR_BAD_ENTRY');
    code(['series', 's', 't', '[1]', 'x', '[[1,2'], 'ERR_BAD_ENTRY');
    code(['series', 's', 't', '[1]', 'x', '[[1,2,3]]'], 'ERR_BAD_SHAPE');
    code(['series', 's', 't', '[1, 2]', 'x', '[[1,2]]'], 'ERR_BAD_SHAPE');
    code(['series', 's', 't', '[1]', 'x', '[[1,null]]'], 'ERR_NON_FINITE');
    code(['series', 's', 't', '[2, 1]', 'x', '[[1,2],[3,4]]'], 'ERR_TIMESTAMP_ORDER');
    code(['series', 's', 't', '[]', 'x', '[]'], 'ERR_BAD_ENTRY');
    const nan = encodeEntry('s', [1], [1, NaN], 2, true) as (string | Buffer)[];
    assert.throws(() => decodeEntry(nan, 2), (e: unknown) => isSeismoError(e, 'ERR_NON_FINITE'));
    const short = encodeEntry('s', [1], [1, 2], 2, true) as (string | Buffer)[];
    assert.throws(() => decodeEntry(short, 3), (e: unknown) => isSeismoError(e, 'ERR_BAD_SHAPE'));
  });

  it('round-trips results at full precision and checkpoints exactly', () => {
    const score = Math.fround(0.1234567);
    const r = parseResult(resultFields({ src: '1-0', seriesId: 's', timestamp: 1.5, score, threshold: Infinity, anomaly: true, normalized: NaN }));
    assert.deepEqual(r, { src: '1-0', seriesId: 's', timestamp: 1.5, score, threshold: Infinity, anomaly: true, normalized: NaN });
    const c = { model: 'abc', modelVersion: 1, frames: 9, windows: 2, lastTime: 99, tailTimes: Float64Array.from([98, 99]), tailFrames: Float32Array.from([1, 2, 3, 4]), normalizer: { n: 3 } };
    assert.deepEqual(decodeCheckpoint(encodeCheckpoint(c), 's', 2), c);
    assert.throws(() => decodeCheckpoint(encodeCheckpoint(c), 's', 3), (e: unknown) => isSeismoError(e, 'ERR_CONNECTOR'));
    assert.throws(() => decodeCheckpoint('{"v": 99}', 's', 2), (e: unknown) => isSeismoError(e, 'ERR_CONNECTOR'));
  });
});
