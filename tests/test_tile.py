"""minigan.plot.tile: image grids as one array (image_grid and chapters 4 and 6 draw with it)."""
import numpy as np
import pytest

from minigan import plot


def test_images_land_in_their_cells_with_white_gaps():
    images = np.stack([np.full((1, 2, 3), v) for v in (-1.0, 0.0, 1.0)])     # (3, 1, 2, 3)
    canvas = plot.tile(images, nrow=2, value_range=(-1.0, 1.0))
    assert canvas.shape == (2 * 3 + 1, 2 * 4 + 1)                          # 2 rows of 2 cells
    np.testing.assert_array_equal(canvas[1:3, 1:4], 0.0)                   # -1 -> black
    np.testing.assert_array_equal(canvas[1:3, 5:8], 0.5)
    np.testing.assert_array_equal(canvas[4:6, 1:4], 1.0)
    assert canvas[0].min() == 1.0 and canvas[:, 4].min() == 1.0            # the gaps
    np.testing.assert_array_equal(canvas[4:6, 5:8], 1.0)                   # the empty cell


def test_value_range_default_and_colour():
    images = np.full((4, 3, 2, 2), 0.25)
    canvas = plot.tile(images)                                   # no negative value: (0, 1)
    assert canvas.shape == (2 * 3 + 1, 2 * 3 + 1, 3)
    assert canvas[1, 1, 0] == 0.25
    assert plot.tile(images - 1.0)[1, 1, 0] == pytest.approx(0.125)     # (-1, 1)
    with pytest.raises(ValueError, match="tile expects"):
        plot.tile(np.zeros((2, 2, 5, 5)))
