"""Optimisers against their slow twins (``minigan.engine.ops.reference``: Adam as Kingma & Ba's
Algorithm 1, SGD with momentum), step by step, in float64 and float32; the twins against what the
paper says Adam's steps must be."""

import numpy
import pytest

from conftest import assert_close
from minigan import Tensor, nn, optim
from minigan.engine.backend import to_numpy
from minigan.engine.ops import reference


def make_params(xp, dtype=numpy.float64, seed=0):
    rng = numpy.random.default_rng(seed)
    return [nn.Parameter(xp.asarray(rng.standard_normal(shape), dtype=dtype)) for shape in [(3, 2), (4,), (1,)]]


def set_gradients(params, step):
    """A deterministic gradient per step (as if from a loss), written into the (flat-buffer) .grad."""
    for i, p in enumerate(params):
        g = numpy.sin(numpy.arange(p.size).reshape(p.shape) + 3 * step + i)
        p.grad[...] = p.xp.asarray(g, dtype=p.dtype)


@pytest.mark.parametrize("lr, betas", [(1e-3, (0.9, 0.999)), (2e-4, (0.5, 0.999)), (0.1, (0.0, 0.5))])
def test_adam_matches_algorithm_1(xp, lr, betas):
    params = make_params(xp)
    start = [p.numpy().copy() for p in params]
    optimiser = optim.Adam(params, lr=lr, betas=betas, eps=1e-8)
    steps = 5
    for step in range(steps):
        optimiser.zero_grad()
        set_gradients(params, step)
        optimiser.step()
    for i, p in enumerate(params):
        grads = [numpy.sin(numpy.arange(p.size).reshape(p.shape) + 3 * step + i) for step in range(steps)]
        numpy.testing.assert_allclose(p.numpy(), reference.adam(start[i], grads, lr, betas, 1e-8), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.999), (0.0, 0.5)])
def test_twin_adams_steps_are_lr_for_a_constant_gradient(xp, betas):
    """Kingma & Ba §2.1 and §3: with the bias corrections, a constant gradient g gives m̂ₜ = g and
    v̂ₜ = g² at every t, so every step is α·g/(|g| + ε) ≈ ±α (up to rounding). Without them step t
    would be (1 − β₁ᵗ)/√(1 − β₂ᵗ) times as long (3.2 for β = (0.9, 0.999) at t = 1): an independent
    check of the twin's corrections."""
    lr, eps, steps = 1e-2, 1e-8, 4
    theta = xp.asarray(numpy.linspace(-1.0, 1.0, 7))
    g = xp.asarray([3.0, -2.0, 0.5, -1e-3, 1e3, 1.0, -7.0])
    for t in range(1, steps + 1):
        expected = theta - t * lr * g / (xp.abs(g) + eps)
        numpy.testing.assert_allclose(to_numpy(reference.adam(theta, [g] * t, lr, betas, eps)), to_numpy(expected), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.5, 0.01)])
def test_sgd_matches_reference(xp, momentum, weight_decay):
    params = make_params(xp)
    start = [p.numpy().copy() for p in params]
    optimiser = optim.SGD(params, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    for step in range(4):
        optimiser.zero_grad()
        set_gradients(params, step)
        optimiser.step()
    for i, p in enumerate(params):
        grads = [numpy.sin(numpy.arange(p.size).reshape(p.shape) + 3 * step + i) for step in range(4)]
        numpy.testing.assert_allclose(p.numpy(), reference.sgd(start[i], grads, 0.1, momentum, weight_decay), rtol=1e-12, atol=1e-14)


def test_backward_writes_into_the_optimisers_flat_buffer(xp):
    layer = nn.Linear(3, 2, dtype=numpy.float64)
    optimiser = optim.SGD(layer.parameters(), lr=1.0)
    x = Tensor(xp.ones((4, 3)))
    layer(x).sum().backward()
    assert float(xp.abs(optimiser.grad).sum()) > 0
    before = optimiser.data.copy()
    optimiser.step()
    assert_close(optimiser.data, before - optimiser.grad)
    optimiser.zero_grad()
    assert not bool(layer.weight.grad.any()) and layer.weight.shape == (2, 3)


def test_released_parameters_join_another_optimiser_which_alone_steps_them(xp):
    # A run that switches from SGD to Adam midway (the lab's optimiser setting).
    layer = nn.Linear(3, 2, dtype=numpy.float64)
    first = optim.SGD(layer.parameters(), lr=1.0)
    with pytest.raises(ValueError, match="already belongs to another optimiser"):
        optim.Adam(layer.parameters(), lr=0.1)
    first.release()
    second = optim.SGD(layer.parameters(), lr=0.5)
    before = to_numpy(layer.weight.data).copy()
    layer(Tensor(xp.ones((4, 3)))).sum().backward()
    gradient = to_numpy(layer.weight.grad).copy()
    first.step()                      # the released optimiser changes nothing anyone uses
    second.step()
    assert_close(to_numpy(layer.weight.data), before - 0.5 * gradient)


@pytest.mark.parametrize("make", [lambda p: optim.Adam(p, lr=1e-3), lambda p: optim.SGD(p, lr=1e-2, momentum=0.9, weight_decay=1e-3)])
def test_a_step_keeps_float32(xp, make):
    params = make_params(xp, dtype=numpy.float32)
    optimiser = make(params)
    set_gradients(params, 0)
    optimiser.step()
    assert all(p.dtype == numpy.float32 for p in params)
    assert optimiser.data.dtype == optimiser.grad.dtype == numpy.float32
    assert all(a.dtype == numpy.float32 for a in vars(optimiser).values() if isinstance(a, xp.ndarray))  # m, v, scratch …


def continued_after_state_round_trip(xp, make_optimiser):
    """Two optimisers: ``a`` steps 5 times; ``b`` takes a's weights and ``state_dict()`` after 3 and makes
    the last 2 steps itself. Returns both, so a test can ask that they end bit for bit the same."""
    a_params, b_params = make_params(xp), make_params(xp)
    a, b = make_optimiser(a_params), make_optimiser(b_params)
    for step in range(3):
        set_gradients(a_params, step)
        a.step()
    b.data[...] = a.data
    b.load_state_dict(a.state_dict())
    for step in range(3, 5):
        set_gradients(a_params, step)
        set_gradients(b_params, step)
        a.step()
        b.step()
    return a, b


def test_adam_state_round_trip_continues_identically(xp):
    a, b = continued_after_state_round_trip(xp, lambda params: optim.Adam(params, lr=0.01))
    assert_close(a.data, b.data, rtol=0, atol=0)


def test_optimiser_errors(xp):
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="parameter 0 is a Tensor, expected a Parameter"):
        optim.SGD([Tensor(xp.ones(2), requires_grad=True)])
    params = make_params(xp)
    optim.Adam(params)
    with pytest.raises(ValueError, match="already belongs to another optimiser"):
        optim.SGD(params)
    with pytest.raises(ValueError, match="betas must each be in"):
        optim.Adam(make_params(xp), betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="lr must be positive, got -1"):
        optim.SGD(make_params(xp), lr=-1)


# ----- RMSprop ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("lr, alpha, eps", [(1e-2, 0.99, 1e-8), (5e-5, 0.99, 1e-8), (0.1, 0.5, 1e-3), (0.01, 0.0, 1e-8)])
def test_rmsprop_matches_its_twin(xp, lr, alpha, eps):
    params = make_params(xp)
    start = [p.numpy().copy() for p in params]
    optimiser = optim.RMSprop(params, lr=lr, alpha=alpha, eps=eps)
    for step in range(5):
        optimiser.zero_grad()
        set_gradients(params, step)
        optimiser.step()
    for i, p in enumerate(params):
        grads = [numpy.sin(numpy.arange(p.size).reshape(p.shape) + 3 * step + i) for step in range(5)]
        numpy.testing.assert_allclose(p.numpy(), reference.rmsprop(start[i], grads, lr, alpha, eps), rtol=1e-12, atol=1e-14)


def test_rmsprop_first_step_moves_each_weight_by_about_lr_over_sqrt_of_one_minus_alpha(xp):
    """With v₁ = (1 − α)g², the first step is η·g/(|g|√(1 − α) + ε) ≈ η/√(1 − α)·sign(g): the step
    size does not depend on the gradient's scale, which is what made it work for the WGAN critic."""
    params = make_params(xp)
    start = [p.numpy().copy() for p in params]
    optimiser = optim.RMSprop(params, lr=1e-3, alpha=0.99)
    for p in params:
        p.grad[...] = p.xp.asarray(numpy.full(p.shape, 1e3))
    optimiser.step()
    for p, before in zip(params, start):
        numpy.testing.assert_allclose(before - p.numpy(), 1e-3 / numpy.sqrt(0.01), rtol=1e-9)


def test_rmsprop_keeps_float32_and_its_state_round_trips(xp):
    params = make_params(xp, dtype=numpy.float32)
    optimiser = optim.RMSprop(params, lr=1e-3)
    set_gradients(params, 0)
    optimiser.step()
    assert all(p.dtype == numpy.float32 for p in params) and optimiser.v.dtype == numpy.float32
    a, b = continued_after_state_round_trip(xp, lambda params: optim.RMSprop(params, lr=0.01))
    numpy.testing.assert_array_equal(to_numpy(a.data), to_numpy(b.data))
    with pytest.raises(ValueError, match=r"RMSprop.load_state_dict: 'v' has shape \(2,\)"):
        b.load_state_dict({"v": numpy.zeros(2)})


def test_rmsprop_errors(xp):
    with pytest.raises(ValueError, match="RMSprop: alpha must be in \\[0, 1\\), got 1.0"):
        optim.RMSprop(make_params(xp), alpha=1.0)
    with pytest.raises(ValueError, match="RMSprop: eps must be positive, got 0"):
        optim.RMSprop(make_params(xp), eps=0)
    with pytest.raises(ValueError, match="RMSprop: lr must be positive"):
        optim.RMSprop(make_params(xp), lr=0)
