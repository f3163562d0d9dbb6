/**
 * Admission of ingested batches into a served detector, per series and in order: a checked batch
 * joins its series' queue (answered once admitted, or once stored with `wait=stored`), waits for
 * room while the queue is full (backpressure), and is refused whole with `ERR_RING_OVERFLOW` (429)
 * when the overload outlasts `admissionWaitMs`. Beside it: the ingest-to-score latency of each
 * request, and the linger that scores windows waiting for a full batch once ingestion pauses.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Detector } from '../detector/index.js';
import { isSeismoError, SeismoError } from '../errors.js';
import { checkBatch, type ParsedBatch } from './ingest.js';
import type { ServeMetrics } from './metrics.js';

/** One series' admission: samples accepted and waiting for ring room, and the write chain that keeps them in order. */
interface SeriesAdmission {
  pending: number;
  /** The last accepted timestamp (queued or stored): the next batch must start after it. */
  last: number;
  chain: Promise<void>;
  /** Requests waiting for the queue to drain, woken when a batch is stored. */
  wake: (() => void)[];
  /** True once a batch of this series is stored (the detector holds a slot for it). */
  known: boolean;
  /** Per request: the last timestamp and when it arrived, for the ingest-to-score latency (bounded FIFO). */
  arrivals: { last: number; at: number }[];
}

const MAX_ARRIVALS = 1024;

/** What an admitted batch is answered with. */
export interface Admitted {
  accepted: number;
  series: string;
  last: number;
  /** True when the answer waited until the samples were in the ring. */
  stored: boolean;
}

/** Options of {@link Admission}. */
export interface AdmissionOptions {
  detector: Detector;
  channels: readonly string[];
  /** Samples per series admitted but not yet in its ring. */
  maxPending: number;
  /** Milliseconds a batch may wait for room before it is refused. */
  admissionWaitMs: number;
  metrics: ServeMetrics;
  log: FastifyBaseLogger;
  /** A batch is in the ring (the live view records its samples). */
  onStored(seriesId: string, batch: ParsedBatch): void;
  /** True once the server closes: waiting batches are refused at once. */
  closed(): boolean;
}

export class Admission {
  private readonly queues = new Map<string, SeriesAdmission>();
  private lastIngest = 0;
  private inFlightWrites = 0;
  private dirty = false;
  private flushing = false;

  constructor(private readonly o: AdmissionOptions) {}

  /**
   * Admits a checked batch into its series' queue, in order; answers once it is admitted (the
   * samples are then stored and scored in order), or with `waitStored` once they are all in the
   * ring. A batch that does not fit waits up to `admissionWaitMs` for the queue to drain, then is
   * refused whole (429). The first batch of a series always waits until stored: a series the
   * detector cannot take (too many series) is refused with its error, never after a 200.
   * @throws SeismoError what `checkBatch` throws (400), `ERR_RING_OVERFLOW` (429), what the detector's `write` throws.
   */
  async admit(id: string, batch: ParsedBatch, format: string, waitStored: boolean): Promise<Admitted> {
    const { detector, channels, metrics } = this.o;
    let a = this.queues.get(id);
    checkBatch(batch, channels, a?.last ?? -Infinity, id);
    const n = batch.timestamps.length;
    if (!a) {
      a = { pending: 0, last: -Infinity, chain: Promise.resolve(), arrivals: [], wake: [], known: false };
      this.queues.set(id, a);
    }
    const adm = a;
    const deadline = performance.now() + this.o.admissionWaitMs;
    while (adm.pending > 0 && adm.pending + n > this.o.maxPending) {
      const left = deadline - performance.now();
      if (left <= 0 || this.o.closed()) {
        throw new SeismoError('ERR_RING_OVERFLOW', `series '${id}': its ring is full and ${adm.pending} samples already wait for room; nothing of this batch was stored: send it again after Retry-After`, {
          seriesId: id,
        });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        adm.wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // Again: another request of this series may have been admitted while this one waited.
    checkBatch(batch, channels, adm.last, id);
    const lastTs = batch.timestamps[n - 1]!;
    const previousLast = adm.last;
    adm.last = lastTs;
    adm.pending += n;
    this.inFlightWrites++;
    this.lastIngest = performance.now();
    const arrival = { last: lastTs, at: performance.now() };
    const write = adm.chain.then(async () => {
      await detector.write(id, batch.timestamps, batch.frames);
      this.o.onStored(id, batch);
      adm.known = true;
      adm.arrivals.push(arrival);
      if (adm.arrivals.length > MAX_ARRIVALS) adm.arrivals.shift();
    });
    const settled = write
      .catch((err: unknown) => {
        // The detector refused it whole: the next batch may reuse its timestamps.
        if (adm.last === lastTs) adm.last = previousLast;
        throw err;
      })
      .finally(() => {
        adm.pending -= n;
        this.inFlightWrites--;
        this.lastIngest = performance.now();
        this.dirty = true;
        for (const w of adm.wake.splice(0)) w();
      });
    adm.chain = settled.catch(() => {});
    metrics.samples.inc({ format }, n);
    if (waitStored || !adm.known) {
      try {
        await settled;
      } catch (err) {
        metrics.samples.inc({ format }, -n);
        throw err;
      }
      return { accepted: n, series: id, last: lastTs, stored: true };
    }
    settled.catch((err: unknown) => {
      // Only a failed or closed detector refuses a batch of a series it already holds.
      const code = isSeismoError(err) ? err.code : 'ERR_UNEXPECTED';
      metrics.errors.inc({ code });
      metrics.rejected.inc({ reason: 'failed' }, n);
      this.o.log.error({ err, seriesId: id, samples: n }, 'an admitted batch could not be stored');
    });
    return { accepted: n, series: id, last: lastTs, stored: false };
  }

  /** A window of series `id` ending at timestamp `t` was scored at `now`: requests whose last sample it covers get their latency observed. */
  scored(id: string, t: number, now: number): void {
    const a = this.queues.get(id);
    if (!a) return;
    while (a.arrivals.length > 0 && a.arrivals[0]!.last <= t) this.o.metrics.latency.observe((now - a.arrivals.shift()!.at) / 1000);
  }

  /**
   * Every `lingerMs / 2`: once nothing was ingested for `lingerMs` and no write is in flight, scores
   * the windows waiting for a full batch (`detector.flush()`), so a slow stream still shows its
   * scores promptly. Returns the (unref'd) timer.
   */
  startLinger(lingerMs: number): NodeJS.Timeout {
    const timer = setInterval(() => {
      if (!this.dirty || this.flushing || this.inFlightWrites > 0 || performance.now() - this.lastIngest < lingerMs) return;
      this.flushing = true;
      this.dirty = false;
      this.o.detector
        .flush()
        .catch((err: unknown) => this.o.log.error({ err }, 'flush failed'))
        .finally(() => {
          this.flushing = false;
        });
    }, Math.max(2, Math.floor(lingerMs / 2)));
    timer.unref();
    return timer;
  }
}
