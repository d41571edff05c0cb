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
                 dR/df = (f - x) / s^2             dR/dx = (x - f) / s^2
    "bernoulli"  p(x|z) = Bernoulli(x; sigmoid(f)), f = logits, for data x in [0, 1]
                 R = sum_j softplus(f_j) - x_j f_j  (binary cross-entropy from logits)
                 dR/df = sigmoid(f) - x            dR/dx = -f

The KL divergence between two Gaussians has a closed form, per example with K latent units:

    K = 1/2 sum_k ( mu_k^2 + exp(logvar_k) - 1 - logvar_k )
    dK/dmu = mu                                    dK/dlogvar = (exp(logvar) - 1) / 2

and the reparameterisation passes the decoder's gradient g = dR/dz on to mu and logvar:

    dz/dmu = 1,   dz/dlogvar = eps exp(logvar / 2) / 2 = (z - mu) / 2
    dL/dmu     = g + beta mu
    dL/dlogvar = g (z - mu) / 2 + beta (exp(logvar) - 1) / 2

The batch loss is the mean of L over the N examples, so every gradient above carries a 1/N.
The data enter the loss twice -- as the encoder's input and as the reconstruction's target --
so dL/dx is the encoder's input gradient plus dR/dx.

    vae = VAE(encoder, decoder, latent_dim=2, likelihood="gaussian", observation_std=0.1)
    opt = Adam(vae.parameters(), lr=1e-3, betas=(0.9, 0.999))
    vae.zero_grad(); loss = vae.forward(x); vae.backward(); opt.step()
    history = train(vae, data, num_iterations=2000)          # or the loop above
    x_new = vae.sample(1000)                                  # decoder means at z ~ N(0, I)
"""
from __future__ import annotations

import math

from minigan import arguments
from minigan import backend as B
from minigan.gradcheck import numerical_gradient, rel_error
from minigan.losses import sigmoid
from minigan.nn.module import Module
from minigan.optim import Adam

LIKELIHOODS = ("gaussian", "bernoulli")
HISTORY_KEYS = ("loss", "reconstruction", "kl")


class VAE(Module):
    """An encoder, a decoder, and the negative ELBO as a forward/backward pair.

    Arguments
        encoder          Module mapping x (N, ...) to (N, 2 * latent_dim): the first latent_dim
                         columns are mu, the last latent_dim are logvar = log sigma^2 of q(z|x)
        decoder          Module mapping z (N, latent_dim) to f (N, ...) shaped like x: the mean
                         of p(x|z) ("gaussian") or its logits ("bernoulli")
        latent_dim       K, the size of z
        likelihood       "gaussian" (real-valued data) or "bernoulli" (data in [0, 1])
        observation_std  s of the Gaussian likelihood (ignored for "bernoulli")
        beta             weight of the KL term (1: the ELBO; Higgins et al., 2017 vary it)

    ``forward(x)`` returns the batch loss (a Python float) and caches the pass;
    ``backward(dloss=1.0)`` returns dL/dx (N, ...) and adds into every parameter's ``.grad``.
    ``terms`` holds the last forward's {"loss", "reconstruction", "kl"} (batch means).
    The encoder and decoder are children, so ``vae.parameters()`` lists both for an optimizer.
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
        if not observation_std > 0:
            raise ValueError(f"VAE: observation_std must be positive, got {observation_std!r}")
        if not beta >= 0:
            raise ValueError(f"VAE: beta must be >= 0, got {beta!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.likelihood = likelihood
        self.observation_std = float(observation_std)
        self.beta = float(beta)
        self.terms = {}
        self._cache = None          # (x, f, mu, exp(logvar), z) of the last forward

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

    # -- the loss and its gradient ---------------------------------------------------------------
    def forward(self, x) -> float:
        """The batch loss mean_n L(x_n) for x: (N, ...); also sets ``terms``."""
        if not B.is_array(x) or x.dtype.kind != "f":
            raise TypeError(f"VAE expects a floating {B.xp.__name__}.ndarray, got "
                            f"{type(x).__name__} of dtype {getattr(x, 'dtype', None)}")
        mu, logvar = self.encode(x)
        z = self.reparameterise(mu, logvar)
        f = self.decode(z)
        if f.shape != x.shape:
            raise ValueError(f"VAE: the decoder output has shape {tuple(f.shape)} but the data "
                             f"have shape {tuple(x.shape)}; they must match (end the decoder "
                             f"with a Reshape)")
        n = x.shape[0]
        xp = B.xp
        if self.likelihood == "gaussian":
            s2 = self.observation_std ** 2
            diff = x - f
            dims = x.size // n
            reconstruction = (float((diff * diff).sum()) / (2 * s2)
                              + 0.5 * dims * n * math.log(2 * math.pi * s2)) / n
        else:
            # softplus(f) - x f = max(f, 0) - x f + log(1 + exp(-|f|)), stable for any f
            per_entry = xp.maximum(f, 0) - x * f + xp.log1p(xp.exp(-xp.abs(f)))
            reconstruction = float(per_entry.sum()) / n
        var = xp.exp(logvar)                                    # sigma^2 of q(z|x)
        kl = 0.5 * float((mu * mu + var - 1 - logvar).sum()) / n
        loss = reconstruction + self.beta * kl
        self.terms = {"loss": loss, "reconstruction": reconstruction, "kl": kl}
        self._cache = (x, f, mu, var, z)
        return loss

    def backward(self, dloss: float = 1.0):
        """dL/dx: (N, ...) for an upstream scalar gradient ``dloss``; adds into parameter grads."""
        if self._cache is None:
            raise RuntimeError("VAE: backward() called before forward(); run forward on the "
                               "same batch first")
        x, f, mu, var, z = self._cache
        xp = B.xp
        scale = float(dloss) / x.shape[0]                       # the batch mean's 1/N
        if self.likelihood == "gaussian":
            grad_f = f - x
            grad_f *= scale / self.observation_std ** 2         # dR/df = (f - x) / s^2
            grad_x_target = -grad_f                             # dR/dx = (x - f) / s^2
        else:
            grad_f = sigmoid(f) - x
            grad_f *= scale                                     # dR/df = sigmoid(f) - x
            grad_x_target = -scale * f                          # dR/dx = -f
        grad_z = self.decoder.backward(grad_f)                  # (N, K)
        kl_scale = self.beta * scale
        grad_mu = grad_z + kl_scale * mu                        # dz/dmu = 1; dK/dmu = mu
        grad_logvar = grad_z * (z - mu)
        grad_logvar *= 0.5                                      # dz/dlogvar = (z - mu) / 2
        grad_logvar += (0.5 * kl_scale) * (var - 1)             # dK/dlogvar = (e^lv - 1) / 2
        grad_h = xp.concatenate([grad_mu, grad_logvar], axis=1)  # (N, 2K): the encoder's output
        grad_x = self.encoder.backward(grad_h)                  # the encoder's input gradient
        return grad_x.reshape(x.shape) + grad_x_target          # ... plus the target's

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
# Training and checking

def train(vae: VAE, data, num_iterations: int, batch_size: int = 128, optimizer=None,
          lr: float = 1e-3, log_every: int = 0) -> dict:
    """Minimise the batch loss with ``optimizer`` (default Adam(lr, betas=(0.9, 0.999))).

    ``data`` is an array (num_examples, ...) of the active backend, minibatched by reshuffling
    each epoch (an incomplete last batch is dropped), or a callable ``sample(n)``.
    Returns the history {"loss", "reconstruction", "kl": [float per iteration]}.
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
    if not callable(data) and data.shape[0] < batch_size:
        raise ValueError(f"train: the data hold {data.shape[0]} examples, fewer than "
                         f"batch_size={batch_size}")
    history = {key: [] for key in HISTORY_KEYS}
    order, position = None, 0
    for iteration in range(1, num_iterations + 1):
        if callable(data):
            batch = data(batch_size)
        else:
            if order is None or position + batch_size > data.shape[0]:
                order, position = B.permutation(data.shape[0]), 0
            batch = data[order[position:position + batch_size]]
            position += batch_size
        optimizer.zero_grad()
        vae.forward(batch)
        vae.backward()
        optimizer.step()
        for key in HISTORY_KEYS:
            history[key].append(vae.terms[key])
        if log_every and (iteration % log_every == 0 or iteration == num_iterations):
            print(f"iter {iteration:>6d}/{num_iterations}  loss {vae.terms['loss']:.4f}  "
                  f"reconstruction {vae.terms['reconstruction']:.4f}  kl {vae.terms['kl']:.4f}",
                  flush=True)
    return history


def check_gradients(vae: VAE, x, seed: int = 0, h: float = 1e-6) -> dict:
    """Relative errors of dL/dx and of every parameter gradient against finite differences.

    The noise eps is fixed by reseeding minigan's generator before every forward pass, so the
    loss is a deterministic function of x and the parameters. Run in float64 (build the model
    inside ``with B.precision("float64"):``). Returns {"input": err, "<param name>": err, ...};
    a correct VAE gives errors ~1e-9, well under 1e-6.
    """
    def loss():
        B.seed(seed)
        return vae.forward(x)

    vae.zero_grad()
    loss()
    grad_x = vae.backward()
    errors = {"input": rel_error(grad_x, numerical_gradient(loss, x, h))}
    analytic = {name: p.grad.copy() for name, p in vae.named_parameters()}
    for name, p in vae.named_parameters():
        errors[name] = rel_error(analytic[name], numerical_gradient(loss, p.data, h))
    return errors
