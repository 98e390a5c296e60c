"""Gradients of gradients: every op's second derivative against central differences of its first
(``gradgradcheck``, float64, drawn shapes), a third derivative, the gradient penalty of a linear critic
in closed form, and what ``grad`` and ``create_graph`` promise (nothing recorded without it, no ``.grad``
touched by ``grad``, accumulation unchanged)."""

import numpy
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import Function, Tensor, grad, gradgradcheck, losses, nn, ops
from minigan.engine.backend import get_backend
from minigan.engine.ops import batch_norm, conv2d, conv_transpose2d, dropout, layer_norm

from conftest import assert_close, to_numpy
from strategies import (batch_norm_shapes, broadcastable_pairs, conv_geometries, layer_norm_shapes, random_array, seeds,
                        shape_and_axis, shapes)
from test_conv import assume_valid_conv, assume_valid_transposed, conv_case, transposed_case


def leaf(xp, shape, seed, **kwargs):
    return Tensor(random_array(xp, shape, seed, **kwargs), requires_grad=True)


def small_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3):
    return shapes(min_dims, max_dims, min_side, max_side)


def well_conditioned(function, inputs):
    """Reject (``assume``) draws where a second derivative that gradgradcheck will check nearly cancels to 0.

    As in test_batchnorm.checkable: the finite differences of the first derivative carry a rounding
    error of about 1e-10 per element, so a second derivative of norm below 1e-2 cannot be confirmed to
    1e-6 relative error, right or wrong. Products of drawn values and projections (normalisation) make
    such draws occur, rarely. A derivative that is *systematically* near 0 would have every draw
    rejected, which hypothesis reports as a failure. The vectors are gradgradcheck's own (seed 0): v
    for the output, u for the first derivative; the derivatives are those with respect to every input
    and to v.
    """
    output = function(*inputs)
    checked = [x for x in inputs if x.requires_grad]
    v = Tensor(output.xp.asarray(numpy.random.default_rng(0).standard_normal(output.shape)), requires_grad=True)
    first = grad(output, checked, grad_outputs=v, create_graph=True, allow_unused=True)
    flat = ops.concatenate([g.reshape(-1) if g is not None else Tensor(x.xp.zeros(x.size)) for g, x in zip(first, checked)])
    u = output.xp.asarray(numpy.random.default_rng(1).standard_normal(flat.shape))
    second = grad(flat, checked + [v], grad_outputs=u, allow_unused=True) if flat.requires_grad else []
    assume(all(s is None or float(numpy.linalg.norm(to_numpy(s.data))) > 1e-2 for s in second))


def check(function, inputs):
    """``gradgradcheck`` on a drawn case that it can decide (``well_conditioned``)."""
    well_conditioned(function, inputs)
    gradgradcheck(function, inputs)


# ----- arithmetic, with broadcasting ----------------------------------------------------------------
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("name", BINARY)
@given(pair=broadcastable_pairs(max_dims=3, max_side=3), seed=seeds)
def test_binary_op_second_derivatives_with_broadcasting(xp, name, pair, seed):
    shape_a, shape_b = pair
    a = leaf(xp, shape_a, seed)
    b = leaf(xp, shape_b, seed + 1, low=0.5, high=2.0) if name == "div" else leaf(xp, shape_b, seed + 1)
    # composed with a product so that even + and − have a non-zero second derivative to check
    check(lambda a, b: BINARY[name](a, b) * BINARY[name](a, b), [a, b])


UNARY = {
    "neg": (lambda x: -x * x, None),
    "exp": (ops.exp, None),
    "log": (ops.log, (0.3, 3.0)),
    "pow 3": (lambda x: x**3, None),
    "pow -1.5": (lambda x: x**-1.5, (0.3, 3.0)),
    "pow 0.5": (lambda x: x**0.5, (0.3, 3.0)),
    "relu": (lambda x: ops.relu(x) * x, None),
    "leaky_relu": (lambda x: ops.leaky_relu(x, 0.2) * x, None),
    "tanh": (ops.tanh, None),
    "sigmoid": (ops.sigmoid, None),
    "softplus": (ops.softplus, None),
    "clamp_min": (lambda x: ops.clamp_min(x, 0.1) * x, None),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=small_shapes(), seed=seeds)
def test_unary_op_second_derivatives(xp, name, shape, seed):
    function, interval = UNARY[name]
    low, high = interval if interval else (None, None)
    check(function, [leaf(xp, shape, seed, low=low, high=high)])


@pytest.mark.parametrize("name, function", [("relu", ops.relu), ("leaky_relu", lambda x: ops.leaky_relu(x, 0.2)),
                                            ("clamp_min", lambda x: ops.clamp_min(x, 0.0))])
@given(shape=small_shapes(), seed=seeds)
def test_piecewise_linear_ops_have_zero_curvature_but_their_mask_carries_the_gradient(xp, name, function, shape, seed):
    """d²/dx² = 0 almost everywhere, yet ∂/∂v ⟨v, f'(x)⟩ = f'(x): the mask multiplies the incoming gradient."""
    x = leaf(xp, shape, seed)
    v = leaf(xp, shape, seed + 1)
    (g,) = grad(function(x), x, grad_outputs=v, create_graph=True)
    slope = {"relu": 0.0, "leaky_relu": 0.2, "clamp_min": 0.0}[name]
    mask = numpy.where(to_numpy(x.data) > 0, 1.0, slope)
    assert_close(g.data, to_numpy(v.data) * mask)
    u = random_array(xp, shape, seed + 2)
    second_x, second_v = grad(g, [x, v], grad_outputs=u, allow_unused=True)
    assert second_x is None  # nothing in f'(x) depends on x: the curvature is zero
    assert_close(second_v.data, to_numpy(u) * mask)
    check(function, [x])


@given(shape=small_shapes(), seed=seeds)
def test_astype_second_derivative_is_exact(xp, shape, seed):
    """A float64 → float32 → float64 round trip is the identity's derivative at every order, exactly."""
    x = leaf(xp, shape, seed)
    (g,) = grad((x.astype(numpy.float32).astype(numpy.float64) * x).sum(), x, create_graph=True)  # 2x
    assert g.dtype == numpy.float64
    (h,) = grad(g.sum(), x)
    numpy.testing.assert_array_equal(to_numpy(h.data), numpy.full(shape, 2.0))


# ----- reductions and shape ops -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@given(case=shape_and_axis(max_side=3), seed=seeds, keepdims=st.booleans())
def test_reduction_second_derivatives(xp, name, case, seed, keepdims):
    shape, axis = case
    x = leaf(xp, shape, seed)
    check(lambda x: getattr(x * x, name)(axis=axis, keepdims=keepdims) * getattr(x, name)(axis=axis, keepdims=keepdims), [x])


@given(case=shape_and_axis(max_side=3), seed=seeds, keepdims=st.booleans())
def test_logsumexp_second_derivatives(xp, case, seed, keepdims):
    """The Hessian of log-sum-exp is diag(p) − p pᵀ (p the softmax): recorded through its composition."""
    shape, axis = case
    check(lambda x: ops.logsumexp(x, axis=axis, keepdims=keepdims), [leaf(xp, shape, seed)])


@given(shape=small_shapes(max_dims=4), seed=seeds, data=st.data())
def test_reshape_transpose_second_derivatives(xp, shape, seed, data):
    axes = data.draw(st.permutations(range(len(shape))))
    x = leaf(xp, shape, seed)
    check(lambda x: (x * x).transpose(*axes).reshape(-1) * x.reshape(-1), [x])


@given(shape=small_shapes(min_dims=2, min_side=2), seed=seeds, step=st.integers(1, 2))
def test_slicing_second_derivatives(xp, shape, seed, step):
    x = leaf(xp, shape, seed)
    check(lambda x: x[1:, ::step] * x[:-1, ::step] * x[1:, ::step], [x])


@given(size=st.integers(1, 4), seed=seeds, data=st.data())
def test_integer_array_index_second_derivatives(xp, size, seed, data):
    """A repeated index adds its gradients (Scatter), and slicing is Scatter's backward."""
    index = numpy.asarray(data.draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=6)))
    x = leaf(xp, (size,), seed)
    check(lambda x: x[xp.asarray(index)] ** 3, [x])


@given(shape=small_shapes(), seed=seeds, data=st.data())
def test_concatenate_second_derivatives(xp, shape, seed, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    other = list(shape)
    other[axis] = data.draw(st.integers(1, 3))
    a, b = leaf(xp, shape, seed), leaf(xp, tuple(other), seed + 1)
    check(lambda a, b: ops.concatenate([a * b.sum(), b * b, a], axis=axis), [a, b])


# ----- matmul and linear --------------------------------------------------------------------------------
@given(n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3), batch=st.sampled_from([(), (2,), (2, 1)]), seed=seeds)
def test_matmul_second_derivatives(xp, n, k, m, batch, seed):
    a, b = leaf(xp, batch + (n, k), seed), leaf(xp, (k, m), seed + 1)
    check(lambda a, b: ops.tanh(a @ b), [a, b])


@given(n=st.integers(1, 4), fan_in=st.integers(1, 4), fan_out=st.integers(1, 4), seed=seeds, bias=st.booleans())
def test_linear_second_derivatives(xp, n, fan_in, fan_out, seed, bias):
    inputs = [leaf(xp, (n, fan_in), seed), leaf(xp, (fan_out, fan_in), seed + 1)]
    if bias:
        inputs.append(leaf(xp, (fan_out,), seed + 2))
    check(lambda *t: ops.tanh(ops.linear(*t)), inputs)


# ----- convolutions, all geometry -----------------------------------------------------------------------
@given(g=conv_geometries(max_batch=2, max_side=5, max_channels=2), seed=seeds, bias=st.booleans())
def test_conv2d_second_derivatives(xp, g, seed, bias):
    assume_valid_conv(g)
    x, weight, b = conv_case(xp, g, seed, requires_grad=True)
    geometry = dict(stride=g.stride, padding=g.padding, dilation=g.dilation)
    if bias:
        check(lambda x, w, b: conv2d(x, w, b, **geometry), [x, weight, b])
    else:
        check(lambda x, w: conv2d(x, w, **geometry), [x, weight])


@given(g=conv_geometries(transposed=True, max_batch=2, max_side=3, max_channels=2), seed=seeds, bias=st.booleans())
def test_conv_transpose2d_second_derivatives(xp, g, seed, bias):
    assume_valid_transposed(g)
    x, weight, b = transposed_case(xp, g, seed, requires_grad=True)
    geometry = dict(stride=g.stride, padding=g.padding, output_padding=g.output_padding, dilation=g.dilation)
    if bias:
        check(lambda x, w, b: conv_transpose2d(x, w, b, **geometry), [x, weight, b])
    else:
        check(lambda x, w: conv_transpose2d(x, w, **geometry), [x, weight])


@given(g=conv_geometries(max_batch=1, max_side=4, max_channels=2, max_kernel=2), seed=seeds)
def test_conv2d_third_derivative_through_the_weight_gradient_op(xp, g, seed):
    """gradgradcheck of conv2d's first derivative reaches the backward of ConvWeightGrad and of the
    transposed conv inside it: the third derivative of ⟨v, tanh(conv2d(x, w))⟩."""
    assume_valid_conv(g)
    x, weight, _ = conv_case(xp, g, seed, requires_grad=True)
    geometry = dict(stride=g.stride, padding=g.padding, dilation=g.dilation)
    v = leaf(xp, (g.batch, *[max(1, s) for s in _conv_out(g)], g.out_channels), seed + 5)

    def first(x, w):
        (gx, gw) = grad(ops.tanh(conv2d(x, w, **geometry)), [x, w], grad_outputs=v, create_graph=True)
        return ops.concatenate([gx.reshape(-1), gw.reshape(-1)])

    check(first, [x, weight])


def _conv_out(g):
    from test_conv import conv_output_shape

    return conv_output_shape(g)


# ----- normalisation ----------------------------------------------------------------------------------
@given(shape=batch_norm_shapes(min_rows=4), seed=seeds)
def test_batch_norm_training_mode_second_derivatives(xp, shape, seed):
    x = leaf(xp, shape, seed)
    weight = leaf(xp, (shape[-1],), seed + 2, low=0.5, high=2.0)
    bias = leaf(xp, (shape[-1],), seed + 3)
    function = lambda x, w, b: batch_norm(x, w, b, None, None, training=True)  # noqa: E731
    check(function, [x, weight, bias])


@given(shape=batch_norm_shapes(), seed=seeds)
def test_batch_norm_eval_mode_second_derivatives(xp, shape, seed):
    x = leaf(xp, shape, seed)
    weight = leaf(xp, (shape[-1],), seed + 2, low=0.5, high=2.0)
    bias = leaf(xp, (shape[-1],), seed + 3)
    mean, var = random_array(xp, (shape[-1],), seed + 4), random_array(xp, (shape[-1],), seed + 5, low=0.5, high=2.0)
    check(lambda x, w, b: ops.tanh(batch_norm(x, w, b, mean, var, training=False)), [x, weight, bias])


@given(case=layer_norm_shapes(max_feature_axes=2, max_leading=1), seed=seeds)
def test_layer_norm_second_derivatives(xp, case, seed):
    shape, normalized_shape = case
    x = leaf(xp, shape, seed)
    weight = leaf(xp, normalized_shape, seed + 2, low=0.5, high=2.0)
    bias = leaf(xp, normalized_shape, seed + 3)
    function = lambda x, w, b: layer_norm(x, normalized_shape, w, b)  # noqa: E731
    check(function, [x, weight, bias])


# ----- dropout, maxout, losses ------------------------------------------------------------------------
@given(shape=small_shapes(), p=st.floats(0.0, 0.8), seed=seeds)
def test_dropout_second_derivatives(xp, shape, p, seed):
    x = leaf(xp, shape, seed)
    # the same mask on every call: a fresh generator from the same seed
    check(lambda x: dropout(x, p, rng=get_backend().rng(seed)) * x, [x])


@given(n=st.integers(1, 3), fan_in=st.integers(1, 3), units=st.integers(1, 3), pieces=st.integers(1, 3), seed=seeds)
def test_maxout_second_derivatives(xp, n, fan_in, units, pieces, seed):
    """The layer itself (linear → reshape → max): gradgradcheck perturbs its parameters in place."""
    layer = nn.Maxout(fan_in, units, pieces, dtype=numpy.float64, rng=get_backend().rng(seed))
    x = leaf(xp, (n, fan_in), seed)
    check(lambda x, weight, bias: layer(x), [x, layer.linear.weight, layer.linear.bias])


@given(shape=small_shapes(), seed=seeds)
def test_bce_with_logits_second_derivatives(xp, shape, seed):
    logits, target = leaf(xp, shape, seed), leaf(xp, shape, seed + 1, low=0.0, high=1.0)
    check(lambda z, y: losses.binary_cross_entropy_with_logits(z, y, reduction="none"), [logits, target])


@given(shape=small_shapes(), seed=seeds)
def test_bce_on_probabilities_second_derivatives(xp, shape, seed):
    p, target = leaf(xp, shape, seed, low=0.1, high=0.9), leaf(xp, shape, seed + 1, low=0.0, high=1.0)
    check(lambda p, y: losses.binary_cross_entropy(p, y, reduction="none"), [p, target])


@given(shape=small_shapes(), seed=seeds)
def test_mse_second_derivatives(xp, shape, seed):
    prediction, target = leaf(xp, shape, seed), leaf(xp, shape, seed + 1)
    check(lambda p, t: losses.mse_loss(p, t, reduction="sum") * losses.mse_loss(p, t), [prediction, target])


@given(n=st.integers(1, 4), classes=st.integers(1, 4), seed=seeds, data=st.data())
def test_cross_entropy_second_derivatives(xp, n, classes, seed, data):
    labels = numpy.asarray(data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
    logits = leaf(xp, (n, classes), seed)
    check(lambda z: losses.cross_entropy(z, xp.asarray(labels), reduction="none"), [logits])


# ----- higher orders and closed forms -----------------------------------------------------------------
@given(shape=small_shapes(), seed=seeds)
def test_third_derivative_of_tanh(xp, shape, seed):
    """d/dx tanh = 1 − t², d²/dx² = −2t(1 − t²), d³/dx³ = −2(1 − t²)(1 − 3t²), with t = tanh x."""
    x = leaf(xp, shape, seed)
    t = numpy.tanh(to_numpy(x.data))
    (first,) = grad(ops.tanh(x).sum(), x, create_graph=True)
    (second,) = grad(first.sum(), x, create_graph=True)
    (third,) = grad(second.sum(), x)
    assert_close(first.data, 1 - t**2, rtol=1e-12, atol=1e-14)
    assert_close(second.data, -2 * t * (1 - t**2), rtol=1e-12, atol=1e-14)
    assert_close(third.data, -2 * (1 - t**2) * (1 - 3 * t**2), rtol=1e-10, atol=1e-12)
    assert not third.requires_grad  # the last call had create_graph=False


@given(n=st.integers(1, 5), features=st.integers(1, 6), seed=seeds, penalty=st.floats(0.5, 20.0))
def test_gradient_penalty_of_a_linear_critic_is_the_closed_form(xp, n, features, seed, penalty):
    """D(x) = w·x + b has ∇ₓD = w at every x̂, so the WGAN-GP penalty λ·E(‖∇ₓ̂D‖ − 1)² is λ(‖w‖ − 1)²,
    with gradient 2λ(‖w‖ − 1)·w/‖w‖ for w and none for b."""
    weight = leaf(xp, (1, features), seed)
    bias = leaf(xp, (1,), seed + 1)
    real, fake = random_array(xp, (n, features), seed + 2), random_array(xp, (n, features), seed + 3)
    epsilon = random_array(xp, (n, 1), seed + 4, low=0.0, high=1.0)
    interpolated = Tensor(epsilon * real + (1 - epsilon) * fake, requires_grad=True)
    (slopes,) = grad(ops.linear(interpolated, weight, bias).sum(), interpolated, create_graph=True)
    norms = ((slopes * slopes).sum(axis=1)) ** 0.5
    gp = penalty * ((norms - 1.0) ** 2).mean()
    gp.backward()
    w = to_numpy(weight.data)[0]
    norm = numpy.linalg.norm(w)
    assert gp.item() == pytest.approx(penalty * (norm - 1) ** 2, rel=1e-12, abs=1e-12)
    assert_close(weight.grad[0], 2 * penalty * (norm - 1) * w / norm, rtol=1e-10, atol=1e-12)
    assert bias.grad is None and interpolated.grad is None  # ∇ₓD does not depend on b or on x̂


def test_r1_penalty_through_the_dcgan_discriminator_in_training_mode(xp):
    """γ/2·‖∇ₓD(x)‖² with D shaped like DCGAN's (conv → LeakyReLU → conv → batch norm in training mode →
    LeakyReLU → dense), in float64: the penalty's gradient for every parameter matches finite differences."""
    from minigan import gradcheck

    discriminator = nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2, padding=1, dtype=numpy.float64), nn.LeakyReLU(0.2),
        nn.Conv2d(2, 3, 3, stride=2, padding=1, bias=False, dtype=numpy.float64),
        nn.BatchNorm2d(3, dtype=numpy.float64), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(12, 1, dtype=numpy.float64),
    )
    images = random_array(xp, (3, 7, 7, 1), 1)

    def r1():
        x = Tensor(images, requires_grad=True)
        (slopes,) = grad(discriminator(x).sum(), x, create_graph=True)
        return (slopes * slopes).sum() * 5.0  # γ/2 = 5

    # gradcheck perturbs each parameter's data in place, which is what the discriminator reads
    gradcheck(lambda *parameters: r1(), discriminator.parameters())


# ----- what the API promises ---------------------------------------------------------------------------
def test_create_graph_false_records_nothing(xp):
    x = leaf(xp, (3,), 0)
    w = leaf(xp, (3,), 1)
    y = (ops.tanh(x * w) * x).sum()
    gx, gw = grad(y, [x, w])
    for g in (gx, gw):
        assert not g.requires_grad and g._ctx is None
    y.backward()
    assert x.grad_tensor is None and w.grad_tensor is None
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        grad(gx.sum(), x)


def test_create_graph_true_records_the_backward(xp):
    x = leaf(xp, (3,), 0)
    (gx,) = grad((x * x * x).sum(), x, create_graph=True)  # 3x²
    assert gx.requires_grad and gx._ctx is not None
    (hx,) = grad(gx.sum(), x)  # 6x
    assert_close(hx.data, 6 * to_numpy(x.data))


def test_grad_leaves_every_grad_untouched(xp):
    x, w = leaf(xp, (2, 3), 0), leaf(xp, (4, 3), 1)
    b = leaf(xp, (4,), 2)
    before = random_array(xp, (4, 3), 3)
    w.grad = before.copy()
    hidden = ops.tanh(ops.linear(x, w, b))
    loss = (hidden * hidden).sum()
    gx, gh = grad(loss, [x, hidden], create_graph=True)
    grad((gx * gx).sum(), [w, b])
    assert x.grad is None and b.grad is None and hidden.grad is None
    numpy.testing.assert_array_equal(to_numpy(w.grad), to_numpy(before))
    assert_close(gh.data, 2 * to_numpy(hidden.data))  # the gradient with respect to an intermediate tensor


def test_grad_equals_backward(xp):
    x, w = leaf(xp, (2, 3), 0), leaf(xp, (4, 3), 1)
    loss = ops.sigmoid(ops.linear(x, w)).sum()
    gx, gw = grad(loss, [x, w])
    loss.backward()
    assert_close(gx.data, x.grad, rtol=0, atol=0)
    assert_close(gw.data, w.grad, rtol=0, atol=0)


def test_gradients_still_accumulate_across_backward_calls(xp):
    x = leaf(xp, (3,), 0)
    (x * x).sum().backward()
    (x * x).sum().backward(create_graph=True)
    assert_close(x.grad, 4 * to_numpy(x.data))
    assert_close(x.grad_tensor.data, 4 * to_numpy(x.data))  # the earlier .grad enters as a constant
    x.grad = None
    x.grad_tensor.sum().backward()  # d/dx Σ(c + 2x) = 2
    assert_close(x.grad, numpy.full(3, 2.0))


def test_backward_with_create_graph_gives_a_hessian_vector_product(xp):
    a = random_array(xp, (3, 3), 0)
    hessian = to_numpy(a) + to_numpy(a).T
    x = leaf(xp, (3, 1), 1)
    v = random_array(xp, (3, 1), 2)
    (x.T @ Tensor(a) @ x).sum().backward(create_graph=True)  # ∇ = (A + Aᵀ)x
    x.grad = None
    (x.grad_tensor * Tensor(v)).sum().backward()
    assert_close(x.grad, hessian @ to_numpy(v))


def test_grad_differentiates_only_what_leads_to_the_inputs(xp):
    """A penalty on ∇ₓD computes no gradient for branches that do not lead to x (D's weight gradients)."""

    class Forbidden(Function):
        def forward(self, w):
            return w * 2

        def backward(self, grad):
            raise AssertionError("this branch does not lead to x and must not be differentiated")

    x, w = leaf(xp, (3,), 0), leaf(xp, (3,), 1)
    (gx,) = grad((x * x).sum() + Forbidden.apply(w).sum(), x)
    assert_close(gx.data, 2 * to_numpy(x.data))


def test_grad_with_several_outputs_and_grad_outputs(xp):
    x = leaf(xp, (2,), 0)
    u, v = random_array(xp, (2,), 1), random_array(xp, (2,), 2)
    (gx,) = grad([x * x, x * 3.0], x, grad_outputs=[u, v])
    assert_close(gx.data, 2 * to_numpy(x.data) * to_numpy(u) + 3 * to_numpy(v))


def test_grad_errors_name_the_problem(xp):
    x, unused = leaf(xp, (2,), 0), leaf(xp, (2,), 1)
    y = (x * x).sum()
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(2,\)\) is not used"):
        grad(y, [x, unused])
    assert grad(y, [x, unused], allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match=r"input 0 .* does not require a gradient"):
        grad(y, Tensor(xp.ones(2)))
    with pytest.raises(ValueError, match="got 2 grad_outputs for 1 outputs"):
        grad(y, x, grad_outputs=[None, None])
    with pytest.raises(ValueError, match=r"grad_outputs\[0\]: grad has shape \(3,\), expected .*\(2,\)"):
        grad(x * x, x, grad_outputs=xp.ones(3))
    with pytest.raises(ValueError, match="one-element tensor"):
        grad(x * x, x)
    with pytest.raises(TypeError, match=r"inputs\[0\] is a list"):
        grad(y, [[x]])


def test_a_backward_returning_arrays_cannot_be_differentiated_again(xp):
    """A custom Function written on arrays still works to first order, but create_graph refuses it."""

    class ArraySquare(Function):
        def forward(self, x):
            return x * x

        def backward(self, grad):
            return grad.data * 2 * self.inputs[0].data

    x = leaf(xp, (3,), 0)
    (gx,) = grad(ArraySquare.apply(x).sum(), x)
    assert_close(gx.data, 2 * to_numpy(x.data))
    with pytest.raises(TypeError, match=r"ArraySquare.backward returned a \w+ for input 0; .*\(create_graph=True\) must return Tensors"):
        grad(ArraySquare.apply(x).sum(), x, create_graph=True)


def test_gradgradcheck_catches_a_wrong_second_derivative(xp):
    """A backward whose value is right but which is not differentiable (a constant) fails gradgradcheck."""
    from minigan import GradcheckError, gradcheck

    class ConstantDerivativeSquare(Function):
        def forward(self, x):
            return x * x

        def backward(self, grad):
            return grad * Tensor(2 * self.inputs[0].data)  # 2x as a constant: d/dx of it is lost

    x = leaf(xp, (3,), 0)
    gradcheck(ConstantDerivativeSquare.apply, [x])  # first order is right
    with pytest.raises(GradcheckError, match="gradgradcheck: second derivative with respect to input 0"):
        gradgradcheck(ConstantDerivativeSquare.apply, [x])


@given(shape=batch_norm_shapes(min_rows=4, max_channels=2), seed=seeds)
def test_batch_norm_applied_twice_with_shared_parameters(xp, shape, seed):
    """The layer's γ reaches the output directly and through its own earlier output: the composed
    derivative must hold the other inputs fixed (partial derivatives), or that path counts twice."""
    x = leaf(xp, shape, seed)
    weight = leaf(xp, (shape[-1],), seed + 2, low=0.5, high=2.0)
    bias = leaf(xp, (shape[-1],), seed + 3)
    twice = lambda x, w, b: batch_norm(batch_norm(x, w, b, None, None, True) * x, w, b, None, None, True)  # noqa: E731
    check(twice, [x, weight, bias])


def test_gradgradcheck_refuses_what_it_cannot_check(xp):
    x = leaf(xp, (2,), 0)
    with pytest.raises(TypeError, match="gradgradcheck: input 0 has dtype float32; finite differences need float64"):
        gradgradcheck(ops.tanh, [Tensor(xp.ones(2, dtype=numpy.float32), requires_grad=True)])
    with pytest.raises(ValueError, match="gradgradcheck: no input has requires_grad=True"):
        gradgradcheck(ops.tanh, [Tensor(xp.ones(2))])
    with pytest.raises(ValueError, match="gradgradcheck: step must be positive, got 0"):
        gradgradcheck(ops.tanh, [x], step=0)
    with pytest.raises(TypeError, match="gradgradcheck: input 1 is a list"):
        gradgradcheck(lambda a, b: a, [x, [1.0]])
