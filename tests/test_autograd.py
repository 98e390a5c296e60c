"""The engine: reverse mode over a DAG, accumulation, broadcasting, no_grad."""

import numpy
import pytest
from hypothesis import given

from minigan import Function, Tensor, no_grad
from minigan.engine.autograd import unbroadcast
from conftest import assert_close
from strategies import broadcastable_pairs, random_array, seeds


def test_gradient_of_a_shared_subexpression_adds_both_paths(xp):
    # y = a·a + a: dy/da = 2a + 1; a is used three times.
    a = Tensor(xp.asarray([3.0]), requires_grad=True)
    (a * a + a).sum().backward()
    assert a.grad.tolist() == [7.0]


def test_diamond_graph(xp):
    # b = 2x, c = x², y = b·c = 2x³: dy/dx = 6x² (each node visited once, after all its users)
    x = Tensor(xp.asarray([2.0]), requires_grad=True)
    b, c = x * 2.0, x * x
    (b * c).sum().backward()
    assert x.grad.tolist() == [24.0]


def test_gradients_accumulate_across_two_backward_calls(xp):
    x = Tensor(xp.asarray([1.0, -2.0]), requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    assert_close(x.grad, 2 * x.data + 3.0, rtol=0, atol=0)


def test_second_backward_on_the_same_graph_adds_the_same_gradient(xp):
    x = Tensor(xp.asarray([1.5]), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()
    assert x.grad.tolist() == [6.0]


def test_no_grad_records_nothing(xp):
    x = Tensor(xp.ones(3), requires_grad=True)
    with no_grad():
        y = (x * 2.0).sum()
    assert not y.requires_grad and y._ctx is None
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        y.backward()
    z = (x * 2.0).sum()  # recording resumes after the block
    assert z.requires_grad


def test_backward_without_grad_needs_a_scalar(xp):
    x = Tensor(xp.ones((2, 2)), requires_grad=True)
    with pytest.raises(ValueError, match=r"one-element tensor; this one has shape \(2, 2\)"):
        (x * 2.0).backward()


def test_backward_grad_must_match_shape(xp):
    x = Tensor(xp.ones((2, 2)), requires_grad=True)
    with pytest.raises(ValueError, match=r"grad has shape \(3,\), expected .*\(2, 2\)"):
        (x * 2.0).backward(xp.ones(3))


def test_detach_stops_gradients(xp):
    x = Tensor(xp.asarray([2.0]), requires_grad=True)
    y = x * x.detach()  # d/dx treats the detached factor as a constant
    y.sum().backward()
    assert x.grad.tolist() == [2.0]


def test_integer_tensors_cannot_require_grad(xp):
    with pytest.raises(TypeError, match="floating dtype, got data of dtype int64"):
        Tensor(xp.arange(3, dtype=numpy.int64), requires_grad=True)


def test_intermediate_tensors_keep_no_grad_leaves_do(xp):
    x = Tensor(xp.ones(2), requires_grad=True)
    y = x * 2.0
    y.sum().backward()
    assert y.grad is None and x.grad is not None


@given(broadcastable_pairs(), seeds)
def test_unbroadcast_is_the_adjoint_of_broadcasting(xp, shapes, seed):
    # ⟨broadcast(a), g⟩ = ⟨a, unbroadcast(g)⟩ for every a and g: the definition of the adjoint.
    shape_a, shape_b = shapes
    out_shape = numpy.broadcast_shapes(shape_a, shape_b)
    a = random_array(xp, shape_a, seed)
    g = random_array(xp, out_shape, seed + 1)
    left = float((xp.broadcast_to(a, out_shape) * g).sum())
    right = float((a * unbroadcast(g, shape_a)).sum())
    assert unbroadcast(g, shape_a).shape == shape_a
    assert numpy.isclose(left, right, rtol=1e-10, atol=1e-10)


# ----- what a Tensor holds, and what arithmetic accepts (policy in autograd.py's docstring) ------------
@pytest.mark.parametrize("data, message", [
    (None, "data is None"),
    (numpy.array([1.0, None], dtype=object), "dtype object"),
    ([1.0, None], "dtype object"),
    ("abc", "dtype <U3"),
    (numpy.array([1 + 2j]), "dtype complex128"),
])
def test_tensor_refuses_what_is_not_a_number(data, message):
    with pytest.raises(TypeError, match=message):
        Tensor(data)


def test_tensor_refuses_a_ragged_list():
    with pytest.raises(ValueError, match="Tensor\\(data\\): data is not a rectangular array"):
        Tensor([[1.0, 2.0], [3.0]])


def test_tensor_keeps_bool_integer_and_float_arrays(xp):
    for dtype in (numpy.bool_, numpy.int64, numpy.uint8, numpy.float32, numpy.float64):
        assert Tensor(xp.zeros(2, dtype=dtype)).dtype == dtype
    assert Tensor([1, 2]).dtype == numpy.float32  # numbers and lists take the default dtype, as before


@pytest.mark.parametrize("operation", [
    lambda t: t * 0.5, lambda t: 0.5 * t, lambda t: t / 2, lambda t: t + t, lambda t: t - 1, lambda t: -t,
    lambda t: t**2, lambda t: t.exp(), lambda t: t.log(), lambda t: t.tanh(), lambda t: t.relu(), lambda t: t.mean(),
])
@pytest.mark.parametrize("dtype", [numpy.int64, numpy.bool_])
def test_arithmetic_refuses_integer_and_bool_tensors(xp, operation, dtype):
    """Tensor(arange(4)) * 0.5 used to give [0, 0, 0, 0] (0.5 cast to int64), bool + bool a bool."""
    t = Tensor(xp.arange(4).astype(dtype))
    with pytest.raises(TypeError, match=f"operand has dtype {numpy.dtype(dtype)}; arithmetic needs floating tensors, convert it first with .astype"):
        operation(t)


def test_an_integer_tensor_converted_first_computes_correctly(xp):
    t = Tensor(xp.arange(4)).astype(numpy.float32) * 0.5
    assert t.dtype == numpy.float32 and t.numpy().tolist() == [0.0, 0.5, 1.0, 1.5]


# ----- the engine checks what each backward returns ------------------------------------------------------
class WrongShape(Function):
    def forward(self, x):
        return x * 2

    def backward(self, grad):
        return Tensor(grad.data[:1])  # (1,) for an input of shape (3,)


class WrongCount(Function):
    def forward(self, x):
        return x * 2

    def backward(self, grad):
        return grad, grad


class WrongDtype(Function):
    def forward(self, x):
        return x * 2

    def backward(self, grad):
        return grad.astype(numpy.float32)


@pytest.mark.parametrize("function, error, message", [
    (WrongShape, RuntimeError, r"WrongShape.backward returned a gradient of shape \(1,\) for input 0 of shape \(3,\)"),
    (WrongCount, RuntimeError, r"WrongCount.backward returned 2 gradients for 1 inputs"),
    (WrongDtype, RuntimeError, r"WrongDtype.backward returned a gradient of dtype float32 for input 0 of dtype float64"),
])
def test_a_backward_that_returns_the_wrong_gradient_is_named(xp, function, error, message):
    x = Tensor(xp.ones(3), requires_grad=True)
    with pytest.raises(error, match=message):
        function.apply(x).sum().backward()
    assert x.grad is None  # nothing wrongly shaped was left behind


def test_a_gradient_in_the_broadcast_shape_is_summed_back(xp):
    class Spread(Function):  # returns dL/dx in the (2, 3) shape x was broadcast to
        def forward(self, x):
            return x + xp.zeros((2, 3))

        def backward(self, grad):
            return grad

    x = Tensor(xp.ones((1, 3)), requires_grad=True)
    Spread.apply(x).sum().backward()
    assert x.grad.tolist() == [[2.0, 2.0, 2.0]]
