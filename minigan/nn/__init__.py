"""Layers and models: ``Module`` and the building blocks of a GAN.

* ``module``      Module, Parameter, Sequential
* ``init``        N(0, 0.02), Glorot and He initialisers
* ``linear``      Linear
* ``activation``  ReLU, LeakyReLU, Tanh, Sigmoid, Reshape, Flatten
"""

from . import init
from .activation import Flatten, LeakyReLU, ReLU, Reshape, Sigmoid, Tanh
from .linear import Linear
from .module import Module, Parameter, Sequential

__all__ = ["Module", "Parameter", "Sequential", "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Reshape", "Flatten", "init"]
