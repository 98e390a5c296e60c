"""Activation layers: thin modules over the ops in ``ops.activations`` (where the derivatives are)."""

from ..checks import finite_number
from ..ops import activations
from .module import Module


class ReLU(Module):
    """y = max(x, 0)."""

    def forward(self, x):
        return activations.relu(x)


class LeakyReLU(Module):
    """y = max(x, a·x); DCGAN's discriminator uses a = 0.2."""

    def __init__(self, negative_slope=0.2):
        if not 0 <= finite_number("LeakyReLU", "negative_slope", negative_slope) < 1:
            raise ValueError(f"LeakyReLU: negative_slope must be in [0, 1), got {negative_slope}")
        self.negative_slope = negative_slope

    def forward(self, x):
        return activations.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """y = tanh x (DCGAN's generator output, images in [−1, 1])."""

    def forward(self, x):
        return activations.tanh(x)


class Sigmoid(Module):
    """y = 1/(1 + e⁻ˣ) (the MLP GAN's generator output, images in [0, 1])."""

    def forward(self, x):
        return activations.sigmoid(x)


class Softplus(Module):
    """y = log(1 + eˣ), a smooth ReLU (the semi-supervised GAN's generator, Salimans et al. 2016)."""

    def forward(self, x):
        return activations.softplus(x)


class Reshape(Module):
    """Reshape each example: ``Reshape(7, 7, 128)`` maps (N, 6272) → (N, 7, 7, 128)."""

    def __init__(self, *shape):
        self.shape = shape

    def forward(self, x):
        return x.reshape((x.shape[0],) + self.shape)

    def extra_repr(self):
        return f"{self.shape}"


class Flatten(Module):
    """(N, …) → (N, product of the rest)."""

    def forward(self, x):
        return x.reshape(x.shape[0], -1)
