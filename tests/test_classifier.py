"""The digit classifier used to score generated digits: its loss, its gradients, its accuracy."""
import math

import numpy as np
import pytest

from minigan import backend as B
from minigan.classifier import FEATURE_DIM, DigitClassifier, build_network, train_classifier
from minigan.data.digits import load_digits
from minigan.gradcheck import check_function, numerical_gradient, rel_error
from minigan.losses import softmax_cross_entropy


def test_softmax_cross_entropy_matches_a_direct_computation():
    logits = B.asarray(np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [-3.0, 4.0, 1.0]]))
    labels = np.array([0, 2, 1])
    value, grad_logits = softmax_cross_entropy(logits, labels)
    host = B.to_numpy(logits).astype(np.float64)
    probs = np.exp(host) / np.exp(host).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probs[np.arange(3), labels]))
    assert value == pytest.approx(expected, rel=1e-6)
    onehot = np.eye(3)[labels]
    np.testing.assert_allclose(B.to_numpy(grad_logits), (probs - onehot) / 3, atol=1e-7)
    assert grad_logits.dtype == logits.dtype
    # a uniform prediction over K classes costs log K
    assert softmax_cross_entropy(B.xp.zeros((4, 10), dtype=B.dtype()),
                                 np.arange(4))[0] == pytest.approx(math.log(10), rel=1e-6)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = B.asarray(np.array([[1000.0, -1000.0], [-1000.0, 1000.0]]))
    value, grad_logits = softmax_cross_entropy(logits, np.array([1, 1]))
    assert math.isfinite(value) and value == pytest.approx(1000.0, rel=1e-6)
    assert np.isfinite(B.to_numpy(grad_logits)).all()


def test_softmax_cross_entropy_gradient_check():
    with B.precision("float64"):
        logits = B.randn(6, 10)
        labels = B.integers(0, 10, 6)
        assert check_function(lambda l: softmax_cross_entropy(l, labels), logits) < 1e-7


def test_softmax_cross_entropy_rejects_bad_labels():
    logits = B.randn(3, 10)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        softmax_cross_entropy(logits, np.array([0, 10, 2]))
    with pytest.raises(ValueError, match="labels must be"):
        softmax_cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(TypeError, match="logits"):
        softmax_cross_entropy(np.zeros(3), np.array([0, 1, 2]))


def test_classifier_network_gradient_check_through_the_loss():
    """The whole network + loss, in float64, against finite differences (input and weights)."""
    with B.precision("float64"):
        network = build_network()
        x = B.randn(2, 1, 28, 28)
        labels = np.array([3, 7])

        def loss():
            return softmax_cross_entropy(network.forward(x), labels)[0]

        network.zero_grad()
        _, grad_logits = softmax_cross_entropy(network.forward(x), labels)
        dx = network.backward(grad_logits)
        picked = np.random.default_rng(0).choice(x.size, 96, replace=False)   # 96 of 1568 pixels
        assert rel_error(dx.reshape(-1)[picked], numerical_gradient(loss, x, indices=picked)) < 1e-6
        first_conv, last_dense = network.layers[0], network.layers[-1]
        for p in (first_conv.b, last_dense.b):      # the chain from the loss back to layer 0
            assert rel_error(p.grad.copy(), numerical_gradient(loss, p.data)) < 1e-6


def test_the_second_judge_is_an_mlp_that_also_learns_the_digits():
    """architecture="mlp": no convolution at all (a judge unlike the first), features (N, 128);
    3 epochs on 4,000 built-in digits classify >= 95% of 1,000 unseen ones."""
    network = build_network(architecture="mlp")
    assert not any(type(layer).__name__.startswith("Conv") for layer in network.layers)
    with pytest.raises(ValueError, match="architecture must be one of"):
        build_network(architecture="resnet")
    train_x, train_y = load_digits(4000, seed=0)
    test_x, test_y = load_digits(1000, seed=1)
    clf = train_classifier(train_x, train_y, epochs=3, seed=0, architecture="mlp")
    assert clf.accuracy(test_x, test_y) >= 0.95
    assert clf.features(test_x[:7]).shape == (7, FEATURE_DIM)

def test_trained_classifier_reaches_97_percent_on_held_out_digits():
    train_x, train_y = load_digits(4000, seed=0)
    test_x, test_y = load_digits(1000, seed=1)                       # another seed: unseen
    state = B.get_rng_state()
    clf = train_classifier(train_x, train_y, epochs=3, seed=0)
    assert B.get_rng_state() == state                                # caller's stream untouched
    accuracy = clf.accuracy(test_x, test_y)
    assert accuracy >= 0.97, f"held-out accuracy {accuracy:.3f}"

    probs = clf.predict_proba(test_x[:50])
    assert probs.shape == (50, 10) and isinstance(probs, np.ndarray)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(probs.argmax(axis=1), clf.predict(test_x[:50]))
    features = clf.features(B.asarray(test_x[:50]))                  # device input works too
    assert features.shape == (50, FEATURE_DIM) and (features >= 0).all()   # after a ReLU
    assert clf.network.training                                      # predictions left it so


def test_classifier_training_is_repeatable_and_checks_its_inputs():
    x, y = load_digits(200, seed=3)
    a = train_classifier(x, y, epochs=1, seed=5)
    b = train_classifier(x, y, epochs=1, seed=5)
    np.testing.assert_array_equal(a.logits(x[:20]), b.logits(x[:20]))
    assert isinstance(a, DigitClassifier)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        train_classifier(x.reshape(200, 784), y)
    with pytest.raises(ValueError, match="200 images but 199 labels"):
        train_classifier(x, y[:199])
    with pytest.raises(ValueError, match="digits 0..9"):
        train_classifier(x, y + 1)


def test_classifier_runs_on_a_device_backend():
    """On the CuPy stand-in (fails on implicit host conversion and host/device mixing)."""
    import fakecupy
    x, y = load_digits(64, seed=4)
    B._use_module(fakecupy, "cupy")
    try:
        B.seed(0)
        logits = B.randn(5, 10)
        value, grad_logits = softmax_cross_entropy(logits, B.xp.asarray(np.array([0, 1, 2, 3, 4])))
        assert isinstance(grad_logits, fakecupy.ndarray) and np.isfinite(value)
        clf = train_classifier(x, y, epochs=1, batch_size=32)
        probs = clf.predict_proba(x[:8])
        assert isinstance(probs, np.ndarray) and probs.shape == (8, 10)
        assert clf.features(B.asarray(x[:8])).shape == (8, FEATURE_DIM)
        assert 0 <= clf.accuracy(x[:8], y[:8]) <= 1
    finally:
        B.use("numpy")
