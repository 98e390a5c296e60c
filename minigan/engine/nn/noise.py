"""Additive Gaussian noise: y = x + σ·ε, ε ~ N(0, I), while training; the identity in eval mode.

The semi-supervised GAN of Salimans et al. 2016 (their MNIST discriminator, §5) adds it to the input
(σ = 0.3) and after every hidden layer (σ = 0.5): a regulariser, like dropout, that keeps a
discriminator trained on 100 labels from memorising them.

Composed of the engine's ``+`` (no Function of its own): ε is a constant drawn afresh at each call, so
dy/dx = I and the add op already back-propagates exactly that (its gradient is the incoming gradient,
unchanged, at every order of differentiation). ε is drawn in x's dtype from the backend's
``default_rng()`` (seeded by ``minigan.seed``), or from the generator you pass, so a seed fixes it.
"""

from ..autograd import Tensor
from ..backend import array_module, default_rng
from ..checks import finite_number
from .module import Module


def gaussian_noise(x, sigma, training=True, rng=None):
    """x + σ·ε with ε ~ N(0, I) of x's shape and dtype while ``training``; x itself otherwise (or when σ = 0).

    Args:
        x: a floating Tensor of any shape.
        sigma: the noise's standard deviation σ ≥ 0.
        training: False (evaluation) returns ``x`` unchanged.
        rng: the generator drawing ε; defaults to the backend's ``default_rng()`` (``minigan.seed``).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"gaussian_noise: x must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"gaussian_noise: x must have a floating dtype, got {x.dtype}")
    if not finite_number("gaussian_noise", "sigma", sigma) >= 0:  # σ = inf would turn every unit into ±inf
        raise ValueError(f"gaussian_noise: sigma must be >= 0, got {sigma}")
    if not training or sigma == 0:
        return x
    rng = rng if rng is not None else default_rng()
    epsilon = array_module(x.data).asarray(rng.standard_normal(x.shape, dtype=x.dtype))  # in x's dtype: no float64 detour
    epsilon *= x.dtype.type(sigma)
    return x + Tensor(epsilon)  # a constant: the gradient passes to x unchanged


class GaussianNoise(Module):
    """Adds N(0, σ²) noise to every unit while training; the identity in eval mode (``module.eval()``)."""

    def __init__(self, sigma, rng=None):
        if not finite_number("GaussianNoise", "sigma", sigma) >= 0:  # σ = inf would turn every unit into ±inf
            raise ValueError(f"GaussianNoise: sigma must be >= 0, got {sigma}")
        # checked now: otherwise the first forward in training mode fails, far from the mistake
        if rng is not None and not callable(getattr(rng, "standard_normal", None)):
            raise TypeError(f"GaussianNoise: rng must be None or a random generator with standard_normal "
                            f"(numpy.random.default_rng(seed)), got {rng!r} (a {type(rng).__name__})")
        self.sigma, self.rng = sigma, rng

    def forward(self, x):
        return gaussian_noise(x, self.sigma, training=self.training, rng=self.rng)

    def extra_repr(self):
        return f"sigma={self.sigma}"
