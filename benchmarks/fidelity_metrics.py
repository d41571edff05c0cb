"""Time and memory of precision/recall/density/coverage on large feature sets.

    python benchmarks/fidelity_metrics.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/fidelity_metrics.py
    python benchmarks/fidelity_metrics.py --num 20000 --dim 64 --repeats 3

``minigan.metrics.precision_recall_density_coverage`` on N real and N generated features of
dimension D (default 10,000 x 10,000, D = 64, float64): the median wall time over the repeats
(three passes of blocked N x N x D products plus the partitions that find the k-th neighbours),
and the peak of memory allocated beyond the inputs (tracemalloc, one extra run), next to the
8 N^2 bytes a full distance matrix would take.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from layers import environment  # noqa: E402  (benchmarks/layers.py)

from minigan import metrics  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=10000, help="points per set (N)")
    parser.add_argument("--dim", type=int, default=64, help="feature dimension (D)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print("\n".join(environment()))
    print(f"load average: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    rng = np.random.default_rng(0)
    real = rng.standard_normal((args.num, args.dim))
    fake = 1.1 * rng.standard_normal((args.num, args.dim)) + 0.05
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = metrics.precision_recall_density_coverage(real, fake)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    metrics.precision_recall_density_coverage(real, fake)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    median = float(np.median(times))
    print(f"{args.num} real x {args.num} generated, D = {args.dim}: "
          + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    print(f"time: median {median:.2f} s over {args.repeats} "
          f"({', '.join(f'{t:.2f}' for t in times)})")
    print(f"memory: peak {peak / 1e6:.0f} MB allocated beyond the inputs "
          f"({2 * real.nbytes / 1e6:.0f} MB); a full distance matrix would be "
          f"{8 * args.num ** 2 / 1e6:.0f} MB")
    return {"median_s": median, "peak_bytes": peak}


if __name__ == "__main__":
    main()
