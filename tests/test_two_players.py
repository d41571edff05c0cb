"""minigan.two_players: chapter 2's players, each trained alone, against independent answers."""
import math
import types

import numpy as np
import pytest

from minigan import backend as B
from minigan import two_players as tp
from minigan.data import Mixture1D
from minigan.densities import gaussian_pdf, latent_quadrature, optimal_discriminator
from minigan.metrics import jensen_shannon
from minigan.nn import Dense

DATA = Mixture1D((-2.0, 2.0), (0.5, 0.5))


def test_the_affine_generator_and_its_density():
    G = tp.affine_generator(2.0, 0.3)
    z = np.linspace(-3, 3, 13)[:, None]
    np.testing.assert_allclose(B.to_numpy(G.forward(B.asarray(z))), 2.0 * z + 0.3, rtol=1e-6)
    np.testing.assert_allclose(tp.affine_density(G), gaussian_pdf(tp.X, 0.3, 2.0), rtol=1e-6)
    B.set_dtype("float64")
    G = tp.affine_generator(0.5, -1.0)
    p_g, mean, std = tp.generator_density(G, latent_quadrature("normal", 1))
    assert mean == pytest.approx(-1.0, abs=1e-9) and std == pytest.approx(0.5, abs=1e-6)
    assert p_g.sum() * tp.DX == pytest.approx(1.0, abs=1e-9)
    assert np.abs(p_g - gaussian_pdf(tp.X, -1.0, 0.5)).max() < 1e-3      # the histogram
    collapsed, mean, std = tp.generator_density(tp.affine_generator(0.0, 1.0),
                                                latent_quadrature("normal", 1))
    assert std == 0.0 and mean == pytest.approx(1.0)                       # a point mass
    assert collapsed.sum() * tp.DX == pytest.approx(1.0) and (collapsed > 0).sum() <= 2


def test_decaying_lr_constant_then_geometric():
    opt = types.SimpleNamespace(lr=0.0)
    set_lr = tp.decaying_lr(opt, 100, 1e-2, 1e-4)
    for step, expected in ((0, 1e-2), (49, 1e-2), (50, 1e-2), (75, 1e-3), (100, 1e-4)):
        set_lr(step)
        assert opt.lr == pytest.approx(expected)


def test_d_of_x_is_sigmoid_of_the_logit_on_the_grid():
    D = Dense(1, 1)
    D.W.data[...] = 0.0
    D.b.data[...] = -1.5
    gan = types.SimpleNamespace(discriminate=lambda x: 1 / (1 + B.xp.exp(-D.forward(x))))
    d = tp.d_of_x(gan)
    assert d.size == len(tp.X) and d.dtype == np.float64
    np.testing.assert_allclose(d.reshape(-1), 1 / (1 + math.exp(1.5)), rtol=1e-6)


@pytest.fixture(scope="module")
def parts():
    """The three parts of chapter 2 with its --quick settings, from seed 0."""
    B.use("numpy")
    B.set_dtype("float32")
    B.seed(0)
    G, D = tp.affine_generator(2.0, 0.3), tp.build_discriminator()
    part1 = tp.d_alone(G, D, DATA, 3000, 256, 1e-2, 2e-5)
    part2 = tp.g_alone(G, D, DATA, part1, 500, 256, 2e-2)
    part3 = tp.d_again(G, D, DATA, part2, 300, 256, 1e-2 / 3)
    return part1, part2, part3


def test_d_alone_approaches_d_star(parts):
    part1, _, _ = parts
    assert part1.d_losses.shape == (3000,)
    np.testing.assert_array_equal(part1.p_data, DATA.density(tp.X))
    np.testing.assert_array_equal(part1.d_star, optimal_discriminator(part1.p_data, part1.p_g))
    inside = (tp.X >= part1.lo) & (tp.X <= part1.hi)
    np.testing.assert_array_equal(part1.region, inside)
    half = (part1.p_data + part1.p_g) / 2                         # the interval holds 99 %
    assert half[inside].sum() * tp.DX == pytest.approx(0.99, abs=2e-3)
    assert part1.d_error == float(np.abs(part1.d_trained - part1.d_star)[inside].max())
    assert part1.d_error < 0.05                                   # Proposition 1: D -> D*
    assert part1.jsd == jensen_shannon(part1.p_data, part1.p_g, tp.DX)
    assert part1.d_loss_min == pytest.approx(math.log(4) - 2 * part1.jsd)
    assert part1.d_loss_end == pytest.approx(part1.d_losses[-300:].mean(), rel=1e-6)
    assert abs(part1.d_loss_end - part1.d_loss_min) < 0.03


def test_g_alone_collapses_onto_d_peak_and_d_again_rejects_it(parts):
    part1, part2, part3 = parts
    assert part2.g_losses.shape == (500,) and part2.noise.shape == (4096, 1)
    assert part1.lo <= part2.d_peak <= part1.hi
    assert part2.d_peak == float(tp.X[inside_argmax(part1)])
    assert part2.std < 0.05                            # from N(0.3, 2^2) to a point
    assert abs(part2.mean - part2.d_peak) < 0.1        # ... at D's peak
    assert part2.jsd > part1.jsd + 0.1                 # the JSD got worse
    assert part2.d_fake > 0.6 and part3.d_fake < part2.d_fake - 0.2
    assert part3.steps == 300 and part3.d.size == len(tp.X)


def inside_argmax(part1):
    """Index on X of D's largest value inside part 1's interval, found independently."""
    best, where = -np.inf, None
    for i, (x, d) in enumerate(zip(tp.X, part1.d_trained.reshape(-1))):
        if part1.lo <= x <= part1.hi and d > best:
            best, where = d, i
    return where


def test_the_figures_are_written(parts, tmp_path):
    part1, part2, part3 = parts
    for path in (tp.d_star_figure(str(tmp_path / "d.png"), part1),
                 tp.g_alone_figure(str(tmp_path / "g.png"), part1, part2, part3)):
        assert (tmp_path / path.split("/")[-1]).stat().st_size > 1000
