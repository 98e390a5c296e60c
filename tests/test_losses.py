"""Losses: values against their definitions, gradients against finite differences, stability."""

import numpy
import pytest
from hypothesis import given

from minigan import Tensor, gradcheck, losses
from strategies import random_array, seeds, shapes


def reference_bce(p, y):
    return -(y * numpy.log(p) + (1 - y) * numpy.log(1 - p))


@given(shape=shapes(), seed=seeds)
def test_bce_with_logits_matches_the_definition_and_its_gradient(xp, shape, seed):
    z = Tensor(random_array(xp, shape, seed) * 3, requires_grad=True)
    y = Tensor(random_array(xp, shape, seed + 1, low=0.0, high=1.0), requires_grad=True)
    expected = reference_bce(1 / (1 + numpy.exp(-z.numpy())), y.numpy()).mean()
    numpy.testing.assert_allclose(losses.binary_cross_entropy_with_logits(z, y).item(), expected, rtol=1e-10)
    gradcheck(lambda z, y: losses.binary_cross_entropy_with_logits(z, y, reduction="none"), [z, y])


@given(shape=shapes(), seed=seeds)
def test_bce_on_probabilities_matches_the_definition_and_its_gradient(xp, shape, seed):
    p = Tensor(random_array(xp, shape, seed, low=0.05, high=0.95), requires_grad=True)
    y = Tensor(random_array(xp, shape, seed + 1, low=0.0, high=1.0), requires_grad=True)
    numpy.testing.assert_allclose(losses.binary_cross_entropy(p, y, reduction="sum").item(), reference_bce(p.numpy(), y.numpy()).sum(), rtol=1e-10)
    gradcheck(lambda p, y: losses.binary_cross_entropy(p, y, reduction="none"), [p, y])


@given(shape=shapes(), seed=seeds)
def test_mse(xp, shape, seed):
    a, b = (Tensor(random_array(xp, shape, seed + i), requires_grad=True) for i in range(2))
    numpy.testing.assert_allclose(losses.mse_loss(a, b).item(), ((a.numpy() - b.numpy()) ** 2).mean(), rtol=1e-10)
    gradcheck(lambda a, b: losses.mse_loss(a, b), [a, b])


def test_bce_with_logits_is_finite_at_plus_minus_1e4_in_float32():
    z = Tensor(numpy.array([1e4, -1e4, 1e4, -1e4], dtype=numpy.float32), requires_grad=True)
    y = Tensor(numpy.array([1.0, 0.0, 0.0, 1.0], dtype=numpy.float32))
    with numpy.errstate(over="raise", invalid="raise", divide="raise"):
        loss = losses.binary_cross_entropy_with_logits(z, y, reduction="none")
        loss.sum().backward()
    assert loss.dtype == numpy.float32
    assert loss.data.tolist() == [0.0, 0.0, 1e4, 1e4]  # right answers: no loss, or |z|
    assert z.grad.tolist() == [0.0, 0.0, 1.0, -1.0]  # σ(z) − y


def test_bce_on_probabilities_clamps_log_at_minus_100():
    p = Tensor(numpy.array([0.0, 1.0]))
    assert losses.binary_cross_entropy(p, Tensor(numpy.array([1.0, 0.0])), reduction="none").data.tolist() == [100.0, 100.0]


def test_scalar_targets_broadcast_and_keep_float32():
    z = Tensor(numpy.zeros(4, dtype=numpy.float32), requires_grad=True)
    loss = losses.binary_cross_entropy_with_logits(z, 1.0)
    assert loss.dtype == numpy.float32 and numpy.isclose(loss.item(), numpy.log(2))


def test_loss_errors():
    z = Tensor(numpy.zeros(3, dtype=numpy.float32))
    with pytest.raises(ValueError, match=r"target shape \(2,\) does not match prediction shape \(3,\)"):
        losses.mse_loss(z, Tensor(numpy.zeros(2, dtype=numpy.float32)))
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.mse_loss(z, z, reduction="avg")
    with pytest.raises(TypeError, match="target has dtype float64 but the prediction has float32"):
        losses.binary_cross_entropy_with_logits(z, Tensor(numpy.zeros(3)))
