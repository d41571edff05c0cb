"""One GAN training step, minigan vs PyTorch on the CPU: the DCGAN of chapter 4, batch 64, float32.

    python benchmarks/train_step.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/train_step.py
    python benchmarks/train_step.py --backend cupy       (a GPU: minigan on CuPy, PyTorch on CUDA)

(the second line times NumPy's OpenBLAS without this machine's kernel override, for this command
only; the performance targets refer to that figure). Options: --model dcgan|dense, --repeats R
(default 30), --threads T (default 2), --epoch-images N (default 10000; 0 skips the epoch),
--dropout P (the DCGAN discriminator's two Dropout layers, default 0.3 as in document 004; 0
leaves them out), --cpu-time (with --threads 1: process CPU time instead of the wall clock, the
steadier figure on a busy machine), --torch-freeze-d (also time PyTorch with D.requires_grad_(False)
in its G step, which skips D's weight gradients there as minigan's g_step does).

A step is one iteration of Algorithm 1 as ``minigan.gan.GAN.step`` runs it:

    D step   D(real) -> backward;  fake = G(z);  D(fake) -> backward;  Adam step on D
    G step   G(z) -> D -> backward through D and G;  Adam step on G

with the non-saturating BCE-from-logits losses. PyTorch runs the same model and the same step
(``torch.no_grad`` for the fake batch of the D step, as minigan does no backward into G there).
Both are timed in alternating blocks, medians over the repeats, so drift in the machine's load
hits both; the ratio minigan / PyTorch is the figure to compare between runs. The epoch line
times ``GAN.train`` over 10,000 random images (10000 // 64 = 156 steps, batches drawn as in
training).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from layers import environment, set_blas_threads  # benchmarks/layers.py, beside this

from minigan import backend as B
from minigan.flops import MatmulPeak, forward_flops
from minigan.gan import GAN
from minigan.models import (dcgan_discriminator, dcgan_generator, dense_discriminator,
                            dense_generator)

try:
    import torch
except ImportError:       # PyTorch is an optional comparison, never a dependency
    torch = None

BATCH = 64
LATENT_DIM = 100
ROUNDS = 3        # minigan and PyTorch alternate in blocks of repeats / ROUNDS steps
WARMUP = 2        # untimed steps at the start of each block
SETTLE_S = 0.3    # pause before each block: idle BLAS / OpenMP threads stop spinning


# ---------------------------------------------------------------------------------------------
# The models, in minigan and in PyTorch

def minigan_models(model: str, dropout: float = 0.3):
    """(G, D) from minigan.models with their default settings: chapter 4's DCGAN; for "dense",
    document 003's layer sizes with a tanh output (chapter 4's dense GAN ends in a sigmoid).
    ``dropout``: the probability of D's Dropout layers (0: none)."""
    if model == "dcgan":
        return dcgan_generator(LATENT_DIM), dcgan_discriminator(dropout=dropout)
    return dense_generator(LATENT_DIM), dense_discriminator(dropout=dropout)


def torch_models(model: str, dropout: float = 0.3):
    """The same (G, D) in torch.nn, layer for layer."""
    nn = torch.nn

    def drop():
        return [nn.Dropout(dropout)] if dropout else []
    if model == "dcgan":
        G = nn.Sequential(nn.Linear(LATENT_DIM, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)),
                          nn.BatchNorm2d(128), nn.ReLU(),
                          nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                          nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
        D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), *drop(),
                          nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2), *drop(),
                          nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
        return G, D
    G = nn.Sequential(nn.Linear(LATENT_DIM, 256), nn.BatchNorm1d(256), nn.LeakyReLU(0.2),
                      nn.Linear(256, 512), nn.BatchNorm1d(512), nn.LeakyReLU(0.2),
                      nn.Linear(512, 1024), nn.BatchNorm1d(1024), nn.LeakyReLU(0.2),
                      nn.Linear(1024, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
    D = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.LeakyReLU(0.2), *drop(),
                      nn.Linear(512, 256), nn.LeakyReLU(0.2), *drop(), nn.Linear(256, 1))
    return G, D


def step_flops(G, D) -> int:
    """Flops of one minigan step: D forward 3 times (real, fake, G's step) and 5 of its backward
    products (the D step's weight and input gradients twice, the G step's input gradient: its
    D weight gradients are skipped; so is the D step's first-layer input gradient, a small
    product counted here anyway); G forward twice and backward once (two products)."""
    z = B.randn(BATCH, LATENT_DIM)
    g_flops = forward_flops(G, z)
    d_flops = forward_flops(D, G.forward(z))
    return 3 * d_flops + 5 * d_flops + 2 * g_flops + 2 * g_flops


def count_parameters(module) -> int:
    if torch is not None and isinstance(module, torch.nn.Module):
        return sum(p.numel() for p in module.parameters())
    return sum(p.data.size for p in module.parameters())


# ---------------------------------------------------------------------------------------------
# One step each

def minigan_gan(model: str, num_images: int, dropout: float = 0.3) -> GAN:
    G, D = minigan_models(model, dropout)
    images = B.rand(num_images, 1, 28, 28)
    images *= 2
    images -= 1                                                   # random "images" in [-1, 1]
    return GAN(G, D, images, latent_dim=LATENT_DIM, batch_size=BATCH,
               objective="non-saturating", lr_g=2e-4, lr_d=2e-4)


def torch_step_function(model: str, num_images: int, device: str = "cpu",
                        dropout: float = 0.3, freeze_d: bool = False):
    """A closure running one PyTorch iteration (D step, then G step) on ``device``.

    freeze_d: D.requires_grad_(False) during the G step, so that PyTorch skips D's weight
    gradients there as minigan's g_step does (the common PyTorch loop, the default, computes them
    and throws them away at the next opt_d.zero_grad())."""
    torch.set_default_device(device)
    G, D = torch_models(model, dropout)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = torch.nn.BCEWithLogitsLoss()
    images = torch.rand(num_images, 1, 28, 28) * 2 - 1
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)
    position = [num_images]
    order = [None]

    def real_batch():
        if position[0] + BATCH > num_images:
            order[0], position[0] = torch.randperm(num_images), 0
        index = order[0][position[0]:position[0] + BATCH]
        position[0] += BATCH
        return images[index]

    def step():
        opt_d.zero_grad()
        bce(D(real_batch()), ones).backward()
        with torch.no_grad():
            fake = G(torch.randn(BATCH, LATENT_DIM))
        bce(D(fake), zeros).backward()
        opt_d.step()
        opt_g.zero_grad()
        if freeze_d:
            D.requires_grad_(False)
        bce(D(G(torch.randn(BATCH, LATENT_DIM))), ones).backward()
        if freeze_d:
            D.requires_grad_(True)
        opt_g.step()

    return step, (G, D)


def timed(step, synchronize, clock=time.perf_counter) -> float:
    """Seconds for one step, from an idle device to an idle device (GPU work is asynchronous)."""
    synchronize()
    start = clock()
    step()
    synchronize()
    return clock() - start


def set_threads(threads: int) -> str:
    """Use ``threads`` threads in NumPy's BLAS and PyTorch."""
    if torch is not None:
        torch.set_num_threads(threads)
    if set_blas_threads(threads):
        return f"NumPy BLAS threads: {threads}"
    return "NumPy BLAS threads: unchanged (not OpenBLAS?)"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("dcgan", "dense"), default="dcgan")
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                        help="cupy: minigan on the GPU, against PyTorch on CUDA")
    parser.add_argument("--repeats", type=int, default=30, help="timed steps per library")
    parser.add_argument("--threads", type=int, default=2, help="BLAS / PyTorch threads")
    parser.add_argument("--epoch-images", type=int, default=10000,
                        help="time one epoch over this many images (0: skip)")
    parser.add_argument("--dropout", type=float, default=0.3,
                        help="probability of D's two Dropout layers (0: none)")
    parser.add_argument("--torch-freeze-d", action="store_true",
                        help="PyTorch's G step with D.requires_grad_(False): no D weight "
                             "gradients there, as in minigan's g_step")
    parser.add_argument("--cpu-time", action="store_true",
                        help="with --threads 1: measure process CPU time, not wall-clock time")
    args = parser.parse_args(argv)
    if args.cpu_time and (args.threads != 1 or args.backend != "numpy"):
        parser.error("--cpu-time needs --threads 1 and the numpy backend (with more threads, "
                     "CPU time adds up the threads' time, spinning included)")
    clock = time.process_time if args.cpu_time else time.perf_counter

    B.use(args.backend)
    B.set_dtype("float32")
    B.seed(0)
    gpu = args.backend == "cupy"
    print(set_threads(args.threads))
    print("\n".join(environment()))
    print(f"load average: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    peak = MatmulPeak()
    peak.sample(clock, repeats=7)
    peak = peak.gflops()
    print(f"float32 matmul peak (2048^3, median of 7): {peak:.0f} GFLOP/s\n")

    gan = minigan_gan(args.model, 1024, args.dropout)
    steps = {"minigan": gan.step}
    syncs = {"minigan": B.xp.cuda.Device().synchronize if gpu else lambda: None}
    if torch is not None and (not gpu or torch.cuda.is_available()):
        torch.manual_seed(0)
        steps["torch"], torch_pair = torch_step_function(args.model, 1024,
                                                         "cuda" if gpu else "cpu", args.dropout)
        syncs["torch"] = torch.cuda.synchronize if gpu else lambda: None
        if args.torch_freeze_d:
            torch.manual_seed(0)
            steps["torch_frozen_d"] = torch_step_function(args.model, 1024,
                                                          "cuda" if gpu else "cpu",
                                                          args.dropout, freeze_d=True)[0]
            syncs["torch_frozen_d"] = syncs["torch"]
        for name, mine, theirs in zip(("G", "D"), (gan.generator, gan.discriminator),
                                      torch_pair):
            if count_parameters(mine) != count_parameters(theirs):
                raise RuntimeError(f"{name}: minigan has {count_parameters(mine)} parameters, "
                                   f"PyTorch {count_parameters(theirs)}; not the same model")
    dropout = f"Dropout({args.dropout:g}) in D" if args.dropout else "no Dropout"
    print(f"{args.model}: G {count_parameters(gan.generator):,} parameters, "
          f"D {count_parameters(gan.discriminator):,}; batch {BATCH}, float32, "
          f"{args.threads} thread(s), {dropout}")
    print(f"times: {'process CPU time' if args.cpu_time else 'wall clock'}")

    times = {name: [] for name in steps}
    for _ in range(ROUNDS):                           # alternate blocks, so drift hits both
        for name, step in steps.items():
            time.sleep(SETTLE_S)
            for _ in range(WARMUP):
                step()
            times[name].extend(timed(step, syncs[name], clock)
                               for _ in range(max(1, args.repeats // ROUNDS)))
    ms = {name: 1e3 * float(np.median(t)) for name, t in times.items()}
    flops = step_flops(gan.generator, gan.discriminator)
    rate = flops / (ms["minigan"] / 1e3) / 1e9
    results = {"minigan_ms": ms["minigan"], "gflops_per_s": rate, "peak_fraction": rate / peak}
    print(f"\nmatrix products per step: {flops / 1e9:.2f} GFLOP")
    print(f"{'one training step (D step + G step)':<40} {'median ms':>10}")
    print(f"{'minigan (' + ('CuPy' if gpu else 'NumPy') + ')':<40} {ms['minigan']:>10.1f}   "
          f"{rate:.0f} GFLOP/s, "
          f"{100 * rate / peak:.0f}% of the matmul peak")
    if torch is not None:
        results["torch_ms"] = ms["torch"]
        results["ratio"] = ms["minigan"] / ms["torch"]
        print(f"{'PyTorch (' + ('CUDA' if gpu else 'CPU') + ')':<40} {ms['torch']:>10.1f}")
        print(f"{'minigan / PyTorch':<40} {results['ratio']:>10.2f}")
    if "torch_frozen_d" in ms:
        results["torch_frozen_d_ms"] = ms["torch_frozen_d"]
        results["ratio_frozen_d"] = ms["minigan"] / ms["torch_frozen_d"]
        print(f"{'PyTorch, D frozen in the G step':<40} {ms['torch_frozen_d']:>10.1f}")
        print(f"{'minigan / PyTorch with D frozen':<40} {results['ratio_frozen_d']:>10.2f}")

    if args.epoch_images:
        epoch_gan = minigan_gan(args.model, args.epoch_images, args.dropout)
        num_steps = args.epoch_images // BATCH
        time.sleep(SETTLE_S)
        start = time.perf_counter()
        epoch_gan.train(num_steps)                  # ends with a read of the history (a sync)
        results["epoch_s"] = time.perf_counter() - start
        print(f"\none epoch of {args.epoch_images} images ({num_steps} steps): "
              f"{results['epoch_s']:.1f} s")
    print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return results


if __name__ == "__main__":
    main()
