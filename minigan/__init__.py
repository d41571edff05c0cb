"""minigan: Generative Adversarial Networks from scratch, with hand-derived backpropagation.

    from minigan import backend as B, nn, losses, optim
"""
from minigan import backend  # noqa: F401

__version__ = "0.1.0"
