import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { registerServe } from '../../src/cli/serve.js';
import { learnableModel, parsePrometheus } from './fixtures.js';

/** Runs `seismo serve ...` in this process until `use` is done, then stops it as a SIGTERM would. */
async function serve(args: string[], use: (url: string, stderr: () => string) => Promise<void>): Promise<{ stderr: string; stdout: string; code: number }> {
  const program = new Command('seismo').exitOverride();
  registerServe(program);
  let stderr = '';
  let stdout = '';
  const err = process.stderr.write;
  const out = process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    const running = program.parseAsync(['node', 'seismo', 'serve', ...args]);
    let url: string | undefined;
    const deadline = Date.now() + 60000;
    while (!(url = /seismo serve: (http:\/\/\S+\/)/.exec(stderr)?.[1])) {
      if (Date.now() > deadline || process.exitCode) break;
      await new Promise((z) => setTimeout(z, 50));
    }
    if (url) {
      try {
        await use(url, () => stderr);
      } finally {
        process.emit('SIGTERM');
      }
    }
    await running;
  } finally {
    process.stderr.write = err;
    process.stdout.write = out;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = before;
  return { stderr, stdout, code };
}

describe('seismo serve (CLI)', function () {
  this.timeout(120000);

  it('serves the model with a learner on loopback, logs as JSON lines, and stops on SIGTERM', async () => {
    const dir = await learnableModel();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-serve-cli-'));
    const run = await serve(['--model', dir, '--work', work, '--port', '0', '--provider', 'cpu', '--json'], async (url) => {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const state = (await (await fetch(`${url}api/state`)).json()) as { model: { kind: string }; learner: unknown; auth: boolean };
      assert.equal(state.model.kind, 'lstm-ae');
      assert.ok(state.learner);
      assert.equal(state.auth, false);
      const r = await fetch(`${url}api/series/s/samples`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([[1, 1, 2, 3]]) });
      assert.equal(r.status, 200);
      assert.ok(parsePrometheus(await (await fetch(`${url}metrics`)).text()).has('seismo_label_queue_length'));
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^\{"ok":true,"command":"serve","result":\{"url":"http:\/\/127\.0\.0\.1:\d+\/"\}\}\n$/);
    assert.match(run.stderr, /seismo serve: stopping/);
    // fastify's pino logs: one JSON object a line.
    const logs = run.stderr.split('\n').filter((l) => l.startsWith('{'));
    assert.ok(logs.length > 0);
    for (const l of logs) assert.equal(typeof (JSON.parse(l) as { level: number }).level, 'number');
  });

  it('generates and prints a bearer token when bound beyond loopback, and writes need it', async () => {
    const dir = await learnableModel();
    let token = '';
    const run = await serve(['--model', dir, '--port', '0', '--host', '0.0.0.0', '--provider', 'cpu', '--log-level', 'warn'], async (url, stderr) => {
      token = /Bearer (\S+)/.exec(stderr())![1]!;
      assert.ok(token.length >= 32);
      const local = url.replace('0.0.0.0', '127.0.0.1');
      const body = JSON.stringify([[1, 1, 2, 3]]);
      assert.equal((await fetch(`${local}api/series/s/samples`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status, 401);
      assert.equal((await fetch(`${local}api/series/s/samples`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body })).status, 200);
    });
    assert.equal(run.code, 0, run.stderr);
  });

  it('replays a generated series into itself over HTTP with --replay synthetic', async () => {
    const dir = await learnableModel();
    const run = await serve(['--model', dir, '--port', '0', '--provider', 'cpu', '--replay', 'synthetic', '--replay-rate', '2000', '--log-level', 'warn'], async (url) => {
      const deadline = Date.now() + 30000;
      let state: { series: { id: string; samples: number; scored: number }[] };
      do {
        await new Promise((z) => setTimeout(z, 200));
        state = (await (await fetch(`${url}api/state`)).json()) as typeof state;
      } while (!(state.series[0]?.scored > 0) && Date.now() < deadline);
      assert.equal(state.series[0]!.id, 'replay');
      assert.ok(state.series[0]!.scored > 0, 'replayed samples were scored');
    });
    assert.equal(run.code, 0, run.stderr);
  });

  it('refuses a bad command line with a coded error', async () => {
    const run = await serve(['--eval', 'x.csv'], async () => {});
    assert.equal(run.code, 1);
    assert.match(run.stderr, /ERR_INVALID_OPTION: --eval and --labels go together/);
    const none = await serve([], async () => {});
    assert.match(none.stderr, /ERR_INVALID_OPTION: give --model/);
  });
});
