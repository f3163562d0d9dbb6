/**
 * seismo/datasets: loaders of the public benchmark datasets (NAB, KDD Cup 99, the 1997 power
 * demand series) and the seeded synthetic generator behind `seismo demo`. The datasets are not
 * shipped: each loader reads a local copy from the path it is given.
 */
export { loadNab, readNabWindows, type NabOptions, type NabSeries, type NabWindow } from './nab.js';
export { KDD99_COLUMNS, KDD99_SYMBOLIC, loadKdd99, readKdd99Names, type Kdd99Data, type Kdd99Options } from './kdd99.js';
export { loadPowerDemand, type PowerDemandData, type PowerDemandOptions } from './power-demand.js';
export {
  ALL_ANOMALY_KINDS,
  ANOMALY_KINDS,
  generateSeries,
  labelsCsv,
  type AnomalyKind,
  type AnomalyRequest,
  type PlantedAnomaly,
  type SyntheticOptions,
  type SyntheticSeries,
} from './synthetic.js';
export { Random } from '../stats/random.js';
export type { LabelTable, SeriesTable } from './csv.js';
