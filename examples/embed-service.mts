// Embed a detector in an HTTP ingestion service: clients POST batches of samples per series,
// the service writes them into the detector with `write()` (which waits while scoring catches up,
// so a burst slows the client down instead of overflowing) and logs each anomaly.
//
//   npx seismo demo --out seismo-demo/          # a model and a series to replay
//   npx tsx examples/embed-service.mts seismo-demo/ seismo-demo/series.csv
import http from 'node:http';
import { Detector, isSeismoError, readSeriesCsv } from 'seismo';

const [modelDir = 'seismo-demo', replayFile = 'seismo-demo/series.csv'] = process.argv.slice(2);

const detector = await Detector.load(modelDir);
let anomalies = 0;
detector.on('anomaly', (e) => {
  if (++anomalies <= 5) console.log(`anomaly: ${e.seriesId} at ${e.timestamp}, score ${e.score.toFixed(3)}, channels ${e.channels.map((c) => c.name).join(', ')}`);
});
detector.on('error', (err) => console.error(`detector error: ${err.code}: ${err.message}`));

// POST /series/<id> with {"t": [timestamps], "x": [[one value per channel], ...]}
const server = http.createServer(async (req, res) => {
  const id = /^\/series\/([\w.-]+)$/.exec(req.url ?? '')?.[1];
  if (req.method !== 'POST' || !id) return void res.writeHead(404).end();
  try {
    let body = '';
    for await (const chunk of req) body += chunk;
    const { t, x } = JSON.parse(body) as { t: number[]; x: number[][] };
    await detector.write(id, t, Float32Array.from(x.flat()));
    res.writeHead(204).end();
  } catch (err) {
    // A bad batch is refused whole, with its code (ERR_BAD_SHAPE, ERR_NON_FINITE, ERR_TIMESTAMP_ORDER...).
    const code = isSeismoError(err) ? err.code : 'ERR_INTERNAL';
    res.writeHead(isSeismoError(err) ? 400 : 500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code, message: (err as Error).message }));
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
console.log(`listening on http://127.0.0.1:${port}/series/<id>`);

// A client, here in the same process so that the example runs on its own: it replays a CSV in
// batches of 100 rows, as a collector would send them.
const table = await readSeriesCsv(replayFile);
const C = table.channels.length;
for (let r = 0; r < table.length; r += 100) {
  const rows = Array.from({ length: Math.min(100, table.length - r) }, (_, i) => r + i);
  const batch = { t: rows.map((i) => table.time[i]), x: rows.map((i) => Array.from(table.frames.subarray(i * C, (i + 1) * C))) };
  const res = await fetch(`http://127.0.0.1:${port}/series/replay`, { method: 'POST', body: JSON.stringify(batch) });
  if (res.status !== 204) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
}

// Shutting down: stop taking requests, score what is pending, release the worker.
server.close();
await detector.flush();
const stats = detector.stats();
console.log(`scored ${stats.windowsScored} windows of ${table.length} samples; ${anomalies} anomalous`);
await detector.close();
