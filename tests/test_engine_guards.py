"""Issue 22's findings in the engine: each was accepted silently, or failed with a message that did not
name the argument; now each is one line naming it (or, for grad(x, x, v), no longer shares v)."""

import numpy
import pytest

import minigan
from minigan import Tensor, backend, grad, nn, optim
from minigan.engine.gradcheck import gradcheck, gradgradcheck


def test_gradcheck_takes_a_list_of_inputs_and_a_function_that_returns_a_tensor(xp):
    x = Tensor(xp.ones(3, dtype=numpy.float64), requires_grad=True)
    with pytest.raises(TypeError, match=r"gradcheck: inputs must be a list of Tensors .* got a Tensor; write \[x\] for one input"):
        gradcheck(lambda a: a * 2, x)
    with pytest.raises(TypeError, match="gradgradcheck: function must return a Tensor, got a float"):
        gradgradcheck(lambda a: 1.0, [x])
    assert gradcheck(lambda a: a * 2, (x,))  # a tuple is a list of inputs too


def test_grad_refuses_empty_outputs_and_a_cast_of_grad_outputs_and_never_returns_the_callers_v(xp):
    x = Tensor(xp.ones(3, dtype=numpy.float64), requires_grad=True)
    with pytest.raises(ValueError, match=r"grad\(\): outputs is empty"):
        grad([], x)
    with pytest.raises(ValueError, match=r"grad\(\): inputs is empty"):
        grad(x * 2, [])
    with pytest.raises(TypeError, match=r"grad_outputs\[0\]: grad has dtype float32, expected the tensor's dtype float64"):
        grad(x * 2, x, grad_outputs=xp.ones(3, dtype=numpy.float32))  # backward() refused this; grad() cast it
    v = Tensor(xp.full(3, 2.0, dtype=numpy.float64))
    (g,) = grad(x, x, grad_outputs=v)
    assert g is not v and g.data is not v.data
    g.data[...] = 0  # the caller's v is untouched
    assert float(v.data.sum()) == 6.0


def test_a_mean_over_no_element_is_refused_not_nan(xp):
    with pytest.raises(ValueError, match=r"mean: the axes \(0, 1\) of a tensor of shape \(0, 3\) hold no element to average"):
        Tensor(xp.zeros((0, 3), dtype=numpy.float32)).mean()
    with pytest.raises(ValueError, match=r"the axes \(1,\) of a tensor of shape \(2, 0\)"):
        minigan.ops.mean(Tensor(xp.zeros((2, 0), dtype=numpy.float32)), axis=1)
    assert Tensor(xp.zeros((0, 3), dtype=numpy.float32)).mean(axis=1).shape == (0,)  # nothing averaged, nothing refused


def test_adam_refuses_moments_without_a_step(xp):
    parameter = nn.Parameter(xp.zeros(4, dtype=numpy.float32))
    adam = optim.Adam([parameter])
    state = adam.state_dict()
    state["m"] = numpy.ones(4, numpy.float32)  # t is still 0
    with pytest.raises(ValueError, match="'t' is 0 .* but the moments 'm' and 'v' are not all 0"):
        adam.load_state_dict(state)
    adam.load_state_dict(adam.state_dict())  # a real state loads


def test_grad_tensor_never_outlives_the_gradient_it_stood_for(xp):
    """After backward(create_graph=True), .grad_tensor is .grad with a graph; a plain backward that adds to
    .grad, or a zero_grad(), used to leave the old one behind."""
    layer = nn.Linear(3, 2)
    layer.weight.data[...] = xp.asarray(numpy.arange(6, dtype=numpy.float32).reshape(layer.weight.shape))
    x = Tensor(xp.ones((4, 3), dtype=numpy.float32))
    layer(x).sum().backward(create_graph=True)
    numpy.testing.assert_array_equal(backend.to_numpy(layer.weight.grad_tensor.data), backend.to_numpy(layer.weight.grad))
    layer(x).sum().backward()  # plain: .grad doubles, and no graph holds the sum
    assert layer.weight.grad_tensor is None
    layer(x).sum().backward(create_graph=True)
    layer.zero_grad()
    assert layer.weight.grad_tensor is None and not layer.weight.grad.any()
    adam = optim.Adam(layer.parameters())
    layer(x).sum().backward(create_graph=True)
    adam.zero_grad()
    assert layer.weight.grad_tensor is None


def test_a_gradient_assigned_to_a_parameter_is_the_one_step_uses(xp):
    """Under an optimiser .grad is a view into its flat buffer: assigning an array used to rebind .grad and
    leave step() reading the old buffer, silently."""
    layer = nn.Linear(3, 2)
    sgd = optim.SGD(layer.parameters(), lr=1.0)
    before = backend.to_numpy(layer.weight.data).copy()
    layer.weight.grad = xp.ones(layer.weight.shape, dtype=layer.weight.dtype)
    sgd.step()
    numpy.testing.assert_array_equal(backend.to_numpy(layer.weight.data), before - 1)
    layer.weight.grad = None  # zeroes the view, which step() reads
    sgd.step()
    numpy.testing.assert_array_equal(backend.to_numpy(layer.weight.data), before - 1)
    with pytest.raises(TypeError, match=r"Parameter.grad: the gradient assigned has shape \(2, 3\) and dtype float64; "
                                        r"expected the parameter's \(2, 3\) and float32"):
        layer.weight.grad = xp.ones(layer.weight.shape, dtype=numpy.float64)


def test_backward_through_weights_an_optimiser_changed_is_refused(xp):
    """The classic bug: D stepped before G's loss, computed through D, was back-propagated. Its gradient
    would be taken with the new weights; PyTorch refuses it with a version counter, and so do we."""
    layer = nn.Linear(3, 2)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    x = Tensor(xp.ones((4, 3), dtype=numpy.float32), requires_grad=True)
    y = layer(x).sum()
    opt.step()
    with pytest.raises(RuntimeError, match=r"backward through \w+: its input \d \(shape \(\d, \d\)\) was changed in place after "
                                           r"the forward \(version 0 -> 1\), e.g. by an optimiser step"):
        y.backward()
    layer(x).sum().backward()  # computed again after the step: fine
    y = layer(x).sum()
    layer.load_state_dict(layer.state_dict())  # a loaded state changes the weights in place too
    with pytest.raises(RuntimeError, match="was changed in place after the forward"):
        y.backward()
