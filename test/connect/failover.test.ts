// Consumers as separate processes: kill -9 in the middle of a round, a stalled consumer
// (SIGSTOP/SIGCONT), and redis-server killed and restarted on its append-only file. The bar in
// every case: each window of the input exactly once in the output, scored as in one process.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { partitionStream } from '../../src/connect/partition.js';
import { RedisProducer } from '../../src/connect/producer.js';
import { tinyModel, type TinyModel } from '../helpers/tiny-model.js';
import { RedisServer } from '../../bench/redis-server.js';
import { checkExactlyOnce, makeWorkload, produce, readResults, referenceScores, waitFor, type Produced, type Workload } from './workload.js';

const PARTITIONS = 4;
const LEASE_MS = 1500;
const ROOT = path.resolve(__dirname, '../..');

interface ConsumerProcess {
  name: string;
  proc: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

describe('connect: failover between consumer processes', function () {
  this.timeout(180_000);
  let model: TinyModel;
  let server: RedisServer;
  let redis: Redis;
  const children: ConsumerProcess[] = [];

  before(async () => {
    model = await tinyModel();
    server = await RedisServer.start({ aof: true });
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    redis.on('error', () => {});
  });
  after(async () => {
    for (const c of children) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) {
        c.proc.kill('SIGCONT');
        c.proc.kill('SIGKILL');
      }
    }
    redis?.disconnect();
    await server?.stop();
  });

  function start(name: string, stream: string): ConsumerProcess {
    const args = ['--import', 'tsx', path.join(ROOT, 'test/connect/consume-main.ts'), 'consume', '--redis', server.url, '--stream', stream, '--group', 'g',
      '--model', model.dir, '--out-stream', `${stream}:out`, '--partitions', String(PARTITIONS), '--name', name, '--lease-ms', String(LEASE_MS),
      '--count', '8', '--block-ms', '50', '--provider', 'cpu', '--json'];
    const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const c: ConsumerProcess = { name, proc, stdout: '', stderr: '', exited: new Promise((r) => proc.once('exit', (code) => r(code))) };
    proc.stdout!.on('data', (d) => (c.stdout += d));
    proc.stderr!.on('data', (d) => (c.stderr += d));
    children.push(c);
    return c;
  }

  /** Stops a consumer with SIGTERM (it drains) and returns its JSON summary. */
  async function finish(c: ConsumerProcess): Promise<Record<string, number>> {
    c.proc.kill('SIGTERM');
    const code = await c.exited;
    assert.equal(code, 0, `consumer ${c.name} exited with ${code}:\n${c.stderr}`);
    return (JSON.parse(c.stdout.trim().split('\n').pop()!) as { result: Record<string, number> }).result;
  }

  async function leaseOwners(stream: string): Promise<(string | null)[]> {
    const values = await redis.mget(...Array.from({ length: PARTITIONS }, (_, p) => `${stream}:g:lease:${p}`));
    return values.map((v) => (v === null ? null : v.slice(0, v.lastIndexOf('/'))));
  }

  async function pendingOf(stream: string, name: string): Promise<number> {
    let n = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const summary = (await redis.xpending(partitionStream(stream, p), 'g')) as [number, string, string, [string, string][] | null];
      for (const [consumer, count] of summary[3] ?? []) if (consumer === name) n += Number(count);
    }
    return n;
  }

  async function setup(stream: string, seed: number): Promise<{ work: Workload; expected: Map<string, { score: number; threshold: number; anomaly: boolean }>; producer: RedisProducer; produced: Produced }> {
    const work = makeWorkload({ series: 6, length: 1200, entrySize: 10, channels: model.manifest.channels.length, seed });
    const expected = await referenceScores(model.dir, work);
    const producer = new RedisProducer({ url: server.url, stream, partitions: PARTITIONS, channels: work.channels });
    return { work, expected, producer, produced: new Map() };
  }

  async function bothOwn(stream: string, a: string, b: string): Promise<void> {
    await waitFor(`${a} and ${b} to share the partitions`, 60_000, async () => {
      const owners = await leaseOwners(stream);
      return owners.includes(a) && owners.includes(b);
    });
  }

  it('kill -9 of one of two consumers in the middle of a round: every window exactly once, scores as in process', async () => {
    const stream = 'kill';
    const { work, expected, producer, produced } = await setup(stream, 3);
    const a = start('a', stream);
    const b = start('b', stream);
    await bothOwn(stream, 'a', 'b');
    await produce(producer, work, work.entries, produced);
    // Kill `a` while it holds entries it read but has not committed: freeze it (SIGSTOP), let what
    // it already sent settle, and kill it only if it is caught with entries pending; else go on.
    await waitFor('some output', 30_000, async () => (await redis.xlen(`${stream}:out`)) > expected.size * 0.2, 2);
    await waitFor('a frozen in the middle of a round', 30_000, async () => {
      if ((await pendingOf(stream, 'a')) === 0) return false;
      a.proc.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 20));
      if ((await pendingOf(stream, 'a')) > 0) return true;
      a.proc.kill('SIGCONT');
      return false;
    }, 2);
    a.proc.kill('SIGKILL');
    await a.exited;
    const orphaned = await pendingOf(stream, 'a');
    assert.ok(orphaned > 0, 'a died with entries pending (read, not committed)');
    await waitFor('every window in the output', 60_000, async () => (await redis.xlen(`${stream}:out`)) >= expected.size);
    await new Promise((r) => setTimeout(r, 300)); // anything written twice would show up now
    const stats = await finish(b);
    assert.ok(stats.claimed! >= orphaned, `b claimed ${stats.claimed} entries; a left ${orphaned}`);
    const check = checkExactlyOnce(await readResults(redis, `${stream}:out`), expected, produced, (id) => producer.streamOf(id));
    assert.deepEqual(check, { windows: expected.size, duplicated: 0, missing: 0 });
    assert.equal(await pendingOf(stream, 'a'), 0);
    await producer.close();
  });

  it('a stalled consumer (SIGSTOP) loses its partitions, and gets them back after SIGCONT without duplicates', async () => {
    const stream = 'stall';
    const { work, expected, producer, produced } = await setup(stream, 4);
    const a = start('a', stream);
    const b = start('b', stream);
    await bothOwn(stream, 'a', 'b');
    const third = Math.floor(work.entries.length / 3);
    await produce(producer, work, work.entries.slice(0, third), produced);
    // Stop it mid-round when that can be caught (entries read, not committed); else once it has output.
    await waitFor('a to be busy', 30_000, async () => (await pendingOf(stream, 'a')) > 0 || (await redis.xlen(`${stream}:out`)) > expected.size * 0.15, 2);
    a.proc.kill('SIGSTOP');
    // Whether a was caught mid-round depends on timing: only entries it held pending are b's to claim.
    const pendingAtStop = await pendingOf(stream, 'a');
    await produce(producer, work, work.entries.slice(third, 2 * third), produced);
    await waitFor('b to own every partition', 30_000, async () => (await leaseOwners(stream)).every((o) => o === 'b'));
    a.proc.kill('SIGCONT');
    await bothOwn(stream, 'a', 'b');
    await produce(producer, work, work.entries.slice(2 * third), produced);
    await waitFor('every window in the output', 60_000, async () => (await redis.xlen(`${stream}:out`)) >= expected.size);
    await new Promise((r) => setTimeout(r, 300));
    const sa = await finish(a);
    const sb = await finish(b);
    assert.ok(sa.lost! + sa.fenced! > 0, `a noticed it lost its leases: ${JSON.stringify(sa)}`);
    assert.ok(sa.acquired! >= 2, `a took partitions again after SIGCONT: ${JSON.stringify(sa)}`);
    assert.ok(sb.claimed! >= pendingAtStop, `b claimed a's ${pendingAtStop} pending entries: ${JSON.stringify(sb)}`);
    const check = checkExactlyOnce(await readResults(redis, `${stream}:out`), expected, produced, (id) => producer.streamOf(id));
    assert.deepEqual(check, { windows: expected.size, duplicated: 0, missing: 0 });
    await producer.close();
  });

  it('redis-server killed and restarted on its append-only file: consumers reconnect and resume', async () => {
    const stream = 'restart';
    const { work, expected, producer, produced } = await setup(stream, 5);
    const a = start('a', stream);
    const b = start('b', stream);
    await bothOwn(stream, 'a', 'b');
    const half = Math.floor(work.entries.length / 2);
    await produce(producer, work, work.entries.slice(0, half), produced);
    await waitFor('some output', 30_000, async () => (await redis.xlen(`${stream}:out`)) > expected.size * 0.1, 2);
    await server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    await server.launch();
    await produce(producer, work, work.entries.slice(half), produced);
    await waitFor('every window in the output', 90_000, async () => (await redis.xlen(`${stream}:out`)) >= expected.size);
    await new Promise((r) => setTimeout(r, 300));
    const sa = await finish(a);
    const sb = await finish(b);
    assert.ok(sa.reconnects! > 0 && sb.reconnects! > 0, `both saw Redis go away: ${JSON.stringify([sa, sb])}`);
    const check = checkExactlyOnce(await readResults(redis, `${stream}:out`), expected, produced, (id) => producer.streamOf(id));
    assert.deepEqual(check, { windows: expected.size, duplicated: 0, missing: 0 });
    await producer.close();
  });
});
