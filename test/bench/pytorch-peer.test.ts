import assert from 'node:assert/strict';
import { checkPeerBlas, parsePytorchBlas, pythonOf, runPytorchScoring } from '../../bench/pytorch/peer.js';
import { SeismoError } from '../../src/errors.js';

const PYTHON = '/usr/bin/python3';

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

  it('refuses an MKL peer whose GEMMs did not run on MKL, and takes the default peer as installed', () => {
    const report = (selected: 'openblas' | 'mkl' | 'mkl-avx512', sgemm: string) => ({ selected, summary: '', sgemm });
    assert.equal(checkPeerBlas(report('mkl', '/usr/lib/x86_64-linux-gnu/mkl/../libmkl_rt.so')).sgemm.endsWith('libmkl_rt.so'), true);
    assert.doesNotThrow(() => checkPeerBlas(report('mkl-avx512', '/usr/lib/x86_64-linux-gnu/libmkl_rt.so')));
    assert.doesNotThrow(() => checkPeerBlas(report('openblas', '/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3')));
    for (const sgemm of ['/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3', '']) {
      assert.throws(() => checkPeerBlas(report('mkl', sgemm)), (e: unknown) => e instanceof SeismoError && e.code === 'ERR_INVALID_OPTION' && /not MKL's libmkl_rt\.so/.test(e.message));
    }
  });
});
