"""The engine: reverse mode over a DAG, accumulation, broadcasting, no_grad."""

import numpy
import pytest
from hypothesis import given

from minigan import Tensor, no_grad
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
