import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isSeismoError } from '../../src/errors.js';
import { commit, COMMIT_FILE, readRecord, recover } from '../../src/model/commit.js';

describe('model directory: the redo log', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-commit-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('puts the files and removes the named ones in one unit, leaving nothing staged and other files alone', () => {
    fs.writeFileSync(path.join(dir, 'old.bin'), 'old');
    fs.writeFileSync(path.join(dir, 'mine.txt'), 'user');
    commit(dir, new Map<string, string | Uint8Array>([['a.json', '{}'], ['b.bin', new Uint8Array([1, 2])]]), () => ['old.bin']);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.json', 'b.bin', 'mine.txt']);
    assert.deepEqual([...fs.readFileSync(path.join(dir, 'b.bin'))], [1, 2]);
  });

  it('asks for the removals after finishing an earlier committed write', () => {
    // A write killed after its commit point: the record and its staged file are there.
    fs.writeFileSync(path.join(dir, '.x.json.1-ab.staged'), 'new');
    fs.writeFileSync(path.join(dir, COMMIT_FILE), JSON.stringify({ format: 1, put: { 'x.json': '.x.json.1-ab.staged' }, remove: [] }));
    let seen: string[] = [];
    commit(dir, new Map([['y.json', '{}']]), () => {
      seen = fs.readdirSync(dir).sort();
      return [];
    });
    assert.deepEqual(seen, ['x.json']);
    assert.equal(fs.readFileSync(path.join(dir, 'x.json'), 'utf8'), 'new');
  });

  it('recovers: applies a committed record, and deletes what dead writers left (not what live ones are writing)', () => {
    fs.writeFileSync(path.join(dir, 'gone.bin'), 'x');
    fs.writeFileSync(path.join(dir, '.m.json.2-cd.staged'), 'm');
    fs.writeFileSync(path.join(dir, COMMIT_FILE), JSON.stringify({ format: 1, put: { 'm.json': '.m.json.2-cd.staged' }, remove: ['gone.bin'] }));
    const dead = 2 ** 22 + 12345; // above the usual pid range: no such process
    fs.writeFileSync(path.join(dir, `.n.json.${dead}-ef.staged`), 'uncommitted');
    fs.writeFileSync(path.join(dir, `.seismo-commit.${dead}-ef.tmp`), '{}');
    fs.writeFileSync(path.join(dir, `.p.json.${process.ppid}-01.staged`), 'a live writer');
    recover(dir);
    assert.deepEqual(fs.readdirSync(dir).sort(), [`.p.json.${process.ppid}-01.staged`, 'm.json']);
    assert.equal(readRecord(dir), undefined);
  });

  it('refuses a record that is not JSON or names a path outside the directory', () => {
    fs.writeFileSync(path.join(dir, COMMIT_FILE), '{');
    assert.throws(() => readRecord(dir), (e: unknown) => isSeismoError(e, 'ERR_MODEL_CORRUPT'));
    fs.writeFileSync(path.join(dir, COMMIT_FILE), JSON.stringify({ format: 1, put: { '../x': '.x.staged' }, remove: [] }));
    assert.throws(() => readRecord(dir), (e: unknown) => isSeismoError(e, 'ERR_MODEL_CORRUPT'));
  });
});
