"""Optimisers check what they are given: hyper-parameters at construction, saved state at load_state_dict."""

import numpy
import pytest

from minigan import nn, optim
from test_optim import make_params, set_gradients


@pytest.mark.parametrize("make, error, message", [
    (lambda p: optim.Adam(p, lr=float("inf")), ValueError, "Adam: lr must be finite, got inf"),
    (lambda p: optim.SGD(p, lr=float("inf")), ValueError, "SGD: lr must be finite, got inf"),
    (lambda p: optim.Adam(p, lr=float("nan")), ValueError, "Adam: lr must be finite, got nan"),
    (lambda p: optim.SGD(p, lr=-0.1), ValueError, "SGD: lr must be positive, got -0.1"),
    (lambda p: optim.Adam(p, lr=True), TypeError, "Adam: lr must be a real number, got True"),
    (lambda p: optim.Adam(p, lr="1e-3"), TypeError, r"Adam: lr must be a real number, got '1e-3' \(a str\)"),
    (lambda p: optim.Adam(p, betas=(0.9,)), ValueError, r"Adam: betas must be a pair \(beta1, beta2\), got \(0.9,\)"),
    (lambda p: optim.Adam(p, betas=0.9), ValueError, r"Adam: betas must be a pair \(beta1, beta2\), got 0.9"),
    (lambda p: optim.Adam(p, betas=(0.9, float("nan"))), ValueError, r"Adam: betas\[1\] must be finite, got nan"),
    (lambda p: optim.Adam(p, betas=(-0.1, 0.9)), ValueError, r"Adam: betas must each be in \[0, 1\), got \(-0.1, 0.9\)"),
    (lambda p: optim.Adam(p, eps=float("inf")), ValueError, "Adam: eps must be finite, got inf"),
    (lambda p: optim.Adam(p, eps=0.0), ValueError, "Adam: eps must be positive, got 0.0"),
    (lambda p: optim.SGD(p, momentum=float("nan")), ValueError, "SGD: momentum must be finite, got nan"),
    (lambda p: optim.SGD(p, momentum=1.0), ValueError, r"SGD: momentum must be in \[0, 1\), got 1.0"),
    (lambda p: optim.SGD(p, momentum="0.9"), TypeError, "SGD: momentum must be a real number, got '0.9'"),
    (lambda p: optim.SGD(p, weight_decay=float("nan")), ValueError, "SGD: weight_decay must be finite, got nan"),
    (lambda p: optim.SGD(p, weight_decay=float("inf")), ValueError, "SGD: weight_decay must be finite, got inf"),
    (lambda p: optim.SGD(p, weight_decay=-1e-4), ValueError, "SGD: weight_decay must be ≥ 0, got -0.0001"),
])
def test_bad_hyper_parameters_are_refused_in_one_line_naming_them(make, error, message, xp):
    with pytest.raises(error, match=message):
        make(make_params(xp))


def test_numpy_hyper_parameters_are_accepted(xp):
    optim.Adam(make_params(xp), lr=numpy.float32(2e-4), betas=numpy.array([0.5, 0.999]), eps=numpy.float64(1e-8))
    optim.SGD(make_params(xp), lr=numpy.float64(0.1), momentum=numpy.float32(0.9), weight_decay=0)


def trained_adam(xp):
    params = make_params(xp)
    adam = optim.Adam(params, lr=0.01)
    set_gradients(params, 0)
    adam.step()
    return adam


@pytest.mark.parametrize("edit, error, message", [
    (lambda s: s.update(m=numpy.where(numpy.arange(11) == 4, numpy.nan, s["m"])), ValueError,
     r"Adam.load_state_dict: 'm' holds 1 non-finite value\(s\) of 11 \(NaN or ±inf in float64; the first at index \(4,\) is nan\)"),
    (lambda s: s.update(v=numpy.full(11, numpy.inf)), ValueError, "'v' holds 11 non-finite value"),
    (lambda s: s.update(v=-s["v"] - 1), ValueError, r"Adam.load_state_dict: 'v' must be ≥ 0 \(a running average of squared gradients\), found 11 negative"),
    (lambda s: s.update(m=numpy.zeros(12)), ValueError, r"Adam.load_state_dict: 'm' has shape \(12,\) in the state, expected \(11,\)"),
    (lambda s: s.update(m=numpy.array(["a"] * 11)), TypeError, "'m' must be an array of real numbers, got dtype <U1"),
    (lambda s: s.update(t=numpy.array(-3)), ValueError, r"'t' must be a non-negative integer \(the number of steps taken\), got array\(-3\)"),
    (lambda s: s.update(t=1.5), ValueError, "'t' must be a non-negative integer"),
    (lambda s: s.pop("t"), KeyError, r"Adam.load_state_dict: missing keys \['t'\]"),
    (lambda s: s.update(velocity=s["m"]), KeyError, r"unexpected keys \['velocity'\]"),
])
def test_adam_load_state_dict_refuses_what_does_not_fit_and_changes_nothing(xp, edit, error, message):
    source, target = trained_adam(xp), trained_adam(xp)
    state = source.state_dict()
    edit(state)
    before = {key: numpy.array(value) for key, value in target.state_dict().items()}
    with pytest.raises(error, match=message):
        target.load_state_dict(state)
    for key, value in target.state_dict().items():
        numpy.testing.assert_array_equal(value, before[key])


def test_sgd_load_state_dict_refuses_non_finite_velocity_and_a_state_of_other_settings(xp):
    momentum = optim.SGD(make_params(xp), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"SGD.load_state_dict: 'velocity' holds 1 non-finite value\(s\) of 11"):
        momentum.load_state_dict({"velocity": numpy.where(numpy.arange(11) == 0, numpy.inf, 0.0)})
    with pytest.raises(KeyError, match=r"SGD.load_state_dict: missing keys \['velocity'\]"):
        momentum.load_state_dict({})
    with pytest.raises(KeyError, match=r"unexpected keys \['velocity'\]"):  # saved with momentum, loaded without
        optim.SGD(make_params(xp), lr=0.1).load_state_dict(momentum.state_dict())
    with pytest.raises(TypeError, match="state must be a dict"):
        momentum.load_state_dict(None)


def test_a_float64_state_too_large_for_float32_is_refused_not_turned_into_inf(xp):
    adam = optim.Adam(make_params(xp, dtype=numpy.float32))
    state = {"t": numpy.array(1), "m": numpy.full(11, 1e300), "v": numpy.ones(11)}
    with pytest.raises(ValueError, match="'m' holds 11 non-finite value.*in float32"):
        adam.load_state_dict(state)


def test_a_model_or_a_single_parameter_instead_of_a_parameter_list_is_named():
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match=r"Adam: parameters must be an iterable of Parameters such as model.parameters\(\), got a Linear \(pass model.parameters\(\)\)"):
        optim.Adam(layer)
    with pytest.raises(TypeError, match=r"SGD: parameters must be .* got a Parameter \(wrap it in a list\)"):
        optim.SGD(layer.weight)  # list() would have iterated over its rows: "parameter 0 is a Tensor"
