"""``InstanceNorm2d``: instance normalisation of channels-last maps. Its op, with the math, is
``ops.instancenorm.instance_norm`` (Ulyanov et al. 2016).

Unlike batch norm it has no running statistics and no train/eval difference: every image is normalised
by its own per-channel mean and variance, whatever mode the module is in. ``affine=False`` (the default,
the paper's eq. 2 and CycleGAN's choice) learns nothing; ``affine=True`` adds γ (ones) and β (zeros), (C,).
"""

from ..backend import get_backend
from ..checks import boolean, finite_number
from ..ops.instancenorm import instance_norm
from .module import Module, Parameter


class InstanceNorm2d(Module):
    """x (N, H, W, C) → each image's each channel normalised over its H·W pixels (then γ·x̂ + β if affine)."""

    def __init__(self, num_features, eps=1e-5, affine=False, dtype=None):
        if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features < 1:
            raise ValueError(f"InstanceNorm2d: num_features must be a positive int, got {num_features!r}")
        if not finite_number("InstanceNorm2d", "eps", eps) > 0:  # eps = inf would silently output β everywhere
            raise ValueError(f"InstanceNorm2d: eps must be positive, got {eps}")
        affine = boolean("InstanceNorm2d", "affine", affine)  # affine='no' would be true
        xp, dtype = get_backend().xp, dtype or get_backend().dtype
        self.num_features, self.eps, self.affine = num_features, eps, affine
        self.weight = Parameter(xp.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(xp.zeros(num_features, dtype=dtype)) if affine else None

    def forward(self, x):
        if x.ndim != 4 or x.shape[-1] != self.num_features:
            raise ValueError(f"InstanceNorm2d: input must have shape (N, H, W, {self.num_features}), got shape {x.shape}")
        return instance_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, affine={self.affine}"
