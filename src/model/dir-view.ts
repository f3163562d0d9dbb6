/**
 * A consistent view of a model directory that may be mid-commit: each file as the last committed
 * record says it is (without changing anything on disk), confined to the directory, bounded in
 * size, checked against the manifest's checksums; and {@link consistently}, which reads again when
 * a writer committed under the read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SeismoError } from '../errors.js';
import { checkCalibration, CALIBRATION_FILE, type ScoreCalibration } from './calibration-file.js';
import { COMMIT_FILE, readRecord, type CommitRecord } from './commit.js';
import { FileNameSchema, MANIFEST_FILE, ManifestSchema, MODEL_FORMAT_VERSION, type Manifest } from './manifest.js';
import { sha256 } from './weights-format.js';

/** The directory as the last committed record says it is, without changing anything on disk. */
export class DirView {
  private readonly record: CommitRecord | undefined;
  private readonly realDir: string;
  private parsed: { manifest: Manifest; raw: unknown } | undefined;

  constructor(readonly dir: string) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(dir);
    } catch {
      stat = undefined;
    }
    if (!stat?.isDirectory()) throw new SeismoError('ERR_MODEL_NOT_FOUND', `model directory not found: ${dir} (train one with \`seismo train --out ${dir}\`)`, { dir });
    this.realDir = fs.realpathSync(dir);
    this.record = readRecord(dir);
  }

  /** Path holding the current content of `name`, or undefined when the model has no such file. */
  private locate(name: string): string | undefined {
    const staged = this.record?.put[name];
    if (staged !== undefined && fs.existsSync(path.join(this.dir, staged))) return path.join(this.dir, staged);
    if (this.record?.remove.includes(name)) return undefined;
    const file = path.join(this.dir, name);
    return fs.existsSync(file) || isSymlink(file) ? file : undefined;
  }

  exists(name: string): boolean {
    return this.locate(name) !== undefined;
  }

  /**
   * The bytes of `name`, or undefined when absent.
   * @throws SeismoError `ERR_MODEL_CORRUPT` when it is not a regular file inside the directory
   *   or is larger than `maxBytes`.
   */
  read(name: string, what: string, maxBytes: number): Uint8Array | undefined {
    const checkedName = FileNameSchema.safeParse(name);
    if (!checkedName.success) throw new SeismoError('ERR_MODEL_CORRUPT', `${MANIFEST_FILE} names the ${what} file ${JSON.stringify(name)}: not a plain file name inside ${this.dir}`, { dir: this.dir, name });
    const file = this.locate(name);
    if (file === undefined) return undefined;
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch (cause) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `${file} (the ${what}) is a link to nothing`, { file }, { cause });
    }
    if (path.dirname(real) !== this.realDir) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `${file} (the ${what}) links to ${real}, outside the model directory: the files of a model stay inside it`, { file, real });
    }
    const stat = fs.statSync(real);
    if (stat.isDirectory()) throw new SeismoError('ERR_MODEL_CORRUPT', `${file} (the ${what}) is a directory, not a file: put the model's file there (or train again)`, { file });
    if (!stat.isFile()) throw new SeismoError('ERR_MODEL_CORRUPT', `${file} (the ${what}) is not a regular file`, { file });
    if (stat.size > maxBytes) throw new SeismoError('ERR_MODEL_CORRUPT', `${file} (the ${what}) holds ${stat.size} bytes, more than the ${maxBytes} a model's ${what} may`, { file, bytes: stat.size });
    return new Uint8Array(fs.readFileSync(real));
  }

  /** The checked manifest (and its raw JSON, for rewrites that keep unknown fields). */
  manifest(): { manifest: Manifest; raw: unknown } {
    if (this.parsed) return this.parsed;
    const file = path.join(this.dir, MANIFEST_FILE);
    const bytes = this.read(MANIFEST_FILE, 'manifest', 1 << 26);
    if (!bytes) throw new SeismoError('ERR_MODEL_NOT_FOUND', `${file} is missing: not a seismo model directory`, { dir: this.dir });
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (cause) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `${file} is not valid JSON: ${(cause as Error).message}`, { file }, { cause });
    }
    const version = (raw as { formatVersion?: unknown })?.formatVersion;
    if (typeof version === 'number' && version !== MODEL_FORMAT_VERSION) {
      throw new SeismoError(
        'ERR_MODEL_VERSION',
        `${file} has format version ${version}; this seismo reads version ${MODEL_FORMAT_VERSION}. Retrain the model or use the matching seismo release.`,
        { file, version },
      );
    }
    const parsed = ManifestSchema.safeParse(raw);
    if (!parsed.success) throw new SeismoError('ERR_MODEL_CORRUPT', `${file} is not a valid seismo manifest: ${describeIssues(parsed.error)}`, { file });
    this.parsed = { manifest: parsed.data, raw };
    return this.parsed;
  }

  /** Checks `bytes` of `name` against the checksum the manifest records (when it records one). */
  verify(manifest: Manifest, name: string, bytes: Uint8Array): void {
    const expected = manifest.files?.[name];
    if (expected === undefined) return;
    if (sha256(bytes) !== expected) {
      throw new SeismoError(
        'ERR_MODEL_MISMATCH',
        `${path.join(this.dir, name)} is not the file ${MANIFEST_FILE} was written with (its SHA-256 differs): it was changed on disk or copied in from another model. Train or export the model again.`,
        { file: path.join(this.dir, name) },
      );
    }
  }

  calibration(manifest: Manifest | undefined): ScoreCalibration | undefined {
    const bytes = this.read(CALIBRATION_FILE, 'calibration', 1 << 20);
    if (!bytes) return undefined;
    const file = path.join(this.dir, CALIBRATION_FILE);
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (cause) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `${file} is not valid JSON: ${(cause as Error).message}`, { file }, { cause });
    }
    const calibration = checkCalibration(raw, file);
    if (manifest) this.verify(manifest, CALIBRATION_FILE, bytes);
    return calibration;
  }

  /** What changes when a writer commits: the record, and the manifest's inode. */
  static signature(dir: string): string {
    let record = '';
    let inode = '';
    try {
      record = fs.readFileSync(path.join(dir, COMMIT_FILE), 'utf8');
    } catch {
      // no commit in progress
    }
    try {
      inode = String(fs.statSync(path.join(dir, MANIFEST_FILE)).ino);
    } catch {
      // no manifest
    }
    return `${record}|${inode}`;
  }
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Runs `read` on a view of `dir`; when it fails while a writer commits in the same directory
 * (its files changed under the read), reads again: a reader sees the old model or the new one.
 */
export function consistently<T>(dir: string, read: (view: DirView) => T): T {
  for (let attempt = 0; ; attempt++) {
    const before = DirView.signature(dir);
    try {
      return read(new DirView(dir));
    } catch (err) {
      if (attempt >= 4 || DirView.signature(dir) === before) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 * (attempt + 1));
    }
  }
}

/** Zod issues in one line (the first five). */
export function describeIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
