"""Data for minigan: toy distributions, built-in rendered digits, MNIST-format (IDX) files.

    from minigan.data import Ring, load_digits, load_mnist
"""
from minigan.data.digits import load_digits  # noqa: F401
from minigan.data.idx import load_mnist  # noqa: F401
from minigan.data.toy import (Gaussian1D, GaussianMixture, Grid, Mixture1D, Ring,  # noqa: F401
                              TwoMoons)
