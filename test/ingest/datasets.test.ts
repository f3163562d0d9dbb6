import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isSeismoError, type SeismoErrorCode } from '../../src/errors.js';
import { KDD99_COLUMNS, loadKdd99, readKdd99Names } from '../../src/ingest/kdd99.js';
import { loadNab, readNabWindows } from '../../src/ingest/nab.js';
import { loadPowerDemand } from '../../src/ingest/power-demand.js';

const FIXTURES = join(__dirname, '..', 'fixtures', 'ingest');

function seismo(code: SeismoErrorCode, ...parts: string[]) {
  return (err: unknown): boolean => {
    assert.ok(isSeismoError(err, code), `expected ${code}, got ${String(err)}`);
    for (const p of parts) assert.ok(err.message.includes(p), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(p)}`);
    return true;
  };
}

describe('ingest/datasets', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'seismo-datasets-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('NAB', () => {
    const root = join(FIXTURES, 'nab');

    it('loads every series in the windows file with per-row labels (inclusive ends)', async () => {
      const all = await loadNab(root);
      assert.deepEqual(all.map((s) => s.key), ['artificialNoAnomaly/flat.csv', 'realKnownCause/tiny_failure.csv']);
      const s = all[1]!;
      assert.equal(s.name, 'tiny_failure');
      assert.equal(s.category, 'realKnownCause');
      // The repeated 03:00 row is kept (NAB rows are the ground truth) and both copies are labelled.
      assert.equal(s.table.length, 7);
      assert.deepEqual(Array.from(s.labels), [0, 0, 1, 1, 1, 0, 0]);
      assert.equal(s.windows.length, 1);
      assert.equal(s.windows[0]!.start, '2014-03-09 03:00:00.000000');
      assert.equal(s.windows[0]!.startTime, Date.UTC(2014, 2, 9, 3));
      assert.deepEqual([s.windows[0]!.startIndex, s.windows[0]!.endIndex], [2, 5]);
      assert.deepEqual(Array.from(all[0]!.labels), [0, 0, 0]);
    });

    it('filters by category and name, and rejects a filter that matches nothing', async () => {
      assert.deepEqual((await loadNab(root, { categories: ['realKnownCause'] })).map((s) => s.name), ['tiny_failure']);
      assert.deepEqual((await loadNab(root, { names: ['flat'] })).map((s) => s.name), ['flat']);
      await assert.rejects(loadNab(root, { names: ['nyc_taxi'] }), seismo('ERR_INVALID_OPTION', 'nyc_taxi'));
      await assert.rejects(loadNab(root, { categories: ['realTweets'] }), seismo('ERR_INVALID_OPTION', 'realTweets'));
    });

    it('rejects a missing root, bad JSON, a bad window and a missing series file', async () => {
      assert.throws(() => readNabWindows(join(dir, 'nowhere')), seismo('ERR_IO', 'combined_windows.json', 'not found', 'NAB checkout'));
      const bad = join(dir, 'nab');
      await cp(root, bad, { recursive: true });
      const windows = join(bad, 'labels', 'combined_windows.json');
      await writeFile(windows, '{"realKnownCause/tiny_failure.csv": [[');
      await assert.rejects(loadNab(bad), seismo('ERR_JSON_PARSE', 'not valid JSON'));
      await writeFile(windows, '{"realKnownCause/tiny_failure.csv": [["2014-03-09 03:00:00"]]}');
      await assert.rejects(loadNab(bad), seismo('ERR_JSON_PARSE', 'realKnownCause/tiny_failure.csv', '[start, end]'));
      await writeFile(windows, '{"realKnownCause/tiny_failure.csv": [["2014-03-09 05:00:00", "2014-03-09 03:00:00"]]}');
      await assert.rejects(loadNab(bad), seismo('ERR_JSON_PARSE', 'window 0'));
      await writeFile(windows, '{"realKnownCause/gone.csv": []}');
      await assert.rejects(loadNab(bad), seismo('ERR_IO', 'gone.csv', 'not found'));
      await writeFile(windows, '{"realKnownCause/tiny_failure.csv": []}');
      await writeFile(join(bad, 'data', 'realKnownCause', 'tiny_failure.csv'), 'timestamp,value\n2014-03-09 01:00:00,1\n2014-03-09 02:00:00,x\n');
      await assert.rejects(loadNab(bad), seismo('ERR_CSV_PARSE', 'tiny_failure.csv line 3, column 2'));
    });
  });

  describe('KDD Cup 99', () => {
    let gz: string;
    before(async () => {
      gz = join(dir, 'kdd.data.gz');
      await writeFile(gz, gzipSync(await readFile(join(FIXTURES, 'kdd99', 'sample.data'))));
    });

    it('streams a gzip file: 38 numeric features, 0/1 labels, all rows in file order', async () => {
      const d = await loadKdd99(gz);
      assert.equal(d.table.length, 8);
      assert.equal(d.table.channels.length, 38);
      assert.ok(!d.table.channels.some((c) => ['protocol_type', 'service', 'flag', 'label'].includes(c)));
      assert.deepEqual(d.table.channels.slice(0, 3), ['duration', 'src_bytes', 'dst_bytes']);
      assert.deepEqual(Array.from(d.table.frames.subarray(0, 3)), [0, 181, 5450]);
      assert.deepEqual(Array.from(d.labels), [0, 0, 0, 0, 1, 0, 1, 0]);
      assert.deepEqual(d.attacks.slice(3, 5), ['normal', 'ipsweep']);
      assert.deepEqual(Array.from(d.table.time), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.deepEqual(d.segments, [{ service: '*', start: 0, end: 8, attacks: 2 }]);
    });

    it('filters services and concatenates them in the order given (smtp then http)', async () => {
      const d = await loadKdd99(gz, { services: ['smtp', 'http'] });
      assert.deepEqual(d.segments, [
        { service: 'smtp', start: 0, end: 3, attacks: 1 },
        { service: 'http', start: 3, end: 7, attacks: 1 },
      ]);
      assert.deepEqual(Array.from(d.sourceLine), [3, 4, 7, 1, 2, 5, 8]);
      assert.deepEqual(Array.from(d.labels), [0, 0, 1, 0, 0, 1, 0]);
      assert.deepEqual(Array.from(d.table.frames.subarray(0, 3)), [0, 3366, 329]);
    });

    it('reads plain text, picks features, and reads both names-file layouts', async () => {
      const d = await loadKdd99(join(FIXTURES, 'kdd99', 'sample.data'), { features: ['dst_bytes', 'src_bytes'], services: ['http'] });
      assert.deepEqual(d.table.channels, ['dst_bytes', 'src_bytes']);
      assert.deepEqual(Array.from(d.table.frames.subarray(0, 4)), [5450, 181, 486, 239]);
      assert.deepEqual(await readKdd99Names(join(FIXTURES, 'kdd99', 'header-names.txt')), KDD99_COLUMNS);
      assert.deepEqual(await readKdd99Names(join(FIXTURES, 'kdd99', 'uci.names')), KDD99_COLUMNS);
      const viaNames = await loadKdd99(gz, { namesPath: join(FIXTURES, 'kdd99', 'uci.names') });
      assert.deepEqual(viaNames.table.channels, (await loadKdd99(gz)).table.channels);
    });

    it('rejects bad input with typed errors naming line and column', async () => {
      const lines = (await readFile(join(FIXTURES, 'kdd99', 'sample.data'), 'utf8')).trim().split('\n');
      const bad = join(dir, 'bad.data.gz');
      const cells = lines[2]!.split(',');
      cells[4] = 'lots';
      await writeFile(bad, gzipSync([lines[0], lines[1], cells.join(',')].join('\n')));
      await assert.rejects(loadKdd99(bad), seismo('ERR_CSV_PARSE', 'line 3, column 5 ("src_bytes")', 'lots'));
      await writeFile(bad, gzipSync([lines[0], '0,tcp,http,SF,1'].join('\n')));
      await assert.rejects(loadKdd99(bad), seismo('ERR_CSV_PARSE', 'line 2', 'expected 42 columns'));
      await writeFile(bad, gzipSync(lines[0]!).subarray(0, 20));
      await assert.rejects(loadKdd99(bad), seismo('ERR_CSV_PARSE', bad));
      await assert.rejects(loadKdd99(join(dir, 'none.gz')), seismo('ERR_IO', 'not found'));
      await assert.rejects(loadKdd99(gz, { services: ['telnet'] }), seismo('ERR_INVALID_OPTION', 'telnet'));
      await assert.rejects(loadKdd99(gz, { features: ['flag'] }), seismo('ERR_INVALID_OPTION', 'not a numeric feature'));
      await writeFile(join(dir, 'short.names'), 'duration,label\n');
      await assert.rejects(readKdd99Names(join(dir, 'short.names')), seismo('ERR_CSV_PARSE', 'short.names'));
    });
  });

  describe('power demand', () => {
    it('loads the series and its labels', async () => {
      const d = await loadPowerDemand(join(FIXTURES, 'power_demand'));
      assert.deepEqual(d.table.channels, ['demand']);
      assert.deepEqual(Array.from(d.table.frames), [950, 939, 1000, 990]);
      assert.deepEqual(Array.from(d.labels), [1, 1, 0, 0]);
    });

    it('rejects labels that do not cover the series', async () => {
      const pd = join(dir, 'pd');
      await cp(join(FIXTURES, 'power_demand'), pd, { recursive: true });
      await writeFile(join(pd, 'power_demand_labels.csv'), 'timestamp,label\n1997-01-01 00:00:00,1\n');
      await assert.rejects(loadPowerDemand(pd), seismo('ERR_EVAL', 'does not label every row'));
      await assert.rejects(loadPowerDemand(join(dir, 'missing')), seismo('ERR_IO', 'not found'));
    });
  });
});
