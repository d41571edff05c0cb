"""Layers with hand-derived backward passes. Each module: forward(x), backward(dy), parameters().

    from minigan import nn
    G = nn.Sequential(nn.Dense(100, 256), nn.LeakyReLU(0.2), nn.Dense(256, 784), nn.Tanh())
"""
from minigan.nn import init  # noqa: F401
from minigan.nn.activations import LeakyReLU, ReLU, Sigmoid, Tanh  # noqa: F401
from minigan.nn.conv import Conv2d, ConvTranspose2d  # noqa: F401
from minigan.nn.dense import Dense  # noqa: F401
from minigan.nn.dropout import Dropout  # noqa: F401
from minigan.nn.maxout import Maxout  # noqa: F401
from minigan.nn.minibatch import MinibatchStdDev  # noqa: F401
from minigan.nn.module import Module, Parameter, Sequential  # noqa: F401
from minigan.nn.norm import BatchNorm1d, BatchNorm2d  # noqa: F401
from minigan.nn.pack import Pack  # noqa: F401
from minigan.nn.projection import Projection  # noqa: F401
from minigan.nn.shape import Flatten, Reshape  # noqa: F401
from minigan.nn.spectral import SpectralNorm  # noqa: F401
