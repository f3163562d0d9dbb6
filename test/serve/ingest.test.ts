import assert from 'node:assert/strict';
import { SeismoError } from '../../src/errors.js';
import { checkBatch, checkSeriesId, encodeBinaryBatch, parseBinaryBatch, parseCsvRows, parseJsonRows } from '../../src/serve/ingest.js';

const coded = (code: string, row?: number) => (err: unknown) => err instanceof SeismoError && err.code === code && (row === undefined || err.details.row === row);

describe('serve: ingestion bodies', () => {
  const channels = ['a', 'b'];

  it('reads JSON rows as arrays and as objects', () => {
    const b = parseJsonRows([[1, 0.5, 2], { timestamp: 2, values: [3, 4] }], 2);
    assert.deepEqual([...b.timestamps], [1, 2]);
    assert.deepEqual([...b.frames], [0.5, 2, 3, 4]);
  });

  it('names the row of a bad JSON value, and null (what JSON makes of NaN) is not a number', () => {
    assert.throws(() => parseJsonRows([[1, 1, 2], [2, 1]], 2), coded('ERR_BAD_SHAPE', 1));
    assert.throws(() => parseJsonRows([[1, 1, 2], [2, null, 1]], 2), coded('ERR_NON_FINITE', 1));
    assert.throws(() => parseJsonRows([['x', 1, 2]], 2), coded('ERR_BAD_SHAPE', 0));
    assert.throws(() => parseJsonRows({ rows: [] }, 2), coded('ERR_BAD_SHAPE'));
  });

  it('reads CSV with the channels in any order, by name', () => {
    const b = parseCsvRows('timestamp,b,a\n1,20,10\n2,21,11\n', channels);
    assert.deepEqual([...b.timestamps], [1, 2]);
    assert.deepEqual([...b.frames], [10, 20, 11, 21]);
    assert.throws(() => parseCsvRows('timestamp,a,c\n1,2,3\n', channels), coded('ERR_BAD_SHAPE'));
    assert.throws(() => parseCsvRows('timestamp,a,b\n1,2\n', channels), coded('ERR_CSV_PARSE'));
  });

  it('round-trips a binary batch and refuses a length that is not whole samples', () => {
    const frames = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const body = encodeBinaryBatch([10, 11, 12], frames);
    assert.equal(body.byteLength, 3 * (8 + 8));
    const b = parseBinaryBatch(body, 2);
    assert.deepEqual([...b.timestamps], [10, 11, 12]);
    assert.deepEqual([...b.frames], [...frames]);
    assert.throws(() => parseBinaryBatch(body.subarray(0, 20), 2), coded('ERR_BAD_SHAPE'));
  });

  it('checks order against the last accepted sample and finiteness, naming the row', () => {
    const ok = { timestamps: Float64Array.from([5, 6]), frames: new Float32Array(4) };
    assert.equal(checkBatch(ok, channels, 4, 's'), ok);
    assert.throws(() => checkBatch(ok, channels, 5, 's'), coded('ERR_TIMESTAMP_ORDER', 0));
    assert.throws(() => checkBatch({ timestamps: Float64Array.from([1, 3, 3]), frames: new Float32Array(6) }, channels, -Infinity, 's'), coded('ERR_TIMESTAMP_ORDER', 2));
    assert.throws(() => checkBatch({ timestamps: Float64Array.from([1, 2]), frames: Float32Array.from([0, 0, 0, NaN]) }, channels, -Infinity, 's'), coded('ERR_NON_FINITE', 1));
    assert.throws(() => checkBatch({ timestamps: new Float64Array(0), frames: new Float32Array(0) }, channels, -Infinity, 's'), coded('ERR_BAD_SHAPE'));
  });

  it('takes series ids that fit in a URL segment', () => {
    assert.equal(checkSeriesId('host-17.cpu:0'), 'host-17.cpu:0');
    assert.throws(() => checkSeriesId('a/b'), coded('ERR_INVALID_OPTION'));
    assert.throws(() => checkSeriesId('x'.repeat(129)), coded('ERR_INVALID_OPTION'));
  });
});
