"""Spectral normalisation (Miyato et al., 2018): a layer whose weight has spectral norm 1.

A discriminator made of layers with ||W||_2 <= 1 and 1-Lipschitz activations is itself
1-Lipschitz, which keeps its gradients from exploding and steadies GAN training. Spectral
normalisation divides the weight by its largest singular value before every use:

    W_sn = W / sigma(W),        sigma(W) = max_{||v|| = 1} ||W v||  (the spectral norm)

sigma is estimated by power iteration on the weight viewed as a matrix W_mat (rows, cols),
carrying the left vector u across calls so that one iteration per training step is enough:

    v <- W_mat^T u / ||W_mat^T u||,   u <- W_mat v / ||W_mat v||,   sigma = u^T W_mat v

Dense W (in, out) is used as it is; Conv2d W (out, in, kh, kw) is viewed as (out, in*kh*kw).
(For a convolution this normalises the reshaped kernel, not the operator norm of the
convolution itself, exactly as Miyato et al. and PyTorch do.)
"""
from __future__ import annotations

from minigan import backend as B
from minigan.nn.module import Module, Parameter

_NORM_EPS = 1e-12     # guards the division when W^T u or W v is 0


def _normalize(vector):
    return vector / (B.xp.linalg.norm(vector) + _NORM_EPS)


class SpectralNorm(Module):
    """Wrap a layer with a weight Parameter ``W`` so that it computes with W / sigma(W).

        sn = SpectralNorm(Dense(784, 256));   y = sn.forward(x);   dx = sn.backward(dy)

    The wrapped layer keeps its own Parameters (``layer.W``, ``layer.b``): the optimizer updates
    the *unnormalised* W, and ``sn.named_parameters()`` lists them as "layer.W", "layer.b".
    Buffers: ``u`` (rows,) and ``v`` (cols,), the power-iteration vectors of the matrix view
    W_mat (rows, cols) of W; ``sigma`` holds the last estimate (a 0-d array).

    forward(x): in train mode, run ``n_power_iterations`` updates of u, v (in eval mode u, v stay
    fixed); sigma = u^T W_mat v; put W_sn = W / sigma into ``layer.W.data`` for the wrapped
    layer's forward, then put W back.

    backward(dy): run the wrapped layer's backward with W_sn in place, collecting
    G = dL/dW_sn (same shape as W), and add dL/dW to ``layer.W.grad``. u and v are treated as
    constants (as in PyTorch), so sigma = u^T W_mat v is linear in W with d sigma / dW = u v^T.
    For each entry (matrix indices),

        W_sn[k,l] = W[k,l] / sigma
        dW_sn[k,l] / dW[i,j] = delta_ki delta_lj / sigma - W[k,l] / sigma^2 * u_i v_j

        dL/dW[i,j] = sum_kl G[k,l] dW_sn[k,l] / dW[i,j]
                   = G[i,j] / sigma - (sum_kl G[k,l] W[k,l]) / sigma^2 * u_i v_j
                   = ( G[i,j] - (sum_kl G[k,l] W_sn[k,l]) * u_i v_j ) / sigma

    i.e.  dL/dW = (G - <G, W_sn> u v^T) / sigma.  When u, v are the exact top singular vectors,
    u v^T is also the derivative of the exact largest singular value (the power iteration's fixed
    point is stationary), so the formula is then the gradient of the exact normalisation too.

    If W is overwritten after wrapping (e.g. ``dcgan_init``), u and v adapt over the next few
    training-mode forward passes; call ``power_iteration(n)`` to re-converge them at once.
    """

    _buffers = ("u", "v")

    def __init__(self, layer: Module, n_power_iterations: int = 1, n_init_iterations: int = 15):
        super().__init__()
        if not isinstance(layer, Module) or not isinstance(getattr(layer, "W", None), Parameter):
            raise TypeError(f"SpectralNorm wraps a layer with a weight Parameter `W` (Dense, "
                            f"Conv2d, ...), got {layer!r}")
        if layer.W.data.ndim < 2:
            raise ValueError(f"SpectralNorm: {layer!r} has a weight of shape "
                             f"{tuple(layer.W.data.shape)}; it needs at least 2 dimensions")
        for name, value in (("n_power_iterations", n_power_iterations),
                            ("n_init_iterations", n_init_iterations)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"SpectralNorm: {name} must be a non-negative int, "
                                 f"got {value!r}")
        if n_power_iterations < 1:
            raise ValueError(f"SpectralNorm: n_power_iterations must be >= 1, "
                             f"got {n_power_iterations}")
        if not bool((layer.W.data != 0).any()):
            raise ValueError(f"SpectralNorm: {layer!r} has an all-zero weight; its spectral "
                             f"norm is 0 and W / sigma(W) undefined (NaN). Initialise the "
                             f"weight first (e.g. minigan.nn.init), then wrap the layer")
        self.layer = layer
        self.n_power_iterations = n_power_iterations
        rows, cols = self._matrix().shape
        dtype = layer.W.data.dtype
        self.u = _normalize(B.randn(rows, dtype=dtype))     # (rows,)
        self.v = _normalize(B.randn(cols, dtype=dtype))     # (cols,)
        self.power_iteration(n_init_iterations)
        self.sigma = None          # last estimate, 0-d array
        self.W_sn = None           # normalised weight of the last forward, shaped like W
        self._grad_sn = None       # scratch buffer receiving dL/dW_sn during backward

    def _matrix(self):
        """The weight as a matrix: (in, out) for Dense, (out, in*kh*kw) for Conv2d (a view)."""
        W = self.layer.W.data
        return W if W.ndim == 2 else W.reshape(W.shape[0], -1)

    def power_iteration(self, n: int) -> None:
        """Update the buffers u, v in place with n power-iteration steps on the current W."""
        W_mat = self._matrix()                                     # (rows, cols)
        for _ in range(n):
            self.v[...] = _normalize(W_mat.T @ self.u)             # (cols,)
            self.u[...] = _normalize(W_mat @ self.v)               # (rows,)

    def forward(self, x):
        """x: the wrapped layer's input -> its output, computed with W / sigma(W)."""
        if self.training:
            self.power_iteration(self.n_power_iterations)
        weight = self.layer.W
        self.sigma = self.u @ (self._matrix() @ self.v)            # 0-d, u^T W_mat v
        B.check(self.sigma != 0, lambda: ValueError(
            f"{self!r}: the estimated spectral norm of the weight is {B.scalar(self.sigma)} "
            f"(an all-zero weight, or u, v orthogonal to it); W / sigma(W) would be NaN. "
            f"Re-initialise the weight, or call power_iteration(n) after overwriting it"))
        self.W_sn = weight.data / self.sigma
        original = weight.data
        weight.data = self.W_sn
        try:
            return self._output(self.layer.forward(x))
        finally:
            weight.data = original

    def backward(self, dy):
        """dy: dL/d(output) -> dL/dx; adds dL/dW (see the class docstring) into layer.W.grad."""
        self._check_dy(dy)
        dx, grad_sn = self._with_normalised_weight(self.layer.backward, dy)
        self._add_weight_gradient(grad_sn)
        return dx

    def _with_normalised_weight(self, call, argument):
        """call(argument) with W_sn in the wrapped layer's weight and a zeroed scratch as its
        .grad; returns (call's result, G = the gradient the call added with respect to W_sn)."""
        weight = self.layer.W
        if self._grad_sn is None or self._grad_sn.shape != weight.data.shape:
            self._grad_sn = B.xp.zeros_like(weight.data)
        self._grad_sn[...] = 0
        original_data, original_grad = weight.data, weight.grad
        weight.data, weight.grad = self.W_sn, self._grad_sn
        try:
            return call(argument), weight.grad                      # G shaped like W
        finally:
            weight.data, weight.grad = original_data, original_grad

    def _add_weight_gradient(self, grad_sn) -> None:
        """dL/dW = (G - <G, W_sn> u v^T) / sigma from G = dL/dW_sn (u, v constants), added."""
        weight = self.layer.W
        inner = (grad_sn * self.W_sn).sum()                         # <G, W_sn>, 0-d
        grad_mat = grad_sn.reshape(self.u.shape[0], -1) - inner * B.xp.outer(self.u, self.v)
        grad_mat /= self.sigma                                      # (rows, cols)
        weight.grad += grad_mat.reshape(weight.data.shape)

    def __repr__(self) -> str:
        return f"SpectralNorm({self.layer!r})"

    # -- second-order pass (gradient penalties, see Module.second_backward) ---------------------
    def input_gradient(self, dy):
        """The wrapped layer's input_gradient with W_sn = W / sigma in place (u, v fixed)."""
        self._check_dy(dy)
        weight = self.layer.W
        original = weight.data
        weight.data = self.W_sn
        try:
            return self._grad_input(self.layer.input_gradient(dy))
        finally:
            weight.data = original

    def second_backward(self, grad_dx):
        """grad_dx = dP/d(dx) -> (dP/d(dy), dP/dx or None), adding dP/dW into layer.W.grad.

        The wrapped layer's backward depends on W only through W_sn = W / sigma(W). Its
        second_backward, run with W_sn in place, gives G = dP/dW_sn (collected in a scratch
        array) and adds the bias part itself; the chain rule through the normalisation is the
        one of ``backward`` (u, v constants): dP/dW = (G - <G, W_sn> u v^T) / sigma.
        """
        self._check_grad_dx(grad_dx)
        (grad_dy, grad_x), grad_sn = self._with_normalised_weight(self.layer.second_backward,
                                                                  grad_dx)
        self._add_weight_gradient(grad_sn)
        return grad_dy, grad_x
