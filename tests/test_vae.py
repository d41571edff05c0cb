"""The variational autoencoder: its loss against an independent computation, its hand-derived
gradients against finite differences (float64, eps fixed by reseeding), the KL closed form
against a Monte Carlo estimate, and a short training run."""
import math

import numpy as np
import pytest

from minigan import backend as B
from minigan.losses import bce_with_logits
from minigan.nn.activations import LeakyReLU, Tanh
from minigan.nn.dense import Dense
from minigan.nn.module import Sequential
from minigan.nn.norm import BatchNorm1d
from minigan.nn.shape import Flatten, Reshape
from minigan.optim import Adam
from minigan.vae import VAE, check_gradients, train

TOLERANCE = 1e-6


def small_vae(likelihood="gaussian", latent_dim=2, beta=1.0, observation_std=0.7):
    """x: (N, 1, 2, 3) -> encoder -> (N, 2 * latent_dim) ; z -> decoder -> (N, 1, 2, 3)."""
    encoder = Sequential(Flatten(), Dense(6, 5), Tanh(), Dense(5, 2 * latent_dim))
    decoder = Sequential(Dense(latent_dim, 5), Tanh(), Dense(5, 6), Reshape(1, 2, 3))
    return VAE(encoder, decoder, latent_dim, likelihood=likelihood,
               observation_std=observation_std, beta=beta)


def assert_gradients_ok(errors):
    assert len(errors) == 1 + 8                   # the input and 4 layers x (W, b)
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOLERANCE, f"{worst}: relative error {errors[worst]:.2e}"


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_whole_loss_gradient_check(likelihood, beta):
    with B.precision("float64"):
        B.seed(1)
        vae = small_vae(likelihood, beta=beta)
        x = B.rand(4, 1, 2, 3) * 0.8 + 0.1        # in (0.1, 0.9): valid Bernoulli targets
        assert_gradients_ok(check_gradients(vae, x))


def test_gradient_check_with_batchnorm_and_leaky_relu_encoder():
    """BatchNorm couples the examples of a batch; the gradient must still be exact."""
    with B.precision("float64"):
        B.seed(2)
        encoder = Sequential(Dense(3, 6), BatchNorm1d(6), LeakyReLU(0.2), Dense(6, 4))
        decoder = Sequential(Dense(2, 6), Tanh(), Dense(6, 3))
        vae = VAE(encoder, decoder, 2, observation_std=0.5)
        x = B.randn(5, 3)
        errors = check_gradients(vae, x)
        assert max(errors.values()) < TOLERANCE, errors


class _ForgetsTargetGradient(VAE):
    """A wrong VAE: backward drops dR/dx (the data as reconstruction target)."""

    def backward(self, dloss=1.0):
        x, f, *_ = self._cache
        grad_x = super().backward(dloss)
        return grad_x - (x - f) * (dloss / x.shape[0] / self.observation_std ** 2)


class _ForgetsReparameterisation(VAE):
    """A wrong VAE: the noise path dz/dlogvar = (z - mu)/2 is missing."""

    def backward(self, dloss=1.0):
        x, f, mu, var, z = self._cache
        self._cache = (x, f, mu, var, mu)         # z - mu = 0 in backward
        return super().backward(dloss)


@pytest.mark.parametrize("wrong", [_ForgetsTargetGradient, _ForgetsReparameterisation])
def test_gradient_check_catches_a_wrong_gradient(wrong):
    with B.precision("float64"):
        B.seed(3)
        right = small_vae()
        vae = wrong(right.encoder, right.decoder, 2, observation_std=0.7)
        x = B.randn(4, 1, 2, 3)
        errors = check_gradients(vae, x)
        assert max(errors.values()) > 1e-3, errors


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_loss_value_against_independent_computation(likelihood):
    with B.precision("float64"):
        B.seed(4)
        vae = small_vae(likelihood, beta=0.5, observation_std=0.3)
        x = B.rand(6, 1, 2, 3)
        B.seed(11)
        loss = vae.forward(x)
        terms = dict(vae.terms)
        # the same pass by hand, with the same eps (same seed, same single draw)
        h = vae.encoder.forward(x)
        mu, logvar = h[:, :2], h[:, 2:]
        B.seed(11)
        eps = B.randn(6, 2)
        f = vae.decoder.forward(mu + np.exp(logvar / 2) * eps)
        if likelihood == "gaussian":
            s = 0.3
            per_example = (((x - f) ** 2).reshape(6, -1).sum(1) / (2 * s * s)
                           + 6 / 2 * math.log(2 * math.pi * s * s))
            reconstruction = per_example.mean()
        else:
            reconstruction = bce_with_logits(f, x)[0] * 6     # mean over 36 entries * 6 per example
        kl = (0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar).sum(1)).mean()
        assert terms["reconstruction"] == pytest.approx(reconstruction, rel=1e-12)
        assert terms["kl"] == pytest.approx(kl, rel=1e-12)
        assert loss == pytest.approx(reconstruction + 0.5 * kl, rel=1e-12)


def test_kl_closed_form_matches_monte_carlo():
    """KL(N(mu, diag var) || N(0, I)) = E_q[log q(z) - log p(z)], estimated with 400k draws."""
    rng = np.random.default_rng(0)
    mu = np.array([0.5, -1.0, 0.2])
    logvar = np.array([-0.5, 0.3, 0.0])
    std = np.exp(logvar / 2)
    z = mu + std * rng.standard_normal((400_000, 3))
    log_q = (-0.5 * ((z - mu) / std) ** 2 - np.log(std) - 0.5 * math.log(2 * math.pi)).sum(1)
    log_p = (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).sum(1)
    monte_carlo = (log_q - log_p).mean()
    closed_form = 0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar).sum()
    standard_error = (log_q - log_p).std() / math.sqrt(len(z))
    assert abs(monte_carlo - closed_form) < 4 * standard_error

    # ... and the VAE reports that closed form for an encoder that outputs these numbers
    with B.precision("float64"):
        encoder = Sequential(Dense(1, 6, bias=True))
        encoder.layers[0].W.data[...] = 0
        encoder.layers[0].b.data[...] = np.concatenate([mu, logvar])
        decoder = Sequential(Dense(3, 1))
        vae = VAE(encoder, decoder, 3)
        vae.forward(B.xp.ones((2, 1)))
        assert vae.terms["kl"] == pytest.approx(closed_form, rel=1e-12)


def test_reparameterisation_draws_from_q():
    mu = B.asarray(np.full((200_000, 2), [1.0, -2.0]))
    logvar = B.asarray(np.full((200_000, 2), [math.log(0.25), math.log(4.0)]))
    z = B.to_numpy(small_vae().reparameterise(mu, logvar))
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.02)
    np.testing.assert_allclose(z.std(0), [0.5, 2.0], rtol=0.01)


def test_same_seed_same_noise_same_loss():
    vae = small_vae()
    x = B.randn(8, 1, 2, 3)
    B.seed(5)
    first = vae.forward(x)
    B.seed(5)
    assert vae.forward(x) == first
    assert vae.forward(x) != first                # a fresh eps


def test_float32_stays_float32_and_parameters_cover_both_halves():
    vae = small_vae("bernoulli")
    x = B.rand(8, 1, 2, 3)
    vae.zero_grad()
    vae.forward(x)
    grad_x = vae.backward()
    assert grad_x.dtype == np.float32 and grad_x.shape == x.shape
    names = [name for name, _ in vae.named_parameters()]
    assert sum(n.startswith("encoder.") for n in names) == 4
    assert sum(n.startswith("decoder.") for n in names) == 4
    assert all(p.grad.dtype == np.float32 and float(abs(p.grad).sum()) > 0
               for p in vae.parameters())
    samples = vae.sample(5)
    assert samples.shape == (5, 1, 2, 3) and samples.dtype == np.float32
    assert 0 <= float(samples.min()) and float(samples.max()) <= 1    # Bernoulli means
    assert vae.reconstruct(x).shape == x.shape


def test_training_fits_a_gaussian():
    """A linear-decoder VAE on N(m, diag(0.8^2, 0.3^2)) learns the mean and both spreads."""
    B.seed(0)
    encoder = Sequential(Dense(2, 16), Tanh(), Dense(16, 4))
    decoder = Sequential(Dense(2, 16), Tanh(), Dense(16, 2))
    vae = VAE(encoder, decoder, 2, observation_std=0.1)
    mean, std = np.array([1.0, -0.5]), np.array([0.8, 0.3])
    data = B.asarray(mean + std * np.random.default_rng(0).standard_normal((2048, 2)))
    history = train(vae, data, num_iterations=1000, batch_size=128, lr=1e-2)
    assert np.mean(history["loss"][-50:]) < np.mean(history["loss"][:50]) - 10
    samples = B.to_numpy(vae.sample(4000, observation_noise=True))
    np.testing.assert_allclose(samples.mean(0), mean, atol=0.1)
    np.testing.assert_allclose(samples.std(0), std, rtol=0.15)


def test_usable_with_a_minigan_optimizer():
    vae = small_vae()
    opt = Adam(vae.parameters(), lr=1e-2, betas=(0.9, 0.999))
    x = B.randn(16, 1, 2, 3)
    losses = []
    for _ in range(100):
        B.seed(0)                                 # same eps: a deterministic objective
        opt.zero_grad()
        losses.append(vae.forward(x))
        vae.backward()
        opt.step()
    assert losses[-1] < losses[0] - 1


def test_errors_name_the_culprit():
    with pytest.raises(ValueError, match="likelihood"):
        small_vae("poisson")
    with pytest.raises(ValueError, match=r"2 \* latent_dim"):
        VAE(Sequential(Dense(3, 3)), Sequential(Dense(2, 3)), 2).forward(B.randn(4, 3))
    with pytest.raises(ValueError, match="decoder output has shape"):
        VAE(Sequential(Dense(3, 4)), Sequential(Dense(2, 5)), 2).forward(B.randn(4, 3))
    with pytest.raises(RuntimeError, match="before forward"):
        small_vae().backward()
    with pytest.raises(TypeError, match="floating"):
        small_vae().forward(B.xp.ones((4, 1, 2, 3), dtype=B.xp.int64))


def test_runs_on_a_device_backend():
    """On the CuPy stand-in (fails on host/device mixing and implicit host conversion)."""
    import fakecupy
    B._use_module(fakecupy, "cupy")
    try:
        B.seed(0)
        vae = small_vae("bernoulli")
        x = B.rand(16, 1, 2, 3)
        history = train(vae, x, num_iterations=3, batch_size=8)
        assert len(history["loss"]) == 3 and all(math.isfinite(v) for v in history["loss"])
        grad_x = vae.backward()
        assert isinstance(grad_x, fakecupy.ndarray) and grad_x.shape == (8, 1, 2, 3)
        assert isinstance(vae.sample(4, observation_noise=True), fakecupy.ndarray)
        assert isinstance(vae.reconstruct(x), fakecupy.ndarray)
        gaussian = small_vae("gaussian")
        gaussian.forward(x)
        assert isinstance(gaussian.backward(), fakecupy.ndarray)
    finally:
        B.use("numpy")
