import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { parsePytorchBlas, pythonOf, runPytorchScoring } from '../../bench/pytorch/peer.js';
import { SeismoError } from '../../src/errors.js';

const PYTHON = '/usr/bin/python3';
const hasTorch = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const hasMkl = fs.existsSync('/usr/lib/x86_64-linux-gnu/mkl/libblas.so.3');

describe('bench/pytorch peer', function () {
  this.timeout(120_000);

  it('parses --pytorch-blas lists and rejects unknown names', () => {
    assert.deepEqual(parsePytorchBlas(undefined), ['openblas']);
    assert.deepEqual(parsePytorchBlas('mkl, openblas,mkl'), ['mkl', 'openblas']);
    assert.deepEqual(parsePytorchBlas('mkl-avx512'), ['mkl-avx512']);
    for (const bad of ['', 'blis', 'openblas,mkl2']) {
      assert.throws(() => parsePytorchBlas(bad), (e: unknown) => e instanceof SeismoError && e.code === 'ERR_INVALID_OPTION' && /openblas, mkl, mkl-avx512/.test(e.message));
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

  // Needs Debian's python3-torch (and libmkl-rt for the MKL half), which CI does not install.
  it('proves from inside the peer which BLAS ran: OpenBLAS by default, MKL with --blas mkl', function () {
    if (!hasTorch || !hasMkl) this.skip();
    const open = runPytorchScoring(PYTHON, 16, 0.05, 'openblas');
    assert.match(open.backends.sgemm, /openblas/);
    // The default peer binds sgemm_ to the system's libblas.so.3 alternative, as installed.
    assert.equal(open.backends.sgemm, open.backends['alternative']);
    assert.deepEqual(open.backends.mklCallsInProbe, {});
    assert.ok(open.windowsPerSec > 0);
    const mkl = runPytorchScoring(PYTHON, 16, 0.05, 'mkl');
    assert.match(mkl.backends.sgemm, /libmkl_rt\.so$/);
    // One forward pass of the LSTM-AE: per LSTM one input GEMM and 64 recurrent ones, and the Linear.
    assert.equal(mkl.backends.mklCallsInProbe?.['SGEMM'], 2 * (1 + 64) + 1);
    assert.match(mkl.backends.summary, /^MKL 2020/);
    // MKL reached that process alone: the system-wide alternative still names OpenBLAS.
    assert.equal(mkl.backends['alternative'], open.backends['alternative']);
  });
});
