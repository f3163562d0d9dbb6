import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSeismoError, type SeismoErrorCode } from '../../src/errors.js';
import {
  alignLabels, formatFloat32, parseLabelsCsv, parseSeriesCsv, parseTimestampMs, readLabelsCsv, readSeriesCsv,
  writeSeriesCsv, type SeriesTable,
} from '../../src/ingest/csv.js';

const FIXTURES = join(__dirname, '..', 'fixtures', 'ingest');

/** An assert.throws validator: the code, and the line/column the message must name. */
function seismo(code: SeismoErrorCode, ...parts: (string | RegExp)[]) {
  return (err: unknown): boolean => {
    assert.ok(isSeismoError(err, code), `expected ${code}, got ${String(err)}`);
    for (const p of parts) {
      if (typeof p === 'string') assert.ok(err.message.includes(p), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(p)}`);
      else assert.match(err.message, p);
    }
    return true;
  };
}

describe('ingest/csv', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'seismo-csv-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('readSeriesCsv / parseSeriesCsv', () => {
    it('reads the DC-VAE layout from a file', async () => {
      const t = await readSeriesCsv(join(FIXTURES, 'series.csv'));
      assert.deepEqual(t.channels, ['cpu', 'mem']);
      assert.equal(t.length, 3);
      assert.deepEqual(t.timestamps, ['2024-01-01 00:00:00', '2024-01-01 00:01:00', '2024-01-01 00:02:00']);
      assert.deepEqual(Array.from(t.time), [0, 60_000, 120_000].map((d) => Date.UTC(2024, 0, 1) + d));
      assert.deepEqual(Array.from(t.frames), [1.5, 10, 2.25, 11, -3, 12.125]);
      assert.ok(t.frames instanceof Float32Array && t.time instanceof Float64Array);
    });

    it('takes numeric timestamps, blank lines, CRLF, quotes, a BOM and exponents', () => {
      const t = parseSeriesCsv('\uFEFFt,"a,b"\r\n1,1e3\r\n\r\n2.5,"-0.5"\r\n10,0\r\n');
      assert.deepEqual(t.channels, ['a,b']);
      assert.deepEqual(Array.from(t.time), [1, 2.5, 10]);
      assert.deepEqual(Array.from(t.frames), [1000, -0.5, 0]);
      assert.deepEqual(t.timestamps, ['1', '2.5', '10']);
    });

    it('parses ISO-8601 with zones and fractions to epoch ms, zone-less as UTC', () => {
      assert.equal(parseTimestampMs('2024-02-29T12:00:00Z'), Date.UTC(2024, 1, 29, 12));
      assert.equal(parseTimestampMs('2024-02-29T12:00:00+02:00'), Date.UTC(2024, 1, 29, 10));
      assert.equal(parseTimestampMs('2024-02-29 12:00:00.250'), Date.UTC(2024, 1, 29, 12, 0, 0, 250));
      assert.equal(parseTimestampMs('2014-04-10 07:15:00.000000'), Date.UTC(2014, 3, 10, 7, 15));
      assert.equal(parseTimestampMs('2024-03-01'), Date.UTC(2024, 2, 1));
      // The same-day fast path must agree with the full parser, and reject what it rejects.
      assert.equal(parseTimestampMs('2024-03-01 00:00:00'), Date.UTC(2024, 2, 1));
      assert.equal(parseTimestampMs('2024-03-01 23:59:59'), Date.UTC(2024, 2, 1, 23, 59, 59));
      for (const bad of ['2024-03-01 24:00:00', '2024-03-01 12:60:00', '2024-03-01 1a:00:00', '2023-02-29', '2024-13-01', 'yesterday']) {
        assert.ok(Number.isNaN(parseTimestampMs(bad)), bad);
      }
    });

    it('parses cells exactly like Number() on the fast path', () => {
      const cells = ['0', '-0', '007', '1.', '.5', '-12.345678901234', '123456789012345', '1234567890123456789', '0.000000000000000000001', '3.14159265358979'];
      const t = parseSeriesCsv('t,v\n' + cells.map((c, i) => `${i},${c}`).join('\n'));
      assert.deepEqual(Array.from(t.frames), cells.map((c) => Math.fround(Number(c))));
    });

    it('keeps NaN/Infinity with nonFinite: "keep"', () => {
      const t = parseSeriesCsv('t,a,b\n1,NaN,inf\n2,-Infinity,nan\n', { nonFinite: 'keep' });
      assert.ok(Number.isNaN(t.frames[0]));
      assert.equal(t.frames[1], Infinity);
      assert.equal(t.frames[2], -Infinity);
      assert.ok(Number.isNaN(t.frames[3]));
    });

    const cases: [string, string, SeismoErrorCode, ...(string | RegExp)[]][] = [
      ['empty file', '', 'ERR_CSV_PARSE', 'line 1', 'missing header'],
      ['missing header', '1,2\n3,4\n', 'ERR_CSV_PARSE', 'line 1', 'missing header'],
      ['one column', 'timestamp\n1\n', 'ERR_CSV_PARSE', 'line 1', /at least one channel column, found 1/],
      ['duplicate channel', 't,a,a\n1,2,3\n', 'ERR_CSV_PARSE', 'line 1, column 3', 'duplicate'],
      ['empty channel name', 't,,b\n1,2,3\n', 'ERR_CSV_PARSE', 'line 1, column 2', 'empty column name'],
      ['ragged row (extra)', 't,a\n1,2\n2,3,4\n', 'ERR_CSV_PARSE', 'line 3', 'column 3', /expected 2 columns/],
      ['ragged row (missing)', 't,a,b\n1,2,3\n2,3\n', 'ERR_CSV_PARSE', 'line 3', 'column 3', /found 2/],
      ['empty cell', 't,a,b\n1,2,3\n\n2,,4\n', 'ERR_CSV_PARSE', 'line 4, column 2 ("a")', 'empty cell'],
      ['non-numeric cell', 't,a,b\n1,2,3\n2,3,abc\n', 'ERR_CSV_PARSE', 'line 3, column 3 ("b")', 'non-numeric value "abc"'],
      ['hex cell', 't,a\n1,0x1f\n', 'ERR_CSV_PARSE', 'line 2, column 2', 'non-numeric'],
      ['NaN cell', 't,a,b\n1,2,NaN\n', 'ERR_NON_FINITE', 'line 2, column 3 ("b")', "nonFinite: 'keep'"],
      ['Infinity cell', 't,a\n1,-Infinity\n', 'ERR_NON_FINITE', 'line 2, column 2'],
      ['float32 overflow', 't,a\n1,1e39\n', 'ERR_NON_FINITE', 'line 2, column 2', 'overflows float32'],
      ['bad timestamp', 't,a\n2024-01-01,1\n2024-01-0x,2\n', 'ERR_CSV_PARSE', 'line 3, column 1 ("t")', 'cannot parse timestamp'],
      ['date after numeric timestamps', 't,a\n1,1\n2024-01-01,2\n', 'ERR_CSV_PARSE', 'line 3, column 1', 'not a finite number'],
      ['repeated timestamp', 't,a\n1,1\n2,1\n2,1\n', 'ERR_TIMESTAMP_ORDER', 'line 4, column 1', 'repeats', 'line 3'],
      ['backwards timestamp', 't,a\n2024-01-02,1\n2024-01-01,1\n', 'ERR_TIMESTAMP_ORDER', 'line 3, column 1', 'goes backwards', 'line 2'],
    ];
    for (const [name, text, code, ...parts] of cases) {
      it(`rejects: ${name}`, () => {
        assert.throws(() => parseSeriesCsv(text, { source: 'x.csv' }), seismo(code, 'x.csv', ...parts));
      });
    }

    it('names the file and line when a streamed file is bad', async () => {
      const path = join(dir, 'bad.csv');
      await writeFile(path, 'timestamp,a\n1,1\n2,oops\n');
      await assert.rejects(readSeriesCsv(path), seismo('ERR_CSV_PARSE', path, 'line 3, column 2', 'oops'));
    });

    it('counts lines correctly across stream chunks (1 MiB reads)', async () => {
      const path = join(dir, 'long.csv');
      const rows = 120_000; // ~1.8 MB: several stream chunks
      let text = 't,a\n';
      for (let i = 0; i < rows; i++) text += `${i},${i % 7}.5\n`;
      text += `${rows},bad\n`;
      await writeFile(path, text);
      await assert.rejects(readSeriesCsv(path), seismo('ERR_CSV_PARSE', `line ${rows + 2}, column 2`));
      await writeFile(path, text.slice(0, text.lastIndexOf(`${rows},bad`)));
      const t = await readSeriesCsv(path);
      assert.equal(t.length, rows);
      assert.equal(t.frames[rows - 1], ((rows - 1) % 7) + 0.5);
    });

    it('reports a missing file as ERR_IO "not found", not as a parse error', async () => {
      const path = join(dir, 'nope.csv');
      await assert.rejects(readSeriesCsv(path), seismo('ERR_IO', path, 'not found'));
      await assert.rejects(readSeriesCsv(dir), seismo('ERR_IO', 'not a file'));
    });
  });

  describe('labels', () => {
    it('reads timestamp,label and per-channel label columns', async () => {
      const l = await readLabelsCsv(join(FIXTURES, 'labels.csv'));
      assert.deepEqual(Array.from(l.label), [1, 0, 1]);
      assert.deepEqual(l.channelLabels.map((c) => [c.name, Array.from(c.values)]), [['cpu', [1, 0, 0]]]);
    });

    it('aligns labels on time; missing rows are 0, extra label rows ignored', async () => {
      const s = await readSeriesCsv(join(FIXTURES, 'series.csv'));
      const l = await readLabelsCsv(join(FIXTURES, 'labels.csv'));
      assert.deepEqual(Array.from(alignLabels(s, l)), [0, 1, 0]);
      // Same instants written differently still match.
      const iso = parseLabelsCsv('timestamp,label\n2024-01-01T00:00:00Z,1\n2024-01-01T01:02:00+01:00,1\n');
      assert.deepEqual(Array.from(alignLabels(s, iso)), [1, 0, 1]);
    });

    it('rejects labels that match no series row (ERR_EVAL)', async () => {
      const s = await readSeriesCsv(join(FIXTURES, 'series.csv'));
      const l = parseLabelsCsv('timestamp,label\n2030-01-01 00:00:00,1\n');
      assert.throws(() => alignLabels(s, l), seismo('ERR_EVAL', 'no label timestamp matches'));
    });

    it('rejects a labels file without a label column or with non-0/1 values', () => {
      assert.throws(() => parseLabelsCsv('timestamp,anomaly\n1,1\n', { source: 'l.csv' }), seismo('ERR_CSV_PARSE', 'l.csv line 1', '"label" column'));
      assert.throws(() => parseLabelsCsv('timestamp,label\n1,1\n2,2\n', { source: 'l.csv' }), seismo('ERR_CSV_PARSE', 'l.csv line 3, column 2 ("label")', 'must be 0 or 1'));
      assert.throws(() => parseLabelsCsv('timestamp,label\n1,NaN\n'), seismo('ERR_NON_FINITE', 'line 2, column 2'));
    });
  });

  describe('writeSeriesCsv', () => {
    it('round-trips values bit-exactly, with quoting and non-finite values', async () => {
      const values = [0.1, -1e-7, 3.4e38, 123456.789, 1 / 3, 950, -0.5, NaN, Infinity, -Infinity].map(Math.fround);
      const table: SeriesTable = {
        timestamps: values.map((_, i) => `2024-01-01 00:00:0${i}`),
        time: new Float64Array(values.map((_, i) => Date.UTC(2024, 0, 1) + i * 1000)),
        channels: ['a "quoted", name'],
        frames: Float32Array.from(values),
        length: values.length,
      };
      const path = join(dir, 'out.csv');
      await writeSeriesCsv(path, table);
      const text = await readFile(path, 'utf8');
      assert.ok(text.startsWith('timestamp,"a ""quoted"", name"\n2024-01-01 00:00:00,0.1\n'), text.slice(0, 80));
      const back = await readSeriesCsv(path, { nonFinite: 'keep' });
      assert.deepEqual(back.channels, table.channels);
      assert.deepEqual(back.timestamps, table.timestamps);
      assert.deepEqual(Array.from(back.time), Array.from(table.time));
      assert.deepEqual(Array.from(back.frames), Array.from(table.frames));
    });

    it('formats every float32 so that it reads back exactly', () => {
      const buf = new Uint32Array(1);
      const f = new Float32Array(buf.buffer);
      // A deterministic sweep over bit patterns (finite ones only).
      for (let i = 0, x = 12345; i < 20_000; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        buf[0] = x;
        if (!Number.isFinite(f[0]!)) continue;
        const s = formatFloat32(f[0]!);
        assert.equal(Math.fround(Number(s)), f[0], s);
      }
    });

    it('rejects a table whose shape does not add up (ERR_BAD_SHAPE)', async () => {
      const bad: SeriesTable = { timestamps: ['1', '2'], time: new Float64Array([1, 2]), channels: ['a', 'b'], frames: new Float32Array(3), length: 2 };
      await assert.rejects(writeSeriesCsv(join(dir, 'bad-shape.csv'), bad), seismo('ERR_BAD_SHAPE', '3 values'));
      await assert.rejects(writeSeriesCsv(join(dir, 'no-such-dir', 'x.csv'), { ...bad, frames: new Float32Array(4) }), seismo('ERR_IO', 'cannot write', 'not found'));
    });
  });
});
