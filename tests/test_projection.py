"""The projection discriminator (minigan.nn.projection): its forward against the formula computed
directly, its gradients against finite differences in float64."""
import numpy as np
import pytest

from minigan import backend as B
from minigan.conditioning import condition_images
from minigan.gradcheck import numerical_gradient, rel_error
from minigan.nn import Conv2d, Dense, Flatten, LeakyReLU, Sequential
from minigan.nn.projection import Projection

K, C = 3, 2


def make(features_out=5):
    features = Sequential(Conv2d(C, 2, kernel_size=3, stride=2, padding=1), LeakyReLU(0.2),
                          Flatten(), Dense(2 * 3 * 3, features_out))
    return Projection(features, features_out, K, image_channels=C)


def inputs(n=4):
    images = B.randn(n, C, 6, 6)
    labels = B.asarray(np.arange(n) % K)
    return images, labels, condition_images(images, labels, K)


def test_forward_is_the_head_plus_the_class_embedding_dotted_with_the_features():
    with B.precision("float64"):
        D = make()
        images, labels, x = inputs()
        logits = B.to_numpy(D.forward(x))
        h = B.to_numpy(D.features.forward(images))
        w, b = B.to_numpy(D.head.W.data), B.to_numpy(D.head.b.data)
        V = B.to_numpy(D.V.data)
        expected = h @ w + b + (h * V[B.to_numpy(labels)]).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(logits, expected, rtol=1e-12)
        assert logits.shape == (4, 1)


def test_gradients_match_finite_differences():
    with B.precision("float64"):
        D = make()
        _, _, x = inputs()
        g = B.randn(4, 1)

        def loss():
            return float((D.forward(x) * g).sum())

        D.zero_grad()
        D.forward(x)
        dx = D.backward(g)
        image_entries = np.flatnonzero(np.broadcast_to(
            (np.arange(C + K) < C)[None, :, None, None], x.shape))
        numeric = numerical_gradient(loss, x, indices=image_entries)
        assert rel_error(dx.reshape(-1)[image_entries], numeric) < 1e-7
        assert float(abs(dx[:, C:]).max()) == 0.0       # the labels are data: no gradient
        for name, p in D.named_parameters():
            assert rel_error(p.grad.copy(), numerical_gradient(loss, p.data)) < 1e-7, name


def test_bad_inputs_are_refused_naming_the_layer():
    D = make()
    with pytest.raises(ValueError, match=r"Projection.*expects input of shape \(N, 5, \*, \*\)"):
        D.forward(B.randn(2, C, 6, 6))                     # the label maps are missing
    with pytest.raises(TypeError, match="features must be a minigan Module"):
        Projection(lambda x: x, 4, K)
    wrong = Projection(Sequential(Flatten()), 7, K, image_channels=C)
    with pytest.raises(ValueError, match=r"features gave shape \(2, 72\), expected \(N, 7\)"):
        wrong.forward(inputs(2)[2])
