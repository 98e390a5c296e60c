"""Weight normalisation (Salimans & Kingma 2016) and additive Gaussian noise: the two layers of the
semi-supervised GAN's discriminator (Salimans et al. 2016, §5).

Weight norm: ‖Wᵢ‖ = |gᵢ| whatever vᵢ is; the engine's gradient of the composition equals the paper's
eq. 3 and central finite differences; the data-dependent initialisation gives every unit pre-activations
of mean 0 and variance 1 on its minibatch, layer after layer; a fixed scale is a buffer, not a parameter.
Noise: the identity in eval mode, N(0, σ²) increments while training, the identity as its gradient,
reproducible from a seed, never upcast.
"""

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan
from minigan import Tensor, gradcheck, nn
from minigan.engine.backend import get_backend
from minigan.engine.nn.noise import gaussian_noise
from minigan.engine.nn.weight_norm import weight_norm
from strategies import random_array, seeds
from test_double_backward import check

from conftest import assert_close, to_numpy

sides = st.integers(1, 5)
# With one input per unit, v/‖v‖ is a sign: ∂W/∂v is exactly 0 and a relative error of finite differences
# against 0 means nothing, so the gradient checks draw at least 2 (the orthogonality test covers 1).
fan_ins = st.integers(2, 5)


# ----- weight_norm(v, g) --------------------------------------------------------------------------------
@given(out=sides, inputs=sides, seed=seeds)
def test_each_row_has_the_length_of_its_scale_and_the_direction_of_v(xp, out, inputs, seed):
    v, g = random_array(xp, (out, inputs), seed), random_array(xp, (out,), seed + 1)
    w = to_numpy(weight_norm(Tensor(v), Tensor(g)).data)
    assert_close(numpy.linalg.norm(w, axis=1), numpy.abs(to_numpy(g)), rtol=1e-12)
    # Scaling a direction by c > 0 changes nothing: only v/‖v‖ enters.
    c = numpy.random.default_rng(seed).uniform(0.1, 10, size=(out, 1))
    assert_close(weight_norm(Tensor(v * xp.asarray(c)), Tensor(g)).data, w, rtol=1e-12)


@given(out=sides, inputs=fan_ins, seed=seeds)
def test_weight_norm_gradients_pass_the_finite_difference_check(xp, out, inputs, seed):
    v = Tensor(random_array(xp, (out, inputs), seed), requires_grad=True)
    g = Tensor(random_array(xp, (out,), seed + 1), requires_grad=True)
    gradcheck(weight_norm, [v, g], seed=seed + 2)


@given(out=sides, inputs=sides, seed=seeds)
def test_weight_norm_gradients_are_the_papers_equation_3(xp, out, inputs, seed):
    v = Tensor(random_array(xp, (out, inputs), seed), requires_grad=True)
    g = Tensor(random_array(xp, (out,), seed + 1), requires_grad=True)
    grad_w = random_array(xp, (out, inputs), seed + 2)  # ∇w, the gradient arriving at W
    weight_norm(v, g).backward(grad_w)
    v_, g_, grad_w = to_numpy(v.data), to_numpy(g.data), to_numpy(grad_w)
    norm = numpy.linalg.norm(v_, axis=1)                                   # (out,)
    grad_g = (grad_w * v_).sum(axis=1) / norm                              # ∇g = ∇w·v / ‖v‖
    grad_v = (g_ / norm)[:, None] * grad_w - (g_ * grad_g / norm**2)[:, None] * v_  # ∇v = (g/‖v‖)∇w − (g∇g/‖v‖²) v
    assert_close(g.grad, grad_g, rtol=1e-10)
    assert_close(v.grad, grad_v, rtol=1e-10, atol=1e-12)


@given(out=sides, inputs=sides, seed=seeds)
def test_the_direction_gradient_is_orthogonal_to_the_direction(xp, out, inputs, seed):
    """v·∇v = 0 row by row: moving v along itself only rescales it, which leaves W unchanged."""
    v = Tensor(random_array(xp, (out, inputs), seed), requires_grad=True)
    weight_norm(v, Tensor(random_array(xp, (out,), seed + 1))).backward(random_array(xp, (out, inputs), seed + 2))
    along = (to_numpy(v.grad) * to_numpy(v.data)).sum(axis=1)
    assert_close(along, numpy.zeros(out), rtol=0, atol=1e-12 * (1 + numpy.abs(to_numpy(v.grad)).max() * numpy.abs(to_numpy(v.data)).max()))


# ----- WeightNormLinear -------------------------------------------------------------------------------------
@given(batch=sides, inputs=fan_ins, out=sides, train_scale=st.booleans(), seed=seeds)
def test_weight_norm_linear_is_x_times_the_normalised_weight_and_passes_the_gradient_check(xp, batch, inputs, out, train_scale, seed):
    layer = nn.WeightNormLinear(inputs, out, train_scale=train_scale, dtype=numpy.float64, rng=get_backend().rng(seed))
    scale = layer.scale.data if train_scale else layer.scale
    scale[...] = random_array(xp, (out,), seed + 1)
    layer.bias.data[...] = random_array(xp, (out,), seed + 2)
    x = Tensor(random_array(xp, (batch, inputs), seed + 3), requires_grad=True)
    v = to_numpy(layer.direction.data)
    expected = to_numpy(x.data) @ (to_numpy(scale)[:, None] * v / numpy.linalg.norm(v, axis=1, keepdims=True)).T + to_numpy(layer.bias.data)
    assert_close(layer(x).data, expected, rtol=1e-10, atol=1e-12)
    checked = [x] + layer.parameters()  # direction, bias and (when trained) scale
    gradcheck(lambda *tensors: layer(tensors[0]), checked, seed=seed + 4)


def test_a_fixed_scale_is_a_buffer_saved_in_the_state_but_not_trained():
    fixed, trained = nn.WeightNormLinear(4, 3, train_scale=False), nn.WeightNormLinear(4, 3)
    assert [name for name, _ in fixed.named_parameters()] == ["direction", "bias"]
    assert [name for name, _ in trained.named_parameters()] == ["direction", "bias", "scale"]
    assert sorted(fixed.state_dict()) == ["bias", "direction", "scale"]
    fixed.scale[...] = 3.0
    copy = nn.WeightNormLinear(4, 3, train_scale=False).load_state_dict(fixed.state_dict())
    assert_close(copy.scale, [3.0, 3.0, 3.0], rtol=0, atol=0)


def test_the_direction_is_drawn_from_the_seed_with_the_given_std():
    minigan.seed(5)
    first = nn.WeightNormLinear(400, 300, init_std=0.1).direction.numpy()
    minigan.seed(5)
    assert numpy.array_equal(first, nn.WeightNormLinear(400, 300, init_std=0.1).direction.numpy())
    assert first.dtype == numpy.float32 and abs(first.std() - 0.1) < 0.002 and abs(first.mean()) < 0.002


def test_float32_stays_float32(xp):
    layer = nn.WeightNormLinear(5, 3)
    x = Tensor(random_array(xp, (4, 5), 0, dtype=numpy.float32), requires_grad=True)
    y = layer(x)
    y.backward(xp.ones(y.shape, dtype=numpy.float32))
    assert y.dtype == numpy.float32 and x.grad.dtype == numpy.float32
    assert all(p.grad.dtype == numpy.float32 for p in layer.parameters())


# ----- data-dependent initialisation ---------------------------------------------------------------------------
@pytest.mark.parametrize("train_scale", [True, False])
def test_data_dependent_init_gives_every_unit_mean_0_and_variance_1_layer_after_layer(xp, train_scale):
    first = nn.WeightNormLinear(6, 5, train_scale=train_scale, dtype=numpy.float64)
    second = nn.WeightNormLinear(5, 4, train_scale=train_scale, dtype=numpy.float64)
    model = nn.Sequential(first, nn.ReLU(), second)
    x = Tensor(random_array(xp, (64, 6), 1) * 3 + 2)  # data far from mean 0 / variance 1
    nn.data_dependent_init_(model, x)
    hidden = first(x)
    for t in (hidden, second(hidden.relu())):
        assert_close(t.data.mean(axis=0), numpy.zeros(t.shape[1]), rtol=0, atol=1e-12)
        assert_close(t.data.std(axis=0), numpy.ones(t.shape[1]), rtol=1e-12)
    # g = 1/σ[t] is then the length of each row of W, and the layers are back to normal forwards.
    assert_close(numpy.linalg.norm(to_numpy(first.effective_weight().data), axis=1), to_numpy(getattr(first.scale, "data", first.scale)), rtol=1e-12)
    assert not first.initialising and not second.initialising


def test_data_dependent_init_errors(xp):
    with pytest.raises(ValueError, match="holds no WeightNormLinear"):
        nn.data_dependent_init_(nn.Sequential(nn.Linear(2, 2)), Tensor(xp.ones((4, 2), dtype=numpy.float32)))
    with pytest.raises(ValueError, match=r"at least 2 rows .* got shape \(1, 2\)"):
        nn.data_dependent_init_(nn.WeightNormLinear(2, 2), Tensor(xp.ones((1, 2), dtype=numpy.float32)))
    with pytest.raises(ValueError, match="does not vary"):
        nn.data_dependent_init_(nn.WeightNormLinear(2, 2), Tensor(xp.ones((4, 2), dtype=numpy.float32)))


def test_weight_norm_linear_argument_errors():
    with pytest.raises(ValueError, match="in_features must be a positive int, got 0"):
        nn.WeightNormLinear(0, 3)
    with pytest.raises(ValueError, match="init_std must be positive, got 0"):
        nn.WeightNormLinear(2, 3, init_std=0)


# ----- Gaussian noise -----------------------------------------------------------------------------------------------
@given(shape=st.tuples(sides, sides), sigma=st.floats(0, 2), seed=seeds)
def test_noise_is_the_identity_in_eval_mode(xp, shape, sigma, seed):
    x = Tensor(random_array(xp, shape, seed))
    assert nn.GaussianNoise(sigma).eval()(x) is x
    assert gaussian_noise(x, sigma, training=False) is x


@pytest.mark.parametrize("sigma", [0.3, 0.5, 2.0])
def test_noise_increments_are_normal_with_std_sigma(xp, sigma):
    n = 40_000
    x = Tensor(random_array(xp, (n,), 0, dtype=numpy.float32))
    increments = to_numpy(nn.GaussianNoise(sigma, rng=get_backend().rng(1))(x).data - x.data).astype(numpy.float64)
    # The sample mean has std σ/√n and the sample std about σ/√(2n): six of each.
    assert abs(increments.mean()) < 6 * sigma / n**0.5
    assert abs(increments.std() - sigma) < 6 * sigma / (2 * n) ** 0.5


@given(shape=st.tuples(sides, sides), sigma=st.floats(0.01, 2), seed=seeds)
def test_noise_gradient_is_the_identity(xp, shape, sigma, seed):
    x = Tensor(random_array(xp, shape, seed), requires_grad=True)
    # A fresh generator of one seed per call: every finite-difference evaluation sees the same ε.
    gradcheck(lambda x: gaussian_noise(x, sigma, rng=get_backend().rng(seed)), [x], seed=seed + 1)
    x.grad = None
    cotangent = random_array(xp, shape, seed + 2)
    gaussian_noise(x, sigma, rng=get_backend().rng(seed)).backward(cotangent)
    assert_close(x.grad, cotangent, rtol=0, atol=0)


def test_noise_follows_minigan_seed_and_keeps_the_dtype(xp):
    for dtype in (numpy.float32, numpy.float64):
        x = Tensor(xp.zeros((50, 7), dtype=dtype))
        minigan.seed(3)
        first = nn.GaussianNoise(0.5)(x)
        minigan.seed(3)
        second = nn.GaussianNoise(0.5)(x)
        assert first.dtype == dtype
        assert numpy.array_equal(to_numpy(first.data), to_numpy(second.data))
        assert not numpy.array_equal(to_numpy(first.data), to_numpy(nn.GaussianNoise(0.5)(x).data))  # the stream moves on


def test_noise_errors(xp):
    with pytest.raises(ValueError, match="sigma must be >= 0, got -1"):
        nn.GaussianNoise(-1)
    with pytest.raises(TypeError, match="x must be a Tensor"):
        gaussian_noise(numpy.zeros(3), 0.5)
    with pytest.raises(TypeError, match="floating dtype"):
        gaussian_noise(Tensor(xp.zeros(3, dtype=numpy.int64)), 0.5)


# ----- second derivatives (the engine differentiates its backward: ``gradgradcheck``) ---------------------------
@given(out=sides, inputs=fan_ins, seed=seeds)
def test_weight_norm_second_derivatives(xp, out, inputs, seed):
    """Composed of ops, weight norm is differentiated twice by the engine with no code of its own."""
    v = Tensor(random_array(xp, (out, inputs), seed), requires_grad=True)
    g = Tensor(random_array(xp, (out,), seed + 1), requires_grad=True)
    check(weight_norm, [v, g])


@given(batch=sides, inputs=fan_ins, out=sides, seed=seeds)
def test_weight_norm_linear_second_derivatives(xp, batch, inputs, out, seed):
    layer = nn.WeightNormLinear(inputs, out, dtype=numpy.float64, rng=get_backend().rng(seed))
    layer.bias.data[...] = random_array(xp, (out,), seed + 1)
    x = Tensor(random_array(xp, (batch, inputs), seed + 2), requires_grad=True)
    check(lambda *tensors: layer(tensors[0]), [x] + layer.parameters())


@given(shape=st.tuples(sides, sides), sigma=st.floats(0.01, 2), seed=seeds)
def test_noise_second_derivatives(xp, shape, sigma, seed):
    """(x + σε)·x has the second derivative 2 in x: the noise's identity gradient is recorded for a second pass."""
    x = Tensor(random_array(xp, shape, seed), requires_grad=True)
    check(lambda x: gaussian_noise(x, sigma, rng=get_backend().rng(seed)) * x, [x])
