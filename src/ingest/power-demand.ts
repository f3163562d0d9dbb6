/**
 * Loader for the 1997 Dutch power-demand series (UCR discord archive): `power_demand.csv`
 * (`timestamp,demand`, every 15 minutes) and `power_demand_labels.csv` (`timestamp,label`, 1 on
 * the weekday public holidays). Both are plain DC-VAE files; this is the join with the checks
 * that make a silent mismatch impossible.
 */
import { join } from 'node:path';
import { SeismoError } from '../errors.js';
import { alignLabels, readLabelsCsv, readSeriesCsv, type SeriesTable } from './csv.js';

/** Options for {@link loadPowerDemand}. */
export interface PowerDemandOptions {
  /** Series file name inside the folder. Default `power_demand.csv`. */
  dataFile?: string;
  /** Labels file name inside the folder. Default `power_demand_labels.csv`. */
  labelsFile?: string;
}

/** Result of {@link loadPowerDemand}. */
export interface PowerDemandData {
  /** One channel (`demand`), one row per 15 minutes. */
  table: SeriesTable;
  /** Per row: 1 on a labelled holiday. */
  labels: Uint8Array;
}

/**
 * Loads the power-demand series and its labels from one folder.
 *
 * @param dir folder holding both files.
 * @throws SeismoError ERR_CSV_PARSE / ERR_TIMESTAMP_ORDER / ERR_NON_FINITE from the readers;
 *   ERR_EVAL when the labels file does not cover every row of the series (a truncated or
 *   foreign labels file would otherwise read as "no anomaly" for the missing rows).
 */
export async function loadPowerDemand(dir: string, options: PowerDemandOptions = {}): Promise<PowerDemandData> {
  const dataPath = join(dir, options.dataFile ?? 'power_demand.csv');
  const labelsPath = join(dir, options.labelsFile ?? 'power_demand_labels.csv');
  const [table, labelTable] = await Promise.all([readSeriesCsv(dataPath), readLabelsCsv(labelsPath)]);
  const labels = alignLabels(table, labelTable);
  // This dataset labels every row, so a row without a label means the files do not belong together.
  if (labelTable.time.length !== table.length || labelTable.time.some((t, i) => t !== table.time[i])) {
    throw new SeismoError('ERR_EVAL',
      `${labelsPath} does not label every row of ${dataPath} (${labelTable.time.length} label rows for ${table.length} series rows, or different timestamps)`,
      { dataPath, labelsPath });
  }
  return { table, labels };
}
