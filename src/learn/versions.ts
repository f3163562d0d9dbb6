/**
 * The versions an online learner makes, as folders a person can read: `v0001`, `v0002`, ... in
 * its work folder, the same names in the CLI's output, the update records and the page.
 *
 * Names only move forward. The next name is one above the highest ever given in the work folder
 * (its folders, and the ledger `updates.jsonl`, which remembers names whose folders were pruned)
 * and above the starting model's own name, so a re-run, or a run continuing from a version made
 * elsewhere, never reuses a name. Every update attempt, accepted or not, is appended to
 * `updates.jsonl` (fsync'd): the versions' history, and the record of which labels each used.
 * The model a learner starts from is named by its `version.json`
 * when a learner made it; a model from `seismo train` is `v0000`.
 *
 * Ownership: a learner prunes only the folders it made itself in this run, never the model it
 * started from nor any earlier run's versions (another process may be serving them).
 *
 * A version folder is written whole beside its final name and renamed into place after an fsync,
 * so a folder named `vNNNN` is always a complete model directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { appendDurable, fsyncPath, processAlive } from '../atomic-file.js';
import { SeismoError } from '../errors.js';
import { type ModelDir, type ScoreCalibration, type WeightTensor, writeCalibration, writeModelDir, writeWeights } from '../model/model-dir.js';
import type { Manifest } from '../model/manifest.js';

/** File in a version folder saying which version it is and how it was made. */
export const VERSION_FILE = 'version.json';
/** Append-only list of the update attempts made in a work folder (one JSON record per line). */
export const LEDGER_FILE = 'updates.jsonl';
/** The name of a model no learner made (e.g. from `seismo train`). */
export const BASE_VERSION = 'v0000';

/** What `version.json` holds. */
export interface VersionInfo {
  /** `vNNNN`. */
  name: string;
  /** The version it was made from. */
  parent: string;
  /** ISO time it was written. */
  createdAt: string;
  /** How it was made (the learner's update record, JSON-safe). */
  record?: unknown;
}

/** `v` and the sequence number, zero-padded to at least four digits: `v0005`, `v12345`. */
export function versionName(sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new SeismoError('ERR_INVALID_OPTION', `version sequence must be an integer >= 0, got ${sequence}`);
  return `v${String(sequence).padStart(4, '0')}`;
}

/** The sequence number of a version name, undefined when `name` is not one. */
export function versionSequence(name: string): number | undefined {
  const m = /^v(\d{4,})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Reads a version folder's `version.json`; undefined when it has none (a model no learner made). */
export function readVersionInfo(dir: string): VersionInfo | undefined {
  const file = path.join(dir, VERSION_FILE);
  if (!fs.existsSync(file)) return undefined;
  let v: Partial<VersionInfo>;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<VersionInfo>;
  } catch (cause) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${file} is not JSON: ${(cause as Error).message}`, { file }, { cause });
  }
  if (typeof v.name !== 'string' || versionSequence(v.name) === undefined) throw new SeismoError('ERR_MODEL_CORRUPT', `${file}: 'name' must be a version name like v0005`, { file });
  return v as VersionInfo;
}

/** The files of a new version. */
export interface VersionContent {
  manifest: Manifest;
  onnx: Uint8Array;
  weights: WeightTensor[];
  calibration?: ScoreCalibration;
}

/** Names, writes and prunes the versions of one learner in its work folder. */
export class VersionStore {
  readonly workDir: string;
  /** Name of the model the learner started from. */
  readonly startName: string;
  private last: number;
  /** Folders this store wrote (absolute), by name: the only ones it may delete. */
  private readonly made = new Map<string, string>();
  /** Version names by the detector's version number (which restarts at 1 in every process). */
  private readonly byDetectorVersion = new Map<number, string>();

  /**
   * @param startDir the model directory the learner starts from.
   * @param startVersion the detector's number for it.
   */
  constructor(workDir: string, startDir: string, startVersion: number) {
    this.workDir = workDir;
    fs.mkdirSync(workDir, { recursive: true });
    removeStaleTemp(workDir);
    removeStaleTemp(path.join(workDir, 'questions'));
    this.startName = readVersionInfo(startDir)?.name ?? BASE_VERSION;
    this.byDetectorVersion.set(startVersion, this.startName);
    this.last = Math.max(versionSequence(this.startName)!, highestInFolder(workDir), highestInLedger(workDir));
  }

  /** The name of the version the detector numbers `detectorVersion` (undefined when this learner never saw it). */
  nameOf(detectorVersion: number): string | undefined {
    return this.byDetectorVersion.get(detectorVersion);
  }

  /** Records the detector's number for a version this store named. */
  bind(detectorVersion: number, name: string): void {
    this.byDetectorVersion.set(detectorVersion, name);
  }

  /** The next name (used once: a failed write skips it, names never go back). */
  allocate(): string {
    this.last++;
    return versionName(this.last);
  }

  /**
   * Writes version `name` as a unit: every file into a hidden folder beside it, fsync'd, then
   * renamed to `name`, and the ledger appended. Returns the in-memory model directory (the
   * detector takes it without reading the files back).
   */
  write(name: string, content: VersionContent, info: Omit<VersionInfo, 'name' | 'createdAt'>): ModelDir {
    const dir = path.join(this.workDir, name);
    if (fs.existsSync(dir)) throw new SeismoError('ERR_LEARN', `version folder ${dir} exists already: another learner writes to ${this.workDir}; give each its own --work`, { dir });
    const tmp = path.join(this.workDir, `.${name}.${process.pid}.tmp`);
    fs.rmSync(tmp, { recursive: true, force: true });
    writeModelDir(tmp, content.manifest, content.onnx);
    writeWeights(tmp, content.weights);
    // Beside the model, so the detector takes it with the swap: no window of the version goes uncalibrated.
    if (content.calibration) writeCalibration(tmp, content.calibration);
    const full: VersionInfo = { name, createdAt: new Date().toISOString(), ...info };
    fs.writeFileSync(path.join(tmp, VERSION_FILE), `${JSON.stringify(full, null, 2)}\n`);
    for (const f of fs.readdirSync(tmp)) fsyncPath(path.join(tmp, f));
    fsyncPath(tmp);
    fs.renameSync(tmp, dir);
    fsyncPath(this.workDir);
    this.made.set(name, path.resolve(dir));
    return { dir, manifest: content.manifest, onnx: content.onnx };
  }

  /** Appends an update attempt's record to the ledger (fsync'd): from then on it has happened. */
  record(record: object): void {
    appendDurable(path.join(this.workDir, LEDGER_FILE), `${JSON.stringify(record)}\n`);
  }

  /** Deletes the folders this store made that are not in `keep` (absolute or relative paths); returns their names. */
  prune(keep: Iterable<string>): string[] {
    const kept = new Set([...keep].map((d) => path.resolve(d)));
    const removed: string[] = [];
    for (const [name, dir] of this.made) {
      if (kept.has(dir)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      this.made.delete(name);
      removed.push(name);
    }
    return removed;
  }

  /** Names of the folders this store made and still holds. */
  madeNames(): string[] {
    return [...this.made.keys()];
  }
}

/**
 * Removes what a killed writer left in `dir`: the temp files and folders written beside their
 * final names (`.name.<pid>.tmp`, `name.<pid>.tmp`) by processes that no longer run.
 */
export function removeStaleTemp(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) {
    const m = /\.(\d+)\.tmp$/.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

function highestInFolder(dir: string): number {
  let max = 0;
  for (const name of fs.readdirSync(dir)) max = Math.max(max, versionSequence(name) ?? 0);
  return max;
}

function highestInLedger(dir: string): number {
  const file = path.join(dir, LEDGER_FILE);
  if (!fs.existsSync(file)) return 0;
  let max = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    // A torn last line (killed mid-append) names nothing; the folder scan still sees its version.
    for (const m of line.matchAll(/"(?:version|fromVersion)":"(v\d{4,})"/g)) max = Math.max(max, versionSequence(m[1]!)!);
  }
  return max;
}

