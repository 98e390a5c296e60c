"""Softmax cross-entropy: value against the definition, gradient against finite differences, stability, errors."""

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import assert_close
from minigan import Tensor, gradcheck, losses
from strategies import random_array, seeds


def reference_cross_entropy(z, y):
    """−log softmax(z)_y straight from the definition, row by row (float64, no tricks)."""
    z = numpy.asarray(z, dtype=numpy.float64)
    rows = z.reshape(-1, z.shape[-1])
    out = [-numpy.log(numpy.exp(row[label]) / numpy.exp(row).sum()) for row, label in zip(rows, numpy.ravel(y))]
    return numpy.array(out).reshape(z.shape[:-1])


@st.composite
def logits_and_labels(draw, max_batch=5, max_classes=6):
    """A shape (N, C) — or (A, B, C) — of logits, a seed for their values and seeded labels in [0, C)."""
    batch = draw(st.lists(st.integers(1, max_batch), min_size=1, max_size=2))
    classes = draw(st.integers(1, max_classes))
    seed = draw(seeds)
    labels = numpy.random.default_rng(seed + 1).integers(0, classes, size=tuple(batch))
    return tuple(batch) + (classes,), labels, seed


@given(case=logits_and_labels(), reduction=st.sampled_from(["none", "sum", "mean"]))
def test_cross_entropy_matches_the_definition(xp, case, reduction):
    shape, labels, seed = case
    z = Tensor(random_array(xp, shape, seed) * 3)
    expected = reference_cross_entropy(z.numpy(), labels)
    expected = {"none": expected, "sum": expected.sum(), "mean": expected.mean()}[reduction]
    loss = losses.cross_entropy(z, xp.asarray(labels), reduction=reduction)
    numpy.testing.assert_allclose(loss.numpy(), expected, rtol=1e-10, atol=1e-12)


@given(case=logits_and_labels())
def test_cross_entropy_gradient_is_softmax_minus_onehot_and_passes_gradcheck(xp, case):
    shape, labels, seed = case
    z = Tensor(random_array(xp, shape, seed) * 3, requires_grad=True)
    gradcheck(lambda z: losses.cross_entropy(z, labels, reduction="none"), [z])
    z.grad = None
    losses.cross_entropy(z, labels, reduction="sum").backward()
    softmax = numpy.exp(z.numpy()) / numpy.exp(z.numpy()).sum(axis=-1, keepdims=True)
    onehot = numpy.eye(shape[-1])[labels]
    assert_close(z.grad, softmax - onehot, atol=1e-12)


def test_cross_entropy_is_finite_at_logits_plus_minus_1e4_in_float32(xp):
    z = Tensor(xp.asarray([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=numpy.float32), requires_grad=True)
    labels = xp.asarray([0, 1, 2])
    with numpy.errstate(over="raise", invalid="raise", divide="raise"):
        loss = losses.cross_entropy(z, labels, reduction="none")
        loss.sum().backward()
    assert loss.dtype == numpy.float32 and z.grad.dtype == numpy.float32
    # right class with a margin of 1e4: no loss; wrong by 2e4: loss 2e4; three equal logits: log 3.
    assert_close(loss.data, numpy.array([0.0, 2e4, numpy.log(3)]), rtol=1e-6)
    assert_close(z.grad, numpy.array([[0, 0, 0], [1, -1, 0], [1 / 3, 1 / 3, -2 / 3]]), rtol=0, atol=1e-6)


def test_cross_entropy_mean_gradient_is_divided_by_the_batch_size(xp):
    z = Tensor(xp.zeros((4, 2)), requires_grad=True)
    losses.cross_entropy(z, [0, 0, 1, 1]).backward()
    assert_close(z.grad, [[-0.125, 0.125], [-0.125, 0.125], [0.125, -0.125], [0.125, -0.125]])


def test_cross_entropy_accepts_labels_as_a_list_array_or_tensor_and_gives_them_no_gradient(xp):
    z = Tensor(xp.asarray(numpy.random.default_rng(0).standard_normal((3, 4))), requires_grad=True)
    label_forms = ([1, 2, 3], numpy.array([1, 2, 3], numpy.uint8), xp.asarray([1, 2, 3], dtype=numpy.uint8), Tensor(xp.asarray([1, 2, 3])))
    values = [losses.cross_entropy(z, labels).item() for labels in label_forms]
    assert values[0] == values[1] == values[2] == values[3]


def test_cross_entropy_errors(xp):
    z = Tensor(xp.zeros((3, 4), dtype=numpy.float32))
    with pytest.raises(ValueError, match=r"labels have shape \(2,\), expected \(3,\)"):
        losses.cross_entropy(z, [0, 1])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\] for 4 classes, found values from 0 to 4"):
        losses.cross_entropy(z, [0, 1, 4])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\] for 4 classes, found values from -1 to 1"):
        losses.cross_entropy(z, [-1, 0, 1])
    with pytest.raises(TypeError, match="labels must be integers"):
        losses.cross_entropy(z, numpy.array([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match="logits must be floating point"):
        losses.cross_entropy(Tensor(xp.zeros((3, 4), dtype=numpy.int64)), [0, 1, 2])
    with pytest.raises(ValueError, match=r"logits must have shape \(\.\.\., C\)"):
        losses.cross_entropy(Tensor(xp.asarray(1.0, dtype=numpy.float32)), [])
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.cross_entropy(z, [0, 1, 2], reduction="avg")
