"""Layer normalisation over each example's trailing axes: the fused forward and backward against the plain
composition, the plain twins in reference.py and finite differences, per-example statistics, the module, float32 throughout, and errors.
(Its second derivatives are in test_double_backward.)"""

import re

import numpy
import pytest
from hypothesis import assume, given

from minigan import Tensor, grad, gradcheck, nn
from minigan.engine.ops import layer_norm
from minigan.engine.gradcheck import numerical_gradient, relative_error
from minigan.engine.ops import reference
from minigan.engine.ops.layernorm import layer_norm_composed

from conftest import assert_close, to_numpy
from strategies import layer_norm_shapes, random_array, seeds


def leaf(xp, shape, seed, **kwargs):
    return Tensor(random_array(xp, shape, seed, **kwargs), requires_grad=True)


def case(xp, shapes, seed, dtype=numpy.float64):
    shape, normalized_shape = shapes
    x = leaf(xp, shape, seed, dtype=dtype)
    weight = leaf(xp, normalized_shape, seed + 1, dtype=dtype, low=0.5, high=2.0)
    bias = leaf(xp, normalized_shape, seed + 2, dtype=dtype)
    return x, weight, bias, normalized_shape


@given(shapes=layer_norm_shapes(), seed=seeds)
def test_gradients_match_finite_differences(xp, shapes, seed):
    x, weight, bias, normalized_shape = case(xp, shapes, seed)
    cotangent = random_array(xp, x.shape, seed + 3)
    # as in test_batchnorm.checkable: dL/dx is v projected away from 1 and x̂ per example and may nearly vanish
    gradients = grad(layer_norm(x, normalized_shape, weight, bias), [x, weight, bias], grad_outputs=cotangent)
    assume(all(float(numpy.linalg.norm(to_numpy(g.data))) > 1e-2 for g in gradients))
    gradcheck(lambda x, w, b: (layer_norm(x, normalized_shape, w, b) * Tensor(cotangent)).sum(), [x, weight, bias])


@given(shapes=layer_norm_shapes(min_features=1), seed=seeds)
def test_fused_forward_and_backward_equal_the_composition(xp, shapes, seed):
    x, weight, bias, normalized_shape = case(xp, shapes, seed)
    cotangent = random_array(xp, x.shape, seed + 3)
    fused = layer_norm(x, normalized_shape, weight, bias)
    composed = layer_norm_composed(x, weight, bias, eps=1e-5)
    assert_close(fused.data, composed.data, rtol=1e-10, atol=1e-12)
    for a, b in zip(grad(fused, [x, weight, bias], grad_outputs=cotangent), grad(composed, [x, weight, bias], grad_outputs=cotangent)):
        assert_close(a.data, b.data, rtol=1e-9, atol=1e-11)


@given(shapes=layer_norm_shapes(min_features=1), seed=seeds)
def test_fused_kernels_equal_their_plain_twins(xp, shapes, seed):
    """The fused forward and backward against ``reference.layer_norm_forward`` and ``_backward``."""
    x, weight, bias, normalized_shape = case(xp, shapes, seed)
    cotangent = random_array(xp, x.shape, seed + 3)
    y = layer_norm(x, normalized_shape, weight, bias)
    assert_close(y.data, reference.layer_norm_forward(x.data, weight.data, bias.data), rtol=1e-10, atol=1e-12)
    y.backward(cotangent)
    for actual, expected in zip((x.grad, weight.grad, bias.grad), reference.layer_norm_backward(cotangent, x.data, weight.data)):
        assert actual.shape == expected.shape
        assert_close(actual, expected, rtol=1e-9, atol=1e-11)


@given(shapes=layer_norm_shapes(), seed=seeds)
def test_the_twins_gradients_match_finite_differences(xp, shapes, seed):
    """The chain rule of ``reference.layer_norm_backward`` against the twin forward alone."""
    x, weight, bias, _ = case(xp, shapes, seed)
    cotangent = random_array(xp, x.shape, seed + 3)
    analytic = reference.layer_norm_backward(cotangent, x.data, weight.data)
    assume(all(float(numpy.linalg.norm(to_numpy(g))) > 1e-2 for g in analytic))  # as in test_batchnorm.checkable
    as_tensor_function = lambda x, w, b: Tensor(reference.layer_norm_forward(x.data, w.data, b.data))  # noqa: E731
    for index, gradient in enumerate(analytic):
        numeric = numerical_gradient(as_tensor_function, [x, weight, bias], to_numpy(cotangent), index, step=1e-6)
        assert relative_error(to_numpy(gradient), numeric) < 1e-6, ("dx", "dγ", "dβ")[index]


@given(shapes=layer_norm_shapes(min_features=2), seed=seeds)
def test_each_example_is_normalised_over_its_own_features(xp, shapes, seed):
    shape, normalized_shape = shapes
    x = Tensor(random_array(xp, shape, seed, low=-3.0, high=5.0))
    ones, zeros = Tensor(xp.ones(normalized_shape)), Tensor(xp.zeros(normalized_shape))
    features = int(numpy.prod(normalized_shape))
    y = to_numpy(layer_norm(x, normalized_shape, ones, zeros).data).reshape(-1, features)
    rows = to_numpy(x.data).reshape(-1, features)
    variance = rows.var(axis=1)
    assert_close(y.mean(axis=1), numpy.zeros(len(rows)), atol=1e-12)
    assert_close(y.var(axis=1), variance / (variance + 1e-5))  # 1 up to the ε under the square root
    # independent of the other examples: normalising one example alone gives the same row
    alone = layer_norm(Tensor(x.data.reshape(-1, *normalized_shape)[:1]), normalized_shape, ones, zeros)
    assert_close(to_numpy(alone.data).reshape(features), y[0])


def test_affine_parameters_act_per_feature(xp):
    x = Tensor(random_array(xp, (3, 2, 2, 2), 0))
    weight, bias = Tensor(random_array(xp, (2, 2, 2), 1)), Tensor(random_array(xp, (2, 2, 2), 2))
    plain = layer_norm(x, (2, 2, 2), Tensor(xp.ones((2, 2, 2))), Tensor(xp.zeros((2, 2, 2))))
    assert_close(layer_norm(x, (2, 2, 2), weight, bias).data, to_numpy(plain.data) * to_numpy(weight.data) + to_numpy(bias.data))


def test_only_the_requested_gradients_are_computed(xp):
    x_data = random_array(xp, (3, 4), 0)
    w, b = leaf(xp, (4,), 1), leaf(xp, (4,), 2)
    x = Tensor(x_data)  # data: no dL/dx
    layer_norm(x, 4, w, b).backward(random_array(xp, (3, 4), 3))
    assert x.grad is None and w.grad.shape == (4,) and b.grad.shape == (4,)


# ----- the module ---------------------------------------------------------------------------------------
def test_module_parameters_and_state_dict(xp):
    layer = nn.LayerNorm((7, 7, 8))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.shape == (7, 7, 8) and layer.bias.shape == (7, 7, 8)
    assert_close(layer.weight.data, numpy.ones((7, 7, 8)), rtol=0, atol=0)
    assert_close(layer.bias.data, numpy.zeros((7, 7, 8)), rtol=0, atol=0)
    assert sorted(layer.state_dict()) == ["bias", "weight"]  # no running statistics
    assert nn.LayerNorm(5).normalized_shape == (5,)


def test_module_is_the_same_in_training_and_evaluation(xp):
    layer = nn.LayerNorm(3, dtype=numpy.float64)
    x = Tensor(random_array(xp, (4, 3), 0))
    trained = to_numpy(layer(x).data)
    assert_close(layer.eval()(x).data, trained, rtol=0, atol=0)


def test_float32_in_float32_out_and_float32_gradients(xp):
    layer = nn.LayerNorm((3, 3, 2))
    x = Tensor(random_array(xp, (2, 3, 3, 2), 0, dtype=numpy.float32), requires_grad=True)
    y = layer(x)
    y.backward(random_array(xp, y.shape, 1, dtype=numpy.float32))
    assert y.dtype == numpy.float32
    for array in (x.grad, layer.weight.grad, layer.bias.grad):
        assert array.dtype == numpy.float32


# ----- errors -------------------------------------------------------------------------------------------
def test_errors_name_the_shapes(xp):
    x = Tensor(xp.zeros((4, 3, 2)))
    ones, zeros = Tensor(xp.ones((3, 2))), Tensor(xp.zeros((3, 2)))
    with pytest.raises(ValueError, match=re.escape("x has shape (4, 3, 2), whose last axes should be normalized_shape (2, 3)")):
        layer_norm(x, (2, 3), ones, zeros)
    with pytest.raises(ValueError, match=re.escape("weight has shape (2,), expected normalized_shape (3, 2)")):
        layer_norm(x, (3, 2), Tensor(xp.ones(2)), zeros)
    with pytest.raises(TypeError, match="bias has dtype float32 but x has dtype float64"):
        layer_norm(x, (3, 2), ones, Tensor(xp.zeros((3, 2), dtype=numpy.float32)))
    with pytest.raises(TypeError, match="x must have a floating dtype, got int64"):
        layer_norm(Tensor(xp.zeros((4, 3, 2), dtype=numpy.int64)), (3, 2), ones, zeros)
    with pytest.raises(ValueError, match="eps must be positive, got 0"):
        layer_norm(x, (3, 2), ones, zeros, eps=0)
    with pytest.raises(ValueError, match=r"LayerNorm: normalized_shape must be a positive int .* got \(3, 0\)"):
        nn.LayerNorm((3, 0))
    with pytest.raises(ValueError, match="normalized_shape must be a positive int"):
        layer_norm(x, (), ones, zeros)
