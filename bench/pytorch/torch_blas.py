"""Which BLAS Debian's torch computes with, chosen per process, and proof of what actually ran.

Debian bookworm's libtorch_cpu.so links `libblas.so.3` and `liblapack.so.3` (the system's
alternatives, OpenBLAS here) ahead of anything that pulls in `libopenblas.so.0`, so the first
`sgemm_` the loader finds is the one in whichever `libblas.so.3` it loads first. Debian's non-free
MKL (`apt-get install libmkl-rt`, MKL 2020.4) ships `libblas.so.3`/`liblapack.so.3` links to
`libmkl_rt.so` in /usr/lib/x86_64-linux-gnu/mkl: with that folder first on LD_LIBRARY_PATH, this
one process runs its GEMMs on MKL while the system-wide alternative (other users, other
benchmarks) stays as it is. The loader reads LD_LIBRARY_PATH only at process start, so `select()`
re-executes the script with the environment set before torch is imported.

Choices:
- `openblas`: the system alternative as installed (OpenBLAS 0.3.21, pthread build), capped at one
  thread with OPENBLAS_NUM_THREADS=1 (torch.set_num_threads does not reach OpenBLAS' own pool).
- `mkl`: MKL 2020.4 through libmkl_rt, sequential threading layer, one thread (MKL_NUM_THREADS=1);
  MKL chooses its own code path for the CPU: on AMD CPUs not its AVX-512 kernels (its CNR auto
  branch reads 2, COMPATIBLE; MKL_DEBUG_CPU_TYPE=5 no longer changes that in 2020.4).
- `mkl-avx512`: as `mkl`, with bench/pytorch/mkl_intel_cpu.c (compiled here with `cc`) preloaded
  so that MKL takes the CPU for Intel's and dispatches its AVX-512 kernels (auto branch 14).
- `wheel`: the PyPI/PyTorch CPU wheel (torch 2.x+cpu, installed by bench/pytorch/install-wheel.sh),
  run by that venv's python: MKL linked statically into libtorch_cpu.so and oneDNN (its `nn.LSTM`
  runs oneDNN's fused RNN primitive through aten::mkldnn_rnn_layer). Nothing to select: one thread
  through OMP/MKL/OpenBLAS variables (numpy's bundled OpenBLAS too) and torch.set_num_threads(1).

`report()` says what ran, from the process itself: the library that `sgemm_` resolves to from
libtorch_cpu.so (dladdr), the BLAS libraries mapped, MKL's version, and, with MKL, the MKL calls
counted while the caller's function runs with MKL's verbose mode on (MKL_VERBOSE's own output).
"""
import ctypes
import os
import sys
import tempfile

MKL_DIR = '/usr/lib/x86_64-linux-gnu/mkl'
MKL_RT = '/usr/lib/x86_64-linux-gnu/libmkl_rt.so'
CHOICES = ('openblas', 'mkl', 'mkl-avx512', 'wheel')
_MARK = 'SEISMO_TORCH_BLAS'


def preparse():
    """The --blas choice from the command line, read before torch is imported."""
    import argparse
    ap = argparse.ArgumentParser(add_help=False)
    add_argument(ap)
    return ap.parse_known_args()[0].blas


def add_argument(ap):
    ap.add_argument('--blas', choices=CHOICES, default='openblas', help='BLAS for torch in this process (default: the system alternative, OpenBLAS)')


def select(blas):
    """Before `import torch`: make this process load `blas`, re-executing itself once if the loader must see a new LD_LIBRARY_PATH."""
    os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    if blas == 'wheel':
        # The wheel's MKL is inside libtorch_cpu.so: no loader path to set, no re-execution. Its
        # threads (MKL, libgomp for oneDNN) are read from the environment when torch loads.
        os.environ.setdefault('MKL_NUM_THREADS', '1')
        os.environ[_MARK] = blas
        return
    if os.environ.get(_MARK) == blas:
        return
    env = dict(os.environ)
    paths = [p for p in env.get('LD_LIBRARY_PATH', '').split(':') if p and os.path.realpath(p) != MKL_DIR]
    if blas.startswith('mkl'):
        if not os.path.exists(os.path.join(MKL_DIR, 'libblas.so.3')):
            sys.exit(f'--blas mkl: {MKL_DIR}/libblas.so.3 not found; install Debian\'s non-free MKL: apt-get install libmkl-rt (answer "no" to making it the system default)')
        paths.insert(0, MKL_DIR)
        # Sequential: one thread and no OpenMP runtime of MKL's own beside torch's libgomp.
        env.setdefault('MKL_THREADING_LAYER', 'SEQUENTIAL')
        env.setdefault('MKL_NUM_THREADS', '1')
    preload = [p for p in env.get('LD_PRELOAD', '').split() if os.path.basename(p) != os.path.basename(_SHIM_SO)]
    if blas == 'mkl-avx512':
        preload.insert(0, _shim())
    env['LD_PRELOAD'] = ' '.join(preload)
    if not env['LD_PRELOAD']:
        del env['LD_PRELOAD']
    env['LD_LIBRARY_PATH'] = ':'.join(paths)
    if not env['LD_LIBRARY_PATH']:
        del env['LD_LIBRARY_PATH']
    env[_MARK] = blas
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


_SHIM_SO = f'seismo-mkl-intel-cpu-{os.getuid()}.so'


def _shim():
    """bench/pytorch/mkl_intel_cpu.c built into the temp folder (rebuilt when the source is newer)."""
    import subprocess
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'mkl_intel_cpu.c')
    so = os.path.join(tempfile.gettempdir(), _SHIM_SO)
    if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(src):
        tmp = f'{so}.{os.getpid()}'
        r = subprocess.run(['cc', '-shared', '-fPIC', '-O2', '-o', tmp, src], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f'--blas mkl-avx512: could not compile {src} with cc ({r.stderr.strip() or r.returncode}); install a C compiler (apt-get install gcc)')
        os.replace(tmp, so)
    return so


class _DlInfo(ctypes.Structure):
    _fields_ = [('dli_fname', ctypes.c_char_p), ('dli_fbase', ctypes.c_void_p), ('dli_sname', ctypes.c_char_p), ('dli_saddr', ctypes.c_void_p)]


def _mapped():
    with open('/proc/self/maps') as f:
        return sorted({line.split()[-1] for line in f if '/' in line and '.so' in line})


def _sgemm_library(torch):
    """The library torch's `sgemm_` binds to: looked up from libtorch_cpu.so's own scope, then dladdr."""
    lib = next((p for p in _mapped() if os.path.basename(p).startswith('libtorch_cpu.so')), None)
    if lib is None:
        return 'unknown (libtorch_cpu.so not mapped)'
    try:
        addr = ctypes.cast(ctypes.CDLL(lib).sgemm_, ctypes.c_void_p).value
    except AttributeError:
        return 'unknown (no sgemm_ in libtorch_cpu.so\'s scope)'
    info = _DlInfo()
    if ctypes.CDLL('libc.so.6').dladdr(ctypes.c_void_p(addr), ctypes.byref(info)) == 0:
        return 'unknown (dladdr failed)'
    return os.path.realpath(info.dli_fname.decode())


def _count_mkl_calls(mkl, fn):
    """Runs fn() with MKL's verbose mode on, its lines sent to a file by MKL itself: calls per MKL function, and MKL's header line."""
    fd, log = tempfile.mkstemp(prefix='seismo-mkl-verbose-', suffix='.log')
    os.close(fd)
    try:
        mkl.MKL_Verbose_Output_File(log.encode())
        mkl.MKL_Verbose(1)
        try:
            fn()
        finally:
            mkl.MKL_Verbose(0)
        with open(log, errors='replace') as f:
            lines = f.read().splitlines()
    finally:
        os.unlink(log)
    calls = {}
    for line in lines:
        if line.startswith('MKL_VERBOSE ') and '(' in line and 'Intel(R) MKL' not in line:
            name = line.split()[1].split('(')[0]
            calls[name] = calls.get(name, 0) + 1
    return calls, next((l for l in lines if 'Intel(R) MKL' in l), None)


def _capture_fd(target, fn):
    """Runs fn() with file descriptor `target` sent to a temp file and returns its lines: MKL's and
    oneDNN's verbose lines are printed by C code on stdout, which must not mix with the JSON this
    script prints there (and kineto's start/stop lines on stderr are noise in the bench's log)."""
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    sys.stderr.flush()
    libc.fflush(None)
    fd, log = tempfile.mkstemp(prefix='seismo-torch-verbose-', suffix='.log')
    saved = os.dup(target)
    os.dup2(fd, target)
    try:
        fn()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        libc.fflush(None)
        os.dup2(saved, target)
        os.close(saved)
        os.close(fd)
    try:
        with open(log, errors='replace') as f:
            return f.read().splitlines()
    finally:
        os.unlink(log)


def parse_verbose(lines):
    """MKL_VERBOSE and onednn_verbose lines of one probe: what ran, on which code path, how many threads.

    oneDNN's exec lines are `onednn_verbose,v1,primitive,exec,cpu,<primitive>,<implementation>,
    <prop_kind>,<memory descriptors>,<attributes>,<auxiliary>,<problem>,<ms>`; MKL's are
    `MKL_VERBOSE SGEMM(transa,transb,m,n,k,...) <time> CNR:.. Dyn:.. FastMM:.. TID:.. NThr:<n>`.
    """
    out = {'onednnInfo': [], 'onednnPrimitives': {}, 'onednnRnn': [], 'mklCallsInProbe': {}, 'mklCalls': [], 'mklThreads': []}
    for line in lines:
        if line.startswith('onednn_verbose,'):
            f = line.split(',')
            if len(f) > 3 and f[2] == 'info' and 'template:' not in line:
                out['onednnInfo'].append(','.join(f[3:]))
            elif len(f) > 12 and f[2] == 'primitive' and f[3] == 'exec':
                prim, impl, prop = f[5], f[6], f[7]
                key = f'{prim} {impl} {prop}'
                out['onednnPrimitives'][key] = out['onednnPrimitives'].get(key, 0) + 1
                if prim == 'rnn':
                    alg = next((a.split(':', 1)[1] for a in f[10].split() if a.startswith('alg:')), '')
                    out['onednnRnn'].append({'impl': impl, 'prop': prop, 'alg': alg, 'problem': f[11], 'ms': float(f[12]) if f[12] else None})
        elif line.startswith('MKL_VERBOSE '):
            rest = line[len('MKL_VERBOSE '):]
            name = rest.split('(')[0]
            if '(' not in rest or ' ' in name:
                out['mklVerboseHeader'] = rest.strip()
                continue
            out['mklCallsInProbe'][name] = out['mklCallsInProbe'].get(name, 0) + 1
            args = rest[rest.index('(') + 1:rest.index(')')].split(',')
            # The shape arguments (transposes, m, n, k), not the pointers.
            shape = ','.join(a for a in args[:5] if not a.startswith('0x'))
            tail = rest[rest.index(')') + 1:].split()
            nthr = next((t.split(':')[1] for t in tail if t.startswith('NThr:')), None)
            if nthr is not None:
                out['mklThreads'].append(int(nthr))
            out['mklCalls'].append(f'{name}({shape}) {tail[0] if tail else ""}'.strip())
    for line in out['onednnInfo']:
        if line.startswith('oneDNN v'):
            out['onednnVersion'] = line.split()[1]
        elif 'nthr:' in line:
            out['onednnThreads'] = int(line.split('nthr:')[1].split(',')[0])
        elif line.startswith('cpu,isa:'):
            out['onednnIsa'] = line.split('isa:', 1)[1]
    return out


def _wheel_probe(torch, probe):
    """One probe step with MKL's and oneDNN's verbose modes on (their own lines), and one under
    torch.profiler (the aten ops that ran: aten::mkldnn_rnn_layer is oneDNN's RNN primitive)."""
    def verbose():
        with torch.backends.mkl.verbose(torch.backends.mkl.VERBOSE_ON), torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
            probe()
    out = parse_verbose(_capture_fd(1, verbose))
    from torch.profiler import ProfilerActivity, profile
    events = []

    def profiled():
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            probe()
        events.extend(prof.events())
    # Anything else on stderr (warnings) is passed on; kineto's USDT start/stop lines are not.
    for line in _capture_fd(2, profiled):
        if not line.startswith('USDT:'):
            print(line, file=sys.stderr)
    ops = sorted({e.name for e in events})
    out['profilerOps'] = ops
    out['rnnOps'] = [o for o in ops if 'rnn' in o.lower() or 'lstm' in o.lower()]
    return out


def _report_wheel(torch, out, cfg, probe):
    """The wheel: MKL and oneDNN inside libtorch_cpu.so, their versions from torch's build
    configuration and from the libraries themselves, and what one probe step ran."""
    lines = [l.strip(' -') for l in cfg.splitlines()]
    out['python'] = sys.executable
    out['mklBuild'] = next((l for l in lines if 'Math Kernel Library' in l), 'none')
    out['cpuCapability'] = torch.backends.cpu.get_cpu_capability()
    out['env'] = {k: v for k, v in os.environ.items() if k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_ENABLE_INSTRUCTIONS', 'ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA')}
    lib = next((p for p in _mapped() if os.path.basename(p).startswith('libtorch_cpu.so')), None)
    if lib is not None:
        torch_cpu = ctypes.CDLL(lib)
        try:
            buf = ctypes.create_string_buffer(256)
            torch_cpu.MKL_Get_Version_String(buf, 256)
            out['mklVersion'] = buf.value.decode().strip()
            out['mklMaxThreads'] = torch_cpu.mkl_get_max_threads()
            # The static MKL exports its service layer: the conditional-numerical-reproducibility
            # branch it would pick (2 = COMPATIBLE, its code path for non-Intel CPUs; 10 = AVX2;
            # 12/14 = AVX-512).
            out['mklCbwrAutoBranch'] = torch_cpu.mkl_serv_cbwr_get_auto_branch()
        except AttributeError as e:
            out['mklVersion'] = f'unknown ({e})'
    if probe is not None:
        out.update(_wheel_probe(torch, probe))
    return out


def summary_wheel(b):
    """One line: what the wheel's process ran, from its own reports."""
    mkl = b.get('mklVersion', '').split('Version ')[-1].split('-')[0] or '?'
    branch = {2: "MKL's non-Intel dispatch (CNR branch 2)", 10: 'AVX2 dispatch', 12: 'AVX-512 dispatch', 14: 'AVX-512 dispatch'}.get(b.get('mklCbwrAutoBranch'), f"CNR branch {b.get('mklCbwrAutoBranch')}")
    parts = [f"torch {b.get('torchVersion', '?')} wheel: MKL {mkl} in libtorch_cpu.so, {branch}"]
    calls = b.get('mklCallsInProbe')
    if calls is not None:
        threads = sorted(set(b.get('mklThreads', [])))
        parts.append(', '.join(f'{k} x{v}' for k, v in sorted(calls.items())) + (f" NThr:{'/'.join(map(str, threads))}" if threads else '') if calls else 'no MKL call in the probe')
    rnn = b.get('onednnRnn')
    if rnn is not None:
        kinds = {}
        for r in rnn:
            k = f"{r['impl']} {r['prop']}"
            kinds[k] = kinds.get(k, 0) + 1
        what = '; '.join(f'{k} x{v}' for k, v in kinds.items()) or 'no RNN primitive ran'
        parts.append(f"oneDNN {b.get('onednnVersion', b.get('onednn', '?'))} rnn {what} (nthr:{b.get('onednnThreads', '?')}, {b.get('onednnIsa', '?')})")
    if b.get('rnnOps') is not None:
        parts.append('profiler: ' + (', '.join(o for o in b['rnnOps'] if o.startswith('aten::mkldnn') or o.startswith('Mkldnn')) or 'no aten::mkldnn_rnn_layer'))
    return '; '.join(parts)


def report(torch, probe=None):
    """What this process computes with. `probe`: a function doing one unit of the benchmark's work (MKL calls are counted during it)."""
    cfg = torch.__config__.show()
    onednn = next((l.strip(' -') for l in cfg.splitlines() if 'MKL-DNN' in l or 'oneDNN' in l), 'none')
    mapped = _mapped()
    blas_libs = [p for p in mapped if any(k in os.path.basename(p) for k in ('blas', 'lapack', 'mkl'))]
    out = {
        'selected': os.environ.get(_MARK, 'openblas'),
        'sgemm': _sgemm_library(torch),
        'blasLibrariesMapped': blas_libs,
        'alternative': os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3'),
        'torchMkl': torch.backends.mkl.is_available(),
        'mkldnn': torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
        'onednn': onednn,
        'threads': torch.get_num_threads(),
        'torchVersion': torch.__version__,
    }
    if out['selected'] == 'wheel':
        out = _report_wheel(torch, out, cfg, probe)
        out['summary'] = summary_wheel(out)
        return out
    if any(os.path.basename(p).startswith('libmkl_rt') for p in mapped):
        mkl = ctypes.CDLL(MKL_RT)
        buf = ctypes.create_string_buffer(256)
        mkl.mkl_get_version_string(buf, 256)
        out['mklVersion'] = buf.value.decode().strip()
        out['mklMaxThreads'] = mkl.mkl_get_max_threads()
        # The conditional-numerical-reproducibility branch MKL would pick: 2 = COMPATIBLE (what it
        # reports for non-Intel CPUs), 10 = AVX2, 12/14 = AVX-512.
        out['mklCbwrAutoBranch'] = mkl.mkl_cbwr_get_auto_branch()
        out['mklEnv'] = {k: v for k, v in os.environ.items() if k.startswith('MKL_') or k == 'LD_PRELOAD'}
        if probe is not None:
            calls, header = _count_mkl_calls(mkl, probe)
            out['mklCallsInProbe'] = calls
            if header:
                out['mklVerboseHeader'] = header.replace('MKL_VERBOSE ', '')
    elif probe is not None:
        out['mklCallsInProbe'] = {}
    out['summary'] = summary(out)
    return out


def summary(b):
    """One line: what ran the GEMMs."""
    lib = os.path.basename(b['sgemm'])
    if 'mkl' in lib:
        calls = b.get('mklCallsInProbe')
        n = sum(calls.values()) if calls else 0
        # Its non-Intel dispatch is not slow code (512x512 SGEMM ran at ~90 GFLOP/s on this AMD EPYC).
        branch = {2: 'non-Intel dispatch', 9: 'AVX dispatch', 10: 'AVX2 dispatch', 12: 'AVX-512 dispatch', 14: 'AVX-512 dispatch'}.get(b.get('mklCbwrAutoBranch'), f"CNR branch {b.get('mklCbwrAutoBranch')}")
        what = f"MKL {b.get('mklVersion', '').split('Version ')[-1].split(' ')[0]}, {branch} ({lib}"
        if calls is None:
            counted = ''
        elif n == 0:
            counted = '; no MKL call in one probe step: oneDNN or torch\'s own kernels ran it'
        else:
            counted = f'; {n} MKL calls in one probe step: ' + ', '.join(f'{k} {v}' for k, v in sorted(calls.items()))
        return what + counted + ')'
    if 'openblas' in b['sgemm']:
        return f'OpenBLAS ({b["sgemm"]})'
    return b['sgemm']
