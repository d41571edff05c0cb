"""The chapter-4 architectures: shapes, sizes, initialisation, conditioning, gradients."""
import numpy as np
import pytest

from minigan import backend as B
from minigan import losses
from minigan.gradcheck import numerical_gradient, rel_error
from minigan.conditioning import condition_images, condition_noise, image_gradient, one_hot
from minigan.models import (conditional_discriminator, conditional_generator,
                            dcgan_discriminator, dcgan_generator, dense_discriminator,
                            dense_generator)
from minigan.nn import BatchNorm2d, Dropout, Sigmoid, Tanh


def count(module) -> int:
    return sum(p.data.size for p in module.parameters())


def test_dense_gan_has_document_003s_sizes():
    G = dense_generator(100, output="sigmoid")
    D = dense_discriminator()
    widths = [layer.out_features for layer in G.layers if hasattr(layer, "out_features")]
    assert widths == [256, 512, 1024, 784]
    assert [layer.out_features for layer in D.layers if hasattr(layer, "out_features")] == \
        [512, 256, 1]
    assert isinstance(G.layers[-2], Sigmoid)
    images = G.forward(B.randn(8, 100))
    assert images.shape == (8, 1, 28, 28) and 0 <= float(images.min()) <= float(images.max()) <= 1
    assert D.forward(images).shape == (8, 1)
    # D has no BatchNorm: weights + biases only, 784*512+512 + 512*256+256 + 256+1
    assert count(D) == 784 * 512 + 512 + 512 * 256 + 256 + 256 + 1
    with pytest.raises(ValueError, match="output must be 'tanh' or 'sigmoid'"):
        dense_generator(output="relu")


def test_dcgan_shapes_parameter_counts_and_initialisation():
    B.seed(1)
    G, D = dcgan_generator(100), dcgan_discriminator()
    assert isinstance(G.layers[-1], Tanh)
    images = G.forward(B.randn(16, 100))
    assert images.shape == (16, 1, 28, 28)
    assert float(abs(images).max()) < 1
    assert D.forward(images).shape == (16, 1)
    # Dense 100->6272, BN(128), ConvT 128->64 k4, BN(64), ConvT 64->1 k4
    assert count(G) == (100 * 6272 + 6272) + 2 * 128 + (128 * 64 * 16 + 64) + 2 * 64 \
        + (64 * 16 + 1)
    assert count(D) == (64 * 16 + 64) + (64 * 128 * 16 + 128) + (6272 + 1)
    # N(0, 0.02) weights, zero biases, BatchNorm scales N(1, 0.02)
    weights = B.to_numpy(G.layers[4].W.data)
    assert abs(weights.std() - 0.02) < 0.002 and abs(weights.mean()) < 0.002
    assert float(abs(G.layers[4].b.data).max()) == 0
    gamma = B.to_numpy(G.layers[2].weight.data)
    assert abs(gamma.mean() - 1) < 0.01 and 0.01 < gamma.std() < 0.03
    assert sum(isinstance(layer, Dropout) for layer in D.layers) == 2        # document 004
    bn_D = dcgan_discriminator(dropout=0, batchnorm=True)
    assert sum(isinstance(layer, BatchNorm2d) for layer in bn_D.layers) == 1
    assert not any(isinstance(layer, Dropout) for layer in bn_D.layers)


def test_one_hot_and_conditioning_inputs():
    labels = np.array([2, 0, 9])
    hot = B.to_numpy(one_hot(labels, 10))
    np.testing.assert_array_equal(hot, np.eye(10, dtype=np.float32)[labels])
    z = B.randn(3, 5)
    zc = B.to_numpy(condition_noise(z, labels))
    assert zc.shape == (3, 15)
    np.testing.assert_array_equal(zc[:, :5], B.to_numpy(z))
    np.testing.assert_array_equal(zc[:, 5:], hot)
    x = B.randn(3, 1, 28, 28)
    xc = B.to_numpy(condition_images(x, labels))
    assert xc.shape == (3, 11, 28, 28)
    np.testing.assert_array_equal(xc[:, 0], B.to_numpy(x)[:, 0])
    assert (xc[0, 1 + 2] == 1).all() and xc[0, 1:].sum() == 28 * 28        # only digit 2's map
    assert image_gradient(B.xp.asarray(xc)).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        one_hot(np.array([10]))
    with pytest.raises(ValueError, match="1-D integer array"):
        one_hot(np.array([0.5]))


def test_conditional_models_take_the_conditioned_inputs():
    G, D = conditional_generator(100, 10), conditional_discriminator(10)
    labels = np.arange(4)
    images = G.forward(condition_noise(B.randn(4, 100), labels))
    assert images.shape == (4, 1, 28, 28)
    assert D.forward(condition_images(images, labels)).shape == (4, 1)
    with pytest.raises(ValueError, match="expects input of shape"):
        D.forward(images)                                   # the label maps are missing


def test_gradient_through_a_conditional_generator_and_discriminator():
    """dL_G/dz and dL_G/dtheta_G through concatenated labels, against finite differences.

    The generator's gradient is the image channel of dL/d(D input): the label maps are data.
    Small channel counts keep the finite differences cheap; the wiring is the same.
    """
    with B.precision("float64"):
        B.seed(3)
        G = conditional_generator(latent_dim=3, num_classes=4, channels=(4, 3))
        D = conditional_discriminator(num_classes=4, channels=(3, 4), dropout=0)
        for name, p in list(G.named_parameters()) + list(D.named_parameters()):
            if name.endswith(".W"):
                p.data *= 25    # DCGAN's N(0, 0.02) gives gradients too small to difference
        z, labels = B.randn(3, 3), np.array([0, 3, 1])
        objective = losses.get_objective("non-saturating")

        def generator_loss():
            fake = G.forward(condition_noise(z, labels, 4))
            return objective.g_loss(D.forward(condition_images(fake, labels, 4)))[0]

        G.zero_grad()
        zc = condition_noise(z, labels, 4)
        fake = G.forward(zc)
        _, grad_logits = objective.g_loss(D.forward(condition_images(fake, labels, 4)))
        dzc = G.backward(image_gradient(D.backward(grad_logits)))
        assert rel_error(dzc[:, :3], numerical_gradient(generator_loss, z)) < 1e-6
        first_dense = G.layers[0]        # rows 3, 4 of W: the inputs of labels 0 and 1
        assert rel_error(first_dense.W.grad[3:5].copy(),
                         numerical_gradient(generator_loss, first_dense.W.data[3:5])) < 1e-6
        last_conv = G.layers[-2]
        assert rel_error(last_conv.W.grad.copy(),
                         numerical_gradient(generator_loss, last_conv.W.data)) < 1e-6
