"""``ResidualBlock``: y = x + F(x) (He et al. 2016, "Deep Residual Learning for Image Recognition", eq. 1).

    F = conv 3×3 → norm → ReLU → conv 3×3 → norm        (channels → channels, stride 1, 'same' padding)

The block of SRGAN's generator (Ledig et al. 2016, Fig. 4: k3n64s1, batch norm; PReLU there, ReLU here,
since minigan has no PReLU) and of CycleGAN's (Zhu et al. 2017, Appendix 7.2, after Johnson et al. 2016:
instance norm). Why residual: F only has to learn the *change* to x, and the identity path carries
dL/dy to x unchanged, dL/dx = dL/dy + dL/dy·∂F/∂x, so a stack of blocks starts out as (nearly) the
identity and its gradients do not fade with depth.

The padding is zeros (CycleGAN pads by reflection; minigan's conv pads with zeros only).
"""

from .activation import ReLU
from .conv import Conv2d
from .instancenorm import InstanceNorm2d
from .module import Module, Sequential
from .norm import BatchNorm2d

NORMS = ("batch", "instance", None)


def normalisation(kind, channels):
    """The normalisation layer named ``kind``: BatchNorm2d, InstanceNorm2d, or None for none."""
    if kind not in NORMS:
        raise ValueError(f"normalisation: kind must be one of {NORMS}, got {kind!r}")
    return {"batch": BatchNorm2d, "instance": InstanceNorm2d}[kind](channels) if kind else None


class ResidualBlock(Module):
    """x (N, H, W, channels) → x + F(x), same shape; ``norm``: "batch" (SRGAN), "instance" (CycleGAN) or None."""

    def __init__(self, channels, norm="batch", kernel_size=3, rng=None):
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"ResidualBlock: kernel_size must be a positive odd int (so the output keeps the input's size), got {kernel_size!r}")
        bias = norm is None  # a norm's mean subtraction would cancel the conv's bias
        layers = [Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=bias, rng=rng),
                  normalisation(norm, channels), ReLU(),
                  Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=bias, rng=rng),
                  normalisation(norm, channels)]
        self.residual = Sequential(*[layer for layer in layers if layer is not None])
        self.channels, self.norm = channels, norm

    def forward(self, x):
        return x + self.residual(x)

    def extra_repr(self):
        return f"{self.channels}, norm={self.norm}"
