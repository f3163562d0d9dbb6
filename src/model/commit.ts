/**
 * The redo log that writes a model directory as one unit (the design is in `./model-dir.ts`'s
 * comment): every new file is staged under a hidden name and fsynced, one record naming the
 * renames and deletions is renamed into place (the commit point), then applied. A record found
 * later is applied again (idempotent); leftovers of killed writers are deleted.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fsyncPath, processAlive, writeDurable } from '../atomic-file.js';
import { SeismoError } from '../errors.js';

/** The commit record's name while a write is committed but not yet applied. */
export const COMMIT_FILE = '.seismo-commit.json';

/** The redo record: staged file -> final name, then files to delete. */
export interface CommitRecord {
  format: 1;
  /** Final name -> staging name (both inside the directory). */
  put: Record<string, string>;
  remove: string[];
}

/**
 * Stages `put` (file name -> content), commits the record, applies it. `removals` is asked, once
 * an earlier committed write is finished, for the files to delete in the same unit.
 */
export function commit(dir: string, put: Map<string, string | Uint8Array>, removals: () => string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  recover(dir);
  const remove = removals();
  const token = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const record: CommitRecord = { format: 1, put: {}, remove };
  const written: string[] = [];
  try {
    for (const [name, content] of put) {
      const staged = `.${name}.${token}.staged`;
      written.push(staged);
      writeDurable(path.join(dir, staged), content);
      record.put[name] = staged;
    }
    const tmp = `.seismo-commit.${token}.tmp`;
    written.push(tmp);
    writeDurable(path.join(dir, tmp), JSON.stringify(record));
    fs.renameSync(path.join(dir, tmp), path.join(dir, COMMIT_FILE)); // the commit point
  } catch (err) {
    for (const name of written) fs.rmSync(path.join(dir, name), { force: true });
    throw err;
  }
  fsyncDir(dir);
  apply(dir, record);
}

/** Carries out a committed record; idempotent, so a reader's or a second writer's replay is harmless. */
function apply(dir: string, record: CommitRecord): void {
  for (const [name, staged] of Object.entries(record.put)) {
    try {
      fs.renameSync(path.join(dir, staged), path.join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // already applied
    }
  }
  for (const name of record.remove) fs.rmSync(path.join(dir, name), { force: true });
  fsyncDir(dir);
  fs.rmSync(path.join(dir, COMMIT_FILE), { force: true });
}

/**
 * Finishes a write that was committed but not applied, and deletes what killed writers left
 * behind: staging files of uncommitted writes and temp files, of processes no longer alive.
 */
export function recover(dir: string): void {
  const record = readRecord(dir);
  if (record) apply(dir, record);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    // `.<file>.<pid>-<hex>.staged`, `.seismo-commit.<pid>-<hex>.tmp`, and writeFileAtomic's `.<file>.<pid>.tmp`.
    const m = /^\..+\.(\d+)(?:-[0-9a-f]+)?\.(?:staged|tmp)$/.exec(name);
    // Our own leftovers are from a write that already failed.
    if (m && (Number(m[1]) === process.pid || !processAlive(Number(m[1])))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

function fsyncDir(dir: string): void {
  try {
    fsyncPath(dir);
  } catch {
    // Best effort: some file systems refuse to fsync a directory; the renames are still ordered for readers.
  }
}

export function readRecord(dir: string): CommitRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, COMMIT_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let record: CommitRecord;
  try {
    record = JSON.parse(text) as CommitRecord;
  } catch (cause) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${path.join(dir, COMMIT_FILE)} is not valid JSON: ${(cause as Error).message}`, { dir }, { cause });
  }
  const names = [...Object.keys(record?.put ?? {}), ...Object.values(record?.put ?? {}), ...(Array.isArray(record?.remove) ? record.remove : [null])];
  if (record?.format !== 1 || !names.every((n) => typeof n === 'string' && !n.includes('/') && !n.includes('\\') && n !== '..' && n !== '.')) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${path.join(dir, COMMIT_FILE)} is not a seismo commit record`, { dir });
  }
  return record;
}
