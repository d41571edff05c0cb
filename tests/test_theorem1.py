"""minigan.theorem1: chapter 3's measurement of Theorem 1, against independent computations."""
import math
import types

import numpy as np
import pytest

from minigan import backend as B
from minigan import theorem1 as t1
from minigan.data import Gaussian1D
from minigan.densities import gaussian_pdf, latent_quadrature
from minigan.nn import Dense

DATA = Gaussian1D(3.0, 0.5)


def _affine(scale, shift):
    """G(z) = scale z + shift, so p_g = N(shift, scale^2); or a D with a constant logit."""
    layer = Dense(1, 1)
    layer.W.data[...] = scale
    layer.b.data[...] = shift
    return layer


@pytest.fixture(scope="module")
def quadrature():
    return latent_quadrature("normal", 1)


def test_a_generator_equal_to_the_data_reaches_minus_log_4(quadrature):
    B.set_dtype("float64")
    state = t1.measure(_affine(0.5, 3.0), _affine(0.0, 0.0), DATA, quadrature)
    assert state.jsd < 1e-6
    assert state.v_star == pytest.approx(-math.log(4), abs=1e-6)
    assert state.gap < 1e-9
    assert state.mean == pytest.approx(3.0, abs=1e-6) and state.std == pytest.approx(0.5,
                                                                                     abs=1e-6)
    where = state.p_data > 1e-3
    assert np.abs(state.d_star[where] - 0.5).max() < 1e-2      # D* = 1/2 where there is mass
    # D(x) = sigmoid(0) = 1/2 everywhere: V(D, G) = 2 log(1/2) = -log 4 as well
    assert state.v_trained == pytest.approx(-math.log(4), abs=1e-6)


def test_theorem1_and_proposition1_against_independent_integrals(quadrature):
    B.set_dtype("float64")
    G, D = _affine(1.0, 0.0), _affine(0.0, 0.7)     # p_g = N(0, 1); D(x) = sigmoid(0.7)
    state = t1.measure(G, D, DATA, quadrature)
    x = np.linspace(-12.0, 14.0, 400_001)           # JSD of the two Gaussians, written out
    p, q = gaussian_pdf(x, 3.0, 0.5), gaussian_pdf(x, 0.0, 1.0)
    m = (p + q) / 2
    kl = lambda a: np.where(a > 0, a * np.log(np.where(a > 0, a, 1) / m), 0.0)
    jsd = 0.5 * np.trapezoid(kl(p), x) + 0.5 * np.trapezoid(kl(q), x)
    assert state.jsd == pytest.approx(jsd, abs=1e-3)
    assert state.gap < 1e-6                          # V(D*, G) = -log 4 + 2 JSD
    assert state.theorem1 == pytest.approx(-math.log(4) + 2 * state.jsd)
    d = 1 / (1 + math.exp(-0.7))                     # a constant D: V = log d + log(1 - d)
    assert state.v_trained == pytest.approx(math.log(d) + math.log(1 - d), abs=1e-6)
    assert state.v_trained < state.v_star           # Proposition 1
    assert state.mean == pytest.approx(0.0, abs=1e-6) and state.std == pytest.approx(1.0,
                                                                                     abs=1e-5)
    assert list(state.cited()) == list(t1.Measurement.CITED)


def test_clone_copies_the_parameters_into_a_new_module():
    G = t1.build_generator()
    twin = t1.clone(t1.build_generator, G)
    z = B.asarray(np.linspace(-2, 2, 7)[:, None])
    assert twin is not G
    np.testing.assert_array_equal(B.to_numpy(twin.forward(z)), B.to_numpy(G.forward(z)))
    twin.parameters()[0].data[...] += 1
    assert not np.array_equal(B.to_numpy(twin.forward(z)), B.to_numpy(G.forward(z)))


def test_lr_schedule_constant_then_geometric_to_the_final_rate():
    opt_g, opt_d = types.SimpleNamespace(lr=0.0), types.SimpleNamespace(lr=0.0)
    gan = types.SimpleNamespace(iteration=0, g_optimizer=opt_g, d_optimizer=opt_d)
    callback = t1.lr_schedule(100, 1e-2, 1e-4)
    for iteration, expected in ((0, 1e-2), (49, 1e-2), (50, 1e-2), (75, 1e-3), (100, 1e-4)):
        gan.iteration = iteration
        callback(gan)
        assert opt_g.lr == pytest.approx(expected) and opt_d.lr == opt_g.lr


def test_the_recorder_measures_at_the_checkpoints_and_keeps_frames(quadrature, tmp_path):
    G, D = t1.build_generator(), t1.build_discriminator()
    recorder = t1.Recorder(G, D, DATA, quadrature, [0, 4], frame_every=2)
    for iteration in range(6):
        recorder(types.SimpleNamespace(iteration=iteration))
    assert list(recorder.states) == [0, 4] and list(recorder.models) == [0, 4]
    assert [f[0] for f in recorder.frames] == [0, 2, 4]
    it, p_g, d = recorder.frames[0]
    assert p_g.shape == d.shape == t1.PLOT_GRID.shape
    assert abs(p_g.sum() * (t1.PLOT_EDGES[1] - t1.PLOT_EDGES[0]) - 1) < 1e-3   # p_g in window
    table = t1.checkpoint_table(recorder.states)
    assert len(table.strip().splitlines()) == 3 and "-log4+2JSD" in table
    assert t1.theorem1_figure(str(tmp_path / "t.png"), recorder.states).endswith("t.png")
    assert (tmp_path / "t.png").stat().st_size > 1000
    t1.training_gif(str(tmp_path / "t.gif"), recorder.frames, DATA, fps=3)
    assert (tmp_path / "t.gif").stat().st_size > 1000


def test_figure1_steps_train_d_then_g_on_copies(quadrature):
    G, D = t1.build_generator(), t1.build_discriminator()
    before = t1.measure(G, D, DATA, quadrature)
    steps = t1.figure1_steps(G, D, DATA, quadrature, d_steps=60, g_steps=5, batch_size=64,
                             lr=2e-3)
    again = t1.measure(G, D, DATA, quadrature)
    assert again.v_trained == before.v_trained and again.mean == before.mean  # G, D untouched
    assert steps.d_trained.v_trained > before.v_trained + 0.05    # D alone climbs towards V*
    assert steps.d_trained.mean == before.mean                     # ... with G unchanged
    assert steps.generator is not G and steps.g_updated.mean != before.mean
    panel = t1.panel(steps.d_trained, G, DATA, "(b)", with_d_star=True)
    assert set(panel) == {"x", "p_data", "p_g", "d", "mapping", "title", "d_star"}
    empty = (panel["p_data"] + panel["p_g"]) < 1e-3
    assert np.isnan(panel["d_star"][empty]).all() and not np.isnan(panel["d_star"][~empty]).any()
