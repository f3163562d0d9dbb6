/**
 * `seismo/serve`: the live dashboard, labelling in a browser, HTTP ingestion and Prometheus
 * metrics, as a fastify plugin for a service's own instance ({@link mountSeismo}) or a server of
 * its own ({@link startServer}). A separate entry point, so that `import 'seismo'` does not load
 * fastify.
 */
export { mountSeismo, startServer, isLoopback, type ServeOptions, type SeismoServer, type StartServerOptions, type RunningServer } from './server.js';
export { encodeBinaryBatch, parseBinaryBatch, parseCsvRows, parseJsonRows, checkBatch, checkSeriesId, type ParsedBatch } from './ingest.js';
export { createServeMetrics, type ServeMetrics, type ScrapeSources } from './metrics.js';
export type { AlarmRecord, HistorySlice, SampleSlice, ScoreSlice } from './history.js';
export type { EvalPayload } from './evaluation.js';
