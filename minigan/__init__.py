"""minigan: Generative Adversarial Networks from scratch, with hand-derived backpropagation.

    from minigan import backend as B, nn, losses, optim

``minigan.backend`` reads MINIGAN_BACKEND and MINIGAN_DTYPE when it is first imported; a bad
value fails that import with an error naming the variable (a chapter script turns it into one
line and exit status 2: ``minigan.chapter``).
"""
__version__ = "0.1.0"
