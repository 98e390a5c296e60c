"""conv2d and conv_transpose2d: the specification, checked against their slow twins and finite differences.

Channels-last: images (N, H, W, C), weights (out, kh, kw, in) of the convolution; the transposed conv
takes the weight of the conv it is the adjoint of. Each fast path (im2col/col2im + GEMM) is compared on
hypothesis-drawn geometry with its twin in ``minigan.engine.ops.reference`` (loops over pixels and
kernel offsets; im2col/col2im one slice per offset), and the twins themselves are checked against
facts that do not depend on them: the two loop definitions are each other's adjoint, and so are
im2col and col2im.
"""

import numpy
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import Tensor, backend, gradcheck, nn
from minigan.engine.ops import conv2d, conv_transpose2d
from minigan.engine.ops import conv, im2col, reference
from minigan.engine.ops.conv import conv_output_size, conv_transpose_output_size

from conftest import assert_close, to_numpy
from strategies import conv_geometries, random_array, seeds

# ----- drawing a case ---------------------------------------------------------------------------------


def conv_case(xp, g, seed, dtype=numpy.float64, requires_grad=False):
    """x (N, H, W, Ci), weight (Co, kh, kw, Ci), bias (Co,) for conv2d with geometry g."""
    x = random_array(xp, (g.batch, *g.size, g.in_channels), seed, dtype)
    weight = random_array(xp, (g.out_channels, *g.kernel, g.in_channels), seed + 1, dtype)
    bias = random_array(xp, (g.out_channels,), seed + 2, dtype)
    return tuple(Tensor(a, requires_grad=requires_grad) for a in (x, weight, bias))


def transposed_case(xp, g, seed, dtype=numpy.float64, requires_grad=False):
    """x (N, H, W, Ci), weight (Ci, kh, kw, Co), bias (Co,) for conv_transpose2d with geometry g."""
    x = random_array(xp, (g.batch, *g.size, g.in_channels), seed, dtype)
    weight = random_array(xp, (g.in_channels, *g.kernel, g.out_channels), seed + 1, dtype)
    bias = random_array(xp, (g.out_channels,), seed + 2, dtype)
    return tuple(Tensor(a, requires_grad=requires_grad) for a in (x, weight, bias))


def conv_output_shape(g):
    return tuple(conv_output_size(*args) for args in zip(g.size, g.kernel, g.stride, g.padding, g.dilation))


def transposed_output_shape(g):
    return tuple(conv_transpose_output_size(*args) for args in zip(g.size, g.kernel, g.stride, g.padding, g.output_padding, g.dilation))


def assume_valid_conv(g):
    assume(min(conv_output_shape(g)) >= 1)  # else the kernel is wider than the padded input


def assume_valid_transposed(g):
    assume(min(transposed_output_shape(g)) >= 1)  # else the padding crops away the whole output


def adjoint_geometry(g):
    """The transposed conv that maps conv2d's output back to its input size: output_padding = the
    remainder that the conv's floor division dropped, (H + 2p − d(k − 1) − 1) mod s (< s)."""
    output_padding = tuple((h + 2 * p - d * (k - 1) - 1) % s for h, k, s, p, d in zip(g.size, g.kernel, g.stride, g.padding, g.dilation))
    return dict(stride=g.stride, padding=g.padding, dilation=g.dilation), output_padding


# ----- forward: the fast path equals its twin, the loop definition ------------------------------


@given(g=conv_geometries(), seed=seeds)
def test_conv2d_equals_its_loop_definition(xp, g, seed):
    assume_valid_conv(g)
    x, weight, bias = conv_case(xp, g, seed)
    y = conv2d(x, weight, bias, stride=g.stride, padding=g.padding, dilation=g.dilation)
    expected = reference.conv2d(x.numpy(), weight.numpy(), bias.numpy(), g.stride, g.padding, g.dilation)
    assert y.shape == (g.batch, *conv_output_shape(g), g.out_channels)
    assert_close(y.data, expected)


@given(g=conv_geometries(transposed=True), seed=seeds)
def test_conv_transpose2d_equals_its_scatter_definition(xp, g, seed):
    assume_valid_transposed(g)
    x, weight, bias = transposed_case(xp, g, seed)
    y = conv_transpose2d(x, weight, bias, stride=g.stride, padding=g.padding, output_padding=g.output_padding, dilation=g.dilation)
    expected = reference.conv_transpose2d(x.numpy(), weight.numpy(), bias.numpy(), g.stride, g.padding, g.output_padding, g.dilation)
    assert y.shape == (g.batch, *transposed_output_shape(g), g.out_channels)
    assert_close(y.data, expected)


def test_int_arguments_mean_the_same_on_both_axes(xp):
    x, weight, bias = (Tensor(random_array(xp, shape, seed)) for seed, shape in enumerate([(2, 6, 5, 3), (4, 3, 3, 3), (4,)]))
    assert_close(conv2d(x, weight, bias, 2, 1, 2).data, conv2d(x, weight, bias, (2, 2), (1, 1), (2, 2)).data)
    y = Tensor(random_array(xp, (2, 3, 3, 4), 7))
    assert_close(conv_transpose2d(y, weight, None, 2, 1, 1, 1).data, conv_transpose2d(y, weight, None, (2, 2), (1, 1), (1, 1), (1, 1)).data)


# ----- im2col and col2im: the fast kernels equal their twins ----------------------------------------


def zero_pad(xp, x, padding):
    """x (N, H, W, C) with ``padding`` = (ph, pw) zeros on each side, by ``xp.pad`` (not ``im2col.pad2d``)."""
    (ph, pw) = padding
    return xp.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))


def col2im_geometry(g, transposed):
    """(image size, output size) for col2im: conv2d's dL/dx puts back onto its input, of size g.size,
    what its oh×ow output pixels took; conv_transpose2d's forward puts its input pixels, g.size of
    them, onto its larger output (output_padding included, whose extra rows receive nothing)."""
    if transposed:
        return transposed_output_shape(g), g.size
    return g.size, conv_output_shape(g)


@given(g=conv_geometries(), seed=seeds)
def test_im2col_equals_its_twin(xp, g, seed):
    """A copy either way, so exactly equal."""
    assume_valid_conv(g)
    x_padded = zero_pad(xp, random_array(xp, (g.batch, *g.size, g.in_channels), seed), g.padding)
    geometry = (g.kernel, conv_output_shape(g), g.stride, g.dilation)
    numpy.testing.assert_array_equal(to_numpy(im2col.im2col(x_padded, *geometry)), to_numpy(reference.im2col(x_padded, *geometry)))


@given(g=conv_geometries(transposed=True), seed=seeds, transposed=st.booleans())
def test_col2im_equals_its_twin(xp, g, seed, transposed):
    if transposed:
        assume_valid_transposed(g)
    else:
        assume_valid_conv(g)
    image_size, output_size = col2im_geometry(g, transposed)
    kh, kw = g.kernel
    cols = random_array(xp, (kh * kw, g.batch, *output_size, g.in_channels), seed)  # (kh·kw, N, oh, ow, C)
    args = ((g.batch, *image_size, g.in_channels), g.kernel, output_size, g.stride, g.dilation, g.padding)
    assert_close(im2col.col2im(cols, *args), reference.col2im(cols, *args), rtol=1e-12, atol=1e-12)


@given(rows=st.integers(1, 50), columns=st.integers(1, 8), seed=seeds)
def test_column_sums_equal_their_twin(xp, rows, columns, seed):
    """``ones @ a`` against ``a.sum(axis=0)``: the same sums in another order, so equal up to rounding."""
    a = random_array(xp, (rows, columns), seed)
    assert_close(conv.column_sums(a), reference.column_sums(a), rtol=1e-12, atol=1e-12)


# ----- the twins themselves, against facts that do not depend on them -------------------------------


@given(g=conv_geometries(transposed=True), seed=seeds, transposed=st.booleans())
def test_twin_col2im_is_the_adjoint_of_twin_im2col(xp, g, seed, transposed):
    """⟨im2col(pad(x)), c⟩ = ⟨x, col2im(c)⟩ for every image x and columns c: col2im puts back what im2col took."""
    if transposed:
        assume_valid_transposed(g)
    else:
        assume_valid_conv(g)
    image_size, output_size = col2im_geometry(g, transposed)
    kh, kw = g.kernel
    x = random_array(xp, (g.batch, *image_size, g.in_channels), seed)
    cols = random_array(xp, (kh * kw, g.batch, *output_size, g.in_channels), seed + 1)  # (kh·kw, N, oh, ow, C), offset-major
    patches = reference.im2col(zero_pad(xp, x, g.padding), g.kernel, output_size, g.stride, g.dilation)  # (N·oh·ow, kh·kw·C)
    # im2col's layout for the same numbers: (kh·kw, N, oh, ow, C) -> (N, oh, ow, kh·kw, C) -> (N·oh·ow, kh·kw·C)
    cols_by_pixel = cols.transpose(1, 2, 3, 0, 4).reshape(patches.shape)
    x_back = reference.col2im(cols, x.shape, g.kernel, output_size, g.stride, g.dilation, g.padding)
    assert x_back.shape == x.shape
    lhs, rhs = float((patches * cols_by_pixel).sum()), float((x * x_back).sum())
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)


@given(g=conv_geometries(), seed=seeds)
def test_twin_im2col_times_the_weight_is_the_loop_convolution(xp, g, seed):
    """conv2d = im2col(pad(x)) · W_flatᵀ: the patch matrix holds exactly the terms of the loop definition."""
    assume_valid_conv(g)
    x, weight, _ = (t.data for t in conv_case(xp, g, seed))
    patches = reference.im2col(zero_pad(xp, x, g.padding), g.kernel, conv_output_shape(g), g.stride, g.dilation)
    y = patches @ weight.reshape(g.out_channels, -1).T  # (N·oh·ow, kh·kw·C) @ (kh·kw·C, O) -> (N·oh·ow, O)
    expected = reference.conv2d(x, weight, None, g.stride, g.padding, g.dilation)
    assert_close(y.reshape(expected.shape), expected)


@given(g=conv_geometries(max_side=4), seed=seeds)
def test_the_two_loop_twins_are_each_others_adjoint(xp, g, seed):
    """⟨conv2d(x, w), y⟩ = ⟨x, conv_transpose2d(y, w)⟩ for the twins, written independently of each other."""
    assume_valid_conv(g)
    x, weight, _ = (t.data for t in conv_case(xp, g, seed))
    geometry, output_padding = adjoint_geometry(g)
    y = random_array(xp, (g.batch, *conv_output_shape(g), g.out_channels), seed + 3)
    x_back = reference.conv_transpose2d(y, weight, None, output_padding=output_padding, **geometry)
    assert x_back.shape == x.shape
    lhs = float((reference.conv2d(x, weight, None, **geometry) * y).sum())
    assert lhs == pytest.approx(float((x * x_back).sum()), rel=1e-9, abs=1e-9)


# ----- each op is the other's adjoint ----------------------------------------------------------------


@given(g=conv_geometries(), seed=seeds)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(xp, g, seed):
    """⟨conv2d(x, w), y⟩ = ⟨x, conv_transpose2d(y, w)⟩ for every x and y."""
    assume_valid_conv(g)
    x, weight, _ = conv_case(xp, g, seed)
    y = Tensor(random_array(xp, (g.batch, *conv_output_shape(g), g.out_channels), seed + 3))
    geometry, output_padding = adjoint_geometry(g)
    x_back = conv_transpose2d(y, weight, output_padding=output_padding, **geometry)
    assert x_back.shape == x.shape
    lhs = float((to_numpy(conv2d(x, weight, **geometry).data) * y.numpy()).sum())
    rhs = float((x.numpy() * x_back.numpy()).sum())
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)


@given(g=conv_geometries(), seed=seeds)
def test_each_backward_is_the_other_forward(xp, g, seed):
    """conv2d's dL/dx is conv_transpose2d of dL/dy; conv_transpose2d's dL/dy' is conv2d of dL/dx'."""
    assume_valid_conv(g)
    x, weight, _ = conv_case(xp, g, seed, requires_grad=True)
    geometry, output_padding = adjoint_geometry(g)
    upstream = random_array(xp, (g.batch, *conv_output_shape(g), g.out_channels), seed + 3)
    conv2d(x, weight, **geometry).backward(upstream)
    assert_close(x.grad, conv_transpose2d(Tensor(upstream), weight.detach(), output_padding=output_padding, **geometry).data)

    y = Tensor(upstream, requires_grad=True)
    conv_transpose2d(y, weight, output_padding=output_padding, **geometry).backward(x.data)
    assert_close(y.grad, conv2d(x.detach(), weight.detach(), **geometry).data)


# ----- backward: finite differences ----------------------------------------------------------------


@given(g=conv_geometries(), seed=seeds)
def test_conv2d_gradients_match_finite_differences(xp, g, seed):
    assume_valid_conv(g)
    x, weight, bias = conv_case(xp, g, seed, requires_grad=True)
    gradcheck(lambda x, w, b: conv2d(x, w, b, stride=g.stride, padding=g.padding, dilation=g.dilation), [x, weight, bias])


@given(g=conv_geometries(transposed=True, max_side=4), seed=seeds)
def test_conv_transpose2d_gradients_match_finite_differences(xp, g, seed):
    assume_valid_transposed(g)
    x, weight, bias = transposed_case(xp, g, seed, requires_grad=True)
    geometry = dict(stride=g.stride, padding=g.padding, output_padding=g.output_padding, dilation=g.dilation)
    gradcheck(lambda x, w, b: conv_transpose2d(x, w, b, **geometry), [x, weight, bias])


def test_images_get_no_gradient_but_the_weight_does(xp):
    """The first layer's input needs no dL/dx: it is skipped, and the weight's gradient is unaffected."""
    x = Tensor(random_array(xp, (2, 5, 5, 1), 0))
    weight = Tensor(random_array(xp, (3, 3, 3, 1), 1), requires_grad=True)
    conv2d(x, weight, stride=2, padding=1).sum().backward()
    assert x.grad is None and weight.grad.shape == weight.shape

    x_tracked = Tensor(x.data, requires_grad=True)
    weight_again = Tensor(weight.data, requires_grad=True)
    conv2d(x_tracked, weight_again, stride=2, padding=1).sum().backward()
    assert_close(weight_again.grad, weight.grad)


# ----- float32 stays float32 ----------------------------------------------------------------------------


def test_float32_in_gives_float32_out_and_gradients(xp):
    x = Tensor(random_array(xp, (2, 8, 8, 3), 0, numpy.float32), requires_grad=True)
    weight = Tensor(random_array(xp, (4, 4, 4, 3), 1, numpy.float32), requires_grad=True)
    bias = Tensor(random_array(xp, (4,), 2, numpy.float32), requires_grad=True)
    y = conv2d(x, weight, bias, stride=2, padding=1)
    z = conv_transpose2d(y, weight, bias=Tensor(xp.zeros(3, dtype=numpy.float32), requires_grad=True), stride=2, padding=1)
    assert y.dtype == numpy.float32 and z.dtype == numpy.float32 and z.shape == x.shape
    (z * z).sum().backward()
    for tensor in (x, weight, bias):
        assert tensor.grad.dtype == numpy.float32


# ----- bad input: the message names the argument and the sizes -------------------------------------------


def _t(*shape, dtype=numpy.float32):
    """Zeros on the backend under test (looked up when the case runs)."""
    return Tensor(backend.get_backend().xp.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("call, error, message", [
    (lambda: conv2d(_t(2, 5, 5), _t(4, 3, 3, 5)), ValueError, r"input must have shape \(N, H, W, C\).*got shape \(2, 5, 5\)"),
    (lambda: conv2d(_t(1, 5, 5, 3), _t(4, 3, 3)), ValueError, r"weight must have shape .*got shape \(4, 3, 3\)"),
    (lambda: conv2d(_t(1, 5, 5, 3), _t(4, 3, 3, 2)), ValueError, r"input has 3 channels .* weight expects 2"),
    (lambda: conv2d(_t(1, 5, 5, 3), _t(4, 3, 3, 3, dtype=numpy.float64)), TypeError, r"input has dtype float32 but weight has dtype float64"),
    (lambda: conv2d(_t(1, 5, 5, 3), _t(4, 3, 3, 3), _t(4, dtype=numpy.float64)), TypeError, r"bias has dtype float64"),
    (lambda: conv2d(_t(1, 5, 5, 3), _t(4, 3, 3, 3), _t(3)), ValueError, r"bias must have shape \(4,\).*got shape \(3,\)"),
    (lambda: conv2d(_t(1, 2, 6, 1), _t(1, 3, 3, 1)), ValueError, r"kernel height .* = 3, exceeds the padded input height 2 \+ 2·0 = 2"),
    (lambda: conv2d(_t(1, 5, 5, 1), _t(1, 3, 3, 1), dilation=3), ValueError, r"kernel height with dilation, 3·\(3 − 1\) \+ 1 = 7, exceeds .* = 5"),
    (lambda: conv2d(_t(1, 5, 5, 1), _t(1, 3, 3, 1), stride=(1, 0)), ValueError, r"stride must be positive, got \(1, 0\)"),
    (lambda: conv2d(_t(1, 5, 5, 1), _t(1, 3, 3, 1), dilation=0), ValueError, r"dilation must be positive, got \(0, 0\)"),
    (lambda: conv2d(_t(1, 5, 5, 1), _t(1, 3, 3, 1), padding=-1), ValueError, r"padding must be non-negative, got \(-1, -1\)"),
    (lambda: conv2d(_t(1, 5, 5, 1), _t(1, 3, 3, 1), stride=(1, 2, 3)), TypeError, r"stride must be an int or an \(h, w\) pair"),
    (lambda: conv_transpose2d(_t(1, 5, 5, 3), _t(4, 3, 3, 2)), ValueError, r"conv_transpose2d: input has 3 channels .* weight expects 4"),
    (lambda: conv_transpose2d(_t(1, 5, 5, 4), _t(4, 3, 3, 2), _t(4)), ValueError, r"bias must have shape \(2,\)"),
    (lambda: conv_transpose2d(_t(1, 5, 5, 1), _t(1, 4, 4, 1), stride=2, output_padding=2), ValueError,
     r"output_padding \(2, 2\) must be non-negative and smaller than either stride \(2, 2\) or dilation \(1, 1\)"),
    (lambda: conv_transpose2d(_t(1, 5, 5, 1), _t(1, 4, 4, 1), output_padding=-1), ValueError, r"output_padding \(-1, -1\) must be non-negative"),
    (lambda: conv_transpose2d(_t(1, 1, 1, 1), _t(1, 1, 1, 1), padding=1), ValueError,
     r"output height \(1 − 1\)·1 − 2·1 \+ 1·\(1 − 1\) \+ 0 \+ 1 = -1 is not positive"),
    (lambda: conv_transpose2d(_t(1, 5, 5, 1), _t(1, 3, 3, 1), padding=(0, -2)), ValueError, r"padding must be non-negative, got \(0, -2\)"),
])
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_output_padding_may_reach_the_stride_when_below_the_dilation():
    """PyTorch's rule: output_padding must be smaller than the stride *or* the dilation."""
    assert conv_transpose2d(_t(1, 3, 3, 1), _t(1, 3, 3, 1), stride=1, dilation=2, output_padding=1).shape == (1, 8, 8, 1)


# ----- layers -----------------------------------------------------------------------------------------------


def test_conv2d_layer_at_dcgan_discriminator_sizes(xp):
    layer = nn.Conv2d(1, 64, 4, stride=2, padding=1)
    assert layer.weight.shape == (64, 4, 4, 1) and layer.bias.shape == (64,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    y = layer(Tensor(random_array(xp, (2, 28, 28, 1), 0, numpy.float32)))
    assert y.shape == (2, 14, 14, 64) and y.dtype == numpy.float32
    assert nn.Conv2d(64, 128, 4, 2, 1, bias=False)(y).shape == (2, 7, 7, 128)


def test_conv_transpose2d_layer_at_dcgan_generator_sizes(xp):
    layer = nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1)
    assert layer.weight.shape == (128, 4, 4, 64) and layer.bias.shape == (64,)
    y = layer(Tensor(random_array(xp, (2, 7, 7, 128), 0, numpy.float32)))
    assert y.shape == (2, 14, 14, 64) and y.dtype == numpy.float32
    assert nn.ConvTranspose2d(64, 1, 4, 2, 1)(y).shape == (2, 28, 28, 1)


def test_layers_take_rectangular_kernels_and_have_no_bias_on_request(xp):
    conv = nn.Conv2d(3, 5, (3, 1), padding=(1, 0), bias=False)
    assert conv.weight.shape == (5, 3, 1, 3) and conv.bias is None and len(conv.parameters()) == 1
    assert conv(Tensor(random_array(xp, (1, 4, 4, 3), 0, numpy.float32))).shape == (1, 4, 4, 5)
    up = nn.ConvTranspose2d(5, 2, (2, 3), stride=(2, 1), output_padding=(1, 0), bias=False)
    assert up.weight.shape == (5, 2, 3, 2) and up.bias is None


def test_layer_weights_are_glorot_uniform_with_the_conv_fans(xp):
    """bound = √(6 / (fan_in + fan_out)) = √(6 / (kh·kw·(in + out))) for both layers."""
    for layer in (nn.Conv2d(64, 128, 4), nn.ConvTranspose2d(128, 64, 4)):
        bound = (6.0 / (16 * (64 + 128))) ** 0.5
        values = layer.weight.numpy()
        assert numpy.abs(values).max() <= bound
        assert numpy.abs(values).max() > 0.95 * bound  # 131,072 draws reach close to the bound
        assert numpy.all(layer.bias.numpy() == 0)


def test_layers_reject_bad_sizes():
    with pytest.raises(ValueError, match=r"Conv2d: in_channels must be a positive int, got 0"):
        nn.Conv2d(0, 4, 3)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: kernel_size must be a positive int or an \(h, w\) pair"):
        nn.ConvTranspose2d(4, 4, (3, 0))
