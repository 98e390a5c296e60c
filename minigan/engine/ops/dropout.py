"""Inverted dropout (Srivastava et al. 2014): zero each unit with probability p, scale survivors by 1/(1 − p).

Scaling at training time keeps E[y] = x, so evaluation is the identity and needs no rescaling.
"""

from ..autograd import Function, Tensor
from ..backend import array_module, default_rng
from .arithmetic import MulConstant


class Dropout(Function):
    """y = x·mask, mask = [u ≥ p]/(1 − p) with u ~ U[0, 1) per element;   dy/dx = mask (the same mask)."""

    def forward(self, x, p, rng):
        xp = array_module(x)
        # u in x's dtype: the mask is built in float32 for a float32 x, never in float64.
        keep = xp.asarray(rng.random(x.shape, dtype=x.dtype)) >= x.dtype.type(p)
        self.mask = keep.astype(x.dtype)
        self.mask *= x.dtype.type(1.0 / (1.0 - p))
        return x * self.mask

    def backward(self, grad):
        return MulConstant.apply(grad, constant=self.mask)  # the mask is a constant: the second derivative is 0


def dropout(x, p, training=True, rng=None):
    """Inverted dropout of a tensor ``x`` of any shape.

    Args:
        x: a floating tensor.
        p: the probability of zeroing a unit, in [0, 1).
        training: False (evaluation) returns ``x`` unchanged.
        rng: the generator drawing the mask; defaults to the backend's ``default_rng()`` (``minigan.seed``).

    Returns:
        A tensor of x's shape and dtype: each element is 0 with probability p, else x/(1 − p). The gradient
        is the same mask times the incoming gradient.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"dropout: x must be a Tensor, got {type(x).__name__}")
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: x must have a floating dtype, got {x.dtype}")
    if not training or p == 0:
        return x
    return Dropout.apply(x, p=float(p), rng=rng if rng is not None else default_rng())
