"""The variational autoencoder: its loss functions against independent computations and finite
differences, the module's hand-derived backward against finite differences (float64, eps fixed
by reseeding; minigan.gradcheck), the KL closed form against a Monte Carlo estimate, the Module
contract (arrays out, no host sync in training), and short training runs."""
import math

import numpy as np
import pytest

from minigan import backend as B
from minigan.gan_vs_vae import elbo_gradient_errors
from minigan.gradcheck import check_function, check_module
from minigan.losses import bce_with_logits
from minigan.nn.activations import LeakyReLU, Tanh
from minigan.nn.dense import Dense
from minigan.nn.module import Module, Sequential
from minigan.nn.norm import BatchNorm1d
from minigan.nn.shape import Flatten, Reshape
from minigan.optim import Adam
from minigan.vae import VAE, gaussian_kl, negative_elbo, reconstruction_loss, train

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


# ---------------------------------------------------------------------------------------------
# The loss functions

@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_reconstruction_loss_gradient(likelihood):
    with B.precision("float64"):
        B.seed(0)
        f, x = B.randn(4, 1, 2, 3), B.rand(4, 1, 2, 3) * 0.8 + 0.1
        assert check_function(lambda f: reconstruction_loss(f, x, likelihood, 0.3), f) < 1e-8


def test_gaussian_kl_gradients():
    with B.precision("float64"):
        B.seed(1)
        mu, logvar = B.randn(5, 3), B.randn(5, 3) * 0.5
        assert check_function(lambda m: gaussian_kl(m, logvar)[:2], mu) < 1e-8
        assert check_function(lambda lv: gaussian_kl(mu, lv)[::2], logvar) < 1e-8


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_negative_elbo_gradients_with_beta(likelihood):
    with B.precision("float64"):
        B.seed(2)
        f, mu, logvar = B.randn(4, 6), B.randn(4, 2), B.randn(4, 2) * 0.5
        x = B.rand(4, 6)
        outputs = [f, mu, logvar]
        for i in range(3):
            def value_and_grad(arg, i=i):
                args = list(outputs)
                args[i] = arg
                value, grads = negative_elbo(tuple(args), x, likelihood, 0.5, beta=0.3)
                return value, grads[i]
            assert check_function(value_and_grad, outputs[i]) < 1e-7


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_loss_values_against_independent_computation(likelihood):
    with B.precision("float64"):
        B.seed(4)
        vae = small_vae(likelihood, beta=0.5, observation_std=0.3)
        x = B.rand(6, 1, 2, 3)
        B.seed(11)
        f, mu, logvar = (a.copy() for a in vae.forward(x))
        loss, _ = vae.loss((f, mu, logvar), x)
        # the same pass by hand, with the same eps (same seed, same single draw)
        h = vae.encoder.forward(x)
        np.testing.assert_array_equal(mu, h[:, :2])
        np.testing.assert_array_equal(logvar, h[:, 2:])
        B.seed(11)
        eps = B.randn(6, 2)
        np.testing.assert_allclose(f, vae.decoder.forward(h[:, :2] + np.exp(h[:, 2:] / 2) * eps),
                                   rtol=1e-12)
        if likelihood == "gaussian":
            s = 0.3
            per_example = (((x - f) ** 2).reshape(6, -1).sum(1) / (2 * s * s)
                           + 6 / 2 * math.log(2 * math.pi * s * s))
            reconstruction = per_example.mean()
        else:
            reconstruction = bce_with_logits(f, x)[0] * 6     # mean over 36 entries * 6 per example
        kl = (0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar).sum(1)).mean()
        assert float(reconstruction_loss(f, x, likelihood, 0.3)[0]) == pytest.approx(
            reconstruction, rel=1e-12)
        assert float(gaussian_kl(mu, logvar)[0]) == pytest.approx(kl, rel=1e-12)
        assert float(loss) == pytest.approx(reconstruction + 0.5 * kl, rel=1e-12)


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

    # ... and the VAE's KL term is that closed form for an encoder that outputs these numbers
    with B.precision("float64"):
        encoder = Sequential(Dense(1, 6, bias=True))
        encoder.layers[0].W.data[...] = 0
        encoder.layers[0].b.data[...] = np.concatenate([mu, logvar])
        vae = VAE(encoder, Sequential(Dense(3, 1)), 3)
        _, mu_out, logvar_out = vae.forward(B.xp.ones((2, 1)))
        assert float(gaussian_kl(mu_out, logvar_out)[0]) == pytest.approx(closed_form, rel=1e-12)


def test_loss_errors_name_the_culprit():
    f, x = B.randn(4, 3), B.rand(4, 3)
    with pytest.raises(ValueError, match="reconstruction_loss: f has shape"):
        reconstruction_loss(f, x[:, :2])
    with pytest.raises(ValueError, match="reconstruction_loss: likelihood"):
        reconstruction_loss(f, x, "poisson")
    with pytest.raises(TypeError, match="reconstruction_loss: x must be a floating"):
        reconstruction_loss(f, B.xp.ones((4, 3), dtype=B.xp.int64))
    with pytest.raises(ValueError, match=r"gaussian_kl: mu and logvar must both be \(N, K\)"):
        gaussian_kl(B.randn(4, 2), B.randn(4, 3))
    with pytest.raises(TypeError, match=r"negative_elbo: outputs must be the VAE's"):
        negative_elbo(f, x)
    with pytest.raises(ValueError, match="negative_elbo: beta must be >= 0"):
        negative_elbo((f, B.randn(4, 2), B.randn(4, 2)), x, beta=-1.0)
    with pytest.raises(ValueError, match="reconstruction_loss: observation_std must be positive"):
        reconstruction_loss(f, x, "gaussian", 0.0)
    with pytest.raises(TypeError, match="VAE: observation_std must be a number"):
        small_vae(observation_std="wide")


# ---------------------------------------------------------------------------------------------
# The module

class _Outputs(Module):
    """The VAE's three outputs as one array (N, D + 2K), so that gradcheck.check_module can
    check VAE.backward against a random upstream gradient like any layer's."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, x):
        f, mu, logvar = self.vae.forward(x)
        self.f_shape, self.k = f.shape, mu.shape[1]
        return B.xp.concatenate([f.reshape(f.shape[0], -1), mu, logvar], axis=1)

    def backward(self, dy):
        k = self.k
        grad_f = dy[:, :-2 * k].reshape(self.f_shape)
        return self.vae.backward((grad_f, dy[:, -2 * k:-k], dy[:, -k:]))


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_module_backward_against_finite_differences(likelihood):
    with B.precision("float64"):
        B.seed(1)
        vae = small_vae(likelihood)
        x = B.rand(4, 1, 2, 3) * 0.8 + 0.1
        errors = check_module(_Outputs(vae), x)
        assert_gradients_ok({name.replace("vae.", ""): e for name, e in errors.items()})


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_whole_loss_gradient_check(likelihood, beta):
    with B.precision("float64"):
        B.seed(1)
        vae = small_vae(likelihood, beta=beta)
        x = B.rand(4, 1, 2, 3) * 0.8 + 0.1        # in (0.1, 0.9): valid Bernoulli targets
        assert_gradients_ok(elbo_gradient_errors(vae, x))


def test_gradient_check_with_batchnorm_and_leaky_relu_encoder():
    """BatchNorm couples the examples of a batch; the gradient must still be exact. (No bias
    before BatchNorm: its true gradient is 0, and a relative error of round-off against 0
    means nothing.)"""
    with B.precision("float64"):
        B.seed(2)
        encoder = Sequential(Dense(3, 6, bias=False), BatchNorm1d(6), LeakyReLU(0.2), Dense(6, 4))
        decoder = Sequential(Dense(2, 6), Tanh(), Dense(6, 3))
        vae = VAE(encoder, decoder, 2, observation_std=0.5)
        errors = elbo_gradient_errors(vae, B.randn(5, 3))
        assert max(errors.values()) < TOLERANCE, errors


class _ForgetsKL(VAE):
    """A wrong VAE: backward drops the gradient of the loss with respect to logvar."""

    def backward(self, dy):
        grad_f, grad_mu, grad_logvar = dy
        return super().backward((grad_f, grad_mu, 0 * grad_logvar))


class _ForgetsReparameterisation(VAE):
    """A wrong VAE: the noise path dz/dlogvar = (z - mu)/2 is missing."""

    def backward(self, dy):
        x_shape, f_shape, mu, z = self._cache
        self._cache = (x_shape, f_shape, mu, mu)     # z - mu = 0 in backward
        return super().backward(dy)


@pytest.mark.parametrize("wrong", [_ForgetsKL, _ForgetsReparameterisation])
def test_gradient_check_catches_a_wrong_gradient(wrong):
    with B.precision("float64"):
        B.seed(3)
        right = small_vae()
        vae = wrong(right.encoder, right.decoder, 2, observation_std=0.7)
        errors = elbo_gradient_errors(vae, B.randn(4, 1, 2, 3))
        assert max(errors.values()) > 1e-3, errors


def test_reparameterisation_draws_from_q():
    mu = B.asarray(np.full((200_000, 2), [1.0, -2.0]))
    logvar = B.asarray(np.full((200_000, 2), [math.log(0.25), math.log(4.0)]))
    z = B.to_numpy(small_vae().reparameterise(mu, logvar))
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.02)
    np.testing.assert_allclose(z.std(0), [0.5, 2.0], rtol=0.01)


def test_same_seed_same_noise_same_outputs():
    vae = small_vae()
    x = B.randn(8, 1, 2, 3)
    B.seed(5)
    first = vae.forward(x)[0].copy()
    B.seed(5)
    np.testing.assert_array_equal(vae.forward(x)[0], first)
    assert not np.array_equal(vae.forward(x)[0], first)          # a fresh eps


def test_module_contract_arrays_out_float32_and_parameters_cover_both_halves():
    vae = small_vae("bernoulli")
    x = B.rand(8, 1, 2, 3)
    vae.zero_grad()
    outputs = vae.forward(x)
    f, mu, logvar = outputs
    assert all(B.is_array(a) and a.dtype == np.float32 for a in outputs)
    assert f.shape == x.shape and mu.shape == logvar.shape == (8, 2)
    loss, grad_outputs = vae.loss(outputs, x)
    assert not isinstance(loss, float) and np.ndim(loss) == 0 and loss.dtype == np.float32
    assert [g.shape for g in grad_outputs] == [a.shape for a in outputs]
    grad_x = vae.backward(grad_outputs)
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
    """A VAE on N(m, diag(0.8^2, 0.3^2)) learns the mean and both spreads."""
    B.seed(0)
    encoder = Sequential(Dense(2, 16), Tanh(), Dense(16, 4))
    decoder = Sequential(Dense(2, 16), Tanh(), Dense(16, 2))
    vae = VAE(encoder, decoder, 2, observation_std=0.1)
    mean, std = np.array([1.0, -0.5]), np.array([0.8, 0.3])
    data = B.asarray(mean + std * np.random.default_rng(0).standard_normal((2048, 2)))
    history = train(vae, data, num_iterations=1000, batch_size=128, lr=1e-2)
    assert len(history["loss"]) == 1000 and all(isinstance(v, float) for v in history["loss"])
    assert np.mean(history["loss"][-50:]) < np.mean(history["loss"][:50]) - 10
    samples = B.to_numpy(vae.sample(4000, observation_noise=True))
    np.testing.assert_allclose(samples.mean(0), mean, atol=0.1)
    np.testing.assert_allclose(samples.std(0), std, rtol=0.15)


def test_training_minibatches_by_epoch():
    """An array is minibatched as GAN's data are (minigan.data.batches): each epoch visits 8 of
    the 10 examples once, in a new order, the incomplete last batch dropped."""
    data = B.asarray(np.arange(10, dtype=np.float32)[:, None])
    seen = []

    class Recorder(VAE):
        def forward(self, x):
            seen.append(tuple(B.to_numpy(x).ravel()))
            return super().forward(x)

    vae = Recorder(Sequential(Dense(1, 2)), Sequential(Dense(1, 1)), 1)
    train(vae, data, num_iterations=6, batch_size=4)           # 2 batches an epoch, 2 left out
    epochs = [seen[0] + seen[1], seen[2] + seen[3], seen[4] + seen[5]]
    assert all(len(batch) == 4 for batch in seen)
    assert all(len(set(epoch)) == 8 for epoch in epochs)
    assert len(set(epochs)) == 3                               # a new order every epoch


def test_usable_with_a_minigan_optimizer():
    vae = small_vae()
    opt = Adam(vae.parameters(), lr=1e-2, betas=(0.9, 0.999))
    x = B.randn(16, 1, 2, 3)
    losses = []
    for _ in range(100):
        B.seed(0)                                 # same eps: a deterministic objective
        opt.zero_grad()
        loss, grad_outputs = vae.loss(vae.forward(x), x)
        vae.backward(grad_outputs)
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0] - 1


def test_errors_name_the_culprit():
    with pytest.raises(ValueError, match="likelihood"):
        small_vae("poisson")
    with pytest.raises(ValueError, match=r"2 \* latent_dim"):
        VAE(Sequential(Dense(3, 3)), Sequential(Dense(2, 3)), 2).forward(B.randn(4, 3))
    with pytest.raises(ValueError, match="decoder output has shape"):
        VAE(Sequential(Dense(3, 4)), Sequential(Dense(2, 5)), 2).forward(B.randn(4, 3))
    with pytest.raises(RuntimeError, match="before forward"):
        small_vae().backward((None, None, None))
    with pytest.raises(TypeError, match="floating"):
        small_vae().forward(B.xp.ones((4, 1, 2, 3), dtype=B.xp.int64))
    vae = small_vae()
    f, mu, logvar = vae.forward(B.randn(4, 1, 2, 3))
    with pytest.raises(TypeError, match=r"VAE.backward: dy must be \(grad_f, grad_mu"):
        vae.backward(f)
    with pytest.raises(ValueError, match=r"VAE.backward: grad_mu must have the shape"):
        vae.backward((f, mu[:, :1], logvar))
    with pytest.raises(ValueError, match="train: the data hold 3 examples"):
        train(vae, B.randn(3, 1, 2, 3), num_iterations=1, batch_size=4)


def test_training_reads_nothing_back_until_the_end():
    """On the CuPy stand-in (fails on host/device mixing and implicit host conversion): a
    training run of 5 iterations reads the device once, for the history at its end."""
    import fakecupy
    B._use_module(fakecupy, "cupy")
    try:
        B.seed(0)
        vae = small_vae("bernoulli")
        x = B.rand(16, 1, 2, 3)
        counters = fakecupy.reset_counters()
        history = train(vae, x, num_iterations=5, batch_size=8)
        assert counters.syncs == 1, counters
        assert len(history["loss"]) == 5 and all(math.isfinite(v) for v in history["loss"])
        outputs = vae.forward(x)
        assert all(isinstance(a, fakecupy.ndarray) for a in outputs)
        loss, grad_outputs = vae.loss(outputs, x)
        assert isinstance(loss, fakecupy.ndarray)
        grad_x = vae.backward(grad_outputs)
        assert isinstance(grad_x, fakecupy.ndarray) and grad_x.shape == (16, 1, 2, 3)
        assert isinstance(vae.sample(4, observation_noise=True), fakecupy.ndarray)
        assert isinstance(vae.reconstruct(x), fakecupy.ndarray)
        gaussian = small_vae("gaussian")
        _, grad_outputs = gaussian.loss(gaussian.forward(x), x)
        assert isinstance(gaussian.backward(grad_outputs), fakecupy.ndarray)
    finally:
        B.use("numpy")


@pytest.mark.parametrize("device", [False, True])
def test_training_on_non_finite_data_stops_with_the_iteration(device):
    """A NaN in the data makes every gradient NaN: on the host the optimizer refuses the step at
    once; on a device the deferred check is read at the end and names the iteration."""
    import fakecupy
    from minigan.optim import NonFiniteGradientError
    if device:
        B._use_module(fakecupy, "cupy")
    try:
        B.seed(0)
        vae = small_vae()
        x = B.randn(8, 1, 2, 3)
        x[0, 0, 0, 0] = float("nan")
        expected = ((FloatingPointError, r"vae.train: at iteration 1 a gradient held NaN")
                    if device else (NonFiniteGradientError, "NaN or Inf"))
        with pytest.raises(expected[0], match=expected[1]):
            train(vae, x, num_iterations=3, batch_size=8)
    finally:
        B.use("numpy")
