import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { checkPeerBlas, DEFAULT_WHEEL_PYTHON, parsePytorchBlas, pythonOf, resolvePytorchPeers, runPytorchScoring, wheelPython } from '../../bench/pytorch/peer.js';
import { pytorchOption, type BenchOptions } from '../../src/cli/bench-experiments.js';
import { SeismoError } from '../../src/errors.js';

const PYTHON = '/usr/bin/python3';

describe('bench/pytorch peer', function () {
  this.timeout(120_000);

  it('parses --pytorch-blas lists and rejects unknown names', () => {
    assert.deepEqual(parsePytorchBlas(undefined), ['openblas']);
    assert.deepEqual(parsePytorchBlas('mkl, openblas,mkl'), ['mkl', 'openblas']);
    assert.deepEqual(parsePytorchBlas('mkl-avx512'), ['mkl-avx512']);
    assert.deepEqual(parsePytorchBlas('wheel,openblas'), ['wheel', 'openblas']);
    for (const bad of ['', 'blis', 'openblas,mkl2']) {
      assert.throws(() => parsePytorchBlas(bad), (e: unknown) => e instanceof SeismoError && e.code === 'ERR_INVALID_OPTION' && /openblas, mkl, mkl-avx512, wheel/.test(e.message));
    }
    assert.equal(pythonOf(true), PYTHON);
    assert.equal(pythonOf('/opt/py'), '/opt/py');
    assert.equal(pythonOf(undefined), undefined);
  });

  it('says which peer failed and what to install when the python cannot run it', () => {
    assert.throws(
      () => runPytorchScoring('/nonexistent/python3', 64, 0.1, 'mkl'),
      (e: unknown) => e instanceof SeismoError && e.code === 'ERR_INVALID_OPTION' && /--blas mkl/.test(e.message) && /libmkl-rt/.test(e.message),
    );
  });

  it('refuses an MKL peer whose GEMMs did not run on MKL, and takes the default peer as installed', () => {
    const report = (selected: 'openblas' | 'mkl' | 'mkl-avx512', sgemm: string) => ({ selected, summary: '', sgemm });
    assert.equal(checkPeerBlas(report('mkl', '/usr/lib/x86_64-linux-gnu/mkl/../libmkl_rt.so')).sgemm.endsWith('libmkl_rt.so'), true);
    assert.doesNotThrow(() => checkPeerBlas(report('mkl-avx512', '/usr/lib/x86_64-linux-gnu/libmkl_rt.so')));
    assert.doesNotThrow(() => checkPeerBlas(report('openblas', '/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3')));
    for (const sgemm of ['/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3', '']) {
      assert.throws(() => checkPeerBlas(report('mkl', sgemm)), (e: unknown) => e instanceof SeismoError && e.code === 'ERR_INVALID_OPTION' && /not MKL's libmkl_rt\.so/.test(e.message));
    }
  });

  it("takes the wheel's python from --pytorch-wheel, else SEISMO_PYTORCH_WHEEL, else the default venv", () => {
    assert.equal(wheelPython('/venv/bin/python', { SEISMO_PYTORCH_WHEEL: '/env/python' }), '/venv/bin/python');
    assert.equal(wheelPython(undefined, { SEISMO_PYTORCH_WHEEL: '/env/python' }), '/env/python');
    assert.equal(wheelPython(undefined, {}), DEFAULT_WHEEL_PYTHON);
    assert.equal(wheelPython('', {}), DEFAULT_WHEEL_PYTHON);
  });

  it('--pytorch-blas asks for the peers without --pytorch', () => {
    const opts = (o: Partial<BenchOptions>): BenchOptions => ({ batchSize: '64', rounds: '5', seconds: '2', provider: 'auto', ...o });
    assert.equal(pytorchOption(opts({})), undefined);
    assert.equal(pytorchOption(opts({ pytorchBlas: 'wheel' })), true);
    assert.equal(pytorchOption(opts({ pytorch: '/py', pytorchBlas: 'wheel' })), '/py');
    assert.equal(pytorchOption(opts({ pytorch: true })), true);
  });

  it("runs the wheel peer with the wheel's python and skips it, saying how to install it, when that python is missing", () => {
    const present = resolvePytorchPeers(['openblas', 'wheel', 'mkl'], '/usr/bin/python3', '/venv/bin/python', (f) => f === '/venv/bin/python');
    assert.deepEqual(present.peers, [
      { blas: 'openblas', python: '/usr/bin/python3' },
      { blas: 'wheel', python: '/venv/bin/python' },
      { blas: 'mkl', python: '/usr/bin/python3' },
    ]);
    assert.deepEqual(present.skipped, []);
    const missing = resolvePytorchPeers(['wheel', 'openblas'], '/usr/bin/python3', '/nonexistent/venv/bin/python');
    assert.deepEqual(missing.peers, [{ blas: 'openblas', python: '/usr/bin/python3' }]);
    assert.equal(missing.skipped.length, 1);
    assert.equal(missing.skipped[0]!.peer, 'pytorch/wheel');
    assert.match(missing.skipped[0]!.reason, /\/nonexistent\/venv\/bin\/python not found/);
    assert.match(missing.skipped[0]!.reason, /install-wheel\.sh/);
    // Only the wheel is optional: Debian's peers keep failing loudly when their python cannot run them.
    assert.deepEqual(resolvePytorchPeers(['mkl'], '/nonexistent/python3', undefined, () => false).peers, [{ blas: 'mkl', python: '/nonexistent/python3' }]);
  });

  it('says how to make the wheel venv when the wheel peer fails', () => {
    assert.throws(
      () => runPytorchScoring('/nonexistent/venv/bin/python', 64, 0.1, 'wheel'),
      (e: unknown) => e instanceof SeismoError && e.code === 'ERR_INVALID_OPTION' && /--blas wheel/.test(e.message) && /install-wheel\.sh/.test(e.message),
    );
  });

  it("refuses a wheel peer whose torch is not the MKL wheel (Debian's torch, or no MKL built in)", () => {
    const wheel = { selected: 'wheel' as const, summary: '', sgemm: '/opt/torch-wheel/lib/python3.11/site-packages/torch/lib/libtorch_cpu.so', torchMkl: true };
    assert.doesNotThrow(() => checkPeerBlas(wheel));
    for (const bad of [{ ...wheel, sgemm: '/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3' }, { ...wheel, torchMkl: false }]) {
      assert.throws(() => checkPeerBlas(bad), (e: unknown) => e instanceof SeismoError && e.code === 'ERR_INVALID_OPTION' && /not the MKL wheel/.test(e.message));
    }
  });

  it("reads what the wheel ran from MKL's and oneDNN's verbose lines (torch_blas.py, python3 without torch)", () => {
    // Lines recorded from torch 2.13.0+cpu: one LSTM-AE forward (inference) and one training step.
    const fixture = path.join(__dirname, '..', 'fixtures', 'pytorch', 'wheel-verbose.txt');
    const code = [
      'import json, sys, torch_blas',
      `b = torch_blas.parse_verbose(open(${JSON.stringify(fixture)}).read().splitlines())`,
      "b.update(torchVersion='2.13.0+cpu', mklVersion='Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605', mklCbwrAutoBranch=2, rnnOps=['aten::lstm', 'aten::mkldnn_rnn_layer', 'aten::mkldnn_rnn_layer_backward'])",
      'b["summary"] = torch_blas.summary_wheel(b)',
      'print(json.dumps(b))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', code], { cwd: path.join(__dirname, '..', '..', 'bench', 'pytorch'), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const b = JSON.parse(r.stdout) as Record<string, unknown> & { onednnRnn: { impl: string; prop: string; alg: string }[]; summary: string };
    assert.equal(b['onednnVersion'], 'v3.12.0');
    assert.equal(b['onednnThreads'], 1);
    assert.match(String(b['onednnIsa']), /AVX-512/);
    assert.deepEqual(
      b.onednnRnn.map((x) => `${x.impl} ${x.prop} ${x.alg}`),
      ['brgemm:avx512_core forward_inference vanilla_lstm', 'brgemm:avx512_core forward_inference vanilla_lstm', 'ref forward_training vanilla_lstm', 'ref forward_training vanilla_lstm', 'ref backward vanilla_lstm', 'ref backward vanilla_lstm'],
    );
    assert.deepEqual(b['mklCallsInProbe'], { SGEMM: 4 });
    assert.deepEqual(b['mklThreads'], [1, 1, 1, 1]);
    assert.equal((b['mklCalls'] as string[])[0]!.split(' ')[0], 'SGEMM(T,N,8,4096,16)');
    assert.match(String(b['mklVerboseHeader']), /^oneMKL 2024/);
    assert.match(b.summary, /MKL 2024\.2 in libtorch_cpu\.so, MKL's non-Intel dispatch \(CNR branch 2\); SGEMM x4 NThr:1; oneDNN v3\.12\.0 rnn brgemm:avx512_core forward_inference x2; ref forward_training x2; ref backward x2 \(nthr:1/);
    assert.match(b.summary, /profiler: aten::mkldnn_rnn_layer, aten::mkldnn_rnn_layer_backward$/);
  });

  it('seismo bench and bench train refuse an unknown --pytorch-blas before measuring anything, naming the wheel choice', () => {
    const root = path.join(__dirname, '..', '..');
    const code = `require('tsx/cjs'); require(${JSON.stringify(path.join(root, 'src/cli/main.ts'))}).main(['node', 'seismo', ...process.argv.slice(1)]);`;
    for (const args of [['bench', '--pytorch-blas', 'wheel,blis', '--json'], ['bench', 'train', '--pytorch-blas', 'whl', '--json']]) {
      const r = spawnSync(process.execPath, ['-e', code, '--', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 1, r.stderr);
      const out = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string } };
      assert.equal(out.ok, false);
      assert.equal(out.error.code, 'ERR_INVALID_OPTION');
      assert.match(out.error.message, /openblas, mkl, mkl-avx512, wheel/);
    }
  });
});
