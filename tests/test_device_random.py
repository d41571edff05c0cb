"""The device generator (minigan.device_random): the stream it promises, the distributions it
draws, its state -- computed with NumPy here and on the CuPy test double."""
import math

import numpy as np
import pytest

import fakecupy
from minigan import backend as B
from minigan.device_random import DeviceGenerator

MASK = (1 << 64) - 1


def splitmix64_reference(key: int, counter: int, n: int) -> list:
    """Word k of the stream, written out in Python integers: SplitMix64's finaliser of
    key + (counter + k + 1) * golden gamma (Steele, Lea & Flood, 2014)."""
    words = []
    for k in range(n):
        z = (key + (counter + k + 1) * 0x9E3779B97F4A7C15) & MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        words.append(z ^ (z >> 31))
    return words


@pytest.fixture(params=["numpy", "cupy-double"])
def xp(request):
    if request.param != "numpy":
        B._use_module(fakecupy, "cupy")
    yield B.xp


def test_the_words_are_splitmix64_of_the_counter(xp):
    rng = DeviceGenerator(7)
    first = B.to_numpy(rng._words(5)).tolist()
    assert first == splitmix64_reference(rng.key, 0, 5)
    assert B.to_numpy(rng._words(3)).tolist() == splitmix64_reference(rng.key, 5, 3)
    assert rng.counter == 8


def test_uniform_normal_integers_and_permutation(xp):
    rng = DeviceGenerator(0)
    for dtype in (np.float32, np.float64):
        u = B.to_numpy(rng.random((400, 500), dtype))
        assert u.dtype == dtype and u.shape == (400, 500)
        assert u.min() >= 0 and u.max() < 1
        assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.001
        z = B.to_numpy(rng.standard_normal((200_001,), dtype))       # odd: half a pair is dropped
        assert z.dtype == dtype and np.isfinite(z).all()
        assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
        assert abs(((z / z.std()) ** 4).mean() - 3) < 0.06          # Gaussian tails, kurtosis 3
        assert abs((np.abs(z) > 1.96).mean() - 0.05) < 0.003
    k = B.to_numpy(rng.integers(3, 8, (50_000,)))
    assert k.dtype == np.int64 and set(np.unique(k)) == {3, 4, 5, 6, 7}
    assert np.abs(np.bincount(k)[3:] / 50_000 - 0.2).max() < 0.01
    p = B.to_numpy(rng.permutation(1000))
    assert sorted(p.tolist()) == list(range(1000)) and not (p == np.arange(1000)).all()
    with pytest.raises(ValueError, match="high must exceed low"):
        rng.integers(3, 3, (2,))


def test_a_seed_fixes_the_stream_and_the_state_restores_it(xp):
    a, b = DeviceGenerator(3), DeviceGenerator(3)
    np.testing.assert_array_equal(B.to_numpy(a.random((5,), np.float32)),
                                  B.to_numpy(b.random((5,), np.float32)))
    assert not np.array_equal(B.to_numpy(DeviceGenerator(4).random((5,), np.float32)),
                              B.to_numpy(DeviceGenerator(3).random((5,), np.float32)))
    state = a.state
    first = B.to_numpy(a.standard_normal((7,), np.float32))
    a.random((11,), np.float32)
    a.set_state(state)
    np.testing.assert_array_equal(B.to_numpy(a.standard_normal((7,), np.float32)), first)


@pytest.mark.parametrize("state", [None, {"key": 1}, {"key": -1, "counter": 0},
                                   {"key": 1, "counter": 2.5}, {"key": True, "counter": 0},
                                   {"key": 1 << 64, "counter": 0}])
def test_a_bad_state_is_refused_naming_it(state):
    rng = DeviceGenerator(1)
    before = rng.state
    with pytest.raises(ValueError, match="device generator state"):
        rng.set_state(state)
    assert rng.state == before


def test_the_backend_draws_on_the_device_without_uploading():
    B._use_module(fakecupy, "cupy")
    B.seed(2)
    counters = fakecupy.reset_counters()
    draws = [B.randn(64, 100), B.rand(64, 64, 14, 14), B.integers(0, 10, 64), B.permutation(128)]
    assert counters.host_to_device_bytes == 0 and counters.syncs == 0
    assert all(isinstance(d, fakecupy.ndarray) for d in draws)
    assert math.isclose(float(draws[1].mean()), 0.5, abs_tol=0.01)
