"""Counting arithmetic and measuring how fast this machine does it.

    dense_flops(sizes, batch)       flops of a forward pass through Dense layers of ``sizes``
    forward_flops(model, x)         matmul flops of one forward pass of a Sequential (runs it)
    MatmulPeak(size)                the machine's matmul rate, sampled now and then through a run
    matmul_peak(size, repeats)      the same, measured once: GFLOP/s

A product of an (M x K) and a (K x N) matrix is 2 M K N flops (a multiply and an add each). A
layer's backward pass is two such products (weight and input gradients), twice its forward. The
peak is a square product in the active backend and dtype, so "% of peak" compares a model with
what the same array library reaches on this machine in the same run.
"""
from __future__ import annotations

import time

from minigan import backend as B
from minigan.nn import Conv2d, ConvTranspose2d, Dense


def dense_flops(sizes, batch: int) -> int:
    """Multiply-add flops of one forward pass through Dense layers of ``sizes``: 2 N sum(in*out).

    sizes: [in, hidden..., out]; batch: N."""
    return 2 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def forward_flops(model, x) -> int:
    """Matrix-multiply flops of one forward pass of a Sequential on x (N, ...), 2*M*N*K per
    product of its Dense, Conv2d and ConvTranspose2d layers. Runs the forward pass."""
    flops = 0
    for layer in model.layers:
        y = layer.forward(x)
        if isinstance(layer, Dense):
            flops += 2 * x.shape[0] * layer.in_features * layer.out_features
        elif isinstance(layer, (Conv2d, ConvTranspose2d)):
            kh, kw = layer.kernel_size
            positions = y[0, 0].size if isinstance(layer, Conv2d) else x[0, 0].size
            flops += 2 * x.shape[0] * positions * layer.in_channels * layer.out_channels * kh * kw
        x = y
    return flops


class MatmulPeak:
    """This machine's matmul rate: (size x size) @ (size x size) products in the active backend
    and dtype, timed now and then through a run.

    The machine may be shared, so its speed drifts; sampling the peak between other timings and
    taking the median makes a "% of peak" column compare like with like.
    """

    def __init__(self, size: int = 2048):
        self.a, self.b = B.rand(size, size), B.rand(size, size)
        self.out = B.xp.empty_like(self.a)
        self.flops = 2 * size ** 3
        self.size = size
        self.times = []
        self._product()                                  # warm up

    def _product(self) -> None:
        B.xp.matmul(self.a, self.b, out=self.out)
        float(self.out[0, 0])                            # wait for the device

    def sample(self, clock=time.perf_counter, repeats: int = 2) -> None:
        """Time ``repeats`` more products with ``clock``."""
        for _ in range(repeats):
            start = clock()
            self._product()
            self.times.append(clock() - start)

    def gflops(self) -> float:
        """GFLOP/s of the median product so far."""
        return self.flops / float(B.np.median(self.times)) / 1e9


def matmul_peak(size: int = 2048, repeats: int = 7) -> float:
    """GFLOP/s of a (size x size) @ (size x size) product: the median of ``repeats``."""
    peak = MatmulPeak(size)
    peak.sample(repeats=repeats)
    return peak.gflops()
