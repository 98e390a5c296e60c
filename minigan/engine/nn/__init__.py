"""Layers and models: ``Module`` and the building blocks of a GAN.

* ``module``      Module, Parameter, Sequential
* ``init``        N(0, 0.02), Glorot and He initialisers
* ``linear``      Linear
* ``activation``  ReLU, LeakyReLU, Tanh, Sigmoid, Reshape, Flatten
* ``conv``        Conv2d, ConvTranspose2d (channels-last)
* ``norm``        BatchNorm1d, BatchNorm2d (channels-last), LayerNorm
* ``dropout``     Dropout
* ``maxout``      Maxout
* ``instancenorm`` InstanceNorm2d (channels-last)
* ``resample``    PixelShuffle, PixelUnshuffle, Upsample (nearest)
* ``residual``    ResidualBlock
* ``unet``        UNet (encoder–decoder with skip connections)
* ``weight_norm`` WeightNormLinear (Salimans & Kingma 2016) and its data-dependent initialisation
* ``noise``       GaussianNoise: additive N(0, σ²) noise while training
"""

from . import init
from .activation import Flatten, LeakyReLU, ReLU, Reshape, Sigmoid, Softplus, Tanh
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .linear import Linear
from .instancenorm import InstanceNorm2d
from .maxout import Maxout
from .module import Module, Parameter, Sequential
from .noise import GaussianNoise
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm
from .resample import PixelShuffle, PixelUnshuffle, Upsample
from .residual import ResidualBlock
from .unet import UNet
from .weight_norm import WeightNormLinear, data_dependent_init_

__all__ = ["Module", "Parameter", "Sequential", "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Reshape", "Flatten", "init",
           "Conv2d", "ConvTranspose2d",
           "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Dropout", "Maxout",
           "InstanceNorm2d", "PixelShuffle", "PixelUnshuffle", "Upsample", "ResidualBlock", "UNet",
           "WeightNormLinear", "data_dependent_init_", "GaussianNoise", "Softplus"]
