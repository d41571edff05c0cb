"""Layers with hand-derived backward passes. Each module: forward(x), backward(dout), parameters()."""
from minigan.nn.module import Module, Parameter, Sequential  # noqa: F401
