// Child of test/infer/lstm-ae-native.test.ts, started with SEISMO_NATIVE=off: streams the same
// series through a Detector (runtime 'auto') on the model directory argv[2] and prints what scored
// it and every window's score and channel scores, by series and start.
import { Detector } from '../../src/detector/index.js';
import { generateSeries } from '../../src/ingest/synthetic.js';

async function main(): Promise<void> {
  const dir = process.argv[2]!;
  const C = 3;
  const frames = generateSeries({ length: 300, channels: C, seed: 5, periods: [48, 12], anomalies: [] }).table.frames;
  const detector = await Detector.load(dir, { stride: 1, runtime: 'auto' });
  const scores: [string, number[]][] = [];
  detector.on('batch', (b) => {
    for (let i = 0; i < b.size; i++) scores.push([`${b.seriesIds[i]}@${b.starts[i]}`, [b.scores[i]!, ...b.channelScores.subarray(i * C, (i + 1) * C)]]);
  });
  const rows = frames.length / C;
  for (let r = 0; r < rows; r += 37) {
    const to = Math.min(rows, r + 37);
    await detector.write('s0', Array.from({ length: to - r }, (_, i) => r + i), frames.subarray(r * C, to * C));
  }
  await detector.flush();
  const runtime = detector.runtime;
  await detector.close();
  process.stdout.write(JSON.stringify({ runtime, scores }));
}

main().catch((err: unknown) => {
  process.stderr.write(String(err instanceof Error ? err.stack : err));
  process.exit(1);
});
