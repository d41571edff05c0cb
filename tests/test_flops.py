"""minigan.flops: the flop counts the benchmarks and chapter 6 divide by, and the matmul peak."""
import pytest

from minigan import backend as B
from minigan.flops import MatmulPeak, dense_flops, forward_flops, matmul_peak
from minigan.nn import Conv2d, ConvTranspose2d, Dense, Flatten, ReLU, Sequential


def test_dense_flops_count_two_per_weight_and_example():
    assert dense_flops([3, 4], 5) == 2 * 5 * 12
    assert dense_flops([3, 4, 2], 5) == 2 * 5 * (12 + 8)


def test_forward_flops_of_dense_and_convolution_layers():
    model = Sequential(Conv2d(1, 4, 3, 2, 1), ReLU(), ConvTranspose2d(4, 2, 4, 2, 1), Flatten(),
                       Dense(2 * 8 * 8, 3))
    x = B.randn(5, 1, 8, 8)
    conv = 2 * 5 * (4 * 4) * 1 * 4 * 3 * 3            # 4x4 output positions
    transposed = 2 * 5 * (4 * 4) * 4 * 2 * 4 * 4      # 4x4 input positions
    dense = 2 * 5 * 128 * 3
    assert forward_flops(model, x) == conv + transposed + dense
    assert forward_flops(Sequential(Dense(3, 4), Dense(4, 2)), B.randn(5, 3)) == \
        dense_flops([3, 4, 2], 5)


def test_the_matmul_peak_is_a_median_rate():
    peak = MatmulPeak(64)
    peak.times = [1.0, 2.0, 100.0]
    assert peak.gflops() == pytest.approx(2 * 64 ** 3 / 2.0 / 1e9)
    peak.sample(repeats=2)
    assert len(peak.times) == 5
    assert matmul_peak(64, repeats=3) > 0
