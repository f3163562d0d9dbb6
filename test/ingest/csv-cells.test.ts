import assert from 'node:assert/strict';
import { parseNumberCell, parseSimpleDecimal, parseTimestampMs, quoteClipped } from '../../src/ingest/csv-cells.js';
import { mulberry32 } from '../../src/stats/random.js';

describe('ingest: CSV cells', () => {
  it('reads plain decimals on the fast path exactly as Number() does, and leaves the rest to the strict path', () => {
    const rand = mulberry32(7);
    for (let k = 0; k < 5000; k++) {
      const digits = 1 + Math.floor(rand() * 15);
      let s = '';
      for (let d = 0; d < digits; d++) s += String(Math.floor(rand() * 10));
      const dot = Math.floor(rand() * (digits + 1));
      if (dot < digits && rand() < 0.8) s = `${s.slice(0, dot) || '0'}.${s.slice(dot)}`;
      if (rand() < 0.5) s = `-${s}`;
      assert.equal(parseSimpleDecimal(s), Number(s), s);
    }
    for (const s of ['1e5', ' 1', '0x1f', '', '-', '.', 'nan', '1234567890123456']) assert.ok(Number.isNaN(parseSimpleDecimal(s)), s);
    assert.equal(parseNumberCell('1e5'), 1e5);
    assert.equal(parseNumberCell('0x1f'), undefined);
    assert.equal(parseNumberCell('  '), undefined);
    assert.ok(Number.isNaN(parseNumberCell('NaN')!));
    assert.equal(parseNumberCell('-inf'), -Infinity);
  });

  it('parses dates as UTC, with zones, and the same through the per-day cache as without it', () => {
    assert.equal(parseTimestampMs('2024-01-31T12:00:00Z'), Date.UTC(2024, 0, 31, 12));
    assert.equal(parseTimestampMs('2024-01-31 12:00:00+01:00'), Date.UTC(2024, 0, 31, 11));
    // Same day twice: the second goes through the cache.
    assert.equal(parseTimestampMs('2024-02-29 00:00:01'), Date.UTC(2024, 1, 29, 0, 0, 1));
    assert.equal(parseTimestampMs('2024-02-29 23:59:59'), Date.UTC(2024, 1, 29, 23, 59, 59));
    assert.ok(Number.isNaN(parseTimestampMs('2024-02-29 24:00:00')));
    assert.ok(Number.isNaN(parseTimestampMs('2023-02-29 00:00:00')));
    assert.ok(Number.isNaN(parseTimestampMs('2024-04-31')));
  });

  it('quotes a cell for a message, cut with its length said', () => {
    assert.equal(quoteClipped('ab'), '"ab"');
    const long = quoteClipped('x'.repeat(1000));
    assert.ok(long.length < 100 && long.endsWith('(1000 characters)'), long);
  });
});
