"""Dropout (inverted) and maxout: the two regularising pieces of the original MNIST GAN discriminator.

Dropout: eval is the identity; training zeroes about p of the units (within a binomial tolerance), scales
the survivors by exactly 1/(1 − p), back-propagates through the same mask, and is reproducible from a seed.
Maxout: equals a hand computation with NumPy's max, passes the finite-difference check, has the stated
shapes and parameters, and rejects bad arguments.
"""

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan import Tensor, gradcheck, nn
from minigan.engine.backend import get_backend
from minigan.engine.ops import dropout
from strategies import random_array, seeds, shapes

from conftest import assert_close, to_numpy

probabilities = st.floats(0.0, 0.9)


def nonzero_input(xp, shape, seed, dtype=numpy.float32):
    """Values in [1, 2]: never 0, so y/x recovers the mask exactly."""
    return Tensor(random_array(xp, shape, seed, dtype=dtype, low=1.0, high=2.0), requires_grad=True)


# ----- dropout -----------------------------------------------------------------------------------------
@given(shape=shapes(), p=probabilities, seed=seeds)
def test_dropout_in_eval_mode_is_the_identity(xp, shape, p, seed):
    x = nonzero_input(xp, shape, seed)
    assert_close(dropout(x, p, training=False).data, x.data, rtol=0, atol=0)
    layer = nn.Dropout(p).eval()
    assert_close(layer(x).data, x.data, rtol=0, atol=0)


@given(p=probabilities, seed=seeds)
def test_dropout_zeroes_about_p_of_the_units(xp, p, seed):
    n = 20_000
    x = nonzero_input(xp, (n,), 0)
    y = to_numpy(dropout(x, p, rng=get_backend().rng(seed)).data)
    zeros = int((y == 0).sum())
    # zeros ~ Binomial(n, p): six standard deviations (a false alarm once in ~10⁹ draws), plus one for p = 0.
    assert abs(zeros - n * p) <= 6 * (n * p * (1 - p)) ** 0.5 + 1


@given(shape=shapes(), p=probabilities, seed=seeds)
def test_dropout_survivors_are_scaled_by_one_over_keep_probability(xp, shape, p, seed):
    x = nonzero_input(xp, shape, seed)
    y = dropout(x, p, rng=get_backend().rng(seed))
    kept = to_numpy(y.data) != 0
    expected = to_numpy(x.data) * numpy.float32(1 / (1 - p))
    assert_close(to_numpy(y.data)[kept], expected[kept], rtol=1e-7, atol=0)


@given(shape=shapes(), p=probabilities, seed=seeds)
def test_dropout_gradient_is_the_same_mask_times_the_scale(xp, shape, p, seed):
    x = nonzero_input(xp, shape, seed)
    y = dropout(x, p, rng=get_backend().rng(seed))
    mask = (to_numpy(y.data) != 0) / numpy.float32(1 - p)  # the mask used, times 1/(1 − p)
    cotangent = random_array(xp, shape, seed + 1, dtype=numpy.float32)
    y.backward(cotangent)
    assert x.grad.dtype == numpy.float32
    assert_close(x.grad, to_numpy(cotangent) * mask, rtol=1e-6, atol=0)


@given(shape=shapes(), p=probabilities, seed=seeds)
def test_dropout_same_seed_same_mask(xp, shape, p, seed):
    x = nonzero_input(xp, shape, seed)
    first = dropout(x, p, rng=get_backend().rng(seed)).data
    second = dropout(x, p, rng=get_backend().rng(seed)).data
    assert_close(first, second, rtol=0, atol=0)


def test_dropout_default_generator_follows_minigan_seed(xp):
    import minigan

    x = nonzero_input(xp, (1000,), 0)
    minigan.seed(7)
    first = nn.Dropout(0.5)(x).data
    minigan.seed(7)
    second = nn.Dropout(0.5)(x).data
    assert_close(first, second, rtol=0, atol=0)
    assert not numpy.array_equal(to_numpy(first), to_numpy(nn.Dropout(0.5)(x).data))  # the stream moves on


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_dropout_keeps_the_dtype(xp, dtype):
    x = nonzero_input(xp, (3, 4), 0, dtype=dtype)
    y = dropout(x, 0.3)
    y.backward(xp.ones(y.shape, dtype=dtype))
    assert y.dtype == dtype and x.grad.dtype == dtype


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_probability_must_be_in_zero_one(xp, p):
    x = nonzero_input(xp, (3,), 0)
    with pytest.raises(ValueError, match=rf"p must be in \[0, 1\), got {p}"):
        dropout(x, p)
    with pytest.raises(ValueError, match=rf"p must be in \[0, 1\), got {p}"):
        nn.Dropout(p)


# ----- maxout ------------------------------------------------------------------------------------------
maxout_sizes = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3))  # N, in, out, pieces


@given(sizes=maxout_sizes, seed=seeds)
def test_maxout_equals_the_max_over_pieces_of_affine_maps(xp, sizes, seed):
    batch, in_features, out_features, pieces = sizes
    layer = nn.Maxout(in_features, out_features, pieces, dtype=numpy.float64, rng=get_backend().rng(seed))
    layer.linear.bias.data[...] = random_array(xp, (out_features * pieces,), seed + 1)
    x = Tensor(random_array(xp, (batch, in_features), seed))
    weight, bias = to_numpy(layer.linear.weight.data), to_numpy(layer.linear.bias.data)
    expected = numpy.empty((batch, out_features))
    for j in range(out_features):  # unit j uses rows j, out + j, 2·out + j, … (pieces-major)
        rows = slice(j, out_features * pieces, out_features)
        expected[:, j] = numpy.max(to_numpy(x.data) @ weight[rows].T + bias[rows], axis=1)
    y = layer(x)
    assert y.shape == (batch, out_features)
    assert_close(y.data, expected, rtol=1e-12)


@given(sizes=maxout_sizes, seed=seeds)
def test_maxout_gradients(xp, sizes, seed):
    batch, in_features, out_features, pieces = sizes
    layer = nn.Maxout(in_features, out_features, pieces, dtype=numpy.float64, rng=get_backend().rng(seed))
    layer.linear.bias.data[...] = random_array(xp, (out_features * pieces,), seed + 1)
    x = Tensor(random_array(xp, (batch, in_features), seed), requires_grad=True)
    # The layer reads its own parameters, which gradcheck perturbs in place.
    gradcheck(lambda x, w, b: layer(x), [x, layer.linear.weight, layer.linear.bias], seed=seed + 2)


def test_maxout_gradient_reaches_only_the_winning_piece(xp):
    layer = nn.Maxout(1, 1, 3, dtype=numpy.float64)
    layer.linear.weight.data[...] = xp.asarray([[1.0], [2.0], [3.0]])
    layer.linear.bias.data[...] = 0
    layer(Tensor(xp.asarray([[1.0]]))).backward(xp.ones((1, 1)))
    assert_close(layer.linear.bias.grad, [0.0, 0.0, 1.0], rtol=0, atol=0)
    assert_close(layer.linear.weight.grad, [[0.0], [0.0], [1.0]], rtol=0, atol=0)


def test_maxout_parameters_and_float32(xp):
    layer = nn.Maxout(5, 3, 2)
    assert [(name, p.shape) for name, p in layer.named_parameters()] == [("linear.weight", (6, 5)), ("linear.bias", (6,))]
    x = Tensor(random_array(xp, (4, 5), 0, dtype=numpy.float32), requires_grad=True)
    y = layer(x)
    y.backward(xp.ones(y.shape, dtype=numpy.float32))
    assert y.shape == (4, 3) and y.dtype == numpy.float32 and x.grad.dtype == numpy.float32


def test_maxout_errors(xp):
    with pytest.raises(ValueError, match="pieces must be a positive int, got 0"):
        nn.Maxout(4, 3, 0)
    with pytest.raises(ValueError, match="out_features must be a positive int, got -1"):
        nn.Maxout(4, -1, 2)
    with pytest.raises(ValueError, match=r"input has 3 features \(shape \(2, 3\)\) but weight expects 4"):
        nn.Maxout(4, 2, 2)(Tensor(xp.zeros((2, 3), dtype=numpy.float32)))
