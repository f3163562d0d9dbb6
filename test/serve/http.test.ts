import assert from 'node:assert/strict';
import { finite, finiteOrNull, formatOf, positiveInt, sampleCount, statusOf } from '../../src/serve/http.js';
import { isSeismoError } from '../../src/errors.js';

describe('serve: HTTP conventions', () => {
  it('maps error codes to statuses: overflow 429, conflicts 409, missing 404, our failures 500, the rest 400', () => {
    assert.equal(statusOf('ERR_RING_OVERFLOW'), 429);
    assert.equal(statusOf('ERR_NO_PREVIOUS_VERSION'), 409);
    assert.equal(statusOf('ERR_DISPOSED'), 409);
    assert.equal(statusOf('ERR_NOT_FOUND'), 404);
    assert.equal(statusOf('ERR_MODEL_NOT_FOUND'), 404);
    for (const code of ['ERR_INFERENCE', 'ERR_LEARN', 'ERR_IO', 'ERR_RESOURCE']) assert.equal(statusOf(code), 500, code);
    assert.equal(statusOf('ERR_CSV_PARSE'), 400);
  });

  it('names the ingestion format of a Content-Type (CSV unless binary or JSON)', () => {
    assert.equal(formatOf('application/octet-stream'), 'binary');
    assert.equal(formatOf('application/json; charset=utf-8'), 'json');
    assert.equal(formatOf('text/csv'), 'csv');
    assert.equal(formatOf(undefined), 'csv');
  });

  it('writes JSON without NaN or Infinity', () => {
    assert.equal(JSON.stringify({ a: NaN, b: [1, Infinity], c: 2 }, finiteOrNull), '{"a":null,"b":[1,null],"c":2}');
    assert.equal(finite(-Infinity), null);
    assert.equal(finite(3), 3);
  });

  it('estimates the samples of a refused body without parsing it again', () => {
    assert.equal(sampleCount(Buffer.alloc(3 * (8 + 4 * 2)), 'binary', 2), 3);
    assert.equal(sampleCount([{}, {}], 'json', 2), 2);
    assert.equal(sampleCount('timestamp,a\n1,2\n\n3,4\n', 'csv', 1), 2);
    assert.equal(sampleCount(undefined, 'csv', 1), 0);
  });

  it('checks positive integer options by name', () => {
    assert.equal(positiveInt('feedPoints', 4), 4);
    assert.throws(() => positiveInt('feedPoints', 0), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /feedPoints/.test(e.message));
    assert.throws(() => positiveInt('feedPoints', 1.5), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION'));
  });
});
