"""Gradient penalties (minigan.penalty) and the second-order pass of the layers.

Proofs, all in float64 against centred finite differences:
- every layer alone: its second_backward is the exact derivative of <v, input_gradient(dy)>
  with respect to its parameters, dy and x (rel error < 1e-7);
- R1, R2 and WGAN-GP through the whole discriminators of chapters 4 and 5: dP/dtheta against
  finite differences of P (rel error < 1e-6);
- known answers: a linear D (R1 = gamma/2 ||w||^2, gradient gamma w; WGAN-GP 0 at ||w|| = 1),
  the Dirac-GAN with R1 trained through GAN equal to minigan.dirac's closed form;
- the per-batch and per-pixel norms shown to be other penalties;
- bad use refused with a clear error; the GAN setting saved and restored by checkpoints; no
  host sync on the CuPy double.

Piecewise-linear layers have kinks where the input gradient jumps; finite differences across one
are meaningless. The checks redraw the weights so that pre-activations are O(1), and assert that
no difference crossed a kink: a layer's inputs are at least KINK_MARGIN from one, and every unit
of a whole discriminator stays on its linear piece at every perturbed point.
"""
import dataclasses
import math

import numpy as np
import pytest

import fakecupy
from minigan import backend as B
from minigan import mode_collapse as mc
from minigan import nn
from minigan import penalty as pen
from minigan.dirac import (DiracGenerator, dirac_trajectory, field_residual,
                           linear_discriminator)
from minigan.gan import GAN, TrainingDiverged
from minigan.gradcheck import numerical_gradient, rel_error
from minigan.models import (conditional_discriminator, dcgan_discriminator, dcgan_generator,
                            dense_discriminator, projection_discriminator)
from minigan.optim import SGD

H = 1e-6                 # finite-difference step
KINK_MARGIN = 1e-3       # |pre-activation| (or maxout's top-two gap) at least this
SUBSET = 12              # entries per large parameter checked (all of a small one)


# ---------------------------------------------------------------------------------------------
# Helpers

def leaves(module):
    """Every module inside ``module`` (itself included), depth first."""
    yield module
    for _, child in module.children():
        yield from leaves(child)


def kink_margin(module) -> float:
    """The smallest distance to a kink over the last forward: |x| at (Leaky)ReLU inputs, the gap
    between the two best pieces of every Maxout unit; inf if there is no kink."""
    margin = math.inf
    for layer in leaves(module):
        if isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
            margin = min(margin, float(abs(B.to_numpy(layer.x)).min()))
        elif isinstance(layer, nn.Maxout):
            z = (B.to_numpy(layer.x) @ B.to_numpy(layer.W.data).reshape(layer.in_features, -1))
            z = z.reshape(-1, layer.pieces, layer.out_features) + B.to_numpy(layer.b.data)
            top2 = np.sort(z, axis=1)[:, -2:, :]
            margin = min(margin, float((top2[:, 1] - top2[:, 0]).min()))
    return margin


def scale_weights(module, std):
    """Redraw every parameter N(0, std^2) (biases too: kinks away from 0 for any input)."""
    for p in module.parameters():
        p.data[...] = std * B.randn(*p.data.shape)


def numeric(f, array, seed=0):
    """Finite differences of f at every entry of a small array, or at SUBSET random entries of a
    large one -> (numeric values, flat indices or None)."""
    if array.size <= 60:
        return numerical_gradient(f, array, H), None
    indices = np.random.default_rng(seed).choice(array.size, SUBSET, replace=False)
    return numerical_gradient(f, array, H, indices=indices), indices


def compare(analytic, array, f, seed=0) -> float:
    values, indices = numeric(f, array, seed)
    a = analytic if indices is None else B.to_numpy(analytic).reshape(-1)[indices]
    return rel_error(a, values)


# ---------------------------------------------------------------------------------------------
# 1. Every layer alone: second_backward is the derivative of Q = <v, input_gradient(dy)>

def conv_features():
    return nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                         nn.Flatten())


LAYERS = {
    "Dense": (lambda: nn.Dense(4, 3), (5, 4)),
    "Dense no bias": (lambda: nn.Dense(4, 3, bias=False), (5, 4)),
    "ReLU": (nn.ReLU, (5, 4)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), (5, 4)),
    "LeakyReLU slope > 1": (lambda: nn.LeakyReLU(1.5), (5, 4)),
    "Tanh": (nn.Tanh, (5, 4)),
    "Sigmoid": (nn.Sigmoid, (5, 4)),
    "Maxout": (lambda: nn.Maxout(4, 3, pieces=3), (5, 4)),
    "Pack": (lambda: nn.Pack(2), (6, 3)),
    "Flatten": (nn.Flatten, (3, 2, 3, 2)),
    "Reshape": (lambda: nn.Reshape(2, 3, 2), (3, 12)),
    "Dropout": (lambda: nn.Dropout(0.3), (5, 6)),
    "Conv2d s2 p1": (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 6, 5)),
    "Conv2d s1 p0 rect": (lambda: nn.Conv2d(2, 3, (2, 3), stride=1, padding=0), (2, 2, 4, 5)),
    "Conv2d 4x4 s2 p1": (lambda: nn.Conv2d(1, 2, 4, stride=2, padding=1), (2, 1, 8, 8)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1), (2, 3, 3, 3)),
    "SpectralNorm(Dense)": (lambda: nn.SpectralNorm(nn.Dense(4, 3)), (5, 4)),
    "SpectralNorm(Conv2d)": (lambda: nn.SpectralNorm(nn.Conv2d(2, 3, 3, padding=1)),
                             (2, 2, 4, 4)),
    "Projection": (lambda: nn.Projection(conv_features(), 3 * 3 * 3, 4, image_channels=1),
                   (4, 5, 6, 6)),
    "Sequential with Tanh": (lambda: nn.Sequential(nn.Dense(3, 4), nn.Tanh(), nn.Dense(4, 4),
                                                   nn.Sigmoid(), nn.Dense(4, 2)), (5, 3)),
}


def layer_input(name, shape):
    x = B.randn(*shape)
    if name == "Projection":                     # label maps: constant one-hot planes
        x[:, 1:] = 0
        for n, label in enumerate(B.to_numpy(B.integers(0, 4, shape[0]))):
            x[n, 1 + int(label)] = 1
    return x


@pytest.mark.parametrize("name", list(LAYERS))
def test_each_layers_second_backward_is_the_derivative_of_its_backward(name):
    build, shape = LAYERS[name]
    with B.precision("float64"):
        B.seed(1)
        layer = build()
        scale_weights(layer, 0.7)
        if isinstance(layer, nn.SpectralNorm):
            layer.power_iteration(30)
            layer.eval()                         # u, v fixed: the function being differentiated
        x = layer_input(name, shape)

        def forward():
            B.seed(7)                            # Dropout: the same mask every time
            return layer.forward(x)

        out_shape = forward().shape
        dy, v = B.randn(*out_shape), B.randn(*shape)

        def Q():
            forward()
            return float((v * layer.input_gradient(dy)).sum())

        layer.zero_grad()
        forward()
        dx = layer.input_gradient(dy)
        grads_before = [p.grad.copy() for p in layer.parameters()]
        assert all(not g.any() for g in grads_before)      # input_gradient touched no .grad
        np.testing.assert_allclose(B.to_numpy(dx), B.to_numpy(layer.backward(dy)), rtol=1e-12,
                                   atol=1e-14)             # the same dL/dx as backward
        layer.zero_grad()
        forward()
        layer.input_gradient(dy)
        grad_dy, grad_x = layer.second_backward(v)
        assert kink_margin(layer) > KINK_MARGIN
        assert grad_dy.shape == tuple(out_shape)
        errors = {"dy": compare(grad_dy, dy, Q)}
        if grad_x is None:                       # independent of x: the differences say 0 too
            assert np.abs(numeric(Q, x)[0]).max() < 1e-9
        else:
            errors["x"] = compare(grad_x, x, Q)
        for pname, p in layer.named_parameters():
            errors[pname] = compare(p.grad.copy(), p.data, Q)
        assert max(errors.values()) < 1e-7, errors


def test_spectral_norm_in_training_mode_keeps_its_vectors_during_the_second_pass():
    """SpectralNorm's power iteration runs in forward only; input_gradient and second_backward
    use the forward's W_sn (the same one backward uses)."""
    with B.precision("float64"):
        sn = nn.SpectralNorm(nn.Dense(4, 3))
        x = B.randn(5, 4)
        original = sn.layer.W.data
        sn.forward(x)
        u = sn.u.copy()
        sn.input_gradient(B.randn(5, 3))
        sn.second_backward(B.randn(5, 4))
        np.testing.assert_array_equal(sn.u, u)
        assert sn.layer.W.data is original                  # W put back, not W_sn
        assert sn.layer.W.grad.any()                        # dP/dW went to the real W


# ---------------------------------------------------------------------------------------------
# 2. The penalties through whole discriminators: dP/dtheta against finite differences of P

def pieces(module) -> list:
    """Which linear piece every kinked unit was on in the last forward: the signs of the
    (Leaky)ReLU inputs and the winners of the Maxout units."""
    return [B.to_numpy(layer.x > 0) if isinstance(layer, (nn.ReLU, nn.LeakyReLU)) else
            B.to_numpy(layer.winner) for layer in leaves(module)
            if isinstance(layer, (nn.ReLU, nn.LeakyReLU, nn.Maxout))]


def penalty_value(penalty, D, x, seed=7, expected_pieces=None):
    """P at D's current parameters. With expected_pieces, assert that every unit stayed on its
    linear piece: a finite difference across a kink would measure a jump, not a derivative."""
    B.seed(seed)
    logits = D.forward(x)
    if expected_pieces is not None:
        assert all((a == b).all() for a, b in zip(pieces(D), expected_pieces)), \
            "a finite difference crossed a kink; choose another seed"
    grad_x = D.input_gradient(B.xp.ones_like(logits))
    return float(penalty.value_and_grad(grad_x, logits.shape[0])[0])


def check_penalty_gradient(D, x, name, weight=3.0):
    """Relative errors of dP/dtheta for every parameter of D (subset of entries if large)."""
    penalty = pen.GradientPenalty(name, weight)
    D.zero_grad()
    B.seed(7)
    value = penalty.apply(D, x=x)
    at = pieces(D)
    assert float(value) == pytest.approx(penalty_value(penalty, D, x), rel=1e-12)
    errors = {}
    for i, (pname, p) in enumerate(D.named_parameters()):
        errors[pname] = compare(p.grad.copy(), p.data,
                                lambda: penalty_value(penalty, D, x, expected_pieces=at), i)
    assert any(np.abs(B.to_numpy(p.grad)).max() > 1e-6 for p in D.parameters())   # not vacuous
    return errors


def chapter_5_d(setting):
    budget = dataclasses.replace(mc.PAPER, d_hidden=12, d_layers=3, d_pieces=5)
    return mc.build_discriminator(budget, setting)


DISCRIMINATORS = {
    # chapter 4 (minigan.models), at their published sizes
    "ch4 dense": (lambda: dense_discriminator(dropout=0.3), (2, 1, 28, 28), 0.05),
    "ch4 DCGAN": (lambda: dcgan_discriminator(dropout=0.3), (2, 1, 28, 28), 0.1),
    "ch4 conditional": (lambda: conditional_discriminator(10, dropout=0.3), (2, 11, 28, 28), 0.1),
    "ch4 projection": (lambda: projection_discriminator(10, dropout=0.3), (2, 11, 28, 28), 0.1),
    # chapter 5 (minigan.mode_collapse): PacGAN's maxout D, packed, spectrally normalised
    "ch5 GAN": (lambda: chapter_5_d(mc.Setting()), (6, 2), 1.0),
    "ch5 PacGAN2": (lambda: chapter_5_d(mc.Setting(pack=2)), (6, 2), 1.0),
    "ch5 spectral norm": (lambda: chapter_5_d(mc.Setting(spectral_norm=True)).eval(), (6, 2),
                          1.0),
    # a smooth D: the downward pass through the forward's backward is exercised
    "smooth MLP": (lambda: nn.Sequential(nn.Dense(2, 8), nn.Tanh(), nn.Dense(8, 8),
                                         nn.Sigmoid(), nn.Dense(8, 1)), (6, 2), 1.0),
}


def d_input(name, shape):
    x = B.randn(*shape)
    if "conditional" in name or "projection" in name:
        x[:, 1:] = 0
        for n in range(shape[0]):
            x[n, 1 + (3 * n) % 10] = 1
    return x


@pytest.mark.parametrize("penalty_name", ["r1", "wgan-gp"])
@pytest.mark.parametrize("name", list(DISCRIMINATORS))
def test_penalty_gradient_of_whole_discriminators(name, penalty_name):
    build, shape, std = DISCRIMINATORS[name]
    with B.precision("float64"):
        B.seed(3)
        D = build()
        scale_weights(D, std)
        for layer in leaves(D):
            if isinstance(layer, nn.SpectralNorm):
                layer.power_iteration(30)
        x = d_input(name, shape)
        errors = check_penalty_gradient(D, x, penalty_name)
    assert max(errors.values()) < 1e-6, errors


def test_r2_is_r1_on_the_other_batch():
    """Same formula: R1 and R2 differ only in which batch GAN hands them."""
    with B.precision("float64"):
        D = nn.Sequential(nn.Dense(2, 5), nn.Tanh(), nn.Dense(5, 1))
        x = B.randn(4, 2)
        r1, r2 = pen.GradientPenalty("r1", 2.0), pen.GradientPenalty("r2", 2.0)
        assert (r1.batch, r2.batch) == ("real", "fake")
        D.zero_grad()
        v1 = r1.apply(D, x=x)
        g1 = [p.grad.copy() for p in D.parameters()]
        D.zero_grad()
        v2 = r2.apply(D, x=x)
        assert float(v1) == float(v2)
        for a, p in zip(g1, D.parameters()):
            np.testing.assert_array_equal(a, p.grad)


# ---------------------------------------------------------------------------------------------
# 3. Known answers

@pytest.mark.parametrize("name", ["r1", "r2"])
def test_linear_d_r1_is_half_gamma_w_squared_with_gradient_gamma_w(name):
    with B.precision("float64"):
        D = nn.Dense(5, 1)
        D.b.data[...] = 0.7
        gamma = 3.0
        D.zero_grad()
        value = pen.GradientPenalty(name, gamma).apply(D, x=B.randn(8, 5))
        w = B.to_numpy(D.W.data)
        assert float(value) == pytest.approx(gamma / 2 * (w ** 2).sum(), rel=1e-14)
        np.testing.assert_allclose(B.to_numpy(D.W.grad), gamma * w, rtol=1e-14)
        assert not D.b.grad.any()


def test_wgan_gp_of_a_linear_d_with_unit_norm_is_zero_and_otherwise_known():
    with B.precision("float64"):
        D = nn.Dense(4, 1)
        D.W.data[...] = B.randn(4, 1)
        D.W.data /= B.xp.linalg.norm(D.W.data)              # ||w|| = 1
        gp = pen.GradientPenalty("wgan-gp", 10.0)
        D.zero_grad()
        assert float(gp.apply(D, x=B.randn(6, 4))) == pytest.approx(0.0, abs=1e-28)
        assert np.abs(B.to_numpy(D.W.grad)).max() < 1e-14
        D.W.data *= 2                                       # ||w|| = 2: lambda (2 - 1)^2
        D.zero_grad()
        assert float(gp.apply(D, x=B.randn(6, 4))) == pytest.approx(10.0, rel=1e-14)
        # d/dw lambda (||w|| - 1)^2 = 2 lambda (||w|| - 1) w / ||w|| = lambda w at ||w|| = 2
        np.testing.assert_allclose(B.to_numpy(D.W.grad), 10.0 * B.to_numpy(D.W.data),
                                   rtol=1e-14)


def test_penalty_norm_is_per_output_of_a_packed_d():
    """With Pack(m) D judges m samples at once: the norm is over the pack's coordinates."""
    with B.precision("float64"):
        D = nn.Sequential(nn.Pack(2), nn.Dense(4, 1, bias=False))
        D.layers[1].W.data[...] = B.asarray([[0.6], [0.0], [0.0], [0.8]])  # ||w|| = 1 per pack
        D.zero_grad()
        assert float(pen.GradientPenalty("wgan-gp").apply(D, x=B.randn(6, 2))) < 1e-28


@pytest.mark.parametrize("objective", ["minimax", "non-saturating", "wasserstein"])
def test_dirac_gan_with_r1_through_the_general_path_is_the_closed_form(objective):
    """GAN with penalty='r1' on the Dirac-GAN (linear D, one-parameter G), SGD, one D step per
    G step, is Algorithm 1's alternating descent: the trajectory equals minigan.dirac's, whose
    R1 is the closed form gamma psi, and its steps are h times the closed-form field."""
    gamma, lr, steps = 0.6, 0.1, 150
    with B.precision("float64"):
        G, D = DiracGenerator(1.0), linear_discriminator(1.0)
        gan = GAN(G, D, lambda n: B.xp.zeros((n, 1)), latent_dim=1, batch_size=1,
                  objective=objective, penalty=pen.GradientPenalty("r1", gamma),
                  g_optimizer=SGD(G.parameters(), lr=lr), d_optimizer=SGD(D.parameters(), lr=lr))
        path = [(1.0, 1.0)]
        for _ in range(steps):
            gan.step()
            path.append((float(G.theta.data[0]), float(D.W.data[0, 0])))
        path = np.array(path)
        closed = dirac_trajectory(1.0, 1.0, objective, lr=lr, num_steps=steps,
                                  mode="alternating", gamma=gamma)
    np.testing.assert_allclose(path, closed, rtol=1e-12, atol=1e-14)
    assert field_residual(path, objective, lr, "alternating", gamma) < 1e-10
    assert np.hypot(*path[-1]) < 0.5 * np.hypot(*path[0])            # R1 pulls it in


# ---------------------------------------------------------------------------------------------
# 4. The norm over the wrong axes is another penalty

def test_per_batch_and_per_pixel_norms_are_different_penalties():
    with B.precision("float64"):
        # a linear D with ||w|| = 1: every sample's gradient has norm 1, the right penalty is 0
        D = nn.Sequential(nn.Flatten(), nn.Dense(2 * 3 * 3, 1))
        D.layers[1].W.data /= B.xp.linalg.norm(D.layers[1].W.data)
        x = B.randn(8, 2, 3, 3)
        grad_x = D.input_gradient(B.xp.ones_like(D.forward(x)))
        right, _ = pen.GradientPenalty("wgan-gp", 10.0).value_and_grad(grad_x, 8)
        batch = pen.mistaken_gradient_penalty(grad_x, 10.0, "batch")
        pixel = pen.mistaken_gradient_penalty(grad_x, 10.0, "pixel")
        assert float(right) == pytest.approx(0.0, abs=1e-26)
        # one norm over the batch: ||grad|| = sqrt(8), penalty 10 (sqrt(8) - 1)^2
        assert float(batch) == pytest.approx(10 * (math.sqrt(8) - 1) ** 2, rel=1e-12)
        # per pixel: the channel norms of each pixel, each pulled to 1
        w = B.to_numpy(D.layers[1].W.data).reshape(2, 3, 3)
        expected = 10 * ((np.sqrt((w ** 2).sum(axis=0)) - 1) ** 2).mean()
        assert float(pixel) == pytest.approx(expected, rel=1e-12)
        assert float(pixel) > 1                      # 9 pixels share a unit norm: far from 1
        # and their minimisers differ: at the per-batch optimum each sample has norm 1/sqrt(8)
        D.layers[1].W.data /= math.sqrt(8)
        grad_x = D.input_gradient(B.xp.ones_like(D.forward(x)))
        assert float(pen.mistaken_gradient_penalty(grad_x, 10.0, "batch")) < 1e-26
        assert float(pen.GradientPenalty("wgan-gp", 10.0).value_and_grad(grad_x, 8)[0]) == \
            pytest.approx(10 * (1 / math.sqrt(8) - 1) ** 2, rel=1e-12)
    with pytest.raises(ValueError, match="'batch' or 'pixel'"):
        pen.mistaken_gradient_penalty(grad_x, 10.0, "sample")


# ---------------------------------------------------------------------------------------------
# 5. Bad use

def test_batchnorm_in_a_penalised_d_is_refused_with_the_reason():
    D = dcgan_discriminator(dropout=0, batchnorm=True)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(128\).*whole batch.*Gulrajani"):
        pen.GradientPenalty("wgan-gp").apply(D, x=B.randn(2, 1, 28, 28))
    with pytest.raises(ValueError, match="BatchNorm2d.*whole batch"):
        GAN(dcgan_generator(), D, B.randn(8, 1, 28, 28), latent_dim=100, batch_size=4,
            penalty="r1")
    with pytest.raises(NotImplementedError, match="whole batch"):
        D.layers[3].second_backward(B.randn(2, 128, 7, 7))


def test_a_layer_without_a_second_order_pass_is_named():
    D = nn.Sequential(nn.Dense(2, 4), nn.MinibatchStdDev(), nn.Dense(5, 1))
    with pytest.raises(ValueError, match="MinibatchStdDev.*no second-order pass"):
        pen.check_supported(D)
    with pytest.raises(ValueError, match="MinibatchStdDev"):
        mc.build_gan("ring", mc.Setting(minibatch_std=True, penalty="r1", penalty_weight=1.0),
                     mc.Budget(g_hidden=4, g_layers=1, d_hidden=4, d_layers=1, d_pieces=2,
                               batch=4, iterations=1), B.randn(10, 2))


@pytest.mark.parametrize("weight, error, match", [
    (-1.0, ValueError, "weight must be >= 0"), (float("nan"), ValueError, "finite"),
    (float("inf"), ValueError, "finite"), ("10", TypeError, "must be a number"),
    (True, TypeError, "must be a number")])
def test_bad_weights(weight, error, match):
    with pytest.raises(error, match=match):
        pen.GradientPenalty("r1", weight)


def test_bad_names_inputs_and_calls():
    with pytest.raises(ValueError, match="name must be one of r1, r2, wgan-gp, got 'gp'"):
        pen.GradientPenalty("gp")
    with pytest.raises(TypeError, match="penalty must be None"):
        pen.get_penalty(3)
    with pytest.raises(TypeError, match="name must be a string"):
        pen.GradientPenalty(1)
    with pytest.raises(ValueError, match="weight given"):
        pen.get_penalty(pen.GradientPenalty("r1"), 2.0)
    D = nn.Sequential(nn.Dense(2, 3), nn.LeakyReLU(), nn.Dense(3, 1))
    x = B.randn(4, 2)
    x[1, 0] = B.xp.nan
    with pytest.raises(ValueError, match=r"apply: x holds NaN or Inf"):
        pen.GradientPenalty("r1").apply(D, x=x)
    with pytest.raises(ValueError, match="either x .* or logits"):
        pen.GradientPenalty("r1").apply(D)
    D.forward(B.randn(4, 2))
    D.layers[0].W.data[0, 0] = B.xp.inf                 # weights gone to Inf: a NaN penalty
    with pytest.raises(FloatingPointError, match="penalty is NaN or Inf"):
        pen.GradientPenalty("r1").apply(D, x=B.randn(4, 2))
    with pytest.raises(ValueError, match="name must be one of r1, r2, wgan-gp, got 'R1'"):
        GAN(nn.Dense(2, 2), D, B.randn(8, 2), latent_dim=2, batch_size=4, penalty="R1")


def test_a_penalised_run_that_diverges_stops_with_the_player_named():
    gan = toy_gan("wasserstein", "wgan-gp")
    gan.train(2)
    gan.discriminator.layers[2].W.data[0, 0] = B.xp.nan
    with pytest.raises(TrainingDiverged, match="iteration 3: the discriminator step produced "
                                                "NaN or Inf"):
        gan.train(1)


def test_second_backward_needs_input_gradient_after_the_last_forward():
    layer = nn.Dense(3, 2)
    layer.forward(B.randn(4, 3))
    with pytest.raises(RuntimeError, match=r"Dense\(3->2\): second_backward\(\) called without "
                                           r"input_gradient\(\)"):
        layer.second_backward(B.randn(4, 3))
    layer.input_gradient(B.randn(4, 2))
    with pytest.raises(ValueError, match=r"expects grad_dx of shape \(4, 3\).*got \(4, 2\)"):
        layer.second_backward(B.randn(4, 2))
    with pytest.raises(TypeError, match="float32 or float64"):
        layer.second_backward(B.xp.ones((4, 3), dtype=B.xp.int64))
    layer.forward(B.randn(4, 3))                        # a new forward: dy is stale
    with pytest.raises(RuntimeError, match="without input_gradient"):
        layer.second_backward(B.randn(4, 3))
    seq = nn.Sequential(nn.Dense(3, 2), nn.Tanh())
    seq.forward(B.randn(4, 3))
    with pytest.raises(ValueError, match=r"Sequential layer 1: .*expects dy of shape \(4, 2\)"):
        seq.input_gradient(B.randn(4, 3))


# ---------------------------------------------------------------------------------------------
# 6. Through GAN: every objective, the exact gradient, checkpoints, the device

def toy_gan(objective="non-saturating", penalty=None, d_steps=1, seed=0):
    B.seed(seed)
    G = nn.Sequential(nn.Dense(2, 8), nn.LeakyReLU(0.2), nn.Dense(8, 2))
    D = nn.Sequential(nn.Dense(2, 8), nn.LeakyReLU(0.2), nn.Dense(8, 8), nn.Tanh(),
                      nn.Dense(8, 1))
    return GAN(G, D, lambda n: B.randn(n, 2) * 0.5 + 1.0, latent_dim=2, batch_size=16,
               objective=objective, d_steps=d_steps, penalty=penalty)


@pytest.mark.parametrize("objective", ["minimax", "non-saturating", "least-squares", "hinge",
                                       "wasserstein"])
@pytest.mark.parametrize("name", ["r1", "r2", "wgan-gp"])
def test_every_objective_trains_with_every_penalty(objective, name):
    gan = toy_gan(objective, name)
    gan.train(5)
    assert all(np.isfinite(gan.history[k]).all() for k in gan.history)
    assert gan.penalty == pen.GradientPenalty(name, 10.0)


@pytest.mark.parametrize("name", ["r1", "r2", "wgan-gp"])
def test_d_step_adds_exactly_the_penalty_to_the_plain_step(name):
    """D's gradient after a penalised d_step minus the plain one's is the penalty's gradient on
    the batch it names, recomputed here from the same draws; the loss differs by its value."""
    with B.precision("float64"):
        penalised, plain = toy_gan(penalty=name, seed=4), toy_gan(seed=4)
        B.seed(11)
        loss_penalised = float(penalised.d_step()[0])
        grads_penalised = [p.grad.copy() for p in penalised.discriminator.parameters()]
        B.seed(11)
        loss_plain = float(plain.d_step()[0])
        grads_plain = [p.grad.copy() for p in plain.discriminator.parameters()]
        # the same draws again: real batch, noise, then (WGAN-GP) the interpolation weights;
        # the discriminators are as before their step (Adam moved them: undo with fresh copies)
        fresh = toy_gan(seed=4)
        B.seed(11)
        real = fresh.real_batch(16)
        fake = fresh.generator.forward(fresh.sample_noise(16))
        x = {"r1": lambda: real, "r2": lambda: fake,
             "wgan-gp": lambda: pen.interpolate(real, fake)}[name]()
        D = fresh.discriminator
        D.zero_grad()
        value = pen.GradientPenalty(name).apply(D, x=x)
    assert loss_penalised - loss_plain == pytest.approx(float(value), rel=1e-10)
    for a, b, p in zip(grads_penalised, grads_plain, D.parameters()):
        np.testing.assert_allclose(a - b, B.to_numpy(p.grad), rtol=1e-9, atol=1e-12)
    assert any(np.abs(B.to_numpy(p.grad)).max() > 1e-6 for p in D.parameters())


def test_interpolation_lies_between_real_and_fake_per_sample():
    real, fake = B.randn(500, 3, 2, 2), B.randn(500, 3, 2, 2)
    xhat = pen.interpolate(real, fake)
    eps = B.to_numpy((xhat - real) / (fake - real)).reshape(500, -1)
    np.testing.assert_allclose(eps, eps[:, :1] * np.ones_like(eps), rtol=1e-3, atol=1e-4)
    assert eps.min() >= -1e-4 and eps.max() <= 1 + 1e-4 and eps.std() > 0.2
    assert xhat.dtype == real.dtype
    with pytest.raises(ValueError, match="same shape"):
        pen.interpolate(real, fake[:4])
    packed = pen.interpolate(real[:6], fake[:6], num_outputs=2)        # Pack(3): one eps a pack
    eps = B.to_numpy((packed - real[:6]) / (fake[:6] - real[:6])).reshape(2, -1)
    np.testing.assert_allclose(eps, eps[:, :1] * np.ones_like(eps), rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="num_outputs must divide the batch size 6, got 4"):
        pen.interpolate(real[:6], fake[:6], num_outputs=4)


def test_checkpoint_saves_and_restores_the_penalty(tmp_path):
    path = tmp_path / "run.npz"
    gan = toy_gan("wasserstein", pen.GradientPenalty("wgan-gp", 5.0), d_steps=2)
    gan.train(3)
    gan.save_checkpoint(path)
    gan.train(3)
    resumed = toy_gan("wasserstein", None, d_steps=2, seed=9)     # built without a penalty
    resumed.load_checkpoint(path)
    assert resumed.penalty == pen.GradientPenalty("wgan-gp", 5.0)
    resumed.train(3)
    for key in gan.history:
        np.testing.assert_array_equal(gan.history[key], resumed.history[key])
    for a, b in zip(gan.discriminator.parameters(), resumed.discriminator.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    # a checkpoint without a penalty restores "none"; a state from before penalties keeps it
    plain = toy_gan("wasserstein")
    plain.save_checkpoint(path)
    resumed.load_checkpoint(path)
    assert resumed.penalty is None
    state = plain.state_dict()
    del state["penalty"]
    resumed.penalty = pen.GradientPenalty("r1", 1.0)
    resumed.load_state_dict(state)
    assert resumed.penalty == pen.GradientPenalty("r1", 1.0)
    state["penalty"] = {"name": "r1", "weight": -2.0}
    with pytest.raises(ValueError, match="weight must be >= 0"):
        resumed.load_state_dict(state)
    assert resumed.penalty == pen.GradientPenalty("r1", 1.0)              # unchanged


def test_no_host_sync_on_the_device_double(fake):
    """WGAN-GP and R1 on chapter 4's DCGAN, batch 64, on the CuPy double: the interpolation
    weights are drawn on the device, nothing is read back during an iteration."""
    host = np.random.default_rng(0)
    images = B.asarray(host.uniform(-1, 1, (128, 1, 28, 28)).astype(np.float32))
    for name in ("wgan-gp", "r1"):
        gan = GAN(dcgan_generator(100), dcgan_discriminator(dropout=0.3), images, latent_dim=100,
                  batch_size=64, objective="wasserstein" if name == "wgan-gp" else
                  "non-saturating", penalty=name)
        gan.step()
        gan.step()
        counters = fakecupy.reset_counters()
        gan.step()
        assert counters.syncs == 0, counters
        assert counters.host_to_device_bytes < 64 * 1024, counters
        assert np.isfinite(gan.history["d_loss"]).all()
    budget = mc.Budget(g_hidden=8, g_layers=1, d_hidden=6, d_layers=2, d_pieces=3, batch=12,
                       iterations=3)                  # PacGAN2 with WGAN-GP: one eps a pack
    gan = mc.build_gan("ring", dataclasses.replace(mc.PENALTY_ROWS["WGAN-GP"], pack=2), budget,
                       B.randn(100, 2))
    gan.step()
    counters = fakecupy.reset_counters()
    gan.step()
    assert counters.syncs == 0 and counters.host_to_device_bytes == 0, counters


# ---------------------------------------------------------------------------------------------
# 7. The mode-collapse rows and the chapters' option

def test_mode_collapse_rows_build_as_published():
    budget = mc.Budget(g_hidden=8, g_layers=1, d_hidden=6, d_layers=2, d_pieces=3, batch=12,
                       lr=1e-3, beta1=0.5, iterations=2, schedule="cosine")
    gan = mc.build_gan("ring", mc.PENALTY_ROWS["WGAN-GP"], budget, B.randn(50, 2))
    assert gan.penalty == pen.GradientPenalty("wgan-gp", 0.1)       # gan_toy.py's lambda
    assert gan.objective.name == "wasserstein" and gan.d_steps == 5
    for opt in (gan.d_optimizer, gan.g_optimizer):                   # the budget's rate
        assert opt.lr == 1e-3 and tuple(opt.betas) == (0.5, 0.9)
    gan = mc.build_gan("ring", mc.PENALTY_ROWS["WGAN-GP, lambda 10"], budget, B.randn(50, 2))
    assert gan.penalty == pen.GradientPenalty("wgan-gp", 10.0)
    for opt in (gan.d_optimizer, gan.g_optimizer):
        assert opt.lr == 1e-3 and tuple(opt.betas) == (0.5, 0.9)
    gan = mc.build_gan("ring", mc.PENALTY_ROWS["WGAN-GP, lambda 10, rate 1e-4"], budget,
                       B.randn(50, 2))
    assert gan.penalty == pen.GradientPenalty("wgan-gp", 10.0)       # the image setting whole
    assert gan.objective.name == "wasserstein" and gan.d_steps == 5
    for opt in (gan.d_optimizer, gan.g_optimizer):
        assert opt.lr == 1e-4 and tuple(opt.betas) == (0.5, 0.9)
    gan = mc.build_gan("ring", mc.PENALTY_ROWS["GAN + R1"], budget, B.randn(50, 2))
    assert gan.penalty.name == "r1" and gan.objective.name == "non-saturating"
    assert gan.d_optimizer.lr == 1e-3 and tuple(gan.d_optimizer.betas) == (0.5, 0.999)
    result = mc.train_and_score("ring", mc.PENALTY_ROWS["WGAN-GP"], budget, 0)
    assert np.isfinite(result["history"]["d_loss"]).all()


def test_settings_without_a_penalty_keep_their_repr():
    """run_trials names saved trials by repr(setting): the new fields must not rename them."""
    assert repr(mc.Setting(pack=2)) == (
        "Setting(objective='non-saturating', pack=2, label_smoothing=0.0, spectral_norm=False, "
        "minibatch_std=False, lr_g_factor=1.0, lr_d_factor=1.0, clip=0.0, d_steps=1)")
    assert "penalty='r1'" in repr(mc.PENALTY_ROWS["GAN + R1"])
    assert mc.Setting(pack=2) == mc.Setting(pack=2) and hash(mc.Setting()) == hash(mc.Setting())


def test_command_line_option():
    from minigan import chapter
    parser = chapter.make_parser("a chapter", "ch4_code_examples")     # beside its options
    pen.add_arguments(parser)
    assert pen.from_arguments(parser.parse_args([])) is None
    assert pen.from_arguments(parser.parse_args(["--penalty", "r1"])) == \
        pen.GradientPenalty("r1", 10.0)
    assert pen.from_arguments(parser.parse_args(["--penalty", "wgan-gp", "--penalty-weight",
                                                 "5"])) == pen.GradientPenalty("wgan-gp", 5.0)
    with pytest.raises(ValueError, match="without --penalty"):
        pen.from_arguments(parser.parse_args(["--penalty-weight", "5"]))
    with pytest.raises(ValueError, match="weight must be >= 0"):
        pen.from_arguments(parser.parse_args(["--penalty", "r1", "--penalty-weight", "-1"]))
    # what chapter 4 does with it: its DCGAN, trained a few steps with R1
    gan = GAN(dcgan_generator(100), dcgan_discriminator(dropout=0.3), B.rand(8, 1, 28, 28),
              latent_dim=100, batch_size=4,
              penalty=pen.from_arguments(parser.parse_args(["--quick", "--penalty", "r1"])))
    gan.train(2)
    assert np.isfinite(gan.history["d_loss"]).all() and gan.penalty.name == "r1"


def test_chapter_5_runs_the_dirac_gan_with_r1_through_the_general_path():
    from minigan import instability
    r = instability.r1_through_the_general_path(300)
    assert r.max_deviation < 1e-12 and r.steps == 300
    with B.precision("float64"):
        closed = dirac_trajectory(*instability.START, "minimax", instability.LR, 300,
                                  "alternating", gamma=instability.R1_GAMMA)
    assert r.final_distance == pytest.approx(float(np.hypot(*closed[-1])), rel=1e-12)
    assert r.final_distance < 0.5 * math.hypot(*instability.START)     # R1 converges
    with pytest.raises(ValueError, match="steps"):
        instability.r1_through_the_general_path(0)
