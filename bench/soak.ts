/**
 * Bounded soak (issue 15, item 8): many series streamed through one {@link Detector} for a fixed
 * time, through its public API only (`Detector.load`, `write`, `flush`, `stats`, `close`),
 * sampling the process's RSS, heap and external memory and the event loop's lag over time. A
 * leak shows as RSS that keeps rising after the warm-up; a blocking path as a lag spike.
 *
 *   seismo bench soak --seconds 60 [--series 1000] [--model <dir>] [--json]
 *   npx tsx bench/soak.ts [--seconds 60] [--series 1000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { trainToDir } from '../training/train-to-dir.js';
import { Detector } from '../src/detector/index.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { scriptFlags } from './script-flags.js';

export interface SoakOptions {
  /** Seconds of streaming (the bound of the soak). Default 30. */
  seconds?: number;
  /** Series streamed concurrently, round robin. Default 1000. */
  series?: number;
  /** Samples per `write()` of one series. Default 64. */
  chunk?: number;
  /** Seconds between two samples of the process's figures. Default: seconds / 10, at least 1. */
  every?: number;
  /** Model directory; default: a small LSTM-AE (window 32, 4 channels) trained 1 epoch. */
  model?: string;
  log?: (line: string) => void;
}

/** The process's figures at one time of the soak. */
export interface SoakSample {
  /** Seconds since streaming started. */
  t: number;
  /** Resident set size, MiB. */
  rssMiB: number;
  /** V8 heap used, MiB. */
  heapMiB: number;
  /** Memory outside the V8 heap that V8 knows of (array buffers, the ring arena), MiB. */
  externalMiB: number;
  /** Event-loop delay over the interval: p99 and max, milliseconds. */
  lagP99Ms: number;
  lagMaxMs: number;
  /** Windows scored since the start (the detector's `stats().windowsScored`). */
  windowsScored: number;
}

export interface SoakResult {
  seconds: number;
  series: number;
  samplesWritten: number;
  windowsScored: number;
  timeline: SoakSample[];
  /** RSS at the first sample after the first quarter of the run (warm) and at the end, MiB. */
  rssWarmMiB: number;
  rssEndMiB: number;
  /** Largest event-loop delay over the whole run, milliseconds. */
  lagMaxMs: number;
  machine: { cpus: number; node: string };
}

const MiB = 1024 * 1024;

export async function runSoak(options: SoakOptions = {}): Promise<SoakResult> {
  const log = options.log ?? (() => undefined);
  const seconds = options.seconds ?? 30;
  const seriesCount = options.series ?? 1000;
  const chunk = options.chunk ?? 64;
  const every = options.every ?? Math.max(1, seconds / 10);
  let dir = options.model;
  let tmp: string | undefined;
  if (!dir) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-bench-soak-'));
    dir = tmp;
    log('training a small LSTM-AE (window 32, 4 channels) for 1 epoch: its weights only need to exist');
    const data = generateSeries({ length: 512, channels: 4, seed: 1, anomalies: [] });
    await trainToDir('lstm-ae', data.table.frames, data.table.channels, dir, {
      config: { window: 32, encoderUnits: [8], decoderUnits: [8], epochs: 1, validationSplit: 0 },
      stride: 8,
    });
  }
  const detector = await Detector.load(dir, { provider: 'cpu', maxSeries: seriesCount });
  const lag = monitorEventLoopDelay({ resolution: 10 });
  try {
    const C = detector.channels.length;
    const stream = generateSeries({ length: 1 << 14, channels: C, seed: 2, anomalies: [] }).table.frames;
    const total = stream.length / C;
    const ids = Array.from({ length: seriesCount }, (_, i) => `soak-${i}`);
    const clock = new Float64Array(seriesCount);
    const times = new Float64Array(chunk);
    const timeline: SoakSample[] = [];
    let samplesWritten = 0;
    let lagMax = 0;
    const start = performance.now();
    let nextSample = start;
    const sample = (): void => {
      const now = performance.now();
      const mem = process.memoryUsage();
      const s: SoakSample = {
        t: +((now - start) / 1000).toFixed(2),
        rssMiB: +(mem.rss / MiB).toFixed(1),
        heapMiB: +(mem.heapUsed / MiB).toFixed(1),
        externalMiB: +(mem.external / MiB).toFixed(1),
        lagP99Ms: +(lag.percentile(99) / 1e6).toFixed(2),
        lagMaxMs: +(lag.max / 1e6).toFixed(2),
        windowsScored: detector.stats().windowsScored,
      };
      lagMax = Math.max(lagMax, s.lagMaxMs);
      lag.reset();
      timeline.push(s);
      log(`t ${s.t.toFixed(1)} s  rss ${s.rssMiB} MiB  heap ${s.heapMiB} MiB  external ${s.externalMiB} MiB  lag p99 ${s.lagP99Ms} ms max ${s.lagMaxMs} ms  windows ${s.windowsScored}`);
      nextSample = now + every * 1000;
    };
    lag.enable();
    sample();
    while (performance.now() - start < seconds * 1000) {
      for (let i = 0; i < seriesCount && performance.now() - start < seconds * 1000; i++) {
        const t0 = clock[i]!;
        for (let k = 0; k < chunk; k++) times[k] = t0 + k;
        const row = t0 % (total - chunk);
        // write() resolves when the rings have room: backpressure keeps the soak bounded in memory.
        await detector.write(ids[i]!, times, stream.subarray(row * C, (row + chunk) * C));
        clock[i] = t0 + chunk;
        samplesWritten += chunk;
        if (performance.now() >= nextSample) sample();
      }
    }
    await detector.flush();
    sample();
    const warmAt = timeline.find((s) => s.t >= seconds / 4) ?? timeline[0]!;
    return {
      seconds,
      series: seriesCount,
      samplesWritten,
      windowsScored: detector.stats().windowsScored,
      timeline,
      rssWarmMiB: warmAt.rssMiB,
      rssEndMiB: timeline[timeline.length - 1]!.rssMiB,
      lagMaxMs: lagMax,
      machine: { cpus: os.cpus().length, node: process.version },
    };
  } finally {
    lag.disable();
    await detector.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const flags = scriptFlags({ numbers: ['seconds', 'series'] });
  runSoak({ seconds: flags.seconds, series: flags.series, log: (l) => console.log(l) })
    .then((r) => console.log(JSON.stringify({ ...r, timeline: undefined })))
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
