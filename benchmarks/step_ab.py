"""GAN.step of two minigan checkouts, timed alternately in one run: the ratio of their medians.

    python benchmarks/step_ab.py /path/to/other/checkout            (this checkout vs that one)
    python benchmarks/step_ab.py OTHER --models mlp,dense --rounds 5
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/step_ab.py OTHER

Each round runs one fresh process per checkout (one BLAS thread, CPU time), each timing
``--steps`` iterations per model after a warm-up; rounds alternate the checkouts so that drift in
the machine's load hits both. Models: "mlp" (2-64-64-2 G and D, batch 64: bound by per-call
overhead), "mlp-bn" (the same with BatchNorm in G), "dense" (document 003's dense GAN, batch
64), "dcgan" (chapter 4's DCGAN, batch 64). The figure to compare is "this / other".
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

WORKER = r'''
import sys, time
from minigan import backend as B
from minigan.gan import GAN
from minigan.models import dcgan_discriminator, dcgan_generator, dense_discriminator, dense_generator
from minigan.nn import BatchNorm1d, Dense, LeakyReLU, Sequential

def mlp(batchnorm):
    norm = (lambda: [BatchNorm1d(64)]) if batchnorm else (lambda: [])
    G = Sequential(Dense(2, 64), *norm(), LeakyReLU(0.2), Dense(64, 64), *norm(),
                   LeakyReLU(0.2), Dense(64, 2))
    D = Sequential(Dense(2, 64), LeakyReLU(0.2), Dense(64, 64), LeakyReLU(0.2), Dense(64, 1))
    return GAN(G, D, B.randn(4096, 2), latent_dim=2, batch_size=64)

def images(G, D):
    return GAN(G, D, B.rand(2000, 1, 28, 28) * 2 - 1, latent_dim=100, batch_size=64)

MAKE = {"mlp": lambda: mlp(False), "mlp-bn": lambda: mlp(True),
        "dense": lambda: images(dense_generator(100), dense_discriminator()),
        "dcgan": lambda: images(dcgan_generator(100), dcgan_discriminator())}
steps = int(sys.argv[1])
for name in sys.argv[2:]:
    B.seed(0)
    gan = MAKE[name]()
    gan.train(3)
    block = 50 if name.startswith("mlp") else 1
    times = []
    for _ in range(steps):
        start = time.process_time()
        for _ in range(block):
            gan.step()
        times.append((time.process_time() - start) / block)
    times.sort()
    print(name, times[len(times) // 2])
'''


def run(checkout: str, steps: int, models: list) -> dict:
    checkout = os.path.abspath(checkout)
    env = dict(os.environ, PYTHONPATH=checkout, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MPLBACKEND="Agg")
    # cwd=checkout as well: ``python -c`` puts the working folder first on sys.path, before
    # PYTHONPATH, so a run from another checkout's root would import that one's minigan
    out = subprocess.run([sys.executable, "-c", WORKER, str(steps), *models], env=env,
                         cwd=checkout, capture_output=True, text=True, check=True).stdout
    return {name: float(value) for name, value in (line.split() for line in out.splitlines())}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", help="the other minigan checkout (its root folder)")
    parser.add_argument("--models", default="mlp,mlp-bn,dense,dcgan")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=15, help="timed steps per model and run")
    args = parser.parse_args(argv)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    models = args.models.split(",")
    times = {"this": {m: [] for m in models}, "other": {m: [] for m in models}}
    for _ in range(args.rounds):
        for label, checkout in (("this", here), ("other", args.other)):
            for name, seconds in run(checkout, args.steps, models).items():
                times[label][name].append(seconds)
    print(f"this: {here}\nother: {os.path.abspath(args.other)}")
    print(f"{'model':8s} {'this ms':>9s} {'other ms':>9s} {'this / other':>13s}")
    ratios = {}
    for name in models:
        a, b = (statistics.median(times[label][name]) for label in ("this", "other"))
        ratios[name] = a / b
        print(f"{name:8s} {a * 1e3:9.3f} {b * 1e3:9.3f} {a / b:13.3f}")
    return ratios


if __name__ == "__main__":
    main()
