"""Conditional training and whole-run checkpoints of minigan.gan.GAN.

A conditional GAN feeds the label to both players: G gets [z, onehot(y)], D gets the image with
one constant map per class. A checkpoint of a run (GAN.save_checkpoint) holds both models, both
optimizers, the RNG state, the iteration, the histories and the position in the data, so a run
resumed from it continues bit for bit as the uninterrupted run (NumPy backend, same seed).
"""
import numpy as np
import pytest

from minigan import backend as B
from minigan.gan import GAN
from minigan.conditioning import condition_images, condition_noise
from minigan.nn.activations import LeakyReLU, Tanh
from minigan.nn.conv import Conv2d
from minigan.nn.dense import Dense
from minigan.nn.dropout import Dropout
from minigan.nn.module import Sequential
from minigan.nn.norm import BatchNorm1d
from minigan.nn.shape import Flatten, Reshape

LATENT, CLASSES = 3, 4


def tiny_images(n=40):
    """n images (n, 1, 4, 4): class k lights up row k; labels (n,)."""
    labels = np.arange(n) % CLASSES
    images = -np.ones((n, 1, 4, 4), dtype=np.float32)
    images[np.arange(n), 0, labels, :] = 1
    return images, labels


def build(conditional: bool):
    """G: (N, LATENT [+ CLASSES]) -> (N, 1, 4, 4); D: (N, 1 [+ CLASSES], 4, 4) -> (N, 1)."""
    extra = CLASSES if conditional else 0
    G = Sequential(Dense(LATENT + extra, 8), BatchNorm1d(8), LeakyReLU(0.2), Dense(8, 16), Tanh(),
                   Reshape(1, 4, 4))
    D = Sequential(Conv2d(1 + extra, 3, kernel_size=2, stride=2), LeakyReLU(0.2), Dropout(0.3),
                   Flatten(), Dense(12, 1))
    return G, D


def make_gan(conditional: bool, seed: int = 0) -> GAN:
    B.seed(seed)
    G, D = build(conditional)
    images, labels = tiny_images()
    kwargs = {"labels": labels, "num_classes": CLASSES} if conditional else {}
    return GAN(G, D, B.asarray(images), latent_dim=LATENT, batch_size=8, **kwargs)


def parameters(gan):
    return {f"{who}.{name}": B.to_numpy(p.data).copy()
            for who, module in (("G", gan.generator), ("D", gan.discriminator))
            for name, p in module.named_parameters()}


@pytest.mark.parametrize("backend", ["numpy", "cupy-double"])
@pytest.mark.parametrize("conditional", [False, True])
def test_resumed_run_matches_the_uninterrupted_run(tmp_path, conditional, backend):
    """On the host (NumPy's PCG64) and on a device (minigan's counter-based generator, drawing
    noise, dropout masks, labels and shuffles on the device): the checkpoint holds the state of
    the generator in use, and the resumed run is the uninterrupted one, bit for bit."""
    if backend != "numpy":
        import fakecupy
        B._use_module(fakecupy, "cupy")        # conftest restores NumPy afterwards
    straight = make_gan(conditional)
    straight.train(7)                      # crosses an epoch boundary (5 batches per epoch)

    first = make_gan(conditional)
    first.train(3)
    path = tmp_path / "run.npz"
    first.save_checkpoint(path, extra={"note": "three iterations"})
    B.seed(123)                            # whatever happens in between ...
    B.randn(10)
    resumed = make_gan(conditional, seed=99)   # ... and a differently initialised model
    extra = resumed.load_checkpoint(path)
    assert extra == {"note": "three iterations"}
    assert resumed.iteration == 3 and resumed.history == first.history
    resumed.train(4)

    assert resumed.iteration == straight.iteration == 7
    assert resumed.epoch == straight.epoch == 1
    a, b = parameters(straight), parameters(resumed)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert resumed.history == straight.history
    np.testing.assert_array_equal(
        B.to_numpy(resumed.g_optimizer.state["exp_avg"][0]),
        B.to_numpy(straight.g_optimizer.state["exp_avg"][0]))
    np.testing.assert_array_equal(B.to_numpy(resumed.generator.layers[1].running_mean),
                                  B.to_numpy(straight.generator.layers[1].running_mean))


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    gan = make_gan(conditional=True)
    gan.save_checkpoint(tmp_path / "run.npz")
    with pytest.raises(ValueError, match="shape"):
        make_gan(conditional=False).load_checkpoint(tmp_path / "run.npz")


def test_conditional_gan_feeds_the_labels_to_both_players():
    gan = make_gan(conditional=True)
    seen = {}
    g_forward, d_forward = gan.generator.forward, gan.discriminator.forward

    def spy(name, forward):
        def wrapped(x):
            seen.setdefault(name, []).append(B.to_numpy(x).copy())
            return forward(x)
        return wrapped

    gan.generator.forward = spy("G", g_forward)
    gan.discriminator.forward = spy("D", d_forward)
    gan.step()
    assert all(x.shape == (8, LATENT + CLASSES) for x in seen["G"])
    assert all(x.shape == (8, 1 + CLASSES, 4, 4) for x in seen["D"])
    real_inputs = seen["D"][0]
    # the real batch: each image's label map matches the row it lights up
    rows_lit = (real_inputs[:, 0] > 0).any(axis=2).argmax(axis=1)
    maps = real_inputs[:, 1:, 0, 0].argmax(axis=1)
    np.testing.assert_array_equal(rows_lit, maps)
    for x in seen["G"]:                     # one-hot tails
        np.testing.assert_array_equal(x[:, LATENT:].sum(axis=1), 1)
    # the fake batch goes to D with the labels G was given
    g_labels = seen["G"][0][:, LATENT:].argmax(axis=1)
    np.testing.assert_array_equal(seen["D"][1][:, 1:, 0, 0].argmax(axis=1), g_labels)


def test_conditional_sample_and_discriminate():
    gan = make_gan(conditional=True)
    gan.train(2)
    z = B.randn(4, LATENT)
    labels = np.array([0, 1, 2, 3])
    samples = gan.sample(4, z=z, labels=labels)
    assert samples.shape == (4, 1, 4, 4)
    gan.generator.eval()
    expected = gan.generator.forward(condition_noise(z, labels, CLASSES))
    gan.generator.train()
    np.testing.assert_array_equal(B.to_numpy(samples), B.to_numpy(expected))
    assert gan.sample(6).shape == (6, 1, 4, 4)              # random labels when none are given
    scores = gan.discriminate(samples, labels=labels)
    gan.discriminator.eval()
    logits = gan.discriminator.forward(condition_images(samples, labels, CLASSES))
    np.testing.assert_allclose(B.to_numpy(scores),
                               1 / (1 + np.exp(-B.to_numpy(logits).reshape(-1))), rtol=1e-5)
    with pytest.raises(ValueError, match="labels"):
        gan.discriminate(samples)                           # D needs the labels


def test_conditional_arguments_are_checked():
    G, D = build(conditional=True)
    images, labels = tiny_images()
    data = B.asarray(images)
    with pytest.raises(ValueError, match="labels must be"):
        GAN(G, D, data, latent_dim=LATENT, batch_size=8, labels=labels[:-1], num_classes=CLASSES)
    with pytest.raises(ValueError, match="labels need the training data as an array"):
        GAN(G, D, lambda n: B.randn(n, 1, 4, 4), latent_dim=LATENT, batch_size=8, labels=labels)
    with pytest.raises(ValueError, match=r"\[0, num_classes=2\)"):
        GAN(G, D, data, latent_dim=LATENT, batch_size=8, labels=labels, num_classes=2)
    with pytest.raises(ValueError, match="num_classes given without labels"):
        GAN(G, D, data, latent_dim=LATENT, batch_size=8, num_classes=CLASSES)
    unconditional = make_gan(conditional=False)
    with pytest.raises(ValueError, match="conditional"):
        unconditional.sample(4, labels=np.arange(4))


def test_conditional_training_and_checkpoint_on_a_device_backend(tmp_path):
    """On the CuPy stand-in: labels go to the device, nothing is converted implicitly."""
    import fakecupy
    B._use_module(fakecupy, "cupy")
    try:
        gan = make_gan(conditional=True)
        gan.train(2)
        samples = gan.sample(4, labels=np.arange(4))
        assert isinstance(samples, fakecupy.ndarray) and samples.shape == (4, 1, 4, 4)
        gan.save_checkpoint(tmp_path / "run.npz")
        other = make_gan(conditional=True, seed=5)
        other.load_checkpoint(tmp_path / "run.npz")
        assert other.iteration == 2
    finally:
        B.use("numpy")
