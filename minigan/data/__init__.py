"""Data for minigan: toy distributions (and image datasets in their own modules)."""
from minigan.data.toy import (Gaussian1D, GaussianMixture, Grid, Mixture1D, Ring,  # noqa: F401
                              TwoMoons)
