"""The training loop: Algorithm 1's step counts, the chosen objective, the gradients each step
applies, minibatching of a dataset, determinism, state for checkpoints, and the device path."""
import numpy as np
import pytest

import fakecupy
from minigan import backend as B
from minigan.data.toy import Gaussian1D, Ring
from minigan.gan import GAN
from minigan.gradcheck import numerical_gradient, rel_error
from minigan.losses import get_objective
from minigan.nn.activations import LeakyReLU, Tanh
from minigan.nn.dense import Dense
from minigan.nn.module import Sequential
from minigan.optim import SGD, Adam


def small_models(latent=2, data_dim=2, hidden=8):
    G = Sequential(Dense(latent, hidden), Tanh(), Dense(hidden, data_dim))
    D = Sequential(Dense(data_dim, hidden), Tanh(), Dense(hidden, 1))
    return G, D


class Counting:
    """Wraps an optimizer and counts step() calls."""

    def __init__(self, optimizer):
        self.optimizer, self.steps = optimizer, 0

    def step(self):
        self.steps += 1
        self.optimizer.step()

    def __getattr__(self, name):
        return getattr(self.optimizer, name)


class SpyObjective:
    """An objective that records which loss was asked for, delegating to a real one."""

    def __init__(self, name):
        self.inner = get_objective(name)
        self.name = self.inner.name
        self.d_calls = self.g_calls = 0

    def d_loss(self, real_logits, fake_logits):
        self.d_calls += 1
        return self.inner.d_loss(real_logits, fake_logits)

    def g_loss(self, fake_logits):
        self.g_calls += 1
        return self.inner.g_loss(fake_logits)


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_steps_per_generator_step(k):
    G, D = small_models()
    g_opt = Counting(Adam(G.parameters(), lr=1e-3))
    d_opt = Counting(Adam(D.parameters(), lr=1e-3))
    objective = SpyObjective("non-saturating")
    gan = GAN(G, D, Ring().sample, latent_dim=2, d_steps=k, batch_size=16,
              g_optimizer=g_opt, d_optimizer=d_opt, objective=objective)
    gan.train(5)
    assert d_opt.steps == 5 * k and g_opt.steps == 5
    assert objective.g_calls == 5 and objective.d_calls >= 5 * k
    assert gan.iteration == 5
    assert all(len(v) == 5 for v in gan.history.values())


def test_the_chosen_objective_is_used():
    """Minimax's generator loss log(1 - D) is <= 0, the non-saturating -log D is >= 0; a
    least-squares D reports raw outputs, the cross-entropy ones probabilities."""
    for name, sign in (("minimax", -1), ("non-saturating", 1)):
        B.seed(1)
        G, D = small_models()
        gan = GAN(G, D, Ring().sample, latent_dim=2, objective=name, batch_size=16)
        gan.train(3)
        assert gan.objective.name == name
        assert all(sign * v >= 0 for v in gan.history["g_loss"])
        assert all(0 < v < 1 for v in gan.history["d_real"] + gan.history["d_fake"])
    G, D = small_models()
    x = Ring().sample(4)
    logits = B.to_numpy(D.forward(x)).ravel()
    raw = GAN(G, D, Ring().sample, latent_dim=2, objective="least-squares")
    np.testing.assert_allclose(B.to_numpy(raw.discriminate(x)), logits, rtol=1e-6)
    prob = GAN(G, D, Ring().sample, latent_dim=2, objective="minimax")
    np.testing.assert_allclose(B.to_numpy(prob.discriminate(x)), 1 / (1 + np.exp(-logits)),
                               rtol=1e-6)


def _loss_in_parameters(module, loss):
    """Numerical gradient of loss() w.r.t. every parameter of module: list of arrays."""
    return [numerical_gradient(loss, p.data, h=1e-6) for p in module.parameters()]


def test_discriminator_step_applies_the_gradient_of_its_loss():
    """In float64 with SGD(lr=1): the D update equals minus the numerical gradient of
    d_loss(D(x), D(G(z))) on the same batches -- real and fake terms added, and the D gradient
    left by a previous generator step cleared first."""
    with B.precision("float64"):
        B.seed(3)
        G, D = small_models()
        data = B.randn(16, 2)
        gan = GAN(G, D, data, latent_dim=2, batch_size=8, objective="non-saturating",
                  g_optimizer=SGD(G.parameters(), lr=1.0),
                  d_optimizer=SGD(D.parameters(), lr=1.0))
        gan.g_step()                                  # leaves gradients in D's .grad
        state = B.get_rng_state()
        order_state = (gan.data_order, gan.data_position, gan.epoch)
        real = gan.real_batch(8)
        z = gan.sample_noise(8)
        gan.data_order, gan.data_position, gan.epoch = order_state
        B.set_rng_state(state)                        # d_step will draw the same batches
        fake = G.forward(z)
        objective = get_objective("non-saturating")
        before = [p.data.copy() for p in D.parameters()]
        expected = _loss_in_parameters(
            D, lambda: objective.d_loss(D.forward(real), D.forward(fake))[0])
        gan.d_step()
        for p, old, grad in zip(D.parameters(), before, expected):
            assert rel_error(old - p.data, grad) < 1e-6


def test_generator_step_applies_the_gradient_of_its_loss_and_leaves_d_alone():
    with B.precision("float64"):
        B.seed(4)
        G, D = small_models()
        gan = GAN(G, D, Ring().sample, latent_dim=2, batch_size=8, objective="minimax",
                  g_optimizer=SGD(G.parameters(), lr=1.0),
                  d_optimizer=SGD(D.parameters(), lr=1.0))
        state = B.get_rng_state()
        z = gan.sample_noise(8)
        B.set_rng_state(state)
        objective = get_objective("minimax")
        before_g = [p.data.copy() for p in G.parameters()]
        before_d = [p.data.copy() for p in D.parameters()]
        expected = _loss_in_parameters(G, lambda: objective.g_loss(D.forward(G.forward(z)))[0])
        gan.g_step()
        for p, old, grad in zip(G.parameters(), before_g, expected):
            assert rel_error(old - p.data, grad) < 1e-6
        for p, old in zip(D.parameters(), before_d):
            np.testing.assert_array_equal(B.to_numpy(p.data), B.to_numpy(old))


def test_dataset_is_minibatched_by_shuffling_each_epoch():
    data = B.asarray(np.arange(12, dtype=np.float64)[:, None])
    G, D = small_models(latent=1, data_dim=1)
    gan = GAN(G, D, data, latent_dim=1, batch_size=4)
    seen = np.concatenate([B.to_numpy(gan.real_batch(4)).ravel() for _ in range(3)])
    assert sorted(seen) == list(range(12)) and gan.epoch == 0
    second = np.concatenate([B.to_numpy(gan.real_batch(4)).ravel() for _ in range(3)])
    assert sorted(second) == list(range(12)) and gan.epoch == 1
    assert not np.array_equal(seen, second)
    with pytest.raises(ValueError, match="batch_size"):
        GAN(G, D, data[:3], latent_dim=1, batch_size=4)


def test_a_run_is_repeatable_for_a_seed():
    def run(seed):
        B.seed(seed)
        G, D = small_models()
        gan = GAN(G, D, Ring().sample, latent_dim=2, d_steps=2, batch_size=16)
        gan.train(4)
        return gan.history, B.to_numpy(gan.sample(5, z=B.asarray(np.ones((5, 2)))))
    (h1, s1), (h2, s2), (h3, _) = run(7), run(7), run(8)
    assert h1 == h2 and np.array_equal(s1, s2) and h1 != h3


def test_state_dict_round_trip_resumes_the_same_run():
    data = Ring().sample(64)

    def build():
        B.seed(2)
        G, D = small_models()
        return G, D, GAN(G, D, data, latent_dim=2, batch_size=16, lr_g=1e-3, lr_d=1e-3)

    G, D, gan = build()
    gan.train(6)
    straight = gan.history

    G, D, gan = build()
    gan.train(3)
    saved = (gan.state_dict(), G.state_dict(), D.state_dict(),
             gan.g_optimizer.state_dict(), gan.d_optimizer.state_dict(), B.get_rng_state())
    G2, D2, resumed = build()
    resumed.load_state_dict(saved[0])
    G2.load_state_dict(saved[1])
    D2.load_state_dict(saved[2])
    resumed.g_optimizer.load_state_dict(saved[3])
    resumed.d_optimizer.load_state_dict(saved[4])
    B.set_rng_state(saved[5])
    assert resumed.iteration == 3 and len(resumed.history["d_loss"]) == 3
    resumed.train(3)
    assert resumed.history == straight
    with pytest.raises(ValueError, match="missing"):
        resumed.load_state_dict({"iteration": 1})


def test_sample_and_discriminate():
    G, D = small_models()
    gan = GAN(G, D, Ring().sample, latent_dim=2)
    x = gan.sample(70_000, chunk_size=30_000)
    assert x.shape == (70_000, 2) and G.training
    d = B.to_numpy(gan.discriminate(x[:10]))
    assert d.shape == (10,) and ((0 < d) & (d < 1)).all()
    z = B.asarray(np.zeros((3, 2)))
    np.testing.assert_array_equal(B.to_numpy(gan.sample(3, z=z)), B.to_numpy(G.forward(z)))
    u = GAN(G, D, Ring().sample, latent_dim=(2,), noise="uniform").sample_noise(1000)
    u = B.to_numpy(u)
    assert u.shape == (1000, 2) and u.min() >= -1 and u.max() <= 1 and u.min() < -0.9


def test_invalid_arguments_raise():
    G, D = small_models()
    with pytest.raises(ValueError, match="d_steps"):
        GAN(G, D, Ring().sample, latent_dim=2, d_steps=0)
    with pytest.raises(ValueError, match="not both"):
        GAN(G, D, Ring().sample, latent_dim=2, lr_g=1e-3,
            g_optimizer=Adam(G.parameters()))
    with pytest.raises(ValueError, match="noise"):
        GAN(G, D, Ring().sample, latent_dim=2, noise="gaussian")
    with pytest.raises(ValueError, match="unknown GAN objective"):
        GAN(G, D, Ring().sample, latent_dim=2, objective="nonsense")
    with pytest.raises(TypeError, match="Module"):
        GAN(lambda z: z, D, Ring().sample, latent_dim=2)
    with pytest.raises(ValueError, match="latent_dim"):
        GAN(G, D, Ring().sample, latent_dim=0)
    with pytest.raises(TypeError, match=r"Ring\(...\).sample"):
        GAN(G, D, Ring(), latent_dim=2)


def test_learns_a_1d_gaussian():
    """A short run moves the generator from ~0 onto the data at 2 (a smoke test of the loop;
    its spread is still settling after 400 iterations -- chapter 3 trains to convergence)."""
    B.seed(0)
    G = Sequential(Dense(1, 16), Tanh(), Dense(16, 1))
    D = Sequential(Dense(1, 16), LeakyReLU(0.2), Dense(16, 1))
    gan = GAN(G, D, Gaussian1D(2.0, 0.5).sample, latent_dim=1, d_steps=2, batch_size=128,
              lr_g=2e-3, lr_d=2e-3)
    assert abs(float(B.to_numpy(gan.sample(20_000)).mean())) < 0.5
    gan.train(400)
    x = B.to_numpy(gan.sample(20_000))
    assert abs(x.mean() - 2.0) < 0.3 and x.std() < 0.9


@pytest.fixture
def device():
    B._use_module(fakecupy, "cupy")
    B.seed(0)
    yield
    B.use("numpy")


def test_runs_on_a_device_backend(device):
    """On the CuPy stand-in nothing may touch host arrays: data, noise, shuffles, losses."""
    G, D = small_models()
    gan = GAN(G, D, Ring().sample(64), latent_dim=2, d_steps=2, batch_size=16)
    gan.train(3)
    assert isinstance(gan.sample(5), fakecupy.ndarray)
    assert isinstance(gan.discriminate(Ring().sample(5)), fakecupy.ndarray)
    assert all(isinstance(v, float) for v in gan.history["d_loss"])
    state = gan.state_dict()
    assert isinstance(state["data_order"], np.ndarray)
    gan.load_state_dict(state)
    gan.train(1)


def test_plots_of_a_run_are_written(tmp_path):
    """The figures a training run feeds: 2D scatter over D's heat map, 2D densities, curves,
    an animation, and an image grid (headless: files only)."""
    from minigan import plot
    G, D = small_models()
    gan = GAN(G, D, Ring().sample, latent_dim=2, batch_size=16)
    frames = []
    gan.train(4, callbacks=[lambda g: frames.append(B.to_numpy(g.sample(50)))])
    real, fake = Ring().sample(300), gan.sample(300)
    paths = [
        plot.scatter_2d(tmp_path / "scatter.png", real, fake, d_fn=gan.discriminate,
                        resolution=40, title="ring"),
        plot.densities_2d(tmp_path / "densities.png", real, fake, bins=30),
        plot.history(tmp_path / "history.png", gan.history),
        plot.save_gif(tmp_path / "run.gif", frames,
                      lambda ax, pts: ax.scatter(pts[:, 0], pts[:, 1], s=2), fps=2),
        plot.image_grid(tmp_path / "grid_gray.png", B.rand(10, 1, 8, 8) * 2 - 1),
        plot.image_grid(tmp_path / "sub" / "grid_rgb.png", B.rand(4, 3, 8, 8), nrow=2),
    ]
    for path in paths:
        with open(path, "rb") as f:
            magic = f.read(6)
        assert magic in (b"\x89PNG\r\n", b"GIF89a", b"GIF87a"), path
    with pytest.raises(ValueError, match=r"\(N, 1 or 3, H, W\)"):
        plot.image_grid(tmp_path / "bad.png", B.rand(4, 8, 8))
