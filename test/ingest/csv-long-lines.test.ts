import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { parseLabelsCsv, parseSeriesCsv, streamCsvRows } from '../../src/ingest/csv.js';
import { isSeismoError } from '../../src/errors.js';

describe('CSV ingest: long lines and bounded messages (issue 15)', function () {
  this.timeout(30_000);

  it('parses a line spanning thousands of stream chunks in linear time', async () => {
    // An 8 MB header line arriving in 4 KB pieces (2000 chunks). papaparse alone re-parsed the
    // unfinished line with every chunk: ~6 s here before, quadratic in the line's length.
    const line = 'timestamp,' + 'v'.repeat(8_000_000) + '\n0,1\n1,2\n';
    const pieces: string[] = [];
    for (let i = 0; i < line.length; i += 4096) pieces.push(line.slice(i, i + 4096));
    const rows: string[][] = [];
    const t0 = performance.now();
    await streamCsvRows(Readable.from(pieces), 'pieces', (r) => rows.push(...r));
    const seconds = (performance.now() - t0) / 1000;
    assert.deepEqual(rows.slice(1), [['0', '1'], ['1', '2']]);
    assert.equal(rows[0]![1]!.length, 8_000_000);
    assert.ok(seconds < 2, `8 MB line in ${pieces.length} chunks took ${seconds.toFixed(2)} s`);
  });

  it('keeps rows, quoted line breaks and CRLF intact across re-chunked pieces', async () => {
    // papaparse guesses the line break from the first chunk, so that one holds the header line
    // (as a real read of 64 KB or more does); the rest arrives in pieces cut anywhere, also
    // between '\r' and '\n' and inside the quoted cell.
    const head = 'timestamp,"a\r\nb"\r\n';
    const text = '0,1\r\n1,"2\r\n3"\r\n2,3\r\n';
    for (const size of [1, 2, 3, 5, 7, 64]) {
      const pieces: string[] = [head];
      for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
      const rows: string[][] = [];
      await streamCsvRows(Readable.from(pieces), 'crlf', (r) => rows.push(...r));
      assert.deepEqual(rows.filter((r) => !(r.length === 1 && r[0] === '')), [['timestamp', 'a\r\nb'], ['0', '1'], ['1', '2\r\n3'], ['2', '3']], `pieces of ${size}`);
    }
  });

  it('bounds the message for a megabyte cell: names line and column, quotes only a prefix', () => {
    const text = 'timestamp,value\n0,' + '1'.repeat(1_000_000) + '\n';
    assert.throws(() => parseSeriesCsv(text), (e: unknown) => {
      assert.ok(isSeismoError(e, 'ERR_NON_FINITE'));
      assert.ok(e.message.length < 400, `message of ${e.message.length} characters`);
      assert.match(e.message, /line 2, column 2 \("value"\).*\(1000000 characters\)/);
      assert.ok(JSON.stringify(e.details).length < 1000);
      return true;
    });
    assert.throws(() => parseSeriesCsv('timestamp,value\n0,x' + 'y'.repeat(100_000) + '\n'), (e: unknown) => isSeismoError(e, 'ERR_CSV_PARSE') && e.message.length < 400);
  });

  it('bounds the message for a 100k-column labels header: the first columns and a count', () => {
    const names = Array.from({ length: 100_000 }, (_, i) => `col${i}`);
    const text = 'timestamp,' + names.join(',') + '\n0,' + names.map(() => '0').join(',') + '\n';
    assert.throws(() => parseLabelsCsv(text), (e: unknown) => {
      assert.ok(isSeismoError(e, 'ERR_CSV_PARSE'));
      assert.ok(e.message.length < 400, `message of ${e.message.length} characters`);
      assert.match(e.message, /100001 columns: "timestamp", "col0", "col1", "col2", "col3" and 99996 more/);
      return true;
    });
  });
});
