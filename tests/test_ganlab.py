"""GAN Lab's views: the generator's gradient at the samples against finite differences and
against the training step, the manifold of an affine generator in closed form, the frames
changing nothing in a run, and the figure and animation written."""
import math

import numpy as np
import pytest

from minigan import backend as B
from minigan import ganlab, plot
from minigan.gan import GAN
from minigan.gradcheck import numerical_gradient, rel_error
from minigan.losses import OBJECTIVE_NAMES, get_objective
from minigan.nn import Dense, LeakyReLU, MinibatchStdDev, Sequential, Tanh


def small_discriminator(minibatch_std=False):
    layers = [Dense(2, 8), Tanh()]
    if minibatch_std:
        layers.append(MinibatchStdDev())
    layers += [Dense(9 if minibatch_std else 8, 8), LeakyReLU(0.2), Dense(8, 1)]
    return Sequential(*layers)


def ring_gan(latent_dim=2):
    G = Sequential(Dense(latent_dim, 16), Tanh(), Dense(16, 2))
    D = Sequential(Dense(2, 16), LeakyReLU(0.2), Dense(16, 1))
    centres = 2.0 * np.stack([np.cos(np.arange(8) * np.pi / 4),
                              np.sin(np.arange(8) * np.pi / 4)], axis=1)

    def sample_ring(n):
        return B.asarray(centres[B.to_numpy(B.integers(0, 8, n))] + 0.05 * B.to_numpy(
            B.randn(n, 2)))
    return GAN(G, D, sample_ring, latent_dim=latent_dim, batch_size=16, lr_g=1e-3, lr_d=1e-3)


# ---------------------------------------------------------------------------------------------
# dL_G/dx

@pytest.mark.parametrize("objective", OBJECTIVE_NAMES)
@pytest.mark.parametrize("minibatch_std", [False, True])
def test_generator_gradient_matches_a_centred_difference(objective, minibatch_std):
    with B.precision("float64"):
        D = small_discriminator(minibatch_std)
        x = B.randn(7, 2) * 1.5
        loss = get_objective(objective)
        gradient = ganlab.generator_gradient(D, x, objective)
        numeric = numerical_gradient(lambda: loss.g_loss(D.forward(x))[0], x, h=1e-6)
    assert gradient.shape == x.shape
    assert float(np.abs(B.to_numpy(gradient)).max()) > 1e-4          # not vacuously zero
    assert rel_error(gradient, numeric) < 1e-7


def test_generator_gradient_is_what_the_training_step_passes_to_g():
    gan = ring_gan()
    captured = {}
    forward, backward = gan.generator.forward, gan.generator.parameter_backward

    def forward_and_keep(z):
        captured["fake"] = forward(z).copy()
        return captured["fake"]

    def backward_and_keep(dfake):             # g_step wants G's .grad only, not dL/dz
        captured["dfake"] = dfake.copy()
        return backward(dfake)

    gan.generator.forward, gan.generator.parameter_backward = forward_and_keep, backward_and_keep
    gan.g_step()
    # the optimizer moved G, not D: D is the one the step used
    expected = ganlab.generator_gradient(gan.discriminator, captured["fake"], gan.objective)
    np.testing.assert_allclose(B.to_numpy(expected), B.to_numpy(captured["dfake"]), rtol=1e-6,
                               atol=1e-9)


def test_generator_gradient_leaves_the_discriminator_as_it_was():
    D = small_discriminator()
    for p in D.parameters():
        p.grad[...] = B.randn(*p.grad.shape)
    grads = [p.grad.copy() for p in D.parameters()]
    x = B.randn(5, 2)
    state = B.get_rng_state()
    ganlab.generator_gradient(D, x)
    for p, before in zip(D.parameters(), grads):
        np.testing.assert_array_equal(B.to_numpy(p.grad), B.to_numpy(before))
    assert D.training
    assert B.get_rng_state() == state
    with pytest.raises(TypeError, match="discriminator must be a minigan Module"):
        ganlab.generator_gradient(lambda x: x, B.randn(5, 2))


# ---------------------------------------------------------------------------------------------
# The manifold

def affine_generator(W, b):
    G = Dense(2, 2)
    G.W.data[...] = B.asarray(W)
    G.b.data[...] = B.asarray(b)
    return G


def test_manifold_of_an_affine_generator_is_the_pushed_forward_gaussian():
    """x = z W + b with z ~ N(0, I): every cell has area |det W| (2e/R)^2 and carries the
    density of N(b, W^T W) (mass / area is the cell's mean density)."""
    with B.precision("float64"):
        W, b = np.array([[1.5, 0.4], [-0.3, 0.8]]), np.array([0.5, -1.0])
        resolution, extent = 40, 3.0
        m = ganlab.manifold(affine_generator(W, b), "normal", resolution, extent)
    cell = (2 * extent / resolution) ** 2
    np.testing.assert_allclose(m["area"], abs(np.linalg.det(W)) * cell, rtol=1e-9)
    inside = math.erf(extent / math.sqrt(2)) ** 2
    assert m["mass"].sum() == pytest.approx(inside, rel=1e-12)        # 0.9946
    np.testing.assert_allclose(m["x"], m["z"] @ W + b, rtol=1e-12, atol=1e-12)
    centres = (m["x"][:-1, :-1] + m["x"][1:, 1:]) / 2                # images of cell centres
    cov = W.T @ W
    diff = centres - b
    quad = np.einsum("...i,ij,...j->...", diff, np.linalg.inv(cov), diff)
    analytic = np.exp(-quad / 2) / (2 * np.pi * math.sqrt(np.linalg.det(cov)))
    near = np.abs(m["z"][:-1, :-1] + 0.5 * 2 * extent / resolution).max(axis=-1) < 2
    np.testing.assert_allclose(m["density"][near], analytic[near], rtol=0.01)


def test_manifold_with_uniform_noise_and_a_fold():
    with B.precision("float64"):
        flat = affine_generator([[1.0, 2.0], [0.5, 1.0]], [0.0, 0.0])  # rank 1: onto a line
        m = ganlab.manifold(flat, "uniform", resolution=4)
    np.testing.assert_allclose(m["mass"], 1 / 16)
    assert m["z"].min() == -1 and m["z"].max() == 1
    assert (m["area"] < 1e-12).all() and (m["density"] >= 1 / 16 * 1e12).all()
    with pytest.raises(ValueError, match=r"2D noise to 2D points, got output shape \(441, 3\)"):
        ganlab.manifold(Dense(2, 3))
    with pytest.raises(ValueError, match="noise must be 'normal' or 'uniform', got 'gauss'"):
        ganlab.manifold(flat, "gauss")


# ---------------------------------------------------------------------------------------------
# Frames, the figure and the animation

def test_snapshots_change_nothing_in_the_run_and_render(tmp_path):
    from PIL import Image                    # Pillow comes with matplotlib

    real = ganlab.fixed_noise(50, 2, seed=2)        # points to show; minigan's stream untouched
    B.seed(3)
    plain = ring_gan()
    plain.train(6)
    B.seed(3)
    watched = ring_gan()
    z = ganlab.fixed_noise(40, 2, seed=1)
    bounds = (-3, 3, -3, 3)
    frames = [ganlab.snapshot(watched, real, z, bounds, resolution=20, manifold_resolution=6)]
    watched.train(6, callbacks=[lambda g: frames.append(
        ganlab.snapshot(g, real, z, bounds, resolution=20, manifold_resolution=6))
        if g.iteration % 3 == 0 else None])
    assert watched.history == plain.history
    for p, q in zip(watched.generator.parameters(), plain.generator.parameters()):
        np.testing.assert_array_equal(B.to_numpy(p.data), B.to_numpy(q.data))

    last = frames[-1]
    assert [f["iteration"] for f in frames] == [0, 3, 6]
    assert last["fake"].shape == last["gradient"].shape == (40, 2)
    assert last["d_map"].shape == (20, 20) and 0 <= last["d_map"].min() <= 1
    assert last["manifold"]["density"].shape == (6, 6)
    np.testing.assert_allclose(last["gradient"], B.to_numpy(ganlab.generator_gradient(
        watched.discriminator, B.asarray(last["fake"]), watched.objective)), rtol=1e-5)

    figure = plot.gan_lab_figure(tmp_path / "ganlab.png", last, watched.history)
    gif = plot.gan_lab_gif(tmp_path / "sub" / "ganlab.gif", frames, watched.history, dpi=30)
    assert Image.open(figure).size[0] > 200
    with Image.open(gif) as animation:
        assert animation.n_frames == 3

    B.seed(4)
    wide = ring_gan(latent_dim=3)                    # no 2D noise grid: the view without it
    frame = ganlab.snapshot(wide, real, ganlab.fixed_noise(10, 3), bounds, resolution=10)
    assert frame["manifold"] is None
    plot.gan_lab_figure(tmp_path / "no_manifold.png", frame)
    with pytest.raises(ValueError, match=r"bounds must be \(xmin, xmax, ymin, ymax\)"):
        ganlab.snapshot(wide, real, ganlab.fixed_noise(10, 3), (1, -1, 0, 1))


def test_frames_on_the_cupy_double_match_numpy():
    import fakecupy

    real = ganlab.fixed_noise(20, 2, seed=2)
    B.seed(5)
    trained = ring_gan()
    trained.train(2)                     # on the host; the device GAN gets the same weights
    states = [{k: B.to_numpy(v) for k, v in model.state_dict().items()}
              for model in (trained.generator, trained.discriminator)]
    frames = []
    for use in (lambda: B.use("numpy"), lambda: B._use_module(fakecupy, "cupy")):
        use()
        gan = ring_gan()
        gan.generator.load_state_dict(states[0])
        gan.discriminator.load_state_dict(states[1])
        frames.append(ganlab.snapshot(gan, B.asarray(B.to_numpy(real)),
                                      ganlab.fixed_noise(12, 2), (-3, 3, -3, 3), resolution=8,
                                      manifold_resolution=4))
    B.use("numpy")
    for key in ("fake", "gradient", "d_map"):
        np.testing.assert_allclose(frames[1][key], frames[0][key], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(frames[1]["manifold"]["x"], frames[0]["manifold"]["x"], rtol=1e-5)
