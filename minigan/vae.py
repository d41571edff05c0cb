"""The variational autoencoder (Kingma & Welling, 2014), every gradient derived by hand.

A VAE and a GAN both learn a generator x = f(z) from noise z ~ p(z) = N(0, I). A GAN trains f
against a discriminator; a VAE trains it together with an *encoder* that maps each x to a
Gaussian over the codes that could have produced it, q(z|x) = N(mu(x), diag(exp(logvar(x)))),
by minimising the negative evidence lower bound (ELBO), an upper bound on -log p(x):

    L(x) = E_{z ~ q(z|x)} [ -log p(x|z) ]  +  beta * KL( q(z|x) || N(0, I) )     (beta = 1: ELBO)
           `---- reconstruction R ------'          `---- KL term K -----------'

The expectation is estimated with one sample, written so that gradients flow through it
(the *reparameterisation*):

    z = mu + exp(logvar / 2) * eps,        eps ~ N(0, I)  (drawn with B.randn)

The two likelihoods p(x|z), with decoder output f = f(z) shaped like x, summed over the D
entries of one example:

    "gaussian"   p(x|z) = N(x; f, s^2 I)           s = observation_std (fixed)
                 R = |x - f|^2 / (2 s^2) + D/2 log(2 pi s^2)
                 dR/df = (f - x) / s^2
    "bernoulli"  p(x|z) = Bernoulli(x; sigmoid(f)), f = logits, for data x in [0, 1]
                 R = sum_j softplus(f_j) - x_j f_j  (binary cross-entropy from logits)
                 dR/df = sigmoid(f) - x

The KL divergence between two Gaussians has a closed form, per example with K latent units:

    K = 1/2 sum_k ( mu_k^2 + exp(logvar_k) - 1 - logvar_k )
    dK/dmu = mu                                    dK/dlogvar = (exp(logvar) - 1) / 2

and the reparameterisation passes the decoder's gradient g = dR/dz on to mu and logvar:

    dz/dmu = 1,   dz/dlogvar = eps exp(logvar / 2) / 2 = (z - mu) / 2
    dL/dmu     = g + beta mu
    dL/dlogvar = g (z - mu) / 2 + beta (exp(logvar) - 1) / 2

The batch loss is the mean of L over the N examples, so every gradient above carries a 1/N.

The VAE is a Module with three outputs and the negative ELBO a loss function of them, as a
discriminator's logits and ``minigan.losses.bce_with_logits`` are:

    f, mu, logvar = vae.forward(x)              # one draw of eps, cached for backward
    loss, grad_outputs = vae.loss((f, mu, logvar), x)    # negative_elbo with the VAE's settings
    vae.backward(grad_outputs)                  # (grad_f, grad_mu, grad_logvar) -> dL/dx

    vae = VAE(encoder, decoder, latent_dim=2, likelihood="gaussian", observation_std=0.1)
    opt = Adam(vae.parameters(), lr=1e-3, betas=(0.9, 0.999))
    history = train(vae, data, num_iterations=2000)          # that loop, minibatched
    x_new = vae.sample(1000)                                  # decoder means at z ~ N(0, I)
"""
from __future__ import annotations

import math

from minigan import arguments
from minigan import backend as B
from minigan.data.batches import Batches
from minigan.losses import sigmoid, softplus
from minigan.nn.module import Module
from minigan.optim import Adam

LIKELIHOODS = ("gaussian", "bernoulli")


# ---------------------------------------------------------------------------------------------
# The loss: value and gradient, as in minigan.losses

def _check_float_array(x, where: str, argument: str) -> None:
    if not B.is_array(x) or x.dtype.kind != "f":
        raise TypeError(f"{where}: {argument} must be a floating {B.xp.__name__}.ndarray, got "
                        f"{type(x).__name__} of dtype {getattr(x, 'dtype', None)}")


def reconstruction_loss(f, x, likelihood: str = "gaussian", observation_std: float = 1.0):
    """R = -log p(x|z), summed over the entries of an example, mean over the N examples.

    f: the decoder's output (N, ...) -- the mean ("gaussian") or the logits ("bernoulli") of
    p(x|z); x: the data (N, ...), shaped like f (in [0, 1] for "bernoulli").
    Returns (value: 0-d array, grad_f: array shaped like f).
    """
    _check_float_array(f, "reconstruction_loss", "f")
    _check_float_array(x, "reconstruction_loss", "x")
    if f.shape != x.shape:
        raise ValueError(f"reconstruction_loss: f has shape {tuple(f.shape)} but x has shape "
                         f"{tuple(x.shape)}; they must match")
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"reconstruction_loss: likelihood must be one of {LIKELIHOODS}, got "
                         f"{likelihood!r}")
    observation_std = arguments.real(observation_std, "observation_std", "reconstruction_loss",
                                     0, low_open=True)
    n = x.shape[0]
    scale = 1.0 / n                                             # the batch mean's 1/N
    if likelihood == "gaussian":
        s2 = observation_std ** 2
        grad_f = f - x
        value = (grad_f * grad_f).sum() * (scale / (2 * s2)) + 0.5 * (x.size // n) * math.log(
            2 * math.pi * s2)
        grad_f *= scale / s2                                    # dR/df = (f - x) / s^2
    else:
        value = (softplus(f) - x * f).sum() * scale             # BCE from logits, stable
        grad_f = sigmoid(f) - x
        grad_f *= scale                                         # dR/df = sigmoid(f) - x
    return value, grad_f


def gaussian_kl(mu, logvar):
    """K = KL(N(mu, diag exp(logvar)) || N(0, I)) in closed form, summed over the K latent units
    of an example, mean over the N examples.

    mu, logvar: (N, K). Returns (value: 0-d array, grad_mu (N, K), grad_logvar (N, K)).
    """
    _check_float_array(mu, "gaussian_kl", "mu")
    _check_float_array(logvar, "gaussian_kl", "logvar")
    if mu.ndim != 2 or mu.shape != logvar.shape:
        raise ValueError(f"gaussian_kl: mu and logvar must both be (N, K), got "
                         f"{tuple(mu.shape)} and {tuple(logvar.shape)}")
    scale = 1.0 / mu.shape[0]
    var = B.xp.exp(logvar)                                      # sigma^2 of q(z|x)
    value = (mu * mu + var - 1 - logvar).sum() * (0.5 * scale)
    grad_mu = scale * mu                                        # dK/dmu = mu
    grad_logvar = var - 1
    grad_logvar *= 0.5 * scale                                  # dK/dlogvar = (e^lv - 1) / 2
    return value, grad_mu, grad_logvar


def negative_elbo(outputs, x, likelihood: str = "gaussian", observation_std: float = 1.0,
                  beta: float = 1.0):
    """The VAE's loss L = R + beta K (the negative ELBO for beta = 1), mean over the batch.

    outputs: the VAE's (f, mu, logvar) -- f (N, ...) shaped like the data x, mu and logvar
    (N, K). Returns (value: 0-d array, grad_outputs) with grad_outputs = (grad_f, grad_mu,
    grad_logvar) shaped like ``outputs``: what ``VAE.backward`` takes.
    """
    if not isinstance(outputs, (tuple, list)) or len(outputs) != 3:
        raise TypeError(f"negative_elbo: outputs must be the VAE's (f, mu, logvar), got "
                        f"{type(outputs).__name__}"
                        + (f" of length {len(outputs)}" if isinstance(outputs, (tuple, list))
                           else ""))
    beta = arguments.real(beta, "beta", "negative_elbo", 0)
    f, mu, logvar = outputs
    reconstruction, grad_f = reconstruction_loss(f, x, likelihood, observation_std)
    kl, grad_mu, grad_logvar = gaussian_kl(mu, logvar)
    if beta != 1:
        grad_mu *= beta
        grad_logvar *= beta
    return reconstruction + beta * kl, (grad_f, grad_mu, grad_logvar)


# ---------------------------------------------------------------------------------------------
# The model

class VAE(Module):
    """An encoder, the reparameterised draw of z, and a decoder: x -> (f, mu, logvar).

    Arguments
        encoder          Module mapping x (N, ...) to (N, 2 * latent_dim): the first latent_dim
                         columns are mu, the last latent_dim are logvar = log sigma^2 of q(z|x)
        decoder          Module mapping z (N, latent_dim) to f (N, ...) shaped like x: the mean
                         of p(x|z) ("gaussian") or its logits ("bernoulli")
        latent_dim       K, the size of z
        likelihood       "gaussian" (real-valued data) or "bernoulli" (data in [0, 1])
        observation_std  s of the Gaussian likelihood (ignored for "bernoulli")
        beta             weight of the KL term (1: the ELBO; Higgins et al., 2017 vary it)

    ``forward(x)`` returns (f (N, ...), mu (N, K), logvar (N, K)) at one draw of eps and caches
    the pass; ``backward(dy)``, dy = (grad_f, grad_mu, grad_logvar) the gradient of the loss
    with respect to those outputs, returns dL/dx through the encoder (N, ...) and adds into every
    parameter's ``.grad``. ``loss(outputs, x)`` is ``negative_elbo`` with this VAE's likelihood,
    observation_std and beta. The encoder and decoder are children, so ``vae.parameters()``
    lists both for an optimizer.
    """

    def __init__(self, encoder: Module, decoder: Module, latent_dim: int,
                 likelihood: str = "gaussian", observation_std: float = 1.0, beta: float = 1.0):
        super().__init__()
        for name, module in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(module, Module):
                raise TypeError(f"VAE: {name} must be a minigan Module, got "
                                f"{type(module).__name__}")
        if not isinstance(latent_dim, int) or isinstance(latent_dim, bool) or latent_dim < 1:
            raise ValueError(f"VAE: latent_dim must be a positive int, got {latent_dim!r}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"VAE: likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        observation_std = arguments.real(observation_std, "observation_std", "VAE", 0,
                                         low_open=True)
        beta = arguments.real(beta, "beta", "VAE", 0)
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.likelihood = likelihood
        self.observation_std = float(observation_std)
        self.beta = float(beta)
        self._cache = None          # (x shape, f shape, mu, z) of the last forward

    # -- the pieces ------------------------------------------------------------------------------
    def encode(self, x):
        """x: (N, ...) -> mu: (N, K), logvar: (N, K) of q(z|x) (views into the encoder output)."""
        h = self.encoder.forward(x)
        k = self.latent_dim
        if h.ndim != 2 or h.shape[1] != 2 * k:
            raise ValueError(f"VAE: the encoder must output (N, 2 * latent_dim) = (N, {2 * k}) "
                             f"(mu then logvar), got {tuple(h.shape)}")
        return h[:, :k], h[:, k:]

    def reparameterise(self, mu, logvar):
        """z = mu + exp(logvar / 2) * eps with eps ~ N(0, I) from B.randn.  (N, K) -> (N, K)"""
        eps = B.randn(*mu.shape, dtype=mu.dtype)
        std = B.xp.exp(0.5 * logvar)
        eps *= std
        eps += mu
        return eps

    def decode(self, z):
        """z: (N, K) -> f(z): (N, ...), the decoder's raw output (mean or logits)."""
        return self.decoder.forward(z)

    def _mean(self, f):
        """The mean of p(x|z) from the decoder output: f itself, or sigmoid(f) for Bernoulli."""
        if self.likelihood == "gaussian":
            return f
        return sigmoid(f)

    # -- the two passes --------------------------------------------------------------------------
    def forward(self, x):
        """x: (N, ...) -> (f (N, ...) shaped like x, mu (N, K), logvar (N, K))."""
        _check_float_array(x, "VAE", "x")
        mu, logvar = self.encode(x)
        z = self.reparameterise(mu, logvar)
        f = self.decode(z)
        if f.shape != x.shape:
            raise ValueError(f"VAE: the decoder output has shape {tuple(f.shape)} but the data "
                             f"have shape {tuple(x.shape)}; they must match (end the decoder "
                             f"with a Reshape)")
        self._cache = (x.shape, f.shape, mu, z)
        return f, mu, logvar

    def backward(self, dy):
        """dy = (grad_f, grad_mu, grad_logvar), the gradient of the loss with respect to
        forward's three outputs -> dL/dx (N, ...) through the encoder; adds into parameter
        grads. The decoder's gradient reaches mu and logvar through z = mu + exp(logvar/2) eps:
        dz/dmu = 1, dz/dlogvar = (z - mu) / 2."""
        if self._cache is None:
            raise RuntimeError("VAE: backward() called before forward(); run forward on the "
                               "same batch first")
        x_shape, f_shape, mu, z = self._cache
        if not isinstance(dy, (tuple, list)) or len(dy) != 3:
            raise TypeError(f"VAE.backward: dy must be (grad_f, grad_mu, grad_logvar), the "
                            f"gradient of forward's three outputs, got {type(dy).__name__}")
        grad_f, grad_mu, grad_logvar = dy
        for name, grad, shape in (("grad_f", grad_f, f_shape), ("grad_mu", grad_mu, mu.shape),
                                  ("grad_logvar", grad_logvar, mu.shape)):
            _check_float_array(grad, "VAE.backward", name)
            if grad.shape != shape:
                raise ValueError(f"VAE.backward: {name} must have the shape of its output "
                                 f"{tuple(shape)}, got {tuple(grad.shape)}")
        grad_z = self.decoder.backward(grad_f)                  # (N, K)
        grad_h_mu = grad_z + grad_mu                            # dz/dmu = 1
        grad_h_logvar = grad_z * (z - mu)
        grad_h_logvar *= 0.5                                    # dz/dlogvar = (z - mu) / 2
        grad_h_logvar += grad_logvar
        grad_h = B.xp.concatenate([grad_h_mu, grad_h_logvar], axis=1)  # (N, 2K): the encoder's
        return self.encoder.backward(grad_h).reshape(x_shape)           # output gradient

    def loss(self, outputs, x):
        """``negative_elbo(outputs, x)`` with this VAE's likelihood, observation_std and beta:
        (value: 0-d array, (grad_f, grad_mu, grad_logvar))."""
        return negative_elbo(outputs, x, self.likelihood, self.observation_std, self.beta)

    # -- using the model -------------------------------------------------------------------------
    def sample(self, n: int, z=None, observation_noise: bool = False):
        """n new data points: the mean of p(x|z) at z ~ N(0, I) (or at the given z: (n, K)).

        Means are what VAE figures show (Bernoulli: probabilities in [0, 1]). With
        ``observation_noise`` a Gaussian VAE adds s * N(0, I), a draw from the model itself.
        Runs the decoder in eval mode.
        """
        if z is None:
            z = B.randn(n, self.latent_dim)
        with self.decoder.eval_mode():
            mean = self._mean(self.decoder.forward(z))
        if observation_noise and self.likelihood == "gaussian":
            mean = mean + self.observation_std * B.randn(*mean.shape, dtype=mean.dtype)
        return mean

    def reconstruct(self, x):
        """The mean of p(x|z) at z = mu(x): x (N, ...) -> (N, ...). Eval mode, no noise."""
        with self.encoder.eval_mode(), self.decoder.eval_mode():
            h = self.encoder.forward(x)
            return self._mean(self.decoder.forward(h[:, :self.latent_dim]))

    def __repr__(self) -> str:
        extra = (f", observation_std={self.observation_std:g}"
                 if self.likelihood == "gaussian" else "")
        return (f"VAE(latent_dim={self.latent_dim}, likelihood={self.likelihood!r}{extra}, "
                f"beta={self.beta:g})")


# ---------------------------------------------------------------------------------------------
# Training

def train(vae: VAE, data, num_iterations: int, batch_size: int = 128, optimizer=None,
          lr: float = 1e-3, log_every: int = 0) -> dict:
    """Minimise the batch loss with ``optimizer`` (default Adam(lr, betas=(0.9, 0.999))).

    ``data`` is an array (num_examples, ...) of the active backend, minibatched by reshuffling
    each epoch (``minigan.data.batches.Batches``: an incomplete last batch is dropped), or a
    callable ``sample(n)``. Nothing is read back to the host during training (the losses stay
    0-d arrays until the end, or a log line). Returns the history {"loss": [float per
    iteration]}.
    """
    where = "vae.train"
    if not isinstance(vae, VAE):
        raise TypeError(f"{where}: vae must be a minigan.vae.VAE, got {type(vae).__name__}")
    arguments.integer(num_iterations, "num_iterations", where, minimum=0)
    arguments.integer(batch_size, "batch_size", where, minimum=1)
    arguments.integer(log_every, "log_every", where, minimum=0)
    if not callable(data) and not B.is_array(data):
        raise TypeError(f"{where}: data must be an array of the active backend "
                        f"({B.xp.__name__}.ndarray) or a function sample(n), got "
                        f"{type(data).__name__}; convert it with B.asarray(data)")
    if optimizer is None:
        optimizer = Adam(vae.parameters(), lr=lr, betas=(0.9, 0.999))
    if callable(data):
        sample = data
    else:
        if data.shape[0] < batch_size:
            raise ValueError(f"train: the data hold {data.shape[0]} examples, fewer than "
                             f"batch_size={batch_size}")
        batches = Batches(data.shape[0])

        def sample(n):
            return data[batches.next(n)]
    losses, checks = [], []          # 0-d arrays; (iteration, ok, error) of deferred checks
    for iteration in range(1, num_iterations + 1):
        batch = sample(batch_size)
        with B.deferred_checks() as step_checks:     # on a device: kept, read at the end
            optimizer.zero_grad()
            outputs = vae.forward(batch)
            loss, grad_outputs = vae.loss(outputs, batch)
            vae.backward(grad_outputs)
            optimizer.step()
        losses.append(loss)
        checks += [(iteration, ok, error) for ok, error in step_checks]
        if log_every and (iteration % log_every == 0 or iteration == num_iterations):
            _read(losses[-1:], checks)
            print(f"iter {iteration:>6d}/{num_iterations}  loss {float(loss):.4f}", flush=True)
    return {"loss": _read(losses, checks)}


def _read(losses, checks) -> list:
    """The losses as Python floats, and the verdicts of the deferred checks, in one transfer
    from the device; raises for the first check that failed (a gradient holding NaN or Inf)."""
    if not losses:
        return []
    values = B.to_numpy(B.xp.stack(losses + [ok.astype(losses[0].dtype)
                                             for _, ok, _ in checks]))
    for verdict, (iteration, _, error) in zip(values[len(losses):], checks):
        if not verdict:
            found = error()
            raise FloatingPointError(
                f"vae.train: at iteration {iteration} a gradient held NaN or Inf (read after "
                f"the step on the device)" + (f": {found}" if found is not None else ""))
    return values[:len(losses)].tolist()
