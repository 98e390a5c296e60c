"""Every differentiable op: backward against central finite differences (float64) on drawn shapes,
float32 in → float32 out, and clear errors for bad input."""

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan import Tensor, gradcheck, ops
from minigan.engine.ops import reference
from conftest import assert_close, to_numpy
from strategies import broadcastable_pairs, random_array, seeds, shape_and_axis, shapes


def leaf(xp, shape, seed, **kwargs):
    return Tensor(random_array(xp, shape, seed, **kwargs), requires_grad=True)


# ----- binary ops, with broadcasting ------------------------------------------------------------
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("name", BINARY)
@given(pair=broadcastable_pairs(), seed=seeds)
def test_binary_op_gradients_with_broadcasting(xp, name, pair, seed):
    shape_a, shape_b = pair
    a = leaf(xp, shape_a, seed)
    # Keep divisors away from 0, where 1/y is steep and finite differences lose accuracy.
    b = leaf(xp, shape_b, seed + 1, low=0.5, high=2.0) if name == "div" else leaf(xp, shape_b, seed + 1)
    gradcheck(BINARY[name], [a, b])


@given(shape=shapes(), seed=seeds, scalar=st.floats(-3, 3).filter(lambda v: abs(v) > 0.1))
def test_python_scalars_on_either_side(xp, shape, seed, scalar):
    x = leaf(xp, shape, seed, low=0.5, high=2.0)
    gradcheck(lambda x: scalar - x * scalar + scalar / x + x / scalar, [x])


# ----- unary elementwise ops ---------------------------------------------------------------------
UNARY = {
    "neg": (lambda x: -x, None),
    "exp": (ops.exp, None),
    "log": (ops.log, (0.2, 3.0)),
    "pow 3": (lambda x: x**3, None),
    "pow -1.5": (lambda x: x**-1.5, (0.3, 3.0)),
    "pow 0.5": (lambda x: x**0.5, (0.3, 3.0)),
    "relu": (ops.relu, None),
    "leaky_relu": (lambda x: ops.leaky_relu(x, 0.2), None),
    "tanh": (ops.tanh, None),
    "sigmoid": (ops.sigmoid, None),
    "softplus": (ops.softplus, None),
    "astype round trip": (lambda x: x.astype(numpy.float32).astype(numpy.float64) * 1.0, None),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=shapes(max_dims=3), seed=seeds)
def test_unary_op_gradients(xp, name, shape, seed):
    function, interval = UNARY[name]
    low, high = interval if interval else (None, None)
    x = leaf(xp, shape, seed, low=low, high=high)
    if name == "astype round trip":
        # the float32 round trip is not differentiable at float64 precision; check the exact gradient
        function(x).sum().backward()
        assert_close(x.grad, numpy.ones(shape), rtol=0, atol=0)
        return
    gradcheck(function, [x])


def test_activation_values_and_kinks(xp):
    x = Tensor(xp.asarray([-2.0, 0.0, 3.0]), requires_grad=True)
    ops.relu(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]  # 0 at the kink
    x.grad = None
    ops.leaky_relu(x, 0.2).sum().backward()
    assert x.grad.tolist() == [0.2, 0.2, 1.0]
    assert ops.leaky_relu(x, 0.2).data.tolist() == [-0.4, 0.0, 3.0]


def test_sigmoid_and_softplus_are_finite_at_huge_inputs(xp):
    x = Tensor(xp.asarray([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=numpy.float32))
    with numpy.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, no inf − inf (on the CPU)
        s = to_numpy(ops.sigmoid(x).data)
        p = to_numpy(ops.softplus(x).data)
    assert s.tolist()[2] == 0.5 and s[0] == 0.0 and s[-1] == 1.0
    assert numpy.all(numpy.isfinite(p)) and p[-1] == numpy.float32(1e4)
    assert_close(ops.sigmoid(Tensor(xp.asarray([-50.0]))).data, [numpy.exp(-50.0)], rtol=1e-12)


# ----- reductions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@given(case=shape_and_axis(), seed=seeds, keepdims=st.booleans())
def test_reduction_gradients(xp, name, case, seed, keepdims):
    shape, axis = case
    x = leaf(xp, shape, seed)
    gradcheck(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), [x])


@given(case=shape_and_axis(), seed=seeds, keepdims=st.booleans())
def test_logsumexp_gradient(xp, case, seed, keepdims):
    shape, axis = case
    gradcheck(lambda x: ops.logsumexp(x, axis=axis, keepdims=keepdims), [leaf(xp, shape, seed, low=-3.0, high=3.0)])


@given(case=shape_and_axis(), seed=seeds, scale=st.sampled_from([1.0, 30.0]))
def test_logsumexp_equals_its_twin_and_its_gradient_is_the_softmax(xp, case, seed, scale):
    shape, axis = case
    axes = tuple(range(len(shape))) if axis is None else (axis,) if isinstance(axis, int) else axis
    x = Tensor(random_array(xp, shape, seed) * scale, requires_grad=True)
    z = ops.logsumexp(x, axis=axis)
    dz = random_array(xp, z.shape, seed + 1)
    z.backward(dz)
    assert_close(z.data, reference.logsumexp_forward(x.data, axes), rtol=1e-12)
    assert_close(x.grad, reference.logsumexp_backward(dz, x.data, axes), rtol=1e-12, atol=1e-15)


def test_logsumexp_is_finite_at_huge_inputs(xp):
    x = Tensor(xp.asarray([[-1e4, 1e4, 1e4], [-1e4, -1e4, -1e4]], dtype=numpy.float32), requires_grad=True)
    with numpy.errstate(over="raise", invalid="raise", divide="raise"):  # the max shift: no e^(1e4) (on the CPU)
        z = ops.logsumexp(x, axis=1)
        z.sum().backward()
    assert z.dtype == numpy.float32 and x.grad.dtype == numpy.float32
    assert_close(z.data, [1e4 + numpy.log(2), -1e4 + numpy.log(3)], rtol=1e-6)
    assert_close(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)


def test_max_shares_the_gradient_between_ties(xp):
    x = Tensor(xp.asarray([[1.0, 3.0, 3.0], [0.0, -1.0, 2.0]]), requires_grad=True)
    x.max(axis=1).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]


def test_reduction_axis_out_of_range(xp):
    with pytest.raises(ValueError, match="axis 2 is out of range for a tensor with 2 dimensions"):
        Tensor(xp.ones((2, 3))).sum(axis=2)


# ----- shape ops ----------------------------------------------------------------------------------
@given(shape=shapes(max_dims=4), seed=seeds, data=st.data())
def test_transpose_gradient(xp, shape, seed, data):
    axes = data.draw(st.permutations(range(len(shape))))
    x = leaf(xp, shape, seed)
    gradcheck(lambda x: x.transpose(*axes) * 1.0, [x])


@given(shape=shapes(max_dims=3), seed=seeds)
def test_reshape_gradient(xp, shape, seed):
    x = leaf(xp, shape, seed)
    gradcheck(lambda x: (x * x).reshape(-1, 1), [x])


@given(shape=shapes(min_dims=2, max_dims=3, min_side=2), seed=seeds, step=st.integers(1, 2))
def test_slicing_gradient(xp, shape, seed, step):
    x = leaf(xp, shape, seed)
    gradcheck(lambda x: x[1:, ::step] * x[:-1, ::step], [x])


def test_integer_array_index_adds_repeated_gradients(xp):
    x = Tensor(xp.asarray([1.0, 2.0, 3.0]), requires_grad=True)
    x[xp.asarray([0, 0, 2])].sum().backward()  # add.at on the device
    assert x.grad.tolist() == [2.0, 0.0, 1.0]


@given(shape=shapes(min_dims=1, max_dims=3), seed=seeds, data=st.data())
def test_concatenate_gradient(xp, shape, seed, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    other = list(shape)
    other[axis] = data.draw(st.integers(1, 3))
    a, b = leaf(xp, shape, seed), leaf(xp, tuple(other), seed + 1)
    gradcheck(lambda a, b: ops.concatenate([a, b * b, a], axis=axis), [a, b])


def test_shape_errors_name_the_shapes(xp):
    x = Tensor(xp.ones((2, 3)))
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into shape \(4,\)"):
        x.reshape(4)
    with pytest.raises(ValueError, match=r"axes \(0, 0\) are not a permutation"):
        x.transpose(0, 0)
    with pytest.raises(ValueError, match=r"tensor 1 has shape \(2, 2\).*tensor 0's shape \(2, 3\) outside axis 0"):
        ops.concatenate([x, Tensor(xp.ones((2, 2)))], axis=0)


# ----- matmul and linear ------------------------------------------------------------------------
@given(n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4), batch=st.sampled_from([(), (2,), (3, 1)]), seed=seeds)
def test_matmul_gradient_with_batch_broadcasting(xp, n, k, m, batch, seed):
    a = leaf(xp, batch + (n, k), seed)
    b = leaf(xp, (k, m), seed + 1)
    gradcheck(lambda a, b: a @ b, [a, b])


@given(n=st.integers(1, 5), fan_in=st.integers(1, 5), fan_out=st.integers(1, 5), seed=seeds, bias=st.booleans())
def test_linear_gradient(xp, n, fan_in, fan_out, seed, bias):
    inputs = [leaf(xp, (n, fan_in), seed), leaf(xp, (fan_out, fan_in), seed + 1)]
    if bias:
        inputs.append(leaf(xp, (fan_out,), seed + 2))
    gradcheck(lambda *t: ops.linear(*t), inputs)


@given(n=st.integers(1, 5), k=st.integers(1, 3), m=st.integers(1, 5), seed=seeds, dtype=st.sampled_from(["float32", "float64"]))
def test_gemm_equals_the_matrix_product_including_outer_products(xp, n, k, m, seed, dtype):
    """gemm does an inner dimension of 1 (an outer product) by broadcasting: the same numbers, same dtype."""
    from minigan.engine.ops.linalg import gemm

    a, b = (random_array(xp, shape, s).astype(dtype) for shape, s in (((n, k), seed), ((k, m), seed + 1)))
    product = gemm(a, b)
    assert product.dtype == a.dtype and product.shape == (n, m)
    assert numpy.allclose(to_numpy(product), to_numpy(a @ b), rtol=1e-6, atol=0)


@given(n=st.integers(1, 5), k=st.integers(1, 3), m=st.integers(1, 5), stack=st.integers(1, 4), seed=seeds)
def test_gemm_of_a_matrix_and_a_stack_is_one_product_per_matrix_of_the_stack(xp, n, k, m, stack, seed):
    """gemm(a, b) with b (B, K, N) is (B, M, N), product i being a @ b[i] (the conv GEMM per kernel offset),
    also when b is a strided view, as ``kernel_offset_weights`` makes it."""
    from minigan.engine.ops.im2col import kernel_offset_weights
    from minigan.engine.ops.linalg import gemm

    a = random_array(xp, (n, k), seed)
    weight = random_array(xp, (k, stack, 1, m), seed + 1)  # (A, kh, kw, B) with kh·kw = stack
    b = kernel_offset_weights(weight)  # (stack, k, m), not contiguous
    product = to_numpy(gemm(a, b))
    assert product.shape == (stack, n, m)
    for i in range(stack):
        expected = to_numpy(a) @ to_numpy(weight)[:, i, 0, :]
        assert numpy.allclose(product[i], expected, rtol=1e-12, atol=0)


def test_matmul_shape_mismatch_names_both_shapes(xp):
    with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(4, 5\) do not match: .*x \(3\).*y \(4\)"):
        Tensor(xp.ones((2, 3))) @ Tensor(xp.ones((4, 5)))


def test_linear_errors(xp):
    w = Tensor(xp.ones((4, 3), dtype=numpy.float32))
    with pytest.raises(ValueError, match=r"input has 5 features \(shape \(2, 5\)\) but weight expects 3"):
        ops.linear(Tensor(xp.ones((2, 5), dtype=numpy.float32)), w)
    with pytest.raises(TypeError, match="input has dtype float64 but weight has dtype float32"):
        ops.linear(Tensor(xp.ones((2, 3))), w)


def test_mixed_float_dtypes_raise_instead_of_upcasting(xp):
    with pytest.raises(TypeError, match="add: operands have dtypes float32 and float64"):
        Tensor(xp.ones(2, dtype=numpy.float32)) + Tensor(xp.ones(2))


# ----- float32 stays float32 ----------------------------------------------------------------------
FLOAT32_CASES = {
    **{name: (lambda f: lambda a, b: f(a, b))(f) for name, f in BINARY.items()},
    **{name: (lambda f: lambda a, b: f(a))(f) for name, (f, _) in UNARY.items() if name != "astype round trip"},
    "scalar arithmetic": lambda a, b: 0.2 * a + 1 - a / 3.0,
    "sum": lambda a, b: a.sum(axis=0),
    "mean": lambda a, b: a.mean(),
    "max": lambda a, b: a.max(axis=1, keepdims=True),
    "logsumexp": lambda a, b: ops.logsumexp(a, axis=1),
    "transpose": lambda a, b: a.T,
    "reshape": lambda a, b: a.reshape(-1),
    "getitem": lambda a, b: a[1:],
    "concatenate": lambda a, b: ops.concatenate([a, b]),
    "matmul": lambda a, b: a @ b.T,
    "linear": lambda a, b: ops.linear(a, b, b[0]),
}


@pytest.mark.parametrize("name", FLOAT32_CASES)
def test_float32_in_float32_out_and_float32_gradients(xp, name):
    a = Tensor(xp.asarray(numpy.random.default_rng(0).uniform(0.5, 2.0, (3, 3)), dtype=numpy.float32), requires_grad=True)
    b = Tensor(xp.asarray(numpy.random.default_rng(1).uniform(0.5, 2.0, (3, 3)), dtype=numpy.float32), requires_grad=True)
    out = FLOAT32_CASES[name](a, b)
    assert out.dtype == numpy.float32
    out.sum().backward()
    for t in (a, b):
        assert t.grad is None or t.grad.dtype == numpy.float32


def test_clamp_min_values_gradient_and_errors(xp):
    x = Tensor(xp.asarray([-1.0, 0.5, 2.0]), requires_grad=True)
    y = ops.clamp_min(x, 0.5)
    assert y.numpy().tolist() == [0.5, 0.5, 2.0]
    y.sum().backward()
    assert to_numpy(x.grad).tolist() == [0.0, 0.0, 1.0]  # 0 where clamped, and at the kink
    with pytest.raises(TypeError, match="clamp_min: low must be a Python int or float, got Tensor"):
        ops.clamp_min(x, Tensor(xp.ones(1)))
