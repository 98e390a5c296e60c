"""Batch-norm layers over channels-last inputs. Their op, with the math, is ``ops.batchnorm.batch_norm``.

Parameters: ``weight`` γ (ones) and ``bias`` β (zeros), shape (C,). Buffers: ``running_mean`` (zeros) and
``running_var`` (ones), shape (C,), saved in ``state_dict``. In training mode (``module.train()``) the
layer normalises with the batch statistics and updates the buffers in place (running_var tracks the
unbiased variance, as in PyTorch); in eval mode (``module.eval()``) it normalises with the buffers.
"""

from ..backend import get_backend
from ..checks import finite_number
from ..ops.batchnorm import batch_norm
from .module import Module, Parameter


class _BatchNorm(Module):
    ndim = None
    layout = None

    def __init__(self, num_features, momentum=0.1, eps=1e-5, dtype=None):
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}")
        if not 0 <= finite_number(type(self).__name__, "momentum", momentum) <= 1:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1], got {momentum}")
        if not finite_number(type(self).__name__, "eps", eps) > 0:  # eps = inf would silently output β everywhere
            raise ValueError(f"{type(self).__name__}: eps must be positive, got {eps}")
        xp, dtype = get_backend().xp, dtype or get_backend().dtype
        self.num_features, self.momentum, self.eps = num_features, momentum, eps
        self.weight = Parameter(xp.ones(num_features, dtype=dtype))
        self.bias = Parameter(xp.zeros(num_features, dtype=dtype))
        self.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", xp.ones(num_features, dtype=dtype))

    def forward(self, x):
        if x.ndim != self.ndim:
            raise ValueError(f"{type(self).__name__}: input must have shape {self.layout} ({self.ndim} dimensions), got shape {x.shape}")
        return batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, self.training, self.momentum, self.eps)

    def check_state(self, where, prefix, state):
        """A variance is ≥ 0: a negative running_var would make eval-mode outputs NaN (√(var + ε))."""
        variance = state.get("running_var")
        if variance is not None and (variance < 0).any():
            raise ValueError(f"{where}: {prefix}running_var must be ≥ 0 (a variance), found {int((variance < 0).sum())} "
                             f"negative value(s), the smallest {variance.min()}")

    def extra_repr(self):
        return f"{self.num_features}, momentum={self.momentum}, eps={self.eps}"


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) features, e.g. after a dense layer; statistics over the N rows."""

    ndim, layout = 2, "(N, C)"


class BatchNorm2d(_BatchNorm):
    """Batch norm of channels-last (N, H, W, C) maps; statistics per channel over N·H·W positions."""

    ndim, layout = 4, "(N, H, W, C)"
