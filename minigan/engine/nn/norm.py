"""Normalisation layers over channels-last inputs. Their ops, with the math, are ``ops.batchnorm.batch_norm``
and ``ops.layernorm.layer_norm``.

BatchNorm1d, BatchNorm2d: parameters ``weight`` γ (ones) and ``bias`` β (zeros), shape (C,). Buffers: ``running_mean`` (zeros) and
``running_var`` (ones), shape (C,), saved in ``state_dict``. In training mode (``module.train()``) the
layer normalises with the batch statistics and updates the buffers in place (running_var tracks the
unbiased variance, as in PyTorch); in eval mode (``module.eval()``) it normalises with the buffers.

LayerNorm: each example on its own, so no buffers and no difference between the modes; ``weight`` and
``bias`` have the shape of one example's normalised features.
"""

from ..backend import get_backend
from ..checks import finite_number
from ..ops.batchnorm import batch_norm
from ..ops.layernorm import layer_norm
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


class LayerNorm(Module):
    """Layer norm (Ba et al. 2016) of each example over its last axes, ``normalized_shape``.

    ``LayerNorm(64)`` after a dense layer of 64 features; ``LayerNorm((7, 7, 128))`` after a conv whose
    output is (N, 7, 7, 128), normalising each example over all its H·W·C values (Gulrajani et al. 2017
    use it in the WGAN-GP critic instead of batch norm, §4). Parameters: ``weight`` γ (ones) and ``bias``
    β (zeros), of shape ``normalized_shape``: one scale and shift per feature. No buffers: training and
    evaluation compute the same thing.
    """

    def __init__(self, normalized_shape, eps=1e-5, dtype=None):
        shape = (normalized_shape,) if isinstance(normalized_shape, int) and not isinstance(normalized_shape, bool) else normalized_shape
        if not (isinstance(shape, (tuple, list)) and shape and all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape)):
            raise ValueError(f"LayerNorm: normalized_shape must be a positive int or a non-empty tuple of positive ints, got {normalized_shape!r}")
        if not finite_number("LayerNorm", "eps", eps) > 0:  # eps = inf would silently output β everywhere
            raise ValueError(f"LayerNorm: eps must be positive, got {eps}")
        xp, dtype = get_backend().xp, dtype or get_backend().dtype
        self.normalized_shape, self.eps = tuple(shape), eps
        self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype))
        self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=dtype))

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"
