/**
 * Reads what the NAB scorer needs from a NAB checkout besides the label windows (which
 * `readNabWindows` in src/ingest/nab.ts reads, for the loader and the scorer alike): profiles,
 * published thresholds, and a detector's results CSVs
 * (`results/<detector>/<category>/<detector>_<file>.csv` with a `timestamp` and an
 * `anomaly_score` column).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import { SeismoError } from '../errors.js';
import { readJsonFile } from '../ingest/json-file.js';
import type { NabDataFile, NabProfiles } from './nab.js';

function readJson(path: string): unknown {
  return readJsonFile(path, 'is --nab the root of a NAB checkout?');
}

/** `config/profiles.json`: the cost matrix of each profile. */
export function loadNabProfiles(nabRoot: string): NabProfiles {
  const path = join(nabRoot, 'config', 'profiles.json');
  const raw = readJson(path) as Record<string, { CostMatrix?: Record<string, unknown> }>;
  const out: NabProfiles = {};
  for (const [name, p] of Object.entries(raw)) {
    const c = p?.CostMatrix;
    const ok = c && ['tpWeight', 'fpWeight', 'fnWeight'].every((k) => typeof c[k] === 'number');
    if (!ok) throw new SeismoError('ERR_JSON_PARSE', `${path}: profile ${name} lacks a CostMatrix with tpWeight, fpWeight, fnWeight`);
    out[name] = { tpWeight: c.tpWeight as number, fpWeight: c.fpWeight as number, fnWeight: c.fnWeight as number };
  }
  return out;
}

/**
 * `config/thresholds.json`: the published detectors' tuned threshold per profile, or undefined
 * when the file does not list `detector`.
 */
export function loadNabThresholds(nabRoot: string, detector: string): Record<string, number> | undefined {
  const path = join(nabRoot, 'config', 'thresholds.json');
  if (!existsSync(path)) return undefined;
  const raw = readJson(path) as Record<string, Record<string, { threshold?: unknown }>>;
  const entry = raw[detector];
  if (!entry) return undefined;
  const out: Record<string, number> = {};
  for (const [profile, v] of Object.entries(entry)) {
    if (typeof v?.threshold === 'number') out[profile] = v.threshold;
  }
  return out;
}

/**
 * Reads one detector's results CSVs. `resultsDir` is either NAB's `results/` folder (holding
 * `<detector>/`) or the detector's folder itself. Summary files (`*_scores.csv`) are skipped.
 *
 * @returns one entry per data file, keyed by its corpus path (`category/name.csv`)
 * @throws SeismoError ERR_EVAL when no results are found, ERR_CSV_PARSE on a malformed file
 */
export function loadNabResults(resultsDir: string, detector: string): NabDataFile[] {
  const nested = join(resultsDir, detector);
  const dir = existsSync(nested) && statSync(nested).isDirectory() ? nested : resultsDir;
  if (!existsSync(dir)) throw new SeismoError('ERR_EVAL', `results folder ${dir} does not exist`, { dir });
  const prefix = `${detector}_`;
  const files: NabDataFile[] = [];
  for (const category of readdirSync(dir).sort()) {
    const catDir = join(dir, category);
    if (!statSync(catDir).isDirectory()) continue;
    for (const name of readdirSync(catDir).sort()) {
      if (!name.startsWith(prefix) || !name.endsWith('.csv') || name.endsWith('_scores.csv')) continue;
      files.push(readResultsCsv(join(catDir, name), `${category}/${name.slice(prefix.length)}`));
    }
  }
  if (files.length === 0) {
    throw new SeismoError('ERR_EVAL', `no ${prefix}*.csv results under ${dir}/<category>/; check --results and --detector`, { dir, detector });
  }
  return files;
}

/** One results CSV: the `timestamp` and `anomaly_score` columns, strictly parsed. */
export function readResultsCsv(path: string, corpusPath: string): NabDataFile {
  const parsed = Papa.parse<string[]>(readFileSync(path, 'utf8'), { skipEmptyLines: true });
  const rows = parsed.data;
  if (parsed.errors.length > 0 || rows.length === 0) {
    const e = parsed.errors[0];
    throw new SeismoError('ERR_CSV_PARSE', `${path}: ${e ? `row ${e.row}: ${e.message}` : 'empty file'}`, { path });
  }
  const header = rows[0].map((h) => h.trim());
  const ti = header.indexOf('timestamp');
  const si = header.indexOf('anomaly_score');
  if (ti < 0 || si < 0) throw new SeismoError('ERR_CSV_PARSE', `${path}: header needs timestamp and anomaly_score columns`, { path, header });
  const timestamps: string[] = [];
  const scores = new Float64Array(rows.length - 1);
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    const cell = row[si];
    const v = cell === undefined || cell.trim() === '' ? NaN : Number(cell);
    if (!Number.isFinite(v)) {
      throw new SeismoError('ERR_CSV_PARSE', `${path}: line ${r + 1}: anomaly_score '${cell}' is not a number`, { path, line: r + 1 });
    }
    timestamps.push(row[ti]);
    scores[r - 1] = v;
  }
  return { path: corpusPath, timestamps, scores };
}
