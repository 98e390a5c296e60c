"""The layers of the image-to-image GANs: instance norm, pixel shuffle and its inverse, nearest-neighbour
upsampling, the residual block and the U-Net, against their definitions and finite differences (float64)."""

import numpy
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import Tensor, gradcheck, gradgradcheck, nn
from minigan.engine.ops import instance_norm, pixel_shuffle, pixel_unshuffle, upsample_nearest
from minigan.tools.data import downsample

from conftest import assert_close, to_numpy
from strategies import random_array, seeds


def leaf(xp, shape, seed, **kwargs):
    return Tensor(random_array(xp, shape, seed, **kwargs), requires_grad=True)


def float64(module):
    """``module`` with every parameter and buffer converted to float64, for finite differences."""
    for sub in module.modules():
        for name, value in list(vars(sub).items()):
            if isinstance(value, nn.Parameter):
                value.data = value.data.astype(numpy.float64)
        for name in vars(sub).get("_buffer_names", []):
            setattr(sub, name, getattr(sub, name).astype(numpy.float64))
    return module


def check_gradients(function, inputs, seed, drawn=True):
    """gradcheck of ⟨v, f(inputs)⟩ for a random v. In a hypothesis test (``drawn``) a draw where a checked
    gradient nearly cancels to zero is skipped (``assume``): finite differences cannot confirm a gradient
    of norm below 1e-2 to 1e-6 relative error (normalisations' gradients are projections, so such draws
    occur, rarely)."""
    output = function(*inputs)
    v = Tensor(output.xp.asarray(numpy.random.default_rng([seed, 1]).standard_normal(output.shape)))  # not the inputs' stream
    for t in inputs:
        t.grad = None
    (output * v).sum().backward()
    if drawn:
        assume(all(t.grad is not None and float(numpy.linalg.norm(to_numpy(t.grad))) > 1e-2 for t in inputs if t.requires_grad))
    gradcheck(lambda *tensors: (function(*tensors) * v).sum(), inputs)


@st.composite
def image_shapes(draw, min_pixels=1, max_side=4, max_channels=3):
    """(N, H, W, C) with H·W ≥ min_pixels."""
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    assume(h * w >= min_pixels)
    return (draw(st.integers(1, 3)), h, w, draw(st.integers(1, max_channels)))


# ----- instance norm --------------------------------------------------------------------------------
def instance_norm_reference(x, weight=None, bias=None, eps=1e-5):
    """Ulyanov et al. 2016, eq. 2, one (image, channel) at a time, in float64 NumPy."""
    x = to_numpy(x).astype(numpy.float64)
    y = numpy.empty_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[3]):
            plane = x[n, :, :, c]
            y[n, :, :, c] = (plane - plane.mean()) / numpy.sqrt(plane.var() + eps)
    if weight is not None:
        y = y * to_numpy(weight) + to_numpy(bias)
    return y


@given(shape=image_shapes(min_pixels=2), seed=seeds, affine=st.booleans())
def test_instance_norm_forward_is_the_papers_formula(xp, shape, seed, affine):
    x = Tensor(random_array(xp, shape, seed))
    weight = Tensor(random_array(xp, shape[-1:], seed + 1)) if affine else None
    bias = Tensor(random_array(xp, shape[-1:], seed + 2)) if affine else None
    assert_close(instance_norm(x, weight, bias).data, instance_norm_reference(x.data, weight and weight.data, bias and bias.data), rtol=1e-10)


# H·W ≥ 3: with two pixels x̂ = ±1 whatever x is, so dL/dx is exactly zero (nothing to check)
@given(shape=image_shapes(min_pixels=3), seed=seeds, affine=st.booleans())
def test_instance_norm_gradients(xp, shape, seed, affine):
    inputs = [leaf(xp, shape, seed)]
    if affine:
        inputs += [leaf(xp, shape[-1:], seed + 1, low=0.5, high=2.0), leaf(xp, shape[-1:], seed + 2)]
    check_gradients(lambda *t: instance_norm(*t), inputs, seed)


def test_instance_norm_normalises_each_image_on_its_own(xp):
    x = random_array(xp, (2, 5, 4, 3), 0, dtype=numpy.float32)
    y = instance_norm(Tensor(x)).data
    assert y.dtype == numpy.float32
    assert_close(y.mean(axis=(1, 2)), numpy.zeros((2, 3)), atol=1e-6)
    assert_close(y.var(axis=(1, 2)), numpy.ones((2, 3)), rtol=1e-3)
    changed = x.copy()
    changed[1] = 10 * changed[1] + 3  # another image in the batch: batch norm would change image 0, this must not
    numpy.testing.assert_array_equal(to_numpy(instance_norm(Tensor(changed)).data[0]), to_numpy(y[0]))


def test_instance_norm_module_is_the_same_in_train_and_eval_mode(xp):
    layer = nn.InstanceNorm2d(3, affine=True)
    assert [p.shape for p in layer.parameters()] == [(3,), (3,)] and nn.InstanceNorm2d(3).parameters() == []
    x = Tensor(random_array(xp, (2, 4, 4, 3), 1, dtype=numpy.float32))
    numpy.testing.assert_array_equal(to_numpy(layer.train()(x).data), to_numpy(layer.eval()(x).data))


# ----- pixel shuffle and nearest upsampling ---------------------------------------------------------
def pixel_shuffle_reference(x, r):
    """out[n, h·r + i, w·r + j, c] = x[n, h, w, (i·r + j)·C + c], written as loops."""
    x = to_numpy(x)
    n, h, w, rrc = x.shape
    c = rrc // (r * r)
    out = numpy.empty((n, h * r, w * r, c), x.dtype)
    for i in range(r):
        for j in range(r):
            for k in range(c):
                out[:, i::r, j::r, k] = x[:, :, :, (i * r + j) * c + k]
    return out


@given(shape=image_shapes(max_side=3, max_channels=2), factor=st.integers(1, 3), seed=seeds)
def test_pixel_shuffle_places_each_channel_group_in_its_sub_pixel(xp, shape, factor, seed):
    n, h, w, c = shape
    x = Tensor(random_array(xp, (n, h, w, factor * factor * c), seed))
    numpy.testing.assert_array_equal(to_numpy(pixel_shuffle(x, factor).data), pixel_shuffle_reference(x.data, factor))


@given(shape=image_shapes(max_side=3, max_channels=2), factor=st.integers(1, 3), seed=seeds)
def test_pixel_unshuffle_is_the_exact_inverse_of_pixel_shuffle(xp, shape, factor, seed):
    n, h, w, c = shape
    deep = Tensor(random_array(xp, (n, h, w, factor * factor * c), seed))
    wide = Tensor(random_array(xp, (n, h * factor, w * factor, c), seed + 1))
    numpy.testing.assert_array_equal(to_numpy(pixel_unshuffle(pixel_shuffle(deep, factor), factor).data), to_numpy(deep.data))
    numpy.testing.assert_array_equal(to_numpy(pixel_shuffle(pixel_unshuffle(wide, factor), factor).data), to_numpy(wide.data))
    # a permutation: ⟨shuffle(x), y⟩ = ⟨x, unshuffle(y)⟩, so each is the other's adjoint (and backward)
    left = float((pixel_shuffle(deep, factor).data * wide.data).sum())
    right = float((deep.data * pixel_unshuffle(wide, factor).data).sum())
    assert left == pytest.approx(right, rel=1e-12)


@given(shape=image_shapes(max_side=3, max_channels=2), factor=st.integers(1, 3), seed=seeds)
def test_pixel_shuffle_gradients(xp, shape, factor, seed):
    n, h, w, c = shape
    check_gradients(lambda x: pixel_shuffle(x, factor), [leaf(xp, (n, h, w, factor * factor * c), seed)], seed)
    check_gradients(lambda x: pixel_unshuffle(x, factor), [leaf(xp, (n, h * factor, w * factor, c), seed)], seed)


@given(shape=image_shapes(max_side=3), factor=st.integers(1, 3), seed=seeds)
def test_nearest_upsampling_copies_pixels_and_its_gradient_sums_them(xp, shape, factor, seed):
    x = leaf(xp, shape, seed)
    up = upsample_nearest(x, factor)
    expected = numpy.repeat(numpy.repeat(to_numpy(x.data), factor, axis=1), factor, axis=2)
    numpy.testing.assert_array_equal(to_numpy(up.data), expected)
    grad = random_array(xp, up.shape, seed + 1)
    up.backward(grad)
    # the adjoint of copying into a block is adding the block: factor² times its box average
    assert_close(x.grad, factor * factor * downsample(grad, factor), rtol=1e-12)
    check_gradients(lambda t: upsample_nearest(t, factor), [leaf(xp, shape, seed)], seed)


@pytest.mark.parametrize("call, message", [
    (lambda xp: pixel_shuffle(Tensor(xp.zeros((1, 2, 2, 6))), 2), "pixel_shuffle: the 6 channels of x (shape (1, 2, 2, 6)) are not a multiple of factor² = 4"),
    (lambda xp: pixel_unshuffle(Tensor(xp.zeros((1, 5, 4, 1))), 2), "pixel_unshuffle: the image size 5×4"),
    (lambda xp: upsample_nearest(Tensor(xp.zeros((4, 4))), 2), "upsample_nearest: x must have shape (N, H, W, C)"),
    (lambda xp: upsample_nearest(Tensor(xp.zeros((1, 4, 4, 1))), 0), "upsample_nearest: factor must be a positive int"),
    (lambda xp: instance_norm(Tensor(xp.zeros((2, 1, 1, 3)))), "instance_norm: each image needs H·W ≥ 2 pixels"),
    (lambda xp: instance_norm(Tensor(xp.zeros((2, 3, 3, 3))), Tensor(xp.ones(2)), Tensor(xp.ones(2))), "instance_norm: weight has shape (2,) but x has 3 channels"),
    (lambda xp: nn.UNet(1, 1, widths=(4, 8))(Tensor(xp.zeros((1, 6, 8, 1), numpy.float32))), "UNet: input must be (N, H, W, C) with H and W multiples of 2^2 = 4"),
    (lambda xp: nn.ResidualBlock(4, norm="layer"), "normalisation: kind must be one of"),
])
def test_mistakes_are_named(xp, call, message):
    with pytest.raises((ValueError, TypeError)) as error:
        call(xp)
    assert message in str(error.value)


# ----- residual block and U-Net ---------------------------------------------------------------------
@pytest.mark.parametrize("norm", ["batch", "instance", None])
def test_residual_block_gradients(xp, norm):
    block = float64(nn.ResidualBlock(2, norm=norm))
    x = leaf(xp, (2, 4, 3, 2), 7)
    check_gradients(lambda x, *params: block(x), [x, *block.parameters()], 7, drawn=False)


def test_residual_block_with_zero_residual_is_the_identity(xp):
    block = nn.ResidualBlock(3, norm=None)
    last = block.residual.layers[-1]
    last.weight.data[...] = 0
    last.bias.data[...] = 0
    x = Tensor(random_array(xp, (2, 5, 5, 3), 3, dtype=numpy.float32))
    numpy.testing.assert_array_equal(to_numpy(block(x).data), to_numpy(x.data))


@pytest.mark.parametrize("upsample", ["transpose", "nearest"])
def test_unet_gradients(xp, upsample):
    unet = float64(nn.UNet(2, 1, widths=(2, 3), dropout=0.0, upsample=upsample))
    x = leaf(xp, (2, 8, 4, 2), 11)
    check_gradients(lambda x, *params: unet(x), [x, *unet.parameters()], 11, drawn=False)


def test_unet_skip_path_carries_the_gradient_when_the_deep_path_is_cut(xp):
    """Zero the decoder layer that reads the bottleneck: then only the skip [u₁, e₁] links the input to the
    output. With skips the first encoder layer still gets a gradient (and the second, behind the cut, none);
    without skips nothing before the cut gets any."""
    x = Tensor(random_array(xp, (2, 8, 8, 1), 5, dtype=numpy.float32))
    for skips in (True, False):
        unet = nn.UNet(1, 1, widths=(4, 6), dropout=0.0, skips=skips)
        unet.decoder[1].layers[0].weight.data[...] = 0  # the conv-transpose from e₂, the bottleneck
        unet(x).sum().backward()
        first, second = unet.encoder[0].layers[0].weight.grad, unet.encoder[1].layers[0].weight.grad
        assert float(abs(to_numpy(second)).max()) == 0.0
        assert (float(abs(to_numpy(first)).max()) > 1e-3) == skips


def test_unet_keeps_the_image_size_and_ends_in_tanh(xp):
    unet = nn.UNet(2, 3, widths=(4, 8, 8))
    y = unet(Tensor(random_array(xp, (2, 16, 24, 2), 0, dtype=numpy.float32))).data
    assert y.shape == (2, 16, 24, 3) and y.dtype == numpy.float32
    assert float(abs(to_numpy(y)).max()) < 1


# ----- second derivatives (create_graph=True), as for every op (docs/double-backward.md) -----------------
from minigan import grad, ops  # noqa: E402  (kept with the tests that use them)
from minigan.engine.ops.instancenorm import instance_norm_composed  # noqa: E402

from test_double_backward import check as check_second_derivatives  # noqa: E402


@given(shape=image_shapes(min_pixels=2), seed=seeds, affine=st.booleans())
def test_the_fused_instance_norm_and_its_composition_agree_in_value_and_gradient(xp, shape, seed, affine):
    """instance_norm_composed is what the engine differentiates when the backward is recorded."""
    x = leaf(xp, shape, seed)
    params = [leaf(xp, shape[-1:], seed + 1, low=0.5, high=2.0), leaf(xp, shape[-1:], seed + 2)] if affine else []
    fused, composed = instance_norm(x, *params), instance_norm_composed(x, *params)
    assert_close(fused.data, composed.data, rtol=1e-10, atol=1e-12)
    v = Tensor(random_array(xp, shape, seed + 3))
    for a, b in zip(grad(fused, [x, *params], grad_outputs=v), grad(composed, [x, *params], grad_outputs=v)):
        assert_close(a.data, b.data, rtol=1e-8, atol=1e-10)


@given(shape=image_shapes(min_pixels=3, max_side=3, max_channels=2), seed=seeds, affine=st.booleans())
def test_instance_norm_second_derivatives(xp, shape, seed, affine):
    inputs = [leaf(xp, shape, seed)]
    if affine:
        inputs += [leaf(xp, shape[-1:], seed + 1, low=0.5, high=2.0), leaf(xp, shape[-1:], seed + 2)]
    check_second_derivatives(lambda *t: instance_norm(*t), inputs)


@pytest.mark.parametrize("op", ["pixel_shuffle", "pixel_unshuffle", "upsample_nearest"])
@given(shape=image_shapes(max_side=2, max_channels=2), factor=st.integers(1, 2), seed=seeds)
def test_resampling_second_derivatives(xp, op, shape, factor, seed):
    """Each is linear, so its own second derivative is zero; through a tanh the check sees the backward
    of the backward carry the curvature back the way the values came."""
    n, h, w, c = shape
    input_shape = {"pixel_shuffle": (n, h, w, factor * factor * c), "pixel_unshuffle": (n, h * factor, w * factor, c),
                   "upsample_nearest": shape}[op]
    function = {"pixel_shuffle": pixel_shuffle, "pixel_unshuffle": pixel_unshuffle, "upsample_nearest": upsample_nearest}[op]
    check_second_derivatives(lambda x: ops.tanh(function(x, factor)), [leaf(xp, input_shape, seed)])


def test_second_derivatives_through_an_instance_norm_critic(xp):
    """What a gradient penalty (R1's ‖∇ₓD(x)‖²) on CycleGAN's PatchGAN critic needs: the derivative of
    ∇ₓ⟨v, D(x)⟩ through conv, instance norm and LeakyReLU, against finite differences, in float64.
    One fixed case, so gradgradcheck directly: the drawn tests' ``assume`` has no draw to reject here."""
    from minigan.gans.cyclegan import patch_critic

    critic = float64(patch_critic(1, (2, 3), norm="instance"))
    x = leaf(xp, (1, 8, 8, 1), 3)
    gradgradcheck(lambda x: critic(x), [x])
