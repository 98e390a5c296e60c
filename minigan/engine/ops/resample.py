"""Changing an image's resolution without learning: pixel shuffle, its inverse, nearest-neighbour upsampling.

All three are channels-last, (N, H, W, C), and move or copy values without arithmetic, so each backward
is the adjoint of a linear map that only moves or copies:

* ``pixel_shuffle`` (depth to space; Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution
  Using an Efficient Sub-Pixel Convolutional Neural Network", §2.2, eq. 4): (N, H, W, r²·C) → (N, rH, rW, C),
  each pixel's r² groups of C channels laid out as an r × r block. A convolution to r²·C channels
  followed by a pixel shuffle is the paper's sub-pixel convolution, SRGAN's upsampler (Ledig et al.
  2016, Fig. 4). It is a *permutation* of the values, so its adjoint is its inverse:
* ``pixel_unshuffle`` (space to depth): (N, rH, rW, C) → (N, H, W, r²·C), each r × r block stacked into
  the channels;
* ``upsample_nearest``: (N, H, W, C) → (N, sH, sW, C), each pixel copied into an s × s block. Its adjoint
  adds each block back into one pixel (a copy's gradient is the sum of the copies' gradients).

Each backward is written with ops (the other shuffle; a reshape and a sum), so when it is recorded
(``create_graph=True``) its own derivative comes out of those ops: the second derivative of a linear map
is zero, and the gradient of the gradient is moved back the way it came.

Channel order of a block, as TensorFlow's ``depth_to_space`` on NHWC::

    out[n, h·r + i, w·r + j, c] = x[n, h, w, (i·r + j)·C + c]

PyTorch's channels-first ``pixel_shuffle`` reads channel c·r² + i·r + j instead; the two differ by a fixed
permutation of the channels, which a learned convolution before the shuffle absorbs.
"""

from ..autograd import Function, Tensor
from ..backend import array_module
from .reduce import sum as reduce_sum
from .shape import reshape


def _depth_to_space(x, r):
    n, h, w, rrc = x.shape
    c = rrc // (r * r)
    blocks = x.reshape(n, h, w, r, r, c)            # (N, H, W, r²·C) -> (N, H, W, r, r, C): axes (h, w, i, j, c)
    blocks = blocks.transpose(0, 1, 3, 2, 4, 5)     # -> (N, H, r, W, r, C): axes (h, i, w, j, c)
    return blocks.reshape(n, h * r, w * r, c)       # -> (N, rH, rW, C): row h·r + i, column w·r + j


def _space_to_depth(x, r):
    n, rh, rw, c = x.shape
    blocks = x.reshape(n, rh // r, r, rw // r, r, c)  # (N, rH, rW, C) -> (N, H, r, W, r, C)
    blocks = blocks.transpose(0, 1, 3, 2, 4, 5)       # -> (N, H, W, r, r, C)
    return blocks.reshape(n, rh // r, rw // r, r * r * c)  # -> (N, H, W, r²·C): channel (i·r + j)·C + c


class PixelShuffle(Function):
    """out[n, h·r + i, w·r + j, c] = x[n, h, w, (i·r + j)·C + c];   dL/dx = pixel_unshuffle(dL/dout) (a permutation's adjoint is its inverse)."""

    def forward(self, x, factor):
        self.factor = factor
        return _depth_to_space(x, factor)

    def backward(self, grad):
        return PixelUnshuffle.apply(grad, factor=self.factor)


class PixelUnshuffle(Function):
    """out[n, h, w, (i·r + j)·C + c] = x[n, h·r + i, w·r + j, c];   dL/dx = pixel_shuffle(dL/dout)."""

    def forward(self, x, factor):
        self.factor = factor
        return _space_to_depth(x, factor)

    def backward(self, grad):
        return PixelShuffle.apply(grad, factor=self.factor)


class UpsampleNearest(Function):
    """out[n, h·s + i, w·s + j, c] = x[n, h, w, c] for 0 ≤ i, j < s;   dL/dx[n, h, w, c] = Σ_{i, j} dL/dout[n, h·s + i, w·s + j, c]."""

    def forward(self, x, factor):
        xp = array_module(x)
        n, h, w, c = x.shape
        self.factor = s = factor
        copies = xp.broadcast_to(x[:, :, None, :, None, :], (n, h, s, w, s, c))  # a view: x repeated along the new axes
        return copies.reshape(n, h * s, w * s, c)  # (N, H, s, W, s, C) -> (N, sH, sW, C): the one copy made

    def backward(self, grad):
        n, sh, sw, c = grad.shape
        s = self.factor
        blocks = reshape(grad, (n, sh // s, s, sw // s, s, c))  # (N, sH, sW, C) -> (N, H, s, W, s, C)
        return reduce_sum(blocks, axis=(2, 4))                 # -> (N, H, W, C): each block added into its pixel


def _check(x, factor, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: x must be a Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{op}: x must have shape (N, H, W, C) (channels-last), got shape {x.shape}")
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
        raise ValueError(f"{op}: factor must be a positive int, got {factor!r}")


def pixel_shuffle(x, factor):
    """Depth to space: x (N, H, W, factor²·C) → (N, factor·H, factor·W, C)."""
    _check(x, factor, "pixel_shuffle")
    if x.shape[3] % (factor * factor):
        raise ValueError(f"pixel_shuffle: the {x.shape[3]} channels of x (shape {x.shape}) are not a multiple of factor² = {factor * factor}")
    return PixelShuffle.apply(x, factor=factor)


def pixel_unshuffle(x, factor):
    """Space to depth: x (N, factor·H, factor·W, C) → (N, H, W, factor²·C); the inverse of ``pixel_shuffle``."""
    _check(x, factor, "pixel_unshuffle")
    if x.shape[1] % factor or x.shape[2] % factor:
        raise ValueError(f"pixel_unshuffle: the image size {x.shape[1]}×{x.shape[2]} (shape {x.shape}) is not a multiple of factor {factor}")
    return PixelUnshuffle.apply(x, factor=factor)


def upsample_nearest(x, factor):
    """Nearest-neighbour upsampling: x (N, H, W, C) → (N, factor·H, factor·W, C), each pixel a factor × factor block."""
    _check(x, factor, "upsample_nearest")
    return UpsampleNearest.apply(x, factor=factor)
