"""What a gradient penalty costs: one penalised GAN iteration against the plain one, and against
PyTorch's double backward for the same models, measured in one run (float32, CPU).

    python benchmarks/penalty.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/penalty.py

Options: --model dcgan|ring (chapter 4's DCGAN at batch 64, or chapter 5's mode-collapse GAN of
the ring at batch 200: PacGAN's maxout D), --repeats R (default 30), --threads T (default 2),
--cpu-time (with --threads 1: process CPU time, steadier on a busy machine).

An iteration is one D step and one G step (``GAN.step``, d_steps = 1):

    plain     non-saturating BCE (R1) or the Wasserstein loss (WGAN-GP), no penalty
    R1        + gamma/2 mean ||grad_x D(x)||^2 on the real batch    (reuses its forward)
    WGAN-GP   + lambda mean (||grad_xhat D(xhat)||_2 - 1)^2         (one more forward of D)

minigan computes dP/dtheta with its hand-derived second backward pass (minigan.penalty);
PyTorch with ``torch.autograd.grad(..., create_graph=True)`` and a backward through that graph,
as every published implementation does. Same layers and sizes (parameter counts checked), the
same losses; minigan and PyTorch run in alternating blocks, medians over the repeats. The
figures to compare between runs are the ratios printed at the end.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from layers import environment            # benchmarks/layers.py, beside this script
from train_step import set_threads, torch_models

from minigan import backend as B
from minigan import mode_collapse as mc
from minigan.gan import GAN
from minigan.models import dcgan_discriminator, dcgan_generator

try:
    import torch
except ImportError:       # PyTorch is an optional comparison, never a dependency
    torch = None

LATENT_DIM = 100
ROUNDS = 3
WARMUP = 2
SETTLE_S = 0.3
PENALTIES = {"plain": None, "R1": "r1", "WGAN-GP": "wgan-gp"}
WEIGHT = 10.0
RING = mc.Budget(g_hidden=128, g_layers=3, g_batchnorm=True, d_hidden=64, d_layers=3,
                 d_pieces=5, batch=200)              # chapter 5's default ring budget's models


def objective_for(penalty_name):
    return "wasserstein" if penalty_name == "WGAN-GP" else "non-saturating"


def minigan_step(model: str, penalty_name: str, reference: str):
    """(GAN.step, the GAN) of the model with the penalty; ``reference`` (R1 or WGAN-GP) fixes the
    objective of a plain run."""
    B.seed(0)
    if model == "dcgan":
        G, D, latent, batch = dcgan_generator(LATENT_DIM), dcgan_discriminator(), LATENT_DIM, 64
        data = B.rand(1024, 1, 28, 28) * 2 - 1
    else:
        G, D = mc.build_generator(RING), mc.build_discriminator(RING)
        latent, batch, data = mc.LATENT_DIM, RING.batch, mc.make_dataset("ring").sample(4096)
    gan = GAN(G, D, data, latent_dim=latent, batch_size=batch,
              objective=objective_for(reference), penalty=PENALTIES[penalty_name],
              lr_g=1e-4, lr_d=1e-4)
    return gan.step, gan


def torch_maxout_models():
    nn = torch.nn

    class Maxout(nn.Module):
        def __init__(self, n_in, n_out, pieces):
            super().__init__()
            self.linear, self.pieces, self.n_out = nn.Linear(n_in, pieces * n_out), pieces, n_out

        def forward(self, x):
            return self.linear(x).view(-1, self.pieces, self.n_out).max(dim=1).values

    layers, width = [], 2
    for _ in range(RING.g_layers):
        layers += [nn.Linear(width, RING.g_hidden), nn.BatchNorm1d(RING.g_hidden), nn.ReLU()]
        width = RING.g_hidden
    G = nn.Sequential(*layers, nn.Linear(width, 2))
    layers, width = [], 2
    for _ in range(RING.d_layers):
        layers.append(Maxout(width, RING.d_hidden, RING.d_pieces))
        width = RING.d_hidden
    D = nn.Sequential(*layers, nn.Linear(width, 1))
    return G, D


def torch_step(model: str, penalty_name: str):
    """One PyTorch iteration with the penalty through autograd's double backward."""
    torch.manual_seed(0)
    if model == "dcgan":
        G, D = torch_models("dcgan")
        latent, batch, data = LATENT_DIM, 64, torch.rand(1024, 1, 28, 28) * 2 - 1
    else:
        G, D = torch_maxout_models()
        latent, batch, data = 2, RING.batch, torch.randn(4096, 2)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.999))
    bce = torch.nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    wasserstein = penalty_name.endswith("WGAN-GP")       # "WGAN-GP" or "plain-WGAN-GP"

    def input_gradient(x):
        x = x.detach().requires_grad_(True)
        out = D(x)
        grad, = torch.autograd.grad(out.sum(), x, create_graph=True)
        return out, grad.reshape(x.shape[0], -1)

    def step():
        opt_d.zero_grad()
        real = data[torch.randint(0, data.shape[0], (batch,))]
        if penalty_name == "R1":
            out, grad = input_gradient(real)
            loss = bce(out, ones) + WEIGHT / 2 * grad.pow(2).sum(dim=1).mean()
        else:
            out = D(real)
            loss = -out.mean() if wasserstein else bce(out, ones)
        loss.backward()
        with torch.no_grad():
            fake = G(torch.randn(batch, latent))
        out = D(fake)
        (out.mean() if wasserstein else bce(out, zeros)).backward()
        if penalty_name == "WGAN-GP":
            eps = torch.rand(batch, *(1,) * (real.dim() - 1))
            _, grad = input_gradient(real + eps * (fake - real))
            (WEIGHT * (grad.norm(dim=1) - 1).pow(2).mean()).backward()
        opt_d.step()
        opt_g.zero_grad()
        out = D(G(torch.randn(batch, latent)))
        (-out.mean() if wasserstein else bce(out, ones)).backward()
        opt_g.step()

    return step, (G, D)


def count(module) -> int:
    if torch is not None and isinstance(module, torch.nn.Module):
        return sum(p.numel() for p in module.parameters())
    return sum(p.data.size for p in module.parameters())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("dcgan", "ring"), default="dcgan")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cpu-time", action="store_true",
                        help="time process CPU time instead of the wall clock (steadier on a "
                             "busy machine; needs --threads 1)")
    args = parser.parse_args(argv)
    if args.cpu_time and args.threads != 1:
        parser.error("--cpu-time needs --threads 1 (with more threads, CPU time adds up "
                     "across them)")
    clock = time.process_time if args.cpu_time else time.perf_counter
    B.use("numpy")
    B.set_dtype("float32")
    print(set_threads(args.threads))
    print("\n".join(environment()))
    print(f"load average: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")

    steps = {}
    for name in PENALTIES:
        references = ("R1", "WGAN-GP") if name == "plain" else (name,)
        for reference in references:
            label = f"{name} ({objective_for(reference)})" if name == "plain" else name
            steps[("minigan", label)], gan = minigan_step(args.model, name, reference)
            if torch is None:
                continue
            steps[("torch", label)], pair = torch_step(
                args.model, name if name != "plain" else f"plain-{reference}")
            for who, a, b in zip("GD", (gan.generator, gan.discriminator), pair):
                if count(a) != count(b):
                    raise RuntimeError(f"{who}: minigan {count(a)} parameters, PyTorch "
                                       f"{count(b)}: not the same model")
    times = {key: [] for key in steps}
    for _ in range(ROUNDS):
        for key, step in steps.items():
            time.sleep(SETTLE_S)
            for _ in range(WARMUP):
                step()
            for _ in range(max(1, args.repeats // ROUNDS)):
                start = clock()
                step()
                times[key].append(clock() - start)
    ms = {key: 1e3 * float(np.median(t)) for key, t in times.items()}
    labels = list(dict.fromkeys(label for _, label in steps))
    print(f"\n{args.model}: one iteration (D step + G step), median ms of "
          f"{'process CPU time' if args.cpu_time else 'wall clock'}")
    print(f"{'':<30}{'minigan':>10}{'PyTorch':>10}{'minigan/PyTorch':>17}")
    for label in labels:
        theirs = ms.get(("torch", label))
        print(f"{label:<30}{ms[('minigan', label)]:>10.1f}"
              + (f"{theirs:>10.1f}{ms[('minigan', label)] / theirs:>17.2f}" if theirs else ""))
    results = {"ms": {f"{lib} {label}": v for (lib, label), v in ms.items()}}
    print("\npenalised / plain (same objective, same library)")
    for name, reference in (("R1", "plain (non-saturating)"), ("WGAN-GP", "plain (wasserstein)")):
        for lib in ("minigan", "torch"):
            if (lib, name) in ms:
                ratio = ms[(lib, name)] / ms[(lib, reference)]
                results[f"{lib} {name} / plain"] = ratio
                print(f"  {lib:<8} {name:<8} {ratio:.2f}")
    print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return results


if __name__ == "__main__":
    main()
