"""Per-layer timings of a DCGAN for 28x28 images: forward + backward at batch 64, float32.

    python benchmarks/layers.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/layers.py

(the second line times NumPy's OpenBLAS without an OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE kernel
override, where a machine sets one, for this command only; the performance targets refer to
that figure). Options: --repeats R (default 30),
--threads T (limit both libraries to T threads), --cpu-time (with
--threads 1: time the process's CPU time instead of the wall clock, so that time spent waiting
for a core held by other processes is not counted -- the steadier figure on a busy machine).

For every layer it prints the median time of one forward + backward pass over R repeats, the
matrix-multiply work of that pass (3 products of 2*M*N*K flops for Dense and convolution layers:
the forward product, the weight gradient and the input gradient), the rate achieved, that rate as
a fraction of this machine's float32 matmul peak (a 2048^3 product sampled between the layers
of the same run), the time of those three products alone on random matrices of the same shapes
(the floor of any design that computes the layer with matrix products), and, where PyTorch is
installed, the ratios minigan / PyTorch and products alone / PyTorch for the same layer on the
CPU with the same number of threads. minigan and PyTorch are timed in alternating blocks, so drift in the
machine's load hits both; the ratios are the figures to compare between runs. (Not step by step:
after a parallel region OpenBLAS and PyTorch's OpenMP threads keep spinning for a while, and on
a machine with few cores the spinning threads of one library slow the other down.)
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from minigan import backend as B
from minigan.flops import MatmulPeak
from minigan.nn import BatchNorm2d, Conv2d, ConvTranspose2d, Dense

try:
    import torch
except ImportError:       # PyTorch is an optional comparison, never a dependency
    torch = None

BATCH = 64
ROUNDS = 3        # minigan and PyTorch are timed in alternating blocks of repeats / ROUNDS steps
WARMUP = 2        # untimed steps at the start of each block
SETTLE_S = 0.3    # pause before each block: idle BLAS / OpenMP threads stop spinning


def layer_specs():
    """(name, minigan layer, torch layer factory, input shape, product shape or None).

    The product shape (rows, k, cols): the layer's forward + backward runs three matrix products
    of rows*k*cols multiply-adds each, as ``products_step`` times them. A ConvTranspose2d runs
    the products of the Conv2d it is the adjoint of, forward and input gradient swapped."""
    n = BATCH

    def products(rows, k, cols):
        return rows, k, cols

    tnn = torch.nn if torch is not None else None
    return [
        ("Dense 100->6272", Dense(100, 7 * 7 * 128),
         lambda: tnn.Linear(100, 7 * 7 * 128), (n, 100), products(n, 100, 6272)),
        ("BatchNorm2d(128) 7x7", BatchNorm2d(128),
         lambda: tnn.BatchNorm2d(128), (n, 128, 7, 7), None),
        ("ConvT 128->64 7->14", ConvTranspose2d(128, 64, 4, 2, 1),
         lambda: tnn.ConvTranspose2d(128, 64, 4, 2, 1), (n, 128, 7, 7),
         products(n * 7 * 7, 4 * 4 * 64, 128)),
        ("BatchNorm2d(64) 14x14", BatchNorm2d(64),
         lambda: tnn.BatchNorm2d(64), (n, 64, 14, 14), None),
        ("ConvT 64->1 14->28", ConvTranspose2d(64, 1, 4, 2, 1),
         lambda: tnn.ConvTranspose2d(64, 1, 4, 2, 1), (n, 64, 14, 14),
         products(n * 14 * 14, 4 * 4 * 1, 64)),
        ("Conv 1->64 28->14", Conv2d(1, 64, 4, 2, 1),
         lambda: tnn.Conv2d(1, 64, 4, 2, 1), (n, 1, 28, 28),
         products(n * 14 * 14, 4 * 4 * 1, 64)),
        ("Conv 64->128 14->7", Conv2d(64, 128, 4, 2, 1),
         lambda: tnn.Conv2d(64, 128, 4, 2, 1), (n, 64, 14, 14),
         products(n * 7 * 7, 4 * 4 * 64, 128)),
    ]


def _openblas():
    """NumPy's OpenBLAS library through ctypes (no dependency), or None if it cannot be found.

    NumPy's wheels bundle OpenBLAS with prefixed symbol names (``scipy_openblas_get_corename64_``);
    system builds use the plain ones. threadpoolctl, where installed, reads the same functions.
    """
    import ctypes
    paths = set()
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        pass
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""),
                               ("openblas", "64_"), ("openblas", "")):
            if hasattr(lib, f"{prefix}_get_corename{suffix}"):
                return lib, prefix, suffix
    return None


def openblas_info():
    """(kernel name, configuration, threads) of NumPy's OpenBLAS, or None."""
    import ctypes
    found = _openblas()
    if found is None:
        return None
    lib, prefix, suffix = found
    corename = getattr(lib, f"{prefix}_get_corename{suffix}")
    config = getattr(lib, f"{prefix}_get_config{suffix}")
    threads = getattr(lib, f"{prefix}_get_num_threads{suffix}")
    corename.restype = config.restype = ctypes.c_char_p
    threads.restype = ctypes.c_int
    return corename().decode(), config().decode(), threads()


def set_blas_threads(threads: int) -> bool:
    """Limit NumPy's OpenBLAS to ``threads`` threads (threadpoolctl if installed, else ctypes)."""
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=threads, user_api="blas")
        return True
    except ImportError:
        pass
    found = _openblas()
    if found is None:
        return False
    lib, prefix, suffix = found
    name = (f"{prefix}_set_num_threads{suffix}" if prefix == "openblas"
            else f"scipy_openblas_set_num_threads{suffix}")
    if not hasattr(lib, name):
        return False
    import ctypes
    getattr(lib, name)(ctypes.c_int(threads))
    return True


def blas_threads() -> int:
    """Threads NumPy's BLAS uses (threadpoolctl or OpenBLAS itself, else the CPU count)."""
    try:
        from threadpoolctl import threadpool_info
        counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
        if counts:
            return counts[0]
    except ImportError:
        pass
    info = openblas_info()
    if info is not None:
        return info[2]
    return os.cpu_count() or 1


def cpu_name() -> str:
    """The CPU's model name, family/model numbers and widest vector units (from /proc/cpuinfo)."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break                                   # the first processor is enough
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        return platform.processor() or platform.machine()
    flags = set(fields.get("flags", "").split())
    simd = ("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else
            "AVX" if "avx" in flags else "SSE")
    simd += ", AMX" if "amx_tile" in flags else ""
    return (f"{fields.get('model name', platform.machine())}, family {fields.get('cpu family')} "
            f"model {fields.get('model')}, {simd}")


def environment() -> list:
    lines = [f"python {platform.python_version()}, numpy {np.__version__}, "
             f"{os.cpu_count()} CPUs ({cpu_name()})"]
    info = openblas_info()
    if info is not None:
        kernel, config, threads = info
        lines.append(f"BLAS: {config.split('  ')[0]} ({kernel} kernels, {threads} threads)")
    else:
        lines.append("BLAS: not OpenBLAS, or not found (numpy.show_config() tells which)")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var)
        lines.append(f"{var}: {'set to ' + repr(value) if value is not None else 'not set'}")
    if torch is not None:
        lines.append(f"torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()} "
                     f"kernels), {torch.get_num_threads()} threads")
    else:
        lines.append("torch: not installed (no PyTorch column)")
    return lines


def products_step(rows, k, cols):
    """The three products of a layer alone, on random float32 matrices of its shapes:
    A @ W (forward), A^T @ G (weight gradient), G @ W^T (input gradient), with A: (rows, k),
    W: (k, cols), G: (rows, cols). No copy, no layout change, no elementwise pass: for a
    convolution computed with matrix products (im2col), the time no arrangement can go below."""
    a, w, g = B.randn(rows, k), B.randn(k, cols), B.randn(rows, cols)
    out = [B.xp.empty((rows, cols), a.dtype), B.xp.empty((k, cols), a.dtype),
           B.xp.empty((rows, k), a.dtype)]

    def step():
        B.xp.matmul(a, w, out=out[0])
        B.xp.matmul(a.T, g, out=out[1])
        B.xp.matmul(g, w.T, out=out[2])
    return step


def minigan_step(layer, x, dy):
    def step():
        layer.forward(x)
        layer.backward(dy)
    return step


def torch_step(layer, x, dy):
    x = x.clone().requires_grad_(True)

    def step():
        x.grad = None
        layer(x).backward(dy)
    return step


def timed(step, clock) -> float:
    start = clock()
    step()
    return clock() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed repeats per layer")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit NumPy's BLAS and PyTorch to this many threads "
                             "(default: as configured)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="with --threads 1: measure process CPU time, not wall-clock time")
    args = parser.parse_args(argv)
    if args.cpu_time and args.threads != 1:
        parser.error("--cpu-time needs --threads 1 (with more threads, CPU time adds up "
                     "the threads' time, spinning included)")
    clock = time.process_time if args.cpu_time else time.perf_counter
    if args.threads is not None and not set_blas_threads(args.threads):
        parser.error("--threads: cannot set NumPy's BLAS threads (not OpenBLAS?); set "
                     "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS instead")

    B.set_dtype("float32")
    B.seed(0)
    threads = blas_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    print("\n".join(environment()))
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    peak = MatmulPeak()

    results = []                  # (name, flops, minigan ms, products ms, torch ms or None)
    for name, layer, torch_factory, in_shape, product in layer_specs():
        x = B.randn(*in_shape)
        dy = B.randn(*layer.forward(x).shape)
        steps = [minigan_step(layer, x, dy)]
        if torch is not None:
            steps.append(torch_step(torch_factory(), torch.from_numpy(B.to_numpy(x)),
                                    torch.from_numpy(B.to_numpy(dy))))
        if product:
            steps.append(products_step(*product))
        times = [[] for _ in steps]
        for _ in range(ROUNDS):                   # alternate blocks, so drift hits both
            peak.sample(clock)
            for t, step in zip(times, steps):
                time.sleep(SETTLE_S)
                for _ in range(WARMUP):
                    step()
                t.extend(timed(step, clock) for _ in range(max(1, args.repeats // ROUNDS)))
        ms = [1e3 * float(np.median(t)) for t in times]
        flops = 3 * 2 * product[0] * product[1] * product[2] if product else 0
        results.append((name, flops, ms[0], ms[-1] if product else None,
                        ms[1] if torch is not None else None))

    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    peak_gflops = peak.gflops()
    print(f"float32 matmul peak ({peak.size}^3, median of {len(peak.times)} sampled through "
          f"the run): {peak_gflops:.0f} GFLOP/s")
    print(f"load average (1 min) before / after: {load_before:.2f} / {load_after:.2f} "
          f"(other processes make every figure noisier)")
    print(f"times: {'process CPU time' if args.cpu_time else 'wall clock'}, median of "
          f"{ROUNDS * max(1, args.repeats // ROUNDS)} repeats per layer\n")
    header = (f"{'layer (batch 64, fwd+bwd)':<24} {'minigan ms':>10} {'GFLOP':>6} "
              f"{'GFLOP/s':>8} {'% peak':>7} {'products ms':>12}")
    if torch is not None:
        header += f" {'torch ms':>9} {'minigan/torch':>14} {'products/torch':>15}"
    print(header)
    print("-" * len(header))
    for name, flops, ms, products_ms, torch_ms in results:
        row = f"{name:<24} {ms:>10.2f} "
        if flops:
            rate = flops / (ms / 1e3) / 1e9
            row += (f"{flops / 1e9:>6.2f} {rate:>8.0f} {100 * rate / peak_gflops:>6.0f}% "
                    f"{products_ms:>12.2f}")
        else:
            row += f"{'-':>6} {'-':>8} {'-':>7} {'-':>12}"
        if torch_ms is not None:
            row += f" {torch_ms:>9.2f} {ms / torch_ms:>14.2f}"
            row += f" {products_ms / torch_ms:>15.2f}" if flops else f" {'-':>15}"
        print(row)
    print("-" * len(header))
    total_ms = sum(r[2] for r in results)
    total = f"{'all layers':<24} {total_ms:>10.2f} {'':>6} {'':>8} {'':>7} {'':>12}"
    if torch is not None:
        total_torch = sum(r[4] for r in results)
        total += f" {total_torch:>9.2f} {total_ms / total_torch:>14.2f}"
    print(total)
    print("products ms: the layer's three matrix products alone at its shapes, on random "
          "matrices\n(no copies, no layout changes): the floor of any im2col convolution.")


if __name__ == "__main__":
    main()
