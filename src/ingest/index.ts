/**
 * The ingest stage: CSV series and labels in the DC-VAE convention, the public benchmark
 * datasets, and the seeded synthetic generator behind `seismo demo`.
 */
export * from './csv.js';
export * from './synthetic.js';
export * from './nab.js';
export * from './kdd99.js';
export * from './power-demand.js';
