"""Resolution-changing layers with no parameters. Their ops, with the math, are in ``ops.resample``.

* ``PixelShuffle(r)``    (N, H, W, r²·C) → (N, rH, rW, C): the sub-pixel upsampler (Shi et al. 2016)
* ``PixelUnshuffle(r)``  (N, rH, rW, C) → (N, H, W, r²·C): its inverse
* ``Upsample(s)``        (N, H, W, C) → (N, sH, sW, C): nearest-neighbour copies
"""

from ..ops.resample import pixel_shuffle, pixel_unshuffle, upsample_nearest
from .module import Module


class _Resample(Module):
    op = None

    def __init__(self, factor):
        if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
            raise ValueError(f"{type(self).__name__}: factor must be a positive int, got {factor!r}")
        self.factor = factor

    def forward(self, x):
        return type(self).op(x, self.factor)

    def extra_repr(self):
        return f"factor={self.factor}"


class PixelShuffle(_Resample):
    """Depth to space by ``factor``: each pixel's factor² channel groups become a factor × factor block."""

    op = staticmethod(pixel_shuffle)


class PixelUnshuffle(_Resample):
    """Space to depth by ``factor``: each factor × factor block becomes one pixel's channels."""

    op = staticmethod(pixel_unshuffle)


class Upsample(_Resample):
    """Nearest-neighbour upsampling by ``factor``."""

    op = staticmethod(upsample_nearest)
