"""``Maxout`` (Goodfellow et al. 2013): each output unit is the largest of ``pieces`` affine functions.

    hⱼ(x) = max_k (x Wⱼₖᵀ + bⱼₖ),   j = 1 … out_features,  k = 1 … pieces

Goodfellow et al. (2014) use maxout units in the discriminator of the MNIST GAN. It is composed from ops
whose gradients are already checked: one ``linear`` to out_features·pieces units, a reshape, a ``max``.
The gradient of hⱼ flows only to the winning piece (ties, which have probability zero for real-valued
inputs, share it equally, see ``ops.reduce.Max``); the other pieces of that unit get zero.
"""

from ..ops.linalg import linear
from ..ops.reduce import max as reduce_max
from .linear import Linear
from .module import Module


class Maxout(Module):
    """x (N, in_features) → (N, out_features), the max over ``pieces`` affine maps per output unit.

    Parameters (in ``self.linear``): weight (pieces·out_features, in_features), bias (pieces·out_features,);
    row k·out_features + j is piece k of output unit j.

    Why pieces-major: the max then runs over the middle axis of (N, pieces, out), as ``pieces`` passes
    over contiguous rows of ``out`` values; over a last axis of only 5 values NumPy reduces row by row,
    one short loop per unit, which is far slower (measured in ``benchmarks/README.md``).
    """

    def __init__(self, in_features, out_features, pieces, dtype=None, rng=None):
        if isinstance(pieces, bool) or not isinstance(pieces, int) or pieces < 1:
            raise ValueError(f"Maxout: pieces must be a positive int, got {pieces!r}")
        if isinstance(out_features, bool) or not isinstance(out_features, int) or out_features < 1:
            raise ValueError(f"Maxout: out_features must be a positive int, got {out_features!r}")
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.linear = Linear(in_features, out_features * pieces, dtype=dtype, rng=rng)

    def forward(self, x):
        z = linear(x, self.linear.weight, self.linear.bias)             # (N, out·pieces)
        z = z.reshape(x.shape[0], self.pieces, self.out_features)       # (N, pieces·out) -> (N, pieces, out)
        return reduce_max(z, axis=1)                                    # (N, pieces, out) -> (N, out)

    def extra_repr(self):
        return f"{self.in_features} → {self.out_features}, pieces={self.pieces}"
