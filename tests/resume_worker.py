"""A tiny training run in its own process, for the resume and crash tests (test_reliability.py).

    python tests/resume_worker.py BACKEND first PATH    build, train HALF iterations, save
    python tests/resume_worker.py BACKEND resume PATH   build differently, load PATH, train
                                                        HALF more, save to PATH
    python tests/resume_worker.py BACKEND killed PATH   load PATH, train one iteration, then die
                                                        (SIGKILL) between writing and renaming
                                                        the new checkpoint

BACKEND: numpy, cupy, or fakecupy (the CuPy stand-in of tests/fakecupy.py).
The model has every kind of state a checkpoint must carry: BatchNorm running statistics, a
Dropout mask drawn from the generator, Adam moments, and a data set reshuffled each epoch.
"""
import os
import signal
import sys

import numpy as np

from minigan import backend as B
from minigan import checkpoint
from minigan.gan import GAN
from minigan.nn.activations import LeakyReLU, Tanh
from minigan.nn.dense import Dense
from minigan.nn.dropout import Dropout
from minigan.nn.module import Sequential
from minigan.nn.norm import BatchNorm1d

HALF = 5                   # iterations per half; 12 examples / batch 4 = 3 batches per epoch
LATENT = 2


def use_backend(name: str) -> None:
    if name == "fakecupy":
        import fakecupy
        B._use_module(fakecupy, "cupy")
    else:
        B.use(name)


def build(seed: int) -> GAN:
    """G: (N, 2) -> (N, 3); D: (N, 3) -> (N, 1); 12 training points."""
    B.seed(seed)
    G = Sequential(Dense(LATENT, 6), BatchNorm1d(6), LeakyReLU(0.2), Dense(6, 3), Tanh())
    D = Sequential(Dense(3, 6), LeakyReLU(0.2), Dropout(0.3), Dense(6, 1))
    data = np.random.default_rng(7).standard_normal((12, 3)).astype(np.float32)
    return GAN(G, D, B.asarray(data), latent_dim=LATENT, batch_size=4, lr_g=2e-3, lr_d=2e-3)


def main(backend: str, mode: str, path: str) -> None:
    use_backend(backend)
    if mode == "first":
        gan = build(seed=0)
    else:
        gan = build(seed=99)               # other weights and RNG: everything must come from PATH
        gan.load_checkpoint(path)
    if mode == "killed":
        gan.train(1)
        checkpoint.os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
        gan.save_checkpoint(path)
        raise AssertionError("the process should have been killed while saving")
    gan.train(HALF)
    gan.save_checkpoint(path)


if __name__ == "__main__":
    main(*sys.argv[1:4])
