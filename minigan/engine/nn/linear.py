"""``Linear``: the dense (fully connected) layer y = x Wᵀ + b. Its op is ``ops.linalg.linear``."""

from ..backend import get_backend
from ..ops.linalg import linear
from . import init
from .module import Module, Parameter


class Linear(Module):
    """x (N, in_features) → x Wᵀ + b (N, out_features).

    Parameters: ``weight`` (out_features, in_features), Glorot-uniform; ``bias`` (out_features,), zero.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None, rng=None):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive int, got {value!r}")
        xp, dtype = get_backend().xp, dtype or get_backend().dtype
        self.in_features, self.out_features = in_features, out_features
        self.weight = init.glorot_uniform_(Parameter(xp.empty((out_features, in_features), dtype=dtype)), rng)
        self.bias = Parameter(xp.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.in_features} → {self.out_features}, bias={self.bias is not None}"
