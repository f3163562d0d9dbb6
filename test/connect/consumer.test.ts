// One or two in-process consumers against a real redis-server: exactly-once output equal to an
// in-process run, dead letters, resuming a series from its checkpoint under a new owner.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { StreamConsumer } from '../../src/connect/consumer.js';
import { createNormalizer, type NormalizerState } from '../../src/score/normalize.js';
import { partitionOf, partitionStream } from '../../src/connect/partition.js';
import { RedisProducer } from '../../src/connect/producer.js';
import { RedisStreamsConnector } from '../../src/connect/redis-streams.js';
import { tinyModel, type TinyModel } from '../helpers/tiny-model.js';
import { RedisServer } from '../../bench/redis-server.js';
import { checkExactlyOnce, makeWorkload, produce, readResults, readStream, referenceScores, waitFor, type Produced } from './workload.js';

const PARTITIONS = 4;

describe('connect: StreamConsumer on Redis Streams', function () {
  this.timeout(120_000);
  let model: TinyModel;
  let server: RedisServer | undefined;
  let redis: Redis;

  let url: string;
  // Stream names unique to this run: the server may be the one .ci/run shares between runs.
  const run = `t${process.pid}-${Date.now().toString(36)}`;

  before(async () => {
    model = await tinyModel();
    // .ci/run starts one for the tests; otherwise the suite starts its own.
    if (process.env.SEISMO_TEST_REDIS_URL) {
      url = process.env.SEISMO_TEST_REDIS_URL;
      assert.match(url, /^redis:\/\/127\.0\.0\.1:\d+$/, 'tests talk to 127.0.0.1 only');
    } else {
      server = await RedisServer.start();
      url = server.url;
    }
    redis = new Redis(url);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  function consumer(name: string, stream: string, log?: string[], normalize = false): StreamConsumer {
    return new StreamConsumer({
      connector: new RedisStreamsConnector({ url, stream, group: 'g', outStream: `${stream}:out`, partitions: PARTITIONS, name, leaseMs: 1000 }),
      model: model.dir,
      detector: { provider: 'cpu', batchSize: 64 },
      count: 16,
      blockMs: 50,
      normalizer: normalize ? (state) => createNormalizer(undefined, state as NormalizerState | undefined) : undefined,
      log: log ? (l) => log.push(l) : undefined,
    });
  }

  it('scores every window exactly once, as in process; bad entries go to the dead-letter stream with their reason', async () => {
    const stream = `${run}:in1`;
    const work = makeWorkload({ series: 5, length: 300, entrySize: 20, channels: model.manifest.channels.length });
    const expected = await referenceScores(model.dir, work);
    const binary = new RedisProducer({ url, stream, partitions: PARTITIONS, channels: work.channels });
    const json = new RedisProducer({ url, stream, partitions: PARTITIONS, channels: work.channels, binary: false });
    const produced: Produced = new Map();
    const half = Math.floor(work.entries.length / 2);
    // Both encodings in one stream: binary entries, then JSON ones.
    await produce(binary, work, work.entries.slice(0, half), produced);
    const s0 = work.series[0]!.id;
    const p0 = partitionStream(stream, partitionOf(s0, PARTITIONS));
    const wrongP = partitionStream(stream, (partitionOf(s0, PARTITIONS) + 1) % PARTITIONS);
    const bad = [
      await redis.xadd(p0, '*', 'series', s0, 't', '[1800000000000]', 'x', '[[1, 2]]'),
      await redis.xadd(p0, '*', 'series', s0, 't', '[1800000000001]', 'x', '[[1, 2, oops'),
      await redis.xadd(p0, '*', 'series', s0, 't', '[1800000000002]', 'x', '[[1, null, 3]]'),
      await redis.xadd(p0, '*', 't', '[1800000000003]', 'x', '[[1, 2, 3]]'),
      await redis.xadd(p0, '*', 'series', s0, 't', '[5]', 'x', '[[1, 2, 3]]'),
      await redis.xadd(wrongP, '*', 'series', s0, 't', '[1800000000004]', 'x', '[[1, 2, 3]]'),
    ];
    await produce(json, work, work.entries.slice(half), produced);
    const c = consumer('a', stream);
    const running = c.start();
    await waitFor('every window in the output', 60_000, async () => (await redis.xlen(`${stream}:out`)) >= expected.size);
    const stats = await c.stop();
    await running;
    const results = await readResults(redis, `${stream}:out`);
    const check = checkExactlyOnce(results, expected, produced, (id) => binary.streamOf(id));
    assert.deepEqual(check, { windows: expected.size, duplicated: 0, missing: 0 });
    const dead = await readStream(redis, `${stream}:dead`);
    // Entry ids are unique per stream only: key the dead letters by stream and id.
    const letters = dead.map((d) => Object.fromEntries(d.fields.flatMap((v, i) => (i % 2 === 0 ? [[v, d.fields[i + 1]!]] : []))) as Record<string, string>);
    const byId = new Map(letters.map((l) => [`${l.stream} ${l.id}`, l]));
    const streams = [p0, p0, p0, p0, p0, wrongP];
    assert.deepEqual(bad.map((id, i) => byId.get(`${streams[i]} ${id}`)?.code), ['ERR_BAD_SHAPE', 'ERR_BAD_ENTRY', 'ERR_NON_FINITE', 'ERR_BAD_ENTRY', 'ERR_TIMESTAMP_ORDER', 'ERR_BAD_ENTRY']);
    assert.match(String(byId.get(`${wrongP} ${bad[5]}`)?.reason), /belongs to partition/);
    assert.equal(stats.deadLetters, 6);
    assert.equal(stats.windows, expected.size);
    // Everything acknowledged: nothing pending in any partition.
    for (let p = 0; p < PARTITIONS; p++) {
      const pending = (await redis.xpending(partitionStream(stream, p), 'g')) as [number, ...unknown[]];
      assert.equal(pending[0], 0, `partition ${p} has pending entries`);
    }
    await binary.close();
    await json.close();
  });

  it('a new owner resumes each series from its checkpoint (ring tail, normaliser): the windows across the handover score as in one process', async () => {
    const stream = `${run}:in2`;
    const work = makeWorkload({ series: 4, length: 257, entrySize: 13, channels: model.manifest.channels.length, seed: 2 });
    const expected = await referenceScores(model.dir, work);
    const producer = new RedisProducer({ url, stream, partitions: PARTITIONS, channels: work.channels });
    const produced: Produced = new Map();
    const cut = Math.floor(work.entries.length * 0.4);
    await produce(producer, work, work.entries.slice(0, cut), produced);
    const first = consumer('first', stream, undefined, true);
    const r1 = first.start();
    await waitFor('the first part scored', 60_000, async () => {
      const groups = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => redis.xinfo('GROUPS', partitionStream(stream, p)).catch(() => []) as Promise<unknown[]>));
      if (groups.some((g) => g.length === 0)) return false;
      const pending = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => redis.xpending(partitionStream(stream, p), 'g') as Promise<[number]>));
      const lengths = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => redis.xlen(partitionStream(stream, p))));
      const info = (await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => redis.xinfo('GROUPS', partitionStream(stream, p))))) as unknown[][][];
      const delivered = info.every((g, p) => Number(g[0]![g[0]!.indexOf('entries-read') + 1]) === lengths[p]);
      return delivered && pending.every((x) => x[0] === 0);
    });
    await first.stop();
    await r1;
    await produce(producer, work, work.entries.slice(cut), produced);
    const log: string[] = [];
    const second = consumer('second', stream, log, true);
    const r2 = second.start();
    await waitFor('every window in the output', 60_000, async () => (await redis.xlen(`${stream}:out`)) >= expected.size);
    const stats = await second.stop();
    await r2;
    assert.equal(stats.restored, work.series.length, log.join('\n'));
    const results = await readResults(redis, `${stream}:out`);
    const check = checkExactlyOnce(results, expected, produced, (id) => producer.streamOf(id));
    assert.deepEqual(check, { windows: expected.size, duplicated: 0, missing: 0 });
    // The normalised scores continue across the handover as one normaliser per series would go.
    const nscore = new Map<string, number>();
    for (const s of work.series) {
      const n = createNormalizer();
      const keys = [...expected.keys()].filter((k) => k.startsWith(`${s.id}@`)).sort((a, b) => Number(a.split('@')[1]) - Number(b.split('@')[1]));
      for (const k of keys) nscore.set(k, n.update(expected.get(k)!.score));
    }
    for (const r of results) assert.equal(r.normalized, nscore.get(`${r.seriesId}@${r.timestamp}`), `nscore of ${r.seriesId}@${r.timestamp}`);
    await producer.close();
  });

  it('rebalances as consumers join and leave: a leaving consumer drains and hands over at once', async () => {
    const stream = `${run}:in3`;
    const work = makeWorkload({ series: 6, length: 400, entrySize: 10, channels: model.manifest.channels.length, seed: 3 });
    const expected = await referenceScores(model.dir, work);
    const producer = new RedisProducer({ url, stream, partitions: PARTITIONS, channels: work.channels });
    const produced: Produced = new Map();
    const a = consumer('a', stream);
    const ra = a.start();
    await waitFor('a to own every partition', 30_000, () => a.stats().owned.length === PARTITIONS);
    const b = consumer('b', stream);
    const rb = b.start();
    // b joins: a hands over half of the partitions at a round boundary.
    await waitFor('a and b to share the partitions', 30_000, () => a.stats().owned.length === PARTITIONS / 2 && b.stats().owned.length === PARTITIONS / 2);
    const half = Math.floor(work.entries.length / 2);
    await produce(producer, work, work.entries.slice(0, half), produced);
    await waitFor('some output', 30_000, async () => (await redis.xlen(`${stream}:out`)) > 0);
    // a leaves: it drains, releases its leases (none expires) and leaves the group; b takes over.
    const sa = await a.stop();
    await ra;
    await waitFor('b to own every partition', 30_000, () => b.stats().owned.length === PARTITIONS);
    await produce(producer, work, work.entries.slice(half), produced);
    await waitFor('every window in the output', 60_000, async () => (await redis.xlen(`${stream}:out`)) >= expected.size);
    const sb = await b.stop();
    await rb;
    assert.equal(sa.released, PARTITIONS, 'a released half on the join and half when leaving');
    assert.equal(sb.claimed, 0, 'a drained: nothing left pending for b to claim');
    const check = checkExactlyOnce(await readResults(redis, `${stream}:out`), expected, produced, (id) => producer.streamOf(id));
    assert.deepEqual(check, { windows: expected.size, duplicated: 0, missing: 0 });
    await producer.close();
  });
});
