"""Random numbers drawn where the arrays live: a counter-based generator for the device backend.

On a GPU, noise and dropout masks must be drawn on the GPU: drawing them on the host and
uploading them costs a transfer every step (about 14 MB per DCGAN iteration with dropout).
CuPy's own generator cannot serve minigan, because its state lives in device memory with no way
to save and restore it (a checkpoint must resume a run exactly), and it has no permutation().

So minigan draws with a *counter-based* generator (Salmon et al., 2011, "Parallel random
numbers: as easy as 1, 2, 3"): the k-th 64-bit word of the stream is a fixed mixing function of
(key, k),

    word_k = mix(key + (k + 1) * GAMMA)        mix: the SplitMix64 finaliser (Steele et al., 2014)

computed by a handful of elementwise array operations for all k of a draw at once. Its whole
state is two Python ints -- the key (from minigan's seed) and the counter (words drawn so far)
-- so it saves to a checkpoint and restores exactly, on any backend. The NumPy backend does not
use it: on the host, NumPy's PCG64 draws as fast and keeps minigan's published numbers.

    DeviceGenerator(seed)
        .random(shape, dtype)            uniform [0, 1): float32 from 24 bits, float64 from 53
        .standard_normal(shape, dtype)   Box-Muller on pairs of uniforms
        .integers(low, high, shape)      uniform in [low, high) (int64)
        .permutation(n)                  argsort of n random words
        .state / .set_state(state)       {"key": int, "counter": int}

Every method computes with the active array module and returns its arrays; nothing is drawn
on the host and nothing is transferred. This module imports nothing from minigan: the array
module comes from ``array_module()``, which ``minigan.backend`` sets when it is imported (to a
function returning ``B.xp``), so that backend can import this module and not the other way round.
"""
from __future__ import annotations

import math


def _no_array_module():
    raise RuntimeError("minigan.device_random: no array module set; import minigan.backend "
                       "first (it sets device_random.array_module)")


#: A function of no arguments returning the array module to compute with (numpy, cupy or a test
#: double); minigan.backend sets it to ``lambda: B.xp`` when it is imported.
array_module = _no_array_module

_MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15        # 2^64 / golden ratio, SplitMix64's increment
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def _mix_int(z: int) -> int:
    """SplitMix64's finaliser on one Python int (used to turn a seed into a key)."""
    z &= _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


class DeviceGenerator:
    """Counter-based random numbers computed with the active array module (see the module doc)."""

    def __init__(self, seed: int = 0):
        self.key = _mix_int(int(seed) * GAMMA + 0x5851F42D4C957F2D)
        self.counter = 0

    # -- state -----------------------------------------------------------------------------------
    @property
    def state(self) -> dict:
        """The whole state as plain ints: {"key", "counter"}."""
        return {"key": self.key, "counter": self.counter}

    def set_state(self, state: dict) -> None:
        """Restore a ``state``; raises ValueError naming what is wrong with it (changing
        nothing)."""
        if not isinstance(state, dict) or set(state) != {"key", "counter"}:
            raise ValueError(f"device generator state must be a dict with 'key' and 'counter', "
                             f"got {state!r}")
        key, counter = state["key"], state["counter"]
        for name, value in (("key", key), ("counter", counter)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MASK:
                raise ValueError(f"device generator state: {name} must be an int in "
                                 f"[0, 2^64), got {value!r}")
        self.key, self.counter = key, counter

    # -- raw words -------------------------------------------------------------------------------
    def _words(self, n: int):
        """The next n 64-bit words of the stream, (n,) uint64 on the active backend."""
        xp = array_module()
        start = (self.key + (self.counter + 1) * GAMMA) & _MASK
        self.counter = (self.counter + n) & _MASK
        z = xp.arange(n, dtype=xp.uint64)
        z *= xp.uint64(GAMMA)                          # wraps modulo 2^64, as intended
        z += xp.uint64(start)
        z ^= z >> xp.uint64(30)
        z *= xp.uint64(_M1)
        z ^= z >> xp.uint64(27)
        z *= xp.uint64(_M2)
        z ^= z >> xp.uint64(31)
        return z

    # -- distributions ---------------------------------------------------------------------------
    def random(self, shape, dtype):
        """Uniform [0, 1) of ``shape``: the top 24 (float32) or 53 (float64) bits, scaled."""
        xp, n = array_module(), math.prod(shape)
        dtype = xp.dtype(dtype)
        bits = 24 if dtype == xp.float32 else 53
        u = (self._words(n) >> xp.uint64(64 - bits)).astype(dtype)
        u *= dtype.type(2.0 ** -bits)                          # exact: a power of two
        return u.reshape(shape)

    def standard_normal(self, shape, dtype):
        """N(0, 1) of ``shape`` by Box-Muller: each pair of uniforms (u1, u2) gives
        r cos(2 pi u2) and r sin(2 pi u2), r = sqrt(-2 log(1 - u1))."""
        xp, n = array_module(), math.prod(shape)
        half = (n + 1) // 2
        u = self.random((2, half), dtype)
        radius = xp.sqrt(-2.0 * xp.log1p(-u[0]))          # 1 - u1 lies in (0, 1]
        angle = u[1] * (2.0 * math.pi)
        z = xp.concatenate([radius * xp.cos(angle), radius * xp.sin(angle)])
        return z[:n].reshape(shape)

    def integers(self, low: int, high: int, shape):
        """Integers uniform in [low, high) of ``shape`` (int64). The word modulo the range: its
        bias is at most (high - low) / 2^64, far below anything a GAN could notice."""
        span = int(high) - int(low)
        if span < 1:
            raise ValueError(f"integers: high must exceed low, got low={low}, high={high}")
        xp, n = array_module(), math.prod(shape)
        k = (self._words(n) % xp.uint64(span)).astype(xp.int64)
        k += int(low)
        return k.reshape(shape)

    def permutation(self, n: int):
        """A random permutation of range(n) (int64): the order that sorts n random words."""
        xp = array_module()
        return xp.argsort(self._words(n)).astype(xp.int64, copy=False)
