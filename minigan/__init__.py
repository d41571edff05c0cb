"""minigan: Generative Adversarial Networks from scratch, with hand-derived backpropagation.

    from minigan import backend as B, nn, losses, optim
"""
import os as _os
import sys as _sys

try:
    from minigan import backend  # noqa: F401  (reads MINIGAN_BACKEND, MINIGAN_DTYPE)
except (ValueError, TypeError, RuntimeError) as _error:
    # A chapter script (python chapters/<name>.py) stops with one line and status 2, as for a
    # bad command-line option; anywhere else the import fails with the error itself.
    _chapters = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))),
                              "chapters")
    if _sys.argv and _os.path.dirname(_os.path.abspath(_sys.argv[0] or ".")) == _chapters:
        print(f"{_os.path.basename(_sys.argv[0])}: error: {_error}", file=_sys.stderr)
        raise SystemExit(2) from None
    raise

__version__ = "0.1.0"
