"""Hypothesis strategies shared by the tests.

Hypothesis draws the *structure* of a case (shapes, broadcasting patterns, axes, geometry) and a seed;
the values come from a seeded standard normal. Drawn values would often tie or sit exactly on a kink
(max, ReLU), where a finite difference is not a derivative; normal values almost surely do neither.
"""

import numpy
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def shapes(min_dims=1, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_pairs(max_dims=3, max_side=4):
    """Two shapes that broadcast against each other, e.g. (3, 1) and (2, 1, 4)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=max_dims, max_side=max_side).map(lambda s: s.input_shapes)


def random_array(xp, shape, seed, dtype=numpy.float64, low=None, high=None):
    """Standard-normal values (or uniform in [low, high]) from ``seed``, on ``xp``'s device."""
    rng = numpy.random.default_rng(seed)
    values = rng.standard_normal(shape) if low is None else rng.uniform(low, high, size=shape)
    return xp.asarray(numpy.asarray(values, dtype=dtype))


@st.composite
def shape_and_axis(draw, max_dims=3, max_side=4):
    """A shape and an ``axis`` argument for a reduction: None, an int (maybe negative) or a tuple."""
    shape = draw(shapes(1, max_dims, 1, max_side))
    ndim = len(shape)
    axis = draw(st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
    ))
    return shape, axis


@st.composite
def batch_norm_shapes(draw, min_rows=2, max_side=3, max_channels=3):
    """A channels-last batch-norm input: (N, C) or (N, H, W, C), with m = N·H·W ≥ min_rows rows per channel."""
    channels = draw(st.integers(1, max_channels))
    if draw(st.booleans()):
        return (draw(st.integers(min_rows, max(min_rows, 2 * max_side))), channels)
    n, h, w = (draw(st.integers(1, max_side)) for _ in range(3))
    n = max(n, -(-min_rows // (h * w)))  # the fewest examples that give min_rows rows
    return (n, h, w, channels)


@st.composite
def layer_norm_shapes(draw, min_features=4, max_side=3, max_feature_axes=3, max_leading=2):
    """An input shape (…, *F) and its normalized_shape F: one to ``max_feature_axes`` trailing axes holding at least
    ``min_features`` values (with fewer, x̂ is ±1 or 0 and the gradient with respect to x nearly vanishes),
    after zero to ``max_leading`` leading (example) axes."""
    features = draw(shapes(1, max_feature_axes, 1, max_side).filter(lambda f: numpy.prod(f) >= min_features))
    leading = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=max_leading)))
    return leading + tuple(features), tuple(features)


# ----- convolution geometry -------------------------------------------------------------------------

from typing import NamedTuple  # noqa: E402  (kept with the conv strategies that use it)


class ConvGeometry(NamedTuple):
    """One 2-D (transposed) convolution case; every spatial field is an (h, w) pair."""

    batch: int
    in_channels: int
    out_channels: int
    size: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    output_padding: tuple  # (0, 0) unless drawn for a transposed conv


def hw_pairs(low, high):
    """An (h, w) pair of ints in [low, high]; h and w drawn independently so non-square cases occur."""
    return st.tuples(st.integers(low, high), st.integers(low, high))


@st.composite
def conv_geometries(draw, transposed=False, max_batch=2, max_side=6, max_channels=3, max_kernel=3, max_stride=3, max_padding=2, max_dilation=2):
    """Small conv geometry. It may be impossible (kernel wider than the padded input, or a transposed
    output of size ≤ 0): tests skip those cases with ``assume``. For ``transposed=True`` an
    ``output_padding`` smaller than the stride or the dilation is drawn too (PyTorch's rule)."""
    stride, dilation = draw(hw_pairs(1, max_stride)), draw(hw_pairs(1, max_dilation))
    output_padding = (0, 0)
    if transposed:
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    return ConvGeometry(
        batch=draw(st.integers(1, max_batch)),
        in_channels=draw(st.integers(1, max_channels)),
        out_channels=draw(st.integers(1, max_channels)),
        size=draw(hw_pairs(1, max_side)),
        kernel=draw(hw_pairs(1, max_kernel)),
        stride=stride,
        padding=draw(hw_pairs(0, max_padding)),
        dilation=dilation,
        output_padding=output_padding,
    )
