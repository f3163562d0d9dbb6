/**
 * Prometheus metrics of a served detector, in a registry of their own (a service that mounts
 * seismo keeps its default registry to itself; it may merge both with `Registry.merge`).
 * Counters move on the hot path by one `inc(n)` per request or per batch, never per sample.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServeMetrics {
  registry: Registry;
  samples: Counter<'format'>;
  requests: Counter<'format' | 'status'>;
  windows: Counter;
  alarms: Counter;
  rejected: Counter<'reason'>;
  labels: Counter<'answer'>;
  latency: Histogram;
  errors: Counter<'code'>;
  swaps: Counter<'kind'>;
  drifts: Counter;
}

/** Values read when Prometheus scrapes (no bookkeeping between scrapes). */
export interface ScrapeSources {
  /** Questions pending in the learner's queue (undefined: no learner). */
  queueLength(): number | undefined;
  /** Windows the detector lost to drop-oldest overwrites (undefined: no detector). */
  windowsDropped(): number | undefined;
  /** The live model version (undefined: no detector). */
  liveVersion(): number | undefined;
  /** Open server-sent event streams. */
  feedClients(): number;
}

export function createServeMetrics(sources: ScrapeSources, options: { defaultMetrics?: boolean } = {}): ServeMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'seismo_process_' });
  const m: ServeMetrics = {
    registry,
    samples: new Counter({ name: 'seismo_samples_ingested_total', help: 'Samples accepted over HTTP, by body format', labelNames: ['format'], registers: [registry] }),
    requests: new Counter({ name: 'seismo_ingest_requests_total', help: 'Ingestion requests, by body format and HTTP status', labelNames: ['format', 'status'], registers: [registry] }),
    windows: new Counter({ name: 'seismo_windows_scored_total', help: 'Windows scored by the detector', registers: [registry] }),
    alarms: new Counter({ name: 'seismo_alarms_total', help: 'Windows at or above their threshold', registers: [registry] }),
    rejected: new Counter({
      name: 'seismo_ingest_rejected_samples_total',
      help: 'Samples refused: overflow (answered 429, the rings and the admission queue were full) or invalid (answered 400); none of them stored',
      labelNames: ['reason'],
      registers: [registry],
    }),
    labels: new Counter({ name: 'seismo_labels_total', help: 'Answers given in the page, by answer', labelNames: ['answer'], registers: [registry] }),
    latency: new Histogram({
      name: 'seismo_ingest_to_score_seconds',
      help: 'From an ingestion request arriving to the scored batch holding the window that ends at its last sample (queueing, batching and inference)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    errors: new Counter({ name: 'seismo_errors_total', help: 'Errors the detector reported (listener failures, failed batches, worker exits), by code', labelNames: ['code'], registers: [registry] }),
    swaps: new Counter({ name: 'seismo_model_swaps_total', help: 'Model versions swapped in, by kind (swap, rollback, auto-rollback)', labelNames: ['kind'], registers: [registry] }),
    drifts: new Counter({ name: 'seismo_drift_events_total', help: 'Drift events', registers: [registry] }),
  };
  new Gauge({
    name: 'seismo_label_queue_length',
    help: "Questions pending in the online learner's label queue",
    registers: [registry],
    collect() {
      const n = sources.queueLength();
      if (n !== undefined) this.set(n);
    },
  });
  new Gauge({
    name: 'seismo_windows_dropped',
    help: 'Windows lost because the drop-oldest overflow policy overwrote their frames before they were scored (total since start)',
    registers: [registry],
    collect() {
      const n = sources.windowsDropped();
      if (n !== undefined) this.set(n);
    },
  });
  new Gauge({
    name: 'seismo_model_version',
    help: 'The live model version (1 = the model loaded first)',
    registers: [registry],
    collect() {
      const v = sources.liveVersion();
      if (v !== undefined) this.set(v);
    },
  });
  new Gauge({
    name: 'seismo_feed_clients',
    help: 'Open server-sent event streams',
    registers: [registry],
    collect() {
      this.set(sources.feedClients());
    },
  });
  return m;
}
