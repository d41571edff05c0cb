"""Gradient checking: compare a hand-derived backward pass with centred finite differences.

For a scalar function f of an array x, each partial derivative is estimated as

    df/dx_i  ~=  (f(x + h e_i) - f(x - h e_i)) / (2 h)          error O(h^2)

and compared with the analytic gradient a by the relative error

    rel_error(a, n) = max_i |a_i - n_i| / max(1e-8, max_i (|a_i| + |n_i|))

To check a layer y = layer(x) we pick a random upstream gradient g (the same shape as y) and
differentiate the scalar L = sum(y * g); then dL/dy = g is exactly what backward receives.
Run in float64: with float32 round-off (~1e-7) the differences are dominated by noise.
A correct single layer reaches ~1e-9 or better; 1e-7 or worse means a bug (or a ReLU kink).
"""
from __future__ import annotations

from minigan import backend as B


def rel_error(a, n) -> float:
    """max|a - n| / max(1e-8, max(|a| + |n|)) -- 0 for identical arrays, ~1 for unrelated ones."""
    a, n = B.to_numpy(a), B.to_numpy(n)
    if a.shape != n.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {n.shape}")
    if a.size == 0:
        return 0.0
    return float(abs(a - n).max() / max(1e-8, float((abs(a) + abs(n)).max())))


def numerical_gradient(f, x, h: float = 1e-6, indices=None):
    """Centred-difference gradient of the scalar function f() with respect to array x.

    ``f`` takes no arguments and reads ``x``, which is perturbed in place one element at a time
    (and restored exactly). Returns an array shaped like x -- or, when ``indices`` (flat positions
    into x) is given, a 1-D array of the derivatives at those positions only, for arrays too large
    to check whole: compare it with ``analytic.reshape(-1)[indices]``.
    """
    if x.dtype != B.xp.float64:
        raise TypeError(f"numerical_gradient needs a float64 array, got {x.dtype}: build the "
                        f"model inside `with minigan.backend.precision('float64'):`")
    if not x.flags.c_contiguous:            # reshape would copy, and the perturbations be lost
        raise ValueError("numerical_gradient needs a C-contiguous array to perturb in place")
    flat_x = x.reshape(-1)                  # a view: writing it writes x
    positions = range(flat_x.size) if indices is None else [int(i) for i in indices]
    grad = B.xp.zeros(len(positions), dtype=x.dtype)
    for k, i in enumerate(positions):
        old = float(flat_x[i])
        flat_x[i] = old + h
        f_plus = float(f())
        flat_x[i] = old - h
        f_minus = float(f())
        flat_x[i] = old
        grad[k] = (f_plus - f_minus) / (2 * h)
    return grad.reshape(x.shape) if indices is None else grad


def check_module(module, x, h: float = 1e-6, seed: int = 0) -> dict:
    """Check a module's input gradient and every parameter gradient against finite differences.

    Returns {"input": err, "<param name>": err, ...} of relative errors. The backend RNG is
    reseeded before every forward pass, so stochastic layers (Dropout) use the same mask each time.
    The module's gradients are left holding the analytic values.
    """
    shape = _output_shape(module, x, seed)
    B.seed(seed + 12345)
    g = B.randn(*shape, dtype=x.dtype)          # random upstream gradient, independent of x

    def loss():
        B.seed(seed)
        return float((module.forward(x) * g).sum())

    module.zero_grad()
    B.seed(seed)
    module.forward(x)
    dx = module.backward(g)
    analytic = {"input": dx}
    analytic.update({name: p.grad.copy() for name, p in module.named_parameters()})

    errors = {"input": rel_error(dx, numerical_gradient(loss, x, h))}
    for name, p in module.named_parameters():
        errors[name] = rel_error(analytic[name], numerical_gradient(loss, p.data, h))
    return errors


def _output_shape(module, x, seed):
    B.seed(seed)
    return module.forward(x).shape


def check_function(f_and_grad, x, h: float = 1e-6) -> float:
    """Check a function returning (scalar value, gradient w.r.t. x), e.g. a loss on logits."""
    _, analytic = f_and_grad(x)
    numeric = numerical_gradient(lambda: f_and_grad(x)[0], x, h)
    return rel_error(analytic, numeric)
