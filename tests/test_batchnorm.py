"""Batch normalisation over the last (channel) axis: the fused kernels against their slow twins
(``minigan.engine.ops.reference``: Ioffe & Szegedy 2015, Algorithm 1 and §3, written with x̂), both
against finite differences, the running statistics exactly as documented (PyTorch's rule), normalised
output, float32 throughout, and clear errors."""

import re

import numpy
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import Tensor, gradcheck, nn
from minigan.engine.gradcheck import numerical_gradient, relative_error
from minigan.engine.ops import batch_norm, reference
from strategies import batch_norm_shapes, random_array, seeds

from conftest import assert_close, to_numpy


def leaf(xp, shape, seed, **kwargs):
    return Tensor(random_array(xp, shape, seed, **kwargs), requires_grad=True)


def parameters(xp, channels, seed, dtype=numpy.float64):
    """γ away from 0 and β arbitrary, both requiring gradients."""
    weight = leaf(xp, (channels,), seed, dtype=dtype, low=0.5, high=2.0)
    bias = leaf(xp, (channels,), seed + 1, dtype=dtype)
    return weight, bias


def running_stats(xp, channels, seed, dtype=numpy.float64):
    mean = random_array(xp, (channels,), seed, dtype=dtype)
    var = random_array(xp, (channels,), seed + 1, dtype=dtype, low=0.5, high=2.0)
    return mean, var


# ----- gradients -------------------------------------------------------------------------------------
def checkable(function, inputs, cotangent):
    """Reject (``assume``) a draw where a gradient to be checked nearly vanishes by cancellation.

    Finite differences of L = ⟨v, y⟩ carry a rounding error of about 1e-16·|L|/1e-6 ≈ 1e-9 per element here,
    so a gradient of norm below 1e-2 cannot be confirmed to 1e-6 relative error whatever its correctness.
    Batch norm's gradients are cancelling sums (dβ = Σv, dγ = Σv·x̂, dx ∝ v projected away from 1 and x̂),
    so such draws occur, rarely; they say nothing about the backward pass and are skipped, not loosened.
    """
    for t in inputs:
        t.grad = None
    function(*inputs).backward(cotangent)
    assume(all(float(numpy.linalg.norm(to_numpy(t.grad))) > 1e-2 for t in inputs))


def check(function, inputs, cotangent):
    """gradcheck of ⟨v, f(inputs)⟩ for the drawn cotangent v, after ``checkable``."""
    checkable(function, inputs, cotangent)
    gradcheck(lambda *tensors: (function(*tensors) * Tensor(cotangent)).sum(), inputs)


# In training mode dL/dx = γ·inv_std·(v − mean(v) − x̂·mean(v·x̂)) per channel: the cotangent v projected
# away from 1 and x̂. With m = 2 rows x̂ = ±1 spans everything and y does not depend on x (up to ε), and
# with m = 3 the projection is one Gaussian coordinate, often small; from m = 4 it is 2-dimensional.
# v has its own seed: were it x itself, it would project to exactly zero.
@given(shape=batch_norm_shapes(min_rows=4), seed=seeds)
def test_training_mode_gradients_wrt_input_scale_and_shift(xp, shape, seed):
    x = leaf(xp, shape, seed)
    weight, bias = parameters(xp, shape[-1], seed + 2)
    cotangent = random_array(xp, shape, seed + 1)
    check(lambda x, w, b: batch_norm(x, w, b, None, None, training=True), [x, weight, bias], cotangent)


@given(shape=batch_norm_shapes(), seed=seeds)
def test_eval_mode_gradients_wrt_input_scale_and_shift(xp, shape, seed):
    x = leaf(xp, shape, seed)
    weight, bias = parameters(xp, shape[-1], seed + 2)
    mean, var = running_stats(xp, shape[-1], seed + 4)
    cotangent = random_array(xp, shape, seed + 1)
    check(lambda x, w, b: batch_norm(x, w, b, mean, var, training=False), [x, weight, bias], cotangent)


@given(shape=batch_norm_shapes(), seed=seeds, training=st.booleans())
def test_the_fused_backward_equals_its_twin(xp, shape, seed, training):
    """The fused passes give the gradients of Ioffe & Szegedy §3 (``reference.batch_norm_backward``) and,
    in eval mode, of the affine map of Algorithm 2 (``reference.batch_norm_inference_backward``)."""
    x = leaf(xp, shape, seed)
    weight, bias = parameters(xp, shape[-1], seed + 2)
    mean, var = running_stats(xp, shape[-1], seed + 4)
    cotangent = random_array(xp, shape, seed + 1)
    y = batch_norm(x, weight, bias, mean, var, training=training)
    y.backward(cotangent)
    if training:
        expected_y = reference.batch_norm_forward(x.data, weight.data, bias.data)
        expected = reference.batch_norm_backward(cotangent, x.data, weight.data)
    else:
        expected_y = reference.batch_norm_inference(x.data, weight.data, bias.data, mean, var)
        expected = reference.batch_norm_inference_backward(cotangent, x.data, weight.data, mean, var)
    assert_close(y.data, expected_y, rtol=1e-12, atol=1e-12)
    for name, actual, twin in zip(("dx", "dγ", "dβ"), (x.grad, weight.grad, bias.grad), expected):
        assert actual.shape == twin.shape, name
        assert_close(actual, twin, rtol=1e-10, atol=1e-12)


def twin_gradients_match_finite_differences(forward, backward, shape, seed, xp):
    """Finite differences of ⟨v, forward(x, γ, β)⟩ against ``backward(v, x, γ)``, for the twins alone."""
    x, (weight, bias) = leaf(xp, shape, seed), parameters(xp, shape[-1], seed + 2)
    cotangent = random_array(xp, shape, seed + 1)
    analytic = backward(cotangent, x.data, weight.data)
    # as in ``checkable``: a gradient cancelled to almost nothing cannot be confirmed to 1e-6 by differences
    assume(all(float(numpy.linalg.norm(to_numpy(g))) > 1e-2 for g in analytic))
    as_tensor_function = lambda x, w, b: Tensor(forward(x.data, w.data, b.data))  # noqa: E731
    inputs = [x, weight, bias]
    for index, gradient in enumerate(analytic):
        numeric = numerical_gradient(as_tensor_function, inputs, to_numpy(cotangent), index, step=1e-6)
        assert relative_error(to_numpy(gradient), numeric) < 1e-6, ("dx", "dγ", "dβ")[index]


@given(shape=batch_norm_shapes(min_rows=4), seed=seeds)
def test_twin_training_gradients_match_finite_differences(xp, shape, seed):
    """The formulas of §3, checked against the forward of Algorithm 1 alone."""
    twin_gradients_match_finite_differences(reference.batch_norm_forward, reference.batch_norm_backward, shape, seed, xp)


@given(shape=batch_norm_shapes(), seed=seeds)
def test_twin_eval_gradients_match_finite_differences(xp, shape, seed):
    mean, var = running_stats(xp, shape[-1], seed + 4)
    twin_gradients_match_finite_differences(
        lambda x, w, b: reference.batch_norm_inference(x, w, b, mean, var),
        lambda v, x, w: reference.batch_norm_inference_backward(v, x, w, mean, var), shape, seed, xp)


@pytest.mark.parametrize("training", [True, False])
def test_gradient_of_input_alone_and_of_parameters_alone(xp, training):
    """Only the requested gradients are computed, and they match the full computation."""
    x_data = random_array(xp, (4, 2, 2, 3), 0)
    mean, var = running_stats(xp, 3, 1)
    cotangent = random_array(xp, (4, 2, 2, 3), 2)
    w_data, b_data = (p.data for p in parameters(xp, 3, 3))

    def grads(x_grad, p_grad):
        x = Tensor(x_data.copy(), requires_grad=x_grad)
        w, b = Tensor(w_data.copy(), requires_grad=p_grad), Tensor(b_data.copy(), requires_grad=p_grad)
        batch_norm(x, w, b, mean.copy(), var.copy(), training).backward(cotangent)
        return x.grad, w.grad, b.grad

    full = grads(True, True)
    x_only, params_only = grads(True, False), grads(False, True)
    assert_close(x_only[0], full[0])
    assert x_only[1] is None and x_only[2] is None and params_only[0] is None
    assert_close(params_only[1], full[1])
    assert_close(params_only[2], full[2])


# ----- values ----------------------------------------------------------------------------------------
@given(shape=batch_norm_shapes(), seed=seeds)
def test_eval_mode_normalises_with_the_running_statistics(xp, shape, seed):
    x = Tensor(random_array(xp, shape, seed))
    weight, bias = parameters(xp, shape[-1], seed + 2)
    mean, var = running_stats(xp, shape[-1], seed + 4)
    before = to_numpy(mean).copy(), to_numpy(var).copy()
    y = batch_norm(x, weight, bias, mean, var, training=False)
    assert_close(y.data, reference.batch_norm_inference(x.data, weight.data, bias.data, mean, var))
    assert_close(mean, before[0], rtol=0, atol=0)  # eval mode never touches the running statistics
    assert_close(var, before[1], rtol=0, atol=0)


@given(shape=batch_norm_shapes(), seed=seeds)
def test_training_mode_output_has_zero_mean_and_unit_variance_per_channel(xp, shape, seed):
    x = Tensor(random_array(xp, shape, seed, low=-3.0, high=5.0))
    ones, zeros = Tensor(xp.ones(shape[-1])), Tensor(xp.zeros(shape[-1]))
    y = to_numpy(batch_norm(x, ones, zeros, None, None, training=True).data).reshape(-1, shape[-1])
    rows = to_numpy(x.data).reshape(-1, shape[-1])
    batch_var = rows.var(axis=0)
    assert_close(y.mean(axis=0), numpy.zeros(shape[-1]), atol=1e-12)
    # Exactly σ²/(σ² + ε): 1 up to the ε added under the square root.
    assert_close(y.var(axis=0), batch_var / (batch_var + 1e-5))
    assert_close(y, to_numpy(reference.batch_norm_forward(x.data, ones.data, zeros.data)).reshape(-1, shape[-1]))


def test_running_statistics_after_one_and_two_steps(xp):
    """running ← (1 − momentum)·running + momentum·batch statistic, the variance unbiased (m/(m − 1))."""
    momentum, channels = 0.25, 3
    layer = nn.BatchNorm2d(channels, momentum=momentum, dtype=numpy.float64)
    expected_mean, expected_var = xp.zeros(channels), xp.ones(channels)
    for step in range(2):
        x = random_array(xp, (2, 3, 2, channels), step, low=-1.0, high=4.0)
        layer(Tensor(x))
        expected_mean, expected_var = reference.update_running_statistics(expected_mean, expected_var, x, momentum)
        assert_close(layer.running_mean, expected_mean, rtol=1e-12)
        assert_close(layer.running_var, expected_var, rtol=1e-12)
    # the twin itself, against NumPy's own mean and unbiased variance (m = 12 rows)
    rows = to_numpy(x).reshape(-1, channels)
    mean, var = reference.update_running_statistics(xp.zeros(channels), xp.zeros(channels), x, momentum)
    assert_close(mean, momentum * rows.mean(axis=0), rtol=1e-12)
    assert_close(var, momentum * rows.var(axis=0, ddof=1), rtol=1e-12)


def test_modules_switch_between_batch_and_running_statistics(xp):
    layer = nn.BatchNorm1d(2, dtype=numpy.float64)
    x = Tensor(random_array(xp, (5, 2), 0, low=1.0, high=3.0))
    trained = layer(x)
    assert_close(trained.data, reference.batch_norm_forward(x.data, layer.weight.data, layer.bias.data))
    layer.eval()
    evaluated = layer(x)
    assert_close(evaluated.data, reference.batch_norm_inference(x.data, layer.weight.data, layer.bias.data, layer.running_mean, layer.running_var))
    running_before = to_numpy(layer.running_mean).copy()
    layer(x)
    assert_close(layer.running_mean, running_before, rtol=0, atol=0)


def test_module_parameters_buffers_and_state_dict(xp):
    layer = nn.BatchNorm2d(4)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert_close(layer.weight.data, numpy.ones(4), rtol=0, atol=0)
    assert_close(layer.bias.data, numpy.zeros(4), rtol=0, atol=0)
    assert sorted(layer.state_dict()) == ["bias", "running_mean", "running_var", "weight"]
    assert_close(layer.state_dict()["running_mean"], numpy.zeros(4), rtol=0, atol=0)
    assert_close(layer.state_dict()["running_var"], numpy.ones(4), rtol=0, atol=0)


# ----- dtypes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False])
def test_float32_in_float32_out_and_float32_gradients(xp, training):
    layer = nn.BatchNorm2d(3)  # default dtype float32
    layer.train(training)
    x = Tensor(random_array(xp, (2, 3, 3, 3), 0, dtype=numpy.float32), requires_grad=True)
    y = layer(x)
    y.backward(random_array(xp, y.shape, 1, dtype=numpy.float32))
    assert y.dtype == numpy.float32
    for array in (x.grad, layer.weight.grad, layer.bias.grad, layer.running_mean, layer.running_var):
        assert array.dtype == numpy.float32


def test_float32_agrees_with_float64(xp):
    x64 = random_array(xp, (8, 2, 2, 5), 0)
    cotangent = random_array(xp, (8, 2, 2, 5), 1)
    results = {}
    for dtype in (numpy.float32, numpy.float64):
        x = Tensor(x64.astype(dtype), requires_grad=True)
        weight, bias = parameters(xp, 5, 2, dtype=dtype)
        y = batch_norm(x, weight, bias, None, None, training=True)
        y.backward(cotangent.astype(dtype))
        results[dtype] = [to_numpy(a) for a in (y.data, x.grad, weight.grad, bias.grad)]
    for single, double in zip(results[numpy.float32], results[numpy.float64]):
        assert_close(single, double, rtol=1e-4, atol=1e-5)


# ----- errors ----------------------------------------------------------------------------------------
def affine(xp, channels, dtype=numpy.float32):
    """γ = 1, β = 0 and the initial running statistics (0, 1), all (channels,) in ``dtype``."""
    return (Tensor(xp.ones(channels, dtype=dtype)), Tensor(xp.zeros(channels, dtype=dtype)),
            xp.zeros(channels, dtype=dtype), xp.ones(channels, dtype=dtype))


def test_channel_count_mismatch_names_the_sizes(xp):
    x = Tensor(xp.zeros((4, 3), dtype=numpy.float32))
    weight, bias, mean, var = affine(xp, 2)
    with pytest.raises(ValueError, match=re.escape("weight has shape (2,) but x has 3 channels")):
        batch_norm(x, weight, bias, None, None, training=True)
    weight, bias, mean, _ = affine(xp, 3)
    with pytest.raises(ValueError, match=re.escape("running_var has shape (5,) but x has 3 channels")):
        batch_norm(x, weight, bias, mean, xp.ones(5, dtype=numpy.float32), training=False)


def test_training_needs_two_values_per_channel(xp):
    x = Tensor(xp.zeros((1, 1, 1, 3), dtype=numpy.float32))
    weight, bias, mean, var = affine(xp, 3)
    with pytest.raises(ValueError, match=re.escape("m = 1 (x shape (1, 1, 1, 3))")):
        batch_norm(x, weight, bias, mean, var, training=True)
    batch_norm(x, weight, bias, mean, var, training=False)  # a single example is fine in eval mode


def test_dtype_mismatch_names_both_dtypes(xp):
    x = Tensor(xp.zeros((4, 3), dtype=numpy.float64))
    weight, bias, mean, var = affine(xp, 3, dtype=numpy.float32)
    with pytest.raises(TypeError, match="weight has dtype float32 but x has dtype float64"):
        batch_norm(x, weight, bias, None, None, training=True)
    weight, bias, mean, _ = affine(xp, 3, dtype=numpy.float64)
    with pytest.raises(TypeError, match="running_var has dtype float32 but x has dtype float64"):
        batch_norm(x, weight, bias, mean, var, training=True)


def test_eval_mode_requires_running_statistics(xp):
    x = Tensor(xp.zeros((4, 3), dtype=numpy.float32))
    weight, bias, _, _ = affine(xp, 3)
    with pytest.raises(ValueError, match="running_mean is required in eval mode"):
        batch_norm(x, weight, bias, None, None, training=False)


@pytest.mark.parametrize("layer, shape", [(nn.BatchNorm1d, (2, 2, 2, 3)), (nn.BatchNorm2d, (4, 3))])
def test_modules_check_the_input_rank(xp, layer, shape):
    with pytest.raises(ValueError, match=re.escape(f"got shape {shape}")):
        layer(3)(Tensor(xp.zeros(shape, dtype=numpy.float32)))


@given(momentum=st.one_of(st.floats(-2, -0.01), st.floats(1.01, 3)))
def test_momentum_outside_unit_interval_is_rejected(xp, momentum):
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.BatchNorm1d(3, momentum=momentum)


# ----- the composition the engine differentiates for higher orders --------------------------------------
@pytest.mark.parametrize("training", [True, False])
@given(shape=batch_norm_shapes(), seed=seeds)
def test_fused_forward_and_backward_equal_the_composition(xp, training, shape, seed):
    """batch_norm_composed (mean, −, ×, power) is what the engine differentiates when it records the backward;
    the fused kernels must compute the same function and the same first derivatives."""
    from minigan import grad
    from minigan.engine.ops.batchnorm import batch_norm_composed

    x = leaf(xp, shape, seed)
    weight, bias = parameters(xp, shape[-1], seed + 2)
    mean, var = running_stats(xp, shape[-1], seed + 4)
    cotangent = random_array(xp, shape, seed + 1)
    fused = batch_norm(x, weight, bias, mean.copy(), var.copy(), training)
    composed = batch_norm_composed(x, weight, bias, training, mean, var, eps=1e-5)
    assert_close(fused.data, composed.data, rtol=1e-10, atol=1e-12)
    for a, b in zip(grad(fused, [x, weight, bias], grad_outputs=cotangent), grad(composed, [x, weight, bias], grad_outputs=cotangent)):
        assert_close(a.data, b.data, rtol=1e-9, atol=1e-11)
