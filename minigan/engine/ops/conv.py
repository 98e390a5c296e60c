"""2-D convolution and its adjoint, the transposed convolution, channels-last.

Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning", is the paper to read
beside this file. Layouts (channels-last throughout, ``docs/layouts.md``):

* images ``x``: (N, H, W, C);
* ``conv2d`` weight: (out_channels, kh, kw, in_channels);
* ``conv_transpose2d`` weight: the *same* layout as the convolution it is the adjoint of, i.e.
  (in_channels, kh, kw, out_channels) counted for the transposed conv.

The convolution is a linear map of its input, a sparse matrix C (§4.1, convolution as a matrix
operation); its input gradient is Cᵀ. The transposed convolution *is* that Cᵀ, with the same kernel
(§4.2): its forward is the convolution's input gradient and its input gradient is the convolution's
forward. So ``conv_transpose2d(y, w)`` is exactly the input gradient of ``conv2d(·, w)``, and each op's
backward below is the other's forward.

Output sizes, per spatial axis, for input size H, kernel k, stride s, padding p, dilation d:

    conv:        out = floor((H + 2p − d(k−1) − 1) / s) + 1            (§2.4, Relationship 6)
    transposed:  out = (H − 1)s − 2p + d(k−1) + output_padding + 1     (§4.6, Relationship 14)

with the dilated kernel's extent d(k−1) + 1 in the place of the paper's k (§5.1, Relationship 15).

``output_padding`` (< stride or < dilation, as in PyTorch) is the paper's a: it picks among the input
sizes that a strided conv maps to the same output size, and adds rows/columns at the bottom/right that
receive no contribution (they only carry the bias).

Both ops are computed as matrix products, with the patch matrix of ``im2col.py``:

    conv:        Y = im2col(x) W_flatᵀ                  (C·x, one GEMM)
    transposed:  Y = col2im(X W_flat)                   (Cᵀ·x, one GEMM, then the patches added back)

Their plain twins, loops over every pixel and kernel offset, are ``reference.conv2d`` and
``reference.conv_transpose2d``; the tests check each op against its twin.
"""

from ..autograd import Function, Tensor
from ..backend import array_module
from .im2col import col2im, im2col, kernel_offset_weights, pad2d
from .linalg import gemm
from .shape import BroadcastTo


def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1 (may be ≤ 0: invalid geometry).

    Dumoulin & Visin §2.4, Relationship 6, o = ⌊(i + 2p − k)/s⌋ + 1, with the dilated kernel's extent
    k + (k − 1)(d − 1) = d(k − 1) + 1 in k's place (§5.1, Relationship 15).
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    """(size − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1.

    Dumoulin & Visin §4.6, Relationship 14, o' = s(i' − 1) + a + k − 2p, with a = ``output_padding`` and
    the dilated kernel's extent d(k − 1) + 1 in k's place.
    """
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def column_sums(a):
    """Σ over the rows of a (m, C) matrix, as ``ones @ a``: one BLAS matrix-vector product.

    Equals ``reference.column_sums``, ``a.sum(axis=0)`` (up to rounding: another summation order). Why
    faster: BLAS streams the matrix through in long runs, where NumPy reduces axis 0 row by row, one
    short pass of C values per row.
    """
    return array_module(a).ones(a.shape[0], dtype=a.dtype) @ a


class ChannelSum(Function):
    """z[c] = Σ_{n, i, j} x[n, i, j, c], a conv's bias gradient, as ``column_sums``;   dL/dx = dL/dz broadcast back."""

    def forward(self, x):
        self.shape = x.shape
        return column_sums(x.reshape(-1, x.shape[-1]))  # (N, H, W, C) -> (N·H·W, C) -> (C,)

    def backward(self, grad):
        return BroadcastTo.apply(grad, shape=self.shape)


def _adjoint_output_padding(input_size, output_size, kernel_size, stride, padding, dilation):
    """The ``output_padding`` with which conv_transpose2d maps a conv's (oh, ow) output back to its (H, W)
    input: per axis H − ((oh − 1)s − 2p + d(k − 1) + 1), the rows that the conv's floor division dropped."""
    return tuple(h - conv_transpose_output_size(o, k, s, p, 0, d)
                 for h, o, k, s, p, d in zip(input_size, output_size, kernel_size, stride, padding, dilation))


class Conv2d(Function):
    """y[n, i, j, o] = b[o] + Σ_{a, b, c} x_pad[n, i·sh + a·dh, j·sw + b·dw, c] · W[o, a, b, c].

    x (N, H, W, C), W (O, kh, kw, C), b (O,) → y (N, oh, ow, O). As matrices, with
    X = im2col(x) (N·oh·ow, kh·kw·C) and W_flat (O, kh·kw·C):

        Y = X W_flatᵀ + b;   dL/dW_flat = dL/dYᵀ X;   dL/db = Σ_rows dL/dY;   dL/dx = col2im(dL/dY W_flat).

    Equals ``reference.conv2d``, the loop over every output pixel and kernel offset. Why faster: the
    twin's N·oh·ow·kh·kw small products, one Python iteration each, are here one GEMM.

    The backward is written with ops, each again differentiable:

        dL/dx = conv_transpose2d(dL/dy, W)            (``ConvTranspose2d``: the two ops are each other's adjoint)
        dL/dW = conv2d_weight_grad(x, dL/dy)          (``ConvWeightGrad``: one GEMM on the saved patches X)
        dL/db = Σ_{n, i, j} dL/dy                     (``ChannelSum``)

    Forward and backward are one GEMM per result. dL/dx is skipped when x needs no gradient (the first
    layer, fed with images).

    ``output_size`` (oh, ow) and ``cols`` are for the engine's own calls: a transposed conv's backward
    asks for an output no larger than its input when its output_padding reached past the stride, and
    passes the patches it has already extracted.
    """

    def forward(self, x, weight, bias=None, *, stride, padding, dilation, output_size=None, cols=None):
        n, h, w, c = x.shape
        out_channels, kh, kw, _ = weight.shape
        if output_size is None:
            output_size = (conv_output_size(h, kh, stride[0], padding[0], dilation[0]),
                           conv_output_size(w, kw, stride[1], padding[1], dilation[1]))
        oh, ow = output_size
        if cols is None:
            cols = im2col(pad2d(x, padding), (kh, kw), (oh, ow), stride, dilation)  # (N, H, W, C) -> (N·oh·ow, kh·kw·C)
        w_flat = weight.reshape(out_channels, kh * kw * c)  # (O, kh, kw, C) -> (O, kh·kw·C)
        y = gemm(cols, w_flat.T)  # (N·oh·ow, kh·kw·C) @ (kh·kw·C, O) -> (N·oh·ow, O)
        if bias is not None:
            y += bias
        self.geometry = dict(stride=stride, padding=padding, dilation=dilation)
        self.cols = cols if self.needs_input_grad[1] else None  # only dL/dW needs the patches
        return y.reshape(n, oh, ow, out_channels)  # (N·oh·ow, O) -> (N, oh, ow, O)

    def backward(self, grad):
        x, weight = self.inputs[:2]
        grad_x = grad_weight = grad_bias = None
        if self.needs_input_grad[0]:
            output_padding = _adjoint_output_padding(x.shape[1:3], grad.shape[1:3], weight.shape[1:3], **self.geometry)
            grad_x = ConvTranspose2d.apply(grad, weight, output_padding=output_padding, **self.geometry)  # -> (N, H, W, C)
        if self.needs_input_grad[1]:
            grad_weight = ConvWeightGrad.apply(x, grad, kernel_size=weight.shape[1:3], cols=self.cols, **self.geometry)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            grad_bias = ChannelSum.apply(grad)  # (N, oh, ow, O) -> (O,)
        return (grad_x, grad_weight, grad_bias)[: len(self.inputs)]  # no bias, no third gradient


class ConvWeightGrad(Function):
    """dW[o, a, b, c] = Σ_{n, i, j} g[n, i, j, o] · x_pad[n, i·sh + a·dh, j·sw + b·dw, c]: a conv's weight gradient.

    x (N, H, W, C) the conv's input, g (N, oh, ow, O) the gradient of its output → dW (O, kh, kw, C);
    as matrices dW_flat = Gᵀ im2col(x), one GEMM. It is bilinear in (x, g), and
    ⟨A, dW(x, g)⟩ = ⟨g, conv2d(x, A)⟩ = ⟨x, conv_transpose2d(g, A)⟩ for any A of the weight's shape, so
    with A = dL/d(dW):

        dL/dx = conv_transpose2d(g, A)   (back to x's size);   dL/dg = conv2d(x, A)

    both with the conv's stride, padding and dilation. A gradient penalty on ∇ₓD uses this op's forward
    (for the weights' share of d‖∇ₓD‖²/dW); its backward is reached when such a gradient is differentiated again. A transposed conv's weight gradient is this op
    with the roles swapped (its output gradient is the images, its input the gradient), see
    ``ConvTranspose2d``. ``cols``, when given, is im2col(x) already computed by the caller.
    """

    def forward(self, x, grad_output, *, kernel_size, stride, padding, dilation, cols=None):
        self.geometry = dict(stride=stride, padding=padding, dilation=dilation)
        out_channels = grad_output.shape[-1]
        if cols is None:
            cols = im2col(pad2d(x, padding), kernel_size, grad_output.shape[1:3], stride, dilation)  # (N·oh·ow, kh·kw·C)
        dy = grad_output.reshape(-1, out_channels)  # (N, oh, ow, O) -> (N·oh·ow, O)
        # (O, N·oh·ow) @ (N·oh·ow, kh·kw·C) -> (O, kh, kw, C)
        return gemm(dy.T, cols).reshape(out_channels, *kernel_size, x.shape[-1])

    def backward(self, grad):
        x, grad_output = self.inputs
        grad_x = grad_g = None
        if self.needs_input_grad[0]:
            output_padding = _adjoint_output_padding(x.shape[1:3], grad_output.shape[1:3], grad.shape[1:3], **self.geometry)
            grad_x = ConvTranspose2d.apply(grad_output, grad, output_padding=output_padding, **self.geometry)
        if self.needs_input_grad[1]:
            grad_g = Conv2d.apply(x, grad, output_size=grad_output.shape[1:3], **self.geometry)
        return grad_x, grad_g


class ConvTranspose2d(Function):
    """The adjoint of ``Conv2d`` in x: y = x ⋆ᵀ W, scattering each input pixel through the kernel.

    y_pad[n, i·sh + a·dh, j·sw + b·dw, c] += x[n, i, j, o] · W[o, a, b, c], then y = crop(y_pad) + b[c].

    x (N, H, W, Ci), W (Ci, kh, kw, Co) — conv2d's layout for a conv from Co to Ci channels —,
    b (Co,) → y (N, oh, ow, Co). As matrices, with X (N·H·W, Ci) and W_flat (Ci, kh·kw·Co):

        Y = col2im(X W_flat) + b;   dL/dX = im2col(dL/dY) W_flatᵀ;   dL/dW_flat = Xᵀ im2col(dL/dY);
        dL/db = Σ_{n, i, j} dL/dY.

    Equals ``reference.conv_transpose2d``, the loop scattering every input pixel through every kernel
    offset. Why faster: as for ``Conv2d``, one GEMM instead of N·H·W·kh·kw small products.

    This forward is ``Conv2d``'s input gradient and this backward is ``Conv2d``'s forward (im2col + one
    GEMM) with the same weight (Dumoulin & Visin §4.2: Cᵀ forward, C backward). Written with ops:

        dL/dx = conv2d(dL/dy, W)                       (``Conv2d``)
        dL/dW = conv2d_weight_grad(dL/dy, x)           (``ConvWeightGrad``, dL/dy in the images' place)
        dL/db = Σ_{n, i, j} dL/dy                      (``ChannelSum``)

    and the patches im2col(dL/dY) are extracted once for both. The forward's GEMM X W_flat is written
    offset by offset (``kernel_offset_weights``), the layout ``col2im`` takes.
    """

    def forward(self, x, weight, bias=None, *, stride, padding, output_padding, dilation):
        n, h, w, in_channels = x.shape
        _, kh, kw, out_channels = weight.shape
        oh = conv_transpose_output_size(h, kh, stride[0], padding[0], output_padding[0], dilation[0])
        ow = conv_transpose_output_size(w, kw, stride[1], padding[1], output_padding[1], dilation[1])
        x_flat = x.reshape(n * h * w, in_channels)  # (N, H, W, Ci) -> (N·H·W, Ci)
        cols = gemm(x_flat, kernel_offset_weights(weight))  # (N·H·W, Ci) @ (kh·kw, Ci, Co) -> (kh·kw, N·H·W, Co)
        # (kh·kw, N·H·W, Co) -> (N, oh, ow, Co): what lands in the padding is dropped, and the
        # output_padding rows/columns at the bottom/right receive nothing (only the bias)
        y = col2im(cols, (n, oh, ow, out_channels), (kh, kw), (h, w), stride, dilation, padding)
        if bias is not None:
            y += bias
        self.geometry = dict(stride=stride, padding=padding, dilation=dilation)
        return y

    def backward(self, grad):
        x, weight = self.inputs[:2]
        grad_x = grad_weight = grad_bias = None
        if self.needs_input_grad[0] or self.needs_input_grad[1]:
            # Conv2d's forward on dL/dY: (N, oh, ow, Co) -> (N·H·W, kh·kw·Co), shared by both products
            input_size = x.shape[1:3]
            dcols = im2col(pad2d(grad.data, self.geometry["padding"]), weight.shape[1:3], input_size,
                           self.geometry["stride"], self.geometry["dilation"])
            if self.needs_input_grad[0]:  # (N·H·W, kh·kw·Co) @ (kh·kw·Co, Ci) -> (N, H, W, Ci)
                grad_x = Conv2d.apply(grad, weight, output_size=input_size, cols=dcols, **self.geometry)
            if self.needs_input_grad[1]:  # (Ci, N·H·W) @ (N·H·W, kh·kw·Co) -> (Ci, kh, kw, Co)
                grad_weight = ConvWeightGrad.apply(grad, x, kernel_size=weight.shape[1:3], cols=dcols, **self.geometry)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            grad_bias = ChannelSum.apply(grad)  # (N, oh, ow, Co) -> (N·oh·ow, Co) -> (Co,)
        return (grad_x, grad_weight, grad_bias)[: len(self.inputs)]  # no bias, no third gradient


# ----- the public functions: validate here, so the Functions above can trust their arguments -----


def _hw_pair(value, name, op):
    """An int or an (h, w) pair of ints as an (h, w) tuple."""
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)):
        raise TypeError(f"{op}: {name} must be an int or an (h, w) pair of ints, got {value!r}")
    return tuple(pair)


def _check_common(op, x, weight, bias, x_channels_axis_of_weight, bias_channels_axis, stride, padding, dilation):
    """Checks shared by conv2d and conv_transpose2d; returns the tensors and the (h, w) pairs."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    weight = weight if isinstance(weight, Tensor) else Tensor(weight)
    if x.ndim != 4:
        raise ValueError(f"{op}: input must have shape (N, H, W, C) (channels-last), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must have shape (out_channels, kh, kw, in_channels) of the convolution, got shape {weight.shape}")
    if x.dtype != weight.dtype:
        raise TypeError(f"{op}: input has dtype {x.dtype} but weight has dtype {weight.dtype}; convert the input with .astype({weight.dtype})")
    if x.shape[3] != weight.shape[x_channels_axis_of_weight]:
        raise ValueError(
            f"{op}: input has {x.shape[3]} channels (shape {x.shape}) but weight expects "
            f"{weight.shape[x_channels_axis_of_weight]} (weight shape {weight.shape}, axis {x_channels_axis_of_weight})"
        )
    if bias is not None:
        bias = bias if isinstance(bias, Tensor) else Tensor(bias)
        if bias.dtype != weight.dtype:
            raise TypeError(f"{op}: bias has dtype {bias.dtype} but weight has dtype {weight.dtype}")
        expected = (weight.shape[bias_channels_axis],)
        if bias.shape != expected:
            raise ValueError(f"{op}: bias must have shape {expected} (one per output channel), got shape {bias.shape}")
    stride, padding, dilation = (_hw_pair(v, n, op) for v, n in ((stride, "stride"), (padding, "padding"), (dilation, "dilation")))
    if min(stride) < 1:
        raise ValueError(f"{op}: stride must be positive, got {stride}")
    if min(dilation) < 1:
        raise ValueError(f"{op}: dilation must be positive, got {dilation}")
    if min(padding) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding}")
    return x, weight, bias, stride, padding, dilation


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """Cross-correlation of images x (N, H, W, C) with weight (O, kh, kw, C), plus bias (O,) → (N, oh, ow, O).

    ``stride``, ``padding`` (zeros, both sides) and ``dilation`` are ints or (h, w) pairs;
    oh = floor((H + 2p − d(kh − 1) − 1) / s) + 1, likewise ow.
    """
    x, weight, bias, stride, padding, dilation = _check_common("conv2d", x, weight, bias, 3, 0, stride, padding, dilation)
    for axis, name in ((0, "height"), (1, "width")):
        size, kernel = x.shape[1 + axis], weight.shape[1 + axis]
        extent = dilation[axis] * (kernel - 1) + 1
        if extent > size + 2 * padding[axis]:
            raise ValueError(
                f"conv2d: the kernel {name} with dilation, {dilation[axis]}·({kernel} − 1) + 1 = {extent}, exceeds the padded "
                f"input {name} {size} + 2·{padding[axis]} = {size + 2 * padding[axis]} (input shape {x.shape}, weight shape {weight.shape})"
            )
    params = dict(stride=stride, padding=padding, dilation=dilation)
    return Conv2d.apply(x, weight, **params) if bias is None else Conv2d.apply(x, weight, bias, **params)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    """Transposed convolution of x (N, H, W, Ci) with weight (Ci, kh, kw, Co), plus bias (Co,) → (N, oh, ow, Co).

    The weight has conv2d's layout for the conv from Co to Ci channels whose input gradient this is.
    oh = (H − 1)s − 2p + d(kh − 1) + output_padding + 1, likewise ow; ``output_padding`` must be smaller
    than the stride or the dilation along each axis (as in PyTorch).
    """
    x, weight, bias, stride, padding, dilation = _check_common("conv_transpose2d", x, weight, bias, 0, 3, stride, padding, dilation)
    output_padding = _hw_pair(output_padding, "output_padding", "conv_transpose2d")
    for axis, name in ((0, "height"), (1, "width")):
        if output_padding[axis] < 0 or output_padding[axis] >= max(stride[axis], dilation[axis]):
            raise ValueError(
                f"conv_transpose2d: output_padding {output_padding} must be non-negative and smaller than either "
                f"stride {stride} or dilation {dilation} along the {name}"
            )
        size, kernel = x.shape[1 + axis], weight.shape[1 + axis]
        out = conv_transpose_output_size(size, kernel, stride[axis], padding[axis], output_padding[axis], dilation[axis])
        if out < 1:
            raise ValueError(
                f"conv_transpose2d: output {name} ({size} − 1)·{stride[axis]} − 2·{padding[axis]} + {dilation[axis]}·({kernel} − 1) "
                f"+ {output_padding[axis]} + 1 = {out} is not positive (input shape {x.shape}, weight shape {weight.shape}); reduce padding"
            )
    params = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    return ConvTranspose2d.apply(x, weight, **params) if bias is None else ConvTranspose2d.apply(x, weight, bias, **params)
