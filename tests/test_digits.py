"""The built-in digits: shapes, scales, determinism, and MNIST's preparation (20x20 box, centre
of mass at (14, 14), white on black), plus a check that the labels mean something."""
import numpy as np
import pytest

from minigan.data import digits
from minigan.data.digits import load_digits


@pytest.fixture(scope="module")
def sample():
    """1000 digits in [0, 1] and their labels (rendered once for the whole module)."""
    return load_digits(1000, seed=3, scale=None)


def test_shapes_dtypes_and_scales():
    images, labels = load_digits(50, seed=0)
    assert images.shape == (50, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (50,) and labels.dtype == np.int64
    assert images.min() == -1.0 and images.max() == 1.0          # tanh: background -1, ink +1
    unit, labels_unit = load_digits(50, seed=0, scale="sigmoid")
    assert unit.min() == 0.0 and unit.max() == 1.0
    np.testing.assert_array_equal(labels, labels_unit)
    np.testing.assert_allclose(images, 2 * unit - 1, atol=1e-6)
    raw, _ = load_digits(50, seed=0, scale=None)
    np.testing.assert_array_equal(raw, unit)


def test_deterministic_for_a_seed_and_different_across_seeds():
    a, la = load_digits(digits.CHUNK + 1, seed=7)     # more than one rendering chunk
    b, lb = load_digits(digits.CHUNK + 1, seed=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    c, _ = load_digits(50, seed=8)
    assert not np.array_equal(a[:50], c)


def test_empty_and_invalid_arguments():
    images, labels = load_digits(0)
    assert images.shape == (0, 1, 28, 28) and labels.shape == (0,)
    with pytest.raises(ValueError, match="scale"):
        load_digits(10, scale="relu")
    with pytest.raises(ValueError, match="n must be"):
        load_digits(-1)


def test_labels_cover_all_digits_evenly(sample):
    _, labels = sample
    counts = np.bincount(labels, minlength=10)
    assert counts.min() > 60 and counts.max() < 140               # 1000 / 10 = 100 expected


def test_prepared_like_mnist(sample):
    images, _ = sample
    img = images[:, 0]
    # centre of mass at (14, 14), with a small jitter
    mass = img.sum(axis=(1, 2))
    grid = np.arange(28)
    row = (img.sum(axis=2) @ grid) / mass
    col = (img.sum(axis=1) @ grid) / mass
    assert abs(row.mean() - 14) < 0.1 and abs(col.mean() - 14) < 0.1
    assert np.abs(row - 14).max() < 1.5 and np.abs(col - 14).max() < 1.5
    # the longer side of the ink's bounding box is about 20 pixels, as in MNIST's 20x20 box
    ink = img > 0.1
    rows, cols = ink.any(axis=2), ink.any(axis=1)
    height = 28 - rows.argmax(axis=1) - rows[:, ::-1].argmax(axis=1)
    width = 28 - cols.argmax(axis=1) - cols[:, ::-1].argmax(axis=1)
    longer = np.maximum(height, width)
    assert 19 <= np.median(longer) <= 21 and longer.min() >= 16 and longer.max() <= 24
    # white strokes on a black background: MNIST has ~13% ink and ~80% exact zeros
    assert 0.08 < img.mean() < 0.2
    assert 0.7 < (img == 0).mean() < 0.9
    assert (img[:, 0, :] == 0).mean() > 0.99                      # the border stays black


def test_labels_are_learnable(sample):
    """A nearest-class-mean classifier fitted on one seed's digits labels another seed's well."""
    images, labels = sample
    test_images, test_labels = load_digits(300, seed=4, scale=None)
    x, x_test = images.reshape(len(images), -1), test_images.reshape(len(test_images), -1)
    means = np.stack([x[labels == k].mean(axis=0) for k in range(10)])
    distances = ((x_test[:, None, :] - means[None]) ** 2).sum(axis=-1)
    accuracy = (distances.argmin(axis=1) == test_labels).mean()
    assert accuracy > 0.75                                        # chance: 0.1; measured ~0.9


def test_labels_name_the_digit_drawn(sample):
    """A 0 is a ring around a dark centre; a 1 is a narrow stroke through the centre."""
    images, labels = sample
    mean_zero = images[labels == 0, 0].mean(axis=0)
    mean_one = images[labels == 1, 0].mean(axis=0)
    assert mean_zero[13:15, 13:15].mean() < 0.1
    assert mean_zero[13:15, [7, 8, 19, 20]].mean() > 0.4
    assert mean_one[12:16, 13:15].mean() > 0.5
    ink_columns = images[:, 0].max(axis=1) > 0.1
    width = ink_columns.sum(axis=1)
    assert width[labels == 1].mean() < width[labels == 0].mean() - 3


def test_thinning_leaves_one_pixel_wide_centre_lines():
    bar = np.zeros((1, 12, 30), dtype=bool)
    bar[0, 4:9, 3:27] = True                                      # a 5-pixel-thick bar
    skeleton = digits._thin(bar)[0]
    assert skeleton[:, 5:25].sum(axis=0).max() == 1               # one pixel per column ...
    assert skeleton[6, 6:24].all()                                # ... along the middle row
    ring = np.zeros((1, 30, 30), dtype=bool)
    yy, xx = np.mgrid[0:30, 0:30]
    radius = np.hypot(yy - 14.5, xx - 14.5)
    ring[0] = (radius > 7) & (radius < 11)
    thin_ring = digits._thin(ring)[0]
    assert thin_ring[14:16, :].any() and not thin_ring[13:17, 13:17].any()
    # a closed loop survives: every skeleton pixel has at least two 8-neighbours
    padded = np.pad(thin_ring, 1)
    neighbours = sum(np.roll(np.roll(padded, dy, 0), dx, 1)
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)[1:-1, 1:-1]
    assert (neighbours[thin_ring] >= 2).all()
