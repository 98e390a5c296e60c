"""Losses: values against their definitions, gradients against finite differences, stability."""

import numpy
import pytest
from hypothesis import given

from minigan import Tensor, gradcheck, losses
from minigan.engine.backend import array_module
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


def test_bce_with_logits_is_finite_at_plus_minus_1e4_in_float32(xp):
    z = Tensor(xp.asarray([1e4, -1e4, 1e4, -1e4], dtype=numpy.float32), requires_grad=True)
    y = Tensor(xp.asarray([1.0, 0.0, 0.0, 1.0], dtype=numpy.float32))
    with numpy.errstate(over="raise", invalid="raise", divide="raise"):
        loss = losses.binary_cross_entropy_with_logits(z, y, reduction="none")
        loss.sum().backward()
    assert loss.dtype == numpy.float32
    assert loss.data.tolist() == [0.0, 0.0, 1e4, 1e4]  # right answers: no loss, or |z|
    assert z.grad.tolist() == [0.0, 0.0, 1.0, -1.0]  # σ(z) − y


def test_bce_on_probabilities_clamps_log_at_minus_100(xp):
    p = Tensor(xp.asarray([0.0, 1.0]))
    assert losses.binary_cross_entropy(p, Tensor(xp.asarray([1.0, 0.0])), reduction="none").data.tolist() == [100.0, 100.0]


def test_scalar_targets_broadcast_and_keep_float32(xp):
    z = Tensor(xp.zeros(4, dtype=numpy.float32), requires_grad=True)
    loss = losses.binary_cross_entropy_with_logits(z, 1.0)
    assert loss.dtype == numpy.float32 and numpy.isclose(loss.item(), numpy.log(2))


@pytest.mark.parametrize("loss", ["mse_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy"])
def test_a_numpy_target_is_moved_to_the_predictions_device(xp, loss):
    """Targets often come from the host (a data set's labels); the loss takes them to the prediction's
    device instead of mixing a host array with a device array in one op (which CuPy refuses)."""
    prediction = Tensor(xp.asarray([0.25, 0.5, 0.75]), requires_grad=True)
    target = numpy.array([0.0, 1.0, 1.0])
    value = getattr(losses, loss)(prediction, target)
    expected = getattr(losses, loss)(prediction, Tensor(xp.asarray(target)))
    assert array_module(value.data) is xp and value.item() == expected.item()
    value.backward()
    assert array_module(prediction.grad) is xp


def test_loss_errors(xp):
    z = Tensor(xp.zeros(3, dtype=numpy.float32))
    with pytest.raises(ValueError, match=r"target shape \(2,\) does not match prediction shape \(3,\)"):
        losses.mse_loss(z, Tensor(xp.zeros(2, dtype=numpy.float32)))
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.mse_loss(z, z, reduction="avg")
    with pytest.raises(TypeError, match="target has dtype float64 but the prediction has float32"):
        losses.binary_cross_entropy_with_logits(z, Tensor(xp.zeros(3)))


# ----- the boundaries: infinite logits, NaN and out-of-range probabilities, bad arguments -------------------
INF = numpy.inf


@pytest.mark.parametrize("constant_target", [True, False], ids=["number target", "array target"])
def test_bce_with_logits_is_exact_at_plus_minus_infinity(xp, constant_target):
    # ℓ(+∞, 1) = ℓ(−∞, 0) = 0, ℓ(+∞, 0) = ℓ(−∞, 1) = +∞; the gradient σ(z) − y is 0 or ±1 there.
    for target, logits, loss, gradient in [(1.0, [INF, -INF], [0.0, INF], [0.0, -1.0]),
                                           (0.0, [-INF, INF], [0.0, INF], [0.0, 1.0]),
                                           (0.25, [INF, -INF], [INF, INF], [0.75, -0.25])]:
        z = Tensor(xp.asarray(logits, dtype=xp.float32), requires_grad=True)
        y = target if constant_target else Tensor(xp.full(2, target, dtype=xp.float32))
        with numpy.errstate(all="raise"):  # no 0·∞ or ∞ − ∞ evaluated on the way (NumPy raises; CuPy never warns)
            value = losses.binary_cross_entropy_with_logits(z, y, reduction="none")
            value.sum().backward()
        assert value.numpy().tolist() == loss and z.grad.tolist() == gradient, (target, logits)
        assert value.dtype == numpy.float32


def test_bce_with_logits_does_not_cancel_for_large_logits_in_float32(xp):
    # softplus(z) − z rounds to 0 in float32 for z ≳ 17; the loss −log σ(z) = log(1 + e^−z) is e^−z to first order.
    z = numpy.array([5.0, 17.0, 20.0, 40.0, 80.0])
    for target, logits in [(1.0, z), (0.0, -z)]:
        value = losses.binary_cross_entropy_with_logits(Tensor(xp.asarray(logits, dtype=xp.float32)), target, reduction="none")
        numpy.testing.assert_allclose(value.numpy(), numpy.log1p(numpy.exp(-z)), rtol=1e-6)


def test_bce_number_and_array_targets_agree(xp):
    z = Tensor(random_array(xp, (6,), 3) * 4)
    for target in (0.0, 0.1, 0.5, 0.9, 1.0):
        as_array = Tensor(xp.full(6, target))
        for loss in (losses.binary_cross_entropy_with_logits, lambda z, y, **kw: losses.binary_cross_entropy(z.sigmoid(), y, **kw)):
            numpy.testing.assert_allclose(loss(z, target, reduction="none").numpy(), loss(z, as_array, reduction="none").numpy(), rtol=1e-12)


def test_bce_on_probabilities_refuses_nan_instead_of_reporting_100(xp):
    with pytest.raises(ValueError, match=r"binary_cross_entropy: probabilities must lie in \[0, 1\], found values from nan to nan"):
        losses.binary_cross_entropy(Tensor(xp.asarray([numpy.nan])), 1.0)
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\], found values from nan to nan"):  # min and max propagate NaN
        losses.binary_cross_entropy(Tensor(xp.asarray([0.2, numpy.nan])), Tensor(xp.asarray([1.0, 0.0])))


def test_bce_on_probabilities_refuses_p_and_targets_outside_0_1(xp):
    p = Tensor(xp.asarray([0.5, 1.5]))
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\], found values from 0.5 to 1.5 \(logits\? use binary_cross_entropy_with_logits\)"):
        losses.binary_cross_entropy(p, 1.0)
    half = Tensor(xp.asarray([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: target must lie in \[0, 1\], found values from 0.0 to 2.0"):
        losses.binary_cross_entropy(half, Tensor(xp.asarray([0.0, 2.0])))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: target must lie in \[0, 1\], got 2"):
        losses.binary_cross_entropy(half, 2)
    assert losses.binary_cross_entropy(Tensor(xp.asarray([0.0, 1.0])), Tensor(xp.asarray([0.0, 1.0]))).item() == 0.0  # the ends are in


@pytest.mark.parametrize("target", [2.0, -0.5, float("nan"), numpy.float32(1.5)])
def test_bce_with_logits_refuses_a_number_target_outside_0_1(xp, target):
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target must lie in \[0, 1\], got"):
        losses.binary_cross_entropy_with_logits(Tensor(xp.zeros(3, dtype=xp.float32)), target)


def test_bce_with_logits_refuses_an_array_target_outside_0_1(xp):
    """A target array of 2.0 gave a negative 'cross-entropy' (issue 22); its range is now read, once per call."""
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target must lie in \[0, 1\], found values from 2.0 to 2.0"):
        losses.binary_cross_entropy_with_logits(Tensor(xp.zeros(3, dtype=xp.float32)), Tensor(xp.full(3, 2.0, dtype=xp.float32)))
    soft = Tensor(xp.asarray([0.0, 0.5, 1.0], dtype=xp.float32))
    assert losses.binary_cross_entropy_with_logits(Tensor(xp.zeros(3, dtype=xp.float32)), soft).item() == pytest.approx(numpy.log(2))


def test_losses_wrap_arrays_and_refuse_integer_predictions(xp):
    z = xp.zeros(3, dtype=xp.float32)
    assert losses.binary_cross_entropy_with_logits(z, 1.0).item() == pytest.approx(numpy.log(2))  # an array is wrapped
    assert losses.mse_loss(z, 1.0).item() == 1.0
    for loss, argument in [(losses.binary_cross_entropy_with_logits, "logits"), (losses.binary_cross_entropy, "probabilities"),
                           (losses.mse_loss, "prediction")]:
        with pytest.raises(TypeError, match=f"{argument} must be floating point, got dtype int64"):
            loss(Tensor(xp.zeros(3, dtype=xp.int64)), 1.0)
