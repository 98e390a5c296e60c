"""Modules: parameter discovery, modes, gradients, state_dict round trips, Linear."""

import numpy
import pytest

import minigan
from minigan import Tensor, nn, ops
from minigan.engine.nn import init

from conftest import assert_close


class TwoLayer(nn.Module):
    def __init__(self):
        self.hidden = nn.Linear(3, 4)
        self.blocks = [nn.Linear(4, 4), nn.Tanh()]
        self.out = nn.Linear(4, 1, bias=False)

    def forward(self, x):
        x = self.hidden(x).relu()
        for block in self.blocks:
            x = block(x)
        return self.out(x)


def test_parameters_are_found_in_attribute_order_with_dotted_names():
    model = TwoLayer()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["hidden.weight", "hidden.bias", "blocks.0.weight", "blocks.0.bias", "out.weight"]
    assert all(p.requires_grad for p in model.parameters())


def test_sequential_names_and_forward(xp):
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model(Tensor(xp.ones((5, 2), dtype=numpy.float32))).shape == (5, 1)


def test_train_and_eval_reach_every_module():
    model = TwoLayer()
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_and_freezing(xp):
    model = TwoLayer()
    model(Tensor(xp.ones((2, 3), dtype=numpy.float32))).sum().backward()
    assert all(p.grad is not None and bool((p.grad != 0).any()) for p in model.parameters())
    model.zero_grad()
    assert all(bool((p.grad == 0).all()) for p in model.parameters())
    model.requires_grad_(False)
    x = Tensor(xp.ones((2, 3), dtype=numpy.float32), requires_grad=True)
    model(x).sum().backward()
    assert all(bool((p.grad == 0).all()) for p in model.parameters())  # frozen: untouched
    assert x.grad is not None  # but the gradient still flows through to the input


def test_state_dict_round_trip(xp):
    minigan.seed(1)
    source = TwoLayer()
    minigan.seed(2)
    target = TwoLayer()
    state = source.state_dict()
    assert all(isinstance(v, numpy.ndarray) for v in state.values())
    target.load_state_dict(state)
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        assert_close(a.data, b.data, rtol=0, atol=0)
    state["hidden.weight"][...] = 7  # a copy: changing it leaves the module alone
    assert not numpy.any(source.hidden.weight.numpy() == 7)


def test_load_state_dict_errors_name_keys_and_shapes(xp):
    model = TwoLayer()
    state = model.state_dict()
    with pytest.raises(KeyError, match=r"missing keys \['out.weight'\]"):
        model.load_state_dict({k: v for k, v in state.items() if k != "out.weight"})
    state["hidden.bias"] = numpy.zeros(5)
    with pytest.raises(ValueError, match=r"'hidden.bias' has shape \(5,\) in the state, expected \(4,\)"):
        model.load_state_dict(state)


def test_linear_shapes_dtype_and_init(xp):
    layer = nn.Linear(100, 1200)
    assert layer.weight.shape == (1200, 100) and layer.bias.shape == (1200,)
    assert layer.weight.dtype == numpy.float32 and isinstance(layer.weight.data, xp.ndarray)
    bound = (6 / 1300) ** 0.5
    weight = layer.weight.numpy()
    assert numpy.abs(weight).max() <= bound and numpy.abs(weight).max() > 0.9 * bound
    assert numpy.all(layer.bias.numpy() == 0)


def test_linear_rejects_wrong_input(xp):
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"input has 4 features \(shape \(5, 4\)\) but weight expects 3"):
        layer(Tensor(xp.ones((5, 4), dtype=numpy.float32)))
    with pytest.raises(TypeError, match=r"dtype float64 .* float32"):
        layer(Tensor(xp.ones((5, 3))))
    with pytest.raises(ValueError, match="in_features must be a positive int, got 0"):
        nn.Linear(0, 2)


def test_initialisers_have_the_documented_statistics(xp):
    minigan.seed(0)
    p = nn.Parameter(xp.empty((400, 500), dtype=numpy.float32))
    init.normal_(p, std=0.02)
    assert p.dtype == numpy.float32
    assert abs(float(p.data.std()) - 0.02) < 0.001 and abs(float(p.data.mean())) < 0.001
    init.he_uniform_(p)
    assert numpy.isclose(float(xp.abs(p.data).max()), (6 / 500) ** 0.5, rtol=0.01)
    assert init.fans((64, 4, 4, 3)) == (48, 1024)


def test_activation_layers_are_their_ops(xp):
    x = Tensor(xp.linspace(-30.0, 30.0, 13))
    for layer, op in ((nn.ReLU(), ops.relu), (nn.Tanh(), ops.tanh), (nn.Sigmoid(), ops.sigmoid), (nn.Softplus(), ops.softplus)):
        assert_close(layer(x).data, op(x).data, rtol=0, atol=0)


def test_normal_weights_draws_weights_around_0_and_norm_scales_around_1(xp):
    minigan.seed(0)
    model = nn.Sequential(nn.Linear(300, 200), nn.BatchNorm1d(200), nn.Reshape(10, 20, 1),
                          nn.Conv2d(1, 300, 3), nn.InstanceNorm2d(300, affine=True), nn.LayerNorm(300))
    assert init.normal_weights_(model, std=0.05) is model
    linear, batch, _, conv, instance, layer = model.layers
    for weight, mean in ((linear.weight, 0), (conv.weight, 0), (batch.weight, 1), (instance.weight, 1)):
        assert abs(float(weight.data.mean()) - mean) < 0.01 and abs(float(weight.data.std()) - 0.05) < 0.01
    assert all(float(xp.abs(m.bias.data).max()) == 0 for m in (linear, batch, conv, instance, layer))
    assert float(xp.abs(layer.weight.data - 1).max()) == 0  # layer norm keeps γ = 1 as built


def test_same_seed_same_parameters(xp):
    minigan.seed(5)
    a = nn.Linear(4, 4).weight.numpy()
    minigan.seed(5)
    b = nn.Linear(4, 4).weight.numpy()
    numpy.testing.assert_array_equal(a, b)


def test_load_state_dict_refuses_non_finite_and_non_numeric_values_and_changes_nothing(xp):
    model = TwoLayer()
    before = model.state_dict()
    for key, value, error, message in [
        ("out.weight", numpy.full((1, 4), numpy.nan), ValueError,
         r"TwoLayer.load_state_dict: 'out.weight' holds 4 non-finite value\(s\) of 4 \(NaN or ±inf in float32; the first at index \(0, 0\) is nan\)"),
        ("hidden.bias", numpy.array([0, 0, numpy.inf, 0]), ValueError, "'hidden.bias' holds 1 non-finite value"),
        ("hidden.bias", numpy.full(4, 1e39), ValueError, "'hidden.bias' holds 4 non-finite value.*in float32"),  # overflows the cast
        ("hidden.bias", numpy.array([None] * 4), TypeError, "'hidden.bias' must be an array of real numbers, got dtype object"),
        ("hidden.bias", numpy.array(["a"] * 4), TypeError, "'hidden.bias' must be an array of real numbers"),
    ]:
        state = dict(before, **{key: value})
        with pytest.raises(error, match=message):
            model.load_state_dict(state)
    for name, value in model.state_dict().items():  # the checks come before any copy
        numpy.testing.assert_array_equal(value, before[name])
    model.load_state_dict(dict(before, **{"hidden.bias": [1, 2, 3, 4]}))  # nested lists of numbers are fine
    assert model.hidden.bias.numpy().tolist() == [1, 2, 3, 4]
    with pytest.raises(TypeError, match=r"state must be a dict \{name: array\}"):
        model.load_state_dict(None)


def test_batch_norm_refuses_a_negative_running_variance(xp):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    state = model.state_dict()
    state["1.running_var"] = numpy.array([1.0, -0.5, 1.0])
    with pytest.raises(ValueError, match=r"Sequential.load_state_dict: 1.running_var must be ≥ 0 \(a variance\), found 1 negative value\(s\), the smallest -0.5"):
        model.load_state_dict(state)


def device_zeros(*shape):
    """Zeros on the backend under test (looked up when the case runs)."""
    return minigan.get_backend().xp.zeros(shape)


@pytest.mark.parametrize("make, error, message", [
    (lambda: nn.Linear(True, 3), ValueError, "Linear: in_features must be a positive int, got True"),
    (lambda: nn.Maxout(4, 3, pieces=True), ValueError, "Maxout: pieces must be a positive int, got True"),
    (lambda: nn.BatchNorm1d(True), ValueError, "BatchNorm1d: num_features must be a positive int, got True"),
    (lambda: nn.BatchNorm2d(3, eps=float("inf")), ValueError, "BatchNorm2d: eps must be finite, got inf"),
    (lambda: nn.BatchNorm1d(3, momentum="0.1"), TypeError, "BatchNorm1d: momentum must be a real number, got '0.1'"),
    (lambda: nn.LeakyReLU("0.2"), TypeError, "LeakyReLU: negative_slope must be a real number, got '0.2'"),
    (lambda: nn.Dropout("0.5"), TypeError, "Dropout: p must be a real number, got '0.5'"),
    (lambda: nn.Dropout(True), TypeError, "Dropout: p must be a real number, got True"),
    (lambda: nn.init.normal_(nn.Parameter(device_zeros(2, 2)), std=float("nan")), ValueError, "normal_: std must be finite, got nan"),
    (lambda: nn.init.normal_(nn.Parameter(device_zeros(2, 2)), std=-0.02), ValueError, "normal_: std must be ≥ 0, got -0.02"),
    (lambda: nn.init.uniform_(nn.Parameter(device_zeros(2, 2)), float("inf")), ValueError, "uniform_: bound must be finite, got inf"),
    (lambda: nn.init.uniform_(nn.Parameter(device_zeros(2, 2)), -1.0), ValueError, r"uniform_: bound must be ≥ 0 \(values are drawn from U\(−bound, bound\)\), got -1.0"),
    (lambda: nn.Sequential(nn.Linear(2, 2), 3), TypeError, r"Sequential: layer 1 is a int \(3\), expected a Module"),
    (lambda: nn.Sequential([nn.Linear(2, 2)]), TypeError, r"layer 0 is a list .* \(pass the layers themselves, not a list: Sequential\(\*layers\)\)"),
    (lambda: nn.Linear(2, 2).train("eval"), TypeError, r"Linear.train: mode must be True or False, got 'eval' \(for evaluation mode call .eval\(\)\)"),
    (lambda: nn.Linear(2, 2).requires_grad_("no"), TypeError, "Linear.requires_grad_: requires_grad must be True or False, got 'no'"),
])
def test_layers_refuse_bad_arguments_at_construction(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_train_and_requires_grad_take_numpy_bools():
    layer = nn.Linear(2, 2)
    assert layer.train(numpy.bool_(False)).training is False
    assert layer.requires_grad_(numpy.bool_(False)).weight.requires_grad is False
