"""Whole generator -> discriminator stacks, gradient-checked in float64.

A GAN's generator learns through the discriminator: dL_G/dtheta_G = dL_G/dlogits * dlogits/dx
* dx/dtheta_G. These tests run the real composition -- G.forward, D.forward, a loss from
minigan.losses, D.backward, G.backward -- and compare the gradients with respect to every G
parameter and to the noise z with centred finite differences of the whole scalar loss.
"""
import numpy as np
import pytest

from minigan import backend as B
from minigan import losses
from minigan.gradcheck import numerical_gradient, rel_error
from minigan.nn.activations import LeakyReLU, ReLU, Tanh
from minigan.nn.conv import Conv2d, ConvTranspose2d
from minigan.nn.dense import Dense
from minigan.nn.module import Sequential
from minigan.nn.norm import BatchNorm1d, BatchNorm2d
from minigan.nn.shape import Flatten, Reshape

TOLERANCE = 1e-6


def dense_stack(latent_dim=3, data_dim=4):
    G = Sequential(Dense(latent_dim, 8), BatchNorm1d(8), LeakyReLU(0.2),
                   Dense(8, data_dim), Tanh())
    D = Sequential(Dense(data_dim, 6), LeakyReLU(0.2), Dense(6, 1))
    return G, D


def conv_stack(latent_dim=4):
    """z: (N, 4) -> G -> images (N, 1, 8, 8) -> D -> logits (N, 1)."""
    G = Sequential(Dense(latent_dim, 3 * 2 * 2), Reshape(3, 2, 2),
                   ConvTranspose2d(3, 4, kernel_size=4, stride=2, padding=1),    # -> (N, 4, 4, 4)
                   BatchNorm2d(4), ReLU(),
                   ConvTranspose2d(4, 1, kernel_size=4, stride=2, padding=1),    # -> (N, 1, 8, 8)
                   Tanh())
    D = Sequential(Conv2d(1, 4, kernel_size=4, stride=2, padding=1),             # -> (N, 4, 4, 4)
                   LeakyReLU(0.2), Flatten(), Dense(4 * 4 * 4, 1))
    return G, D


def generator_gradient_errors(G, D, objective, z, zero_grads=()) -> dict:
    """Relative errors of dL_G/dz and dL_G/dtheta for every G parameter, through D.

    ``zero_grads`` names parameters whose gradient is exactly 0 in theory: the bias of a layer
    followed by BatchNorm (normalisation removes any per-feature shift). All others must be
    non-zero, or the check would be vacuous.
    """
    def generator_loss():
        return objective.g_loss(D.forward(G.forward(z)))[0]

    G.zero_grad()
    D.zero_grad()
    _, grad_logits = objective.g_loss(D.forward(G.forward(z)))
    dz = G.backward(D.backward(grad_logits))
    analytic = {"z": dz}
    analytic.update({name: p.grad.copy() for name, p in G.named_parameters()})
    for name, grad in analytic.items():
        if name in zero_grads:
            assert float(abs(grad).max()) < 1e-12, f"{name}: gradient should vanish"
        else:
            assert float(abs(grad).max()) > 1e-8, f"{name}: gradient is zero"

    errors = {"z": rel_error(dz, numerical_gradient(generator_loss, z))}
    for name, p in G.named_parameters():
        numeric = numerical_gradient(generator_loss, p.data)
        if name in zero_grads:      # relative error of two round-off noises means nothing
            assert float(abs(numeric).max()) < 1e-8, f"{name}: numerical gradient not ~0"
        else:
            errors[name] = rel_error(analytic[name], numeric)
    return errors


def discriminator_gradient_errors(D, objective, real, fake) -> dict:
    """Relative errors of dL_D/dtheta_D when D's gradients add up over a real and a fake pass."""
    def discriminator_loss():
        return objective.d_loss(D.forward(real), D.forward(fake))[0]

    real_logits = D.forward(real).copy()
    fake_logits = D.forward(fake)
    _, grad_real, grad_fake = objective.d_loss(real_logits, fake_logits)
    D.zero_grad()
    D.forward(real)
    D.backward(grad_real)                        # one forward, one backward ...
    D.forward(fake)
    D.backward(grad_fake)                        # ... twice: the gradients add up
    return {name: rel_error(p.grad.copy(), numerical_gradient(discriminator_loss, p.data))
            for name, p in D.named_parameters()}


@pytest.mark.parametrize("name", losses.OBJECTIVE_NAMES)
def test_dense_stack_generator_gradients(name):
    with B.precision("float64"):
        B.seed(0)
        G, D = dense_stack()
        z = B.randn(5, 3)
        errors = generator_gradient_errors(G, D, losses.get_objective(name), z,
                                           zero_grads={"layers.0.b"})
    assert set(errors) == {"z", "layers.0.W", "layers.1.weight", "layers.1.bias",
                           "layers.3.W", "layers.3.b"}
    assert max(errors.values()) < TOLERANCE, errors


@pytest.mark.parametrize("name,smoothing", [("non-saturating", 0.1), ("least-squares", 0.0),
                                            ("wasserstein", 0.0)])
def test_dense_stack_discriminator_gradients(name, smoothing):
    with B.precision("float64"):
        B.seed(1)
        G, D = dense_stack()
        fake = G.forward(B.randn(6, 3))
        real = B.randn(4, 4)
        errors = discriminator_gradient_errors(D, losses.get_objective(name, smoothing),
                                               real, fake)
    assert max(errors.values()) < TOLERANCE, errors


@pytest.mark.parametrize("name", ["non-saturating", "minimax", "least-squares"])
def test_conv_stack_generator_gradients(name):
    with B.precision("float64"):
        B.seed(2)
        G, D = conv_stack()
        z = B.randn(2, 4)
        assert G.forward(z).shape == (2, 1, 8, 8)
        errors = generator_gradient_errors(G, D, losses.get_objective(name), z,
                                           zero_grads={"layers.2.b"})
    assert len(errors) == 1 + 8 - 1
    assert max(errors.values()) < TOLERANCE, errors


def test_conv_stack_discriminator_gradients():
    with B.precision("float64"):
        B.seed(3)
        G, D = conv_stack()
        fake = G.forward(B.randn(3, 4))
        real = B.xp.tanh(B.randn(2, 1, 8, 8))
        errors = discriminator_gradient_errors(D, losses.get_objective("non-saturating"),
                                               real, fake)
    assert max(errors.values()) < TOLERANCE, errors


def test_stack_check_detects_a_wrong_gradient():
    """The stack check is not vacuous: scaling one layer's backward by 1.001 is caught."""
    with B.precision("float64"):
        B.seed(0)
        G, D = dense_stack()
        tanh = G.layers[-1]
        correct_backward = tanh.backward
        tanh.backward = lambda dy: correct_backward(dy) * 1.001
        errors = generator_gradient_errors(G, D, losses.NonSaturating(), B.randn(5, 3),
                                           zero_grads={"layers.0.b"})
    assert errors["z"] > TOLERANCE and errors["layers.0.W"] > TOLERANCE
    assert np.isfinite(list(errors.values())).all()
