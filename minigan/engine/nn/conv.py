"""``Conv2d`` and ``ConvTranspose2d``: channels-last convolution layers. Their ops are in ``ops.conv``.

Images are (N, H, W, C). Both layers store their weight in conv2d's layout (out, kh, kw, in) *of the
convolution*; for ``ConvTranspose2d`` that convolution is the one it is the adjoint of, so its weight is
(in_channels, kh, kw, out_channels) — the transposed layer maps in_channels → out_channels.
"""

from ..backend import get_backend
from ..ops.conv import conv2d, conv_transpose2d
from . import init
from .module import Module, Parameter


def _kernel_pair(kernel_size, layer):
    pair = (kernel_size, kernel_size) if isinstance(kernel_size, int) and not isinstance(kernel_size, bool) else kernel_size
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in pair)):
        raise ValueError(f"{layer}: kernel_size must be a positive int or an (h, w) pair of positive ints, got {kernel_size!r}")
    return tuple(pair)


def _check_channels(layer, in_channels, out_channels):
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")


class Conv2d(Module):
    """x (N, H, W, in_channels) → conv2d(x, W, b) (N, oh, ow, out_channels).

    oh = floor((H + 2p − d(kh − 1) − 1) / s) + 1, likewise ow.

    Parameters: ``weight`` (out_channels, kh, kw, in_channels), Glorot-uniform with
    fan_in = kh·kw·in_channels and fan_out = kh·kw·out_channels; ``bias`` (out_channels,), zero.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, bias=True, dtype=None, rng=None):
        _check_channels("Conv2d", in_channels, out_channels)
        kh, kw = _kernel_pair(kernel_size, "Conv2d")
        xp, dtype = get_backend().xp, dtype or get_backend().dtype
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, (kh, kw)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.weight = init.glorot_uniform_(Parameter(xp.empty((out_channels, kh, kw, in_channels), dtype=dtype)), rng)
        self.bias = Parameter(xp.zeros(out_channels, dtype=dtype)) if bias else None

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self):
        return (f"{self.in_channels} → {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, bias={self.bias is not None}")


class ConvTranspose2d(Module):
    """x (N, H, W, in_channels) → conv_transpose2d(x, W, b) (N, oh, ow, out_channels).

    oh = (H − 1)s − 2p + d(kh − 1) + output_padding + 1, likewise ow (DCGAN's k4 s2 p1 doubles H).

    Parameters: ``weight`` (in_channels, kh, kw, out_channels) — the layout of the conv from
    out_channels to in_channels whose input gradient this layer is —, Glorot-uniform; ``bias``
    (out_channels,), zero.

    Fans: ``init.fans`` reads this weight as that conv's, fan_in = kh·kw·out_channels and
    fan_out = kh·kw·in_channels — swapped relative to the data flow of the transposed layer (the same
    reading as PyTorch's for its ConvTranspose weights). Glorot depends only on fan_in + fan_out, so
    the swap does not change the bound √(6 / (kh·kw·(in + out))). Strictly, each output of a stride-s
    transposed conv sums about in_channels·kh·kw / s² terms, so "fan" here is a scale, not a count.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, dilation=1, bias=True, dtype=None, rng=None):
        _check_channels("ConvTranspose2d", in_channels, out_channels)
        kh, kw = _kernel_pair(kernel_size, "ConvTranspose2d")
        xp, dtype = get_backend().xp, dtype or get_backend().dtype
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, (kh, kw)
        self.stride, self.padding, self.output_padding, self.dilation = stride, padding, output_padding, dilation
        self.weight = init.glorot_uniform_(Parameter(xp.empty((in_channels, kh, kw, out_channels), dtype=dtype)), rng)
        self.bias = Parameter(xp.zeros(out_channels, dtype=dtype)) if bias else None

    def forward(self, x):
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.dilation)

    def extra_repr(self):
        return (f"{self.in_channels} → {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, output_padding={self.output_padding}, dilation={self.dilation}, bias={self.bias is not None}")
