"""2-D convolution and transposed convolution, channels-last, as im2col + one GEMM.

Layouts (channels-last throughout):

* images ``x``: (N, H, W, C);
* ``conv2d`` weight: (out_channels, kh, kw, in_channels);
* ``conv_transpose2d`` weight: the *same* layout as the convolution it is the adjoint of, i.e.
  (in_channels, kh, kw, out_channels) counted for the transposed conv. ``conv_transpose2d(y, w)`` is
  exactly the input gradient of ``conv2d(·, w)``, and ``conv2d(·, w)`` is the input gradient of
  ``conv_transpose2d(·, w)``: each op's backward is the other's forward.

Why channels-last: the C channels of one pixel are then contiguous, the innermost axis of every patch,
so im2col copies whole runs of them straight into a buffer laid out (N, oh, ow, kh, kw, C) that *is*
the GEMM operand after a free reshape, and the GEMM output (N·oh·ow, out) is already the next image in
(N, oh, ow, out). With channels-first every one of those steps would need a transposed copy. No Python
loop runs over the batch or over pixels: im2col is one strided view and one copy, and col2im loops over
groups of kernel offsets, so the Python overhead (and on a GPU the number of kernels) is the same
whatever the batch size.

Each kernel here has a slow twin in ``reference.py``, written the obvious way (loops over pixels for
the two convolutions, one strided slice per kernel offset for im2col and col2im); the tests check that
each fast kernel equals its twin, and each docstring below says why the fast one is faster.

Output sizes, per spatial axis, for input size H, kernel k, stride s, padding p, dilation d:

    conv:        out = floor((H + 2p − d(k−1) − 1) / s) + 1
    transposed:  out = (H − 1)s − 2p + d(k−1) + output_padding + 1

``output_padding`` (< stride or < dilation, as in PyTorch) picks among the input sizes that a
strided conv maps to the same output size; it adds rows/columns at the bottom/right that receive no
contribution (they only carry the bias).

The same lines run on NumPy and CuPy: only slicing, ``lib.stride_tricks.as_strided`` views (both
libraries have them, with strides in bytes), matmul, reshape and ``zeros``/``empty`` from the input's
array module.
"""

from ..autograd import Function, Tensor
from ..backend import array_module
from .linalg import gemm
from .shape import BroadcastTo


def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1 (may be ≤ 0: invalid geometry)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    """(size − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pad2d(x, padding):
    """x (N, H, W, C) with ``padding`` = (ph, pw) zero rows/columns on each side; x itself when (0, 0)."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, h, w, c = x.shape
    padded = array_module(x).zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)  # (N, H+2ph, W+2pw, C)
    padded[:, ph : ph + h, pw : pw + w, :] = x
    return padded


def im2col(x_padded, kernel_size, output_size, stride, dilation, out=None):
    """The patches of ``x_padded`` as rows: cols[(n, i, j), (a, b, c)] = x_padded[n, i·sh + a·dh, j·sw + b·dw, c].

    Args:
        x_padded: (N, Hp, Wp, C), already padded (``pad2d``).
        kernel_size, output_size, stride, dilation: (h, w) pairs; output_size = (oh, ow).
        out: optional (N, oh, ow, kh, kw, C) buffer to fill instead of allocating one.

    Returns:
        (N·oh·ow, kh·kw·C): one row per output pixel, one column per (kernel offset, channel).

    Equals ``reference.im2col``, which copies one strided slice (N, oh, ow, C) per kernel offset: kh·kw
    copies, each moving (for a stride above 1) runs of only C contiguous floats, one pixel's channels,
    with a jump between them.

    Here all kh·kw of those slices are one strided *view* (``as_strided``, nothing copied) with axes
    (N, oh, ow, kh, kw, C): patch (i, j) starts at pixel (i·sh, j·sw), its rows are dh pixels apart and its
    columns dw apart. One copy of that view is the whole im2col: one call instead of kh·kw (on a GPU, one
    kernel instead of kh·kw). Why faster on the CPU too: NumPy pays for every contiguous run it copies, and
    with dilation 1 the view's last two axes (kw, C) are kw·C contiguous floats of the image, so the copy
    moves runs of kw·C values instead of C. With a single channel (D's first conv) the runs are only kw
    floats long and the twin is a little faster there, but that layer's im2col moves sixteen times fewer
    values than the next one's (N·14·14·16 against N·7·7·1024). The patches overlap, which is safe
    because the view is only read. The measurements are in ``benchmarks/README.md``.
    """
    xp = array_module(x_padded)
    n, _, _, c = x_padded.shape
    (kh, kw), (oh, ow), (sh, sw), (dh, dw) = kernel_size, output_size, stride, dilation
    stride_n, stride_h, stride_w, stride_c = x_padded.strides  # in bytes
    # (N, Hp, Wp, C) viewed as (N, oh, ow, kh, kw, C)
    patches = xp.lib.stride_tricks.as_strided(
        x_padded, shape=(n, oh, ow, kh, kw, c),
        strides=(stride_n, sh * stride_h, sw * stride_w, dh * stride_h, dw * stride_w, stride_c))
    if out is None:
        return patches.reshape(n * oh * ow, kh * kw * c)  # the copy: (N, oh, ow, kh, kw, C) -> (N·oh·ow, kh·kw·C)
    out[...] = patches
    return out.reshape(n * oh * ow, kh * kw * c)  # (N, oh, ow, kh, kw, C) -> (N·oh·ow, kh·kw·C)


def kernel_offset_weights(weight):
    """The weight as one matrix per kernel offset: (A, kh, kw, B) -> (kh·kw, A, B), a view (nothing copied).

    Matrix a·kw + b is weight[:, a, b, :]. ``x @ kernel_offset_weights(w)`` is then one batched GEMM whose
    result is the *offset-major* columns (kh·kw, rows, B) that ``col2im`` adds back, each offset's block
    contiguous: the same products as ``x @ w.reshape(A, kh·kw·B)``, laid out offset by offset.

    Its plain twin is that one GEMM followed by a transposing copy, (rows, kh·kw, B) -> (kh·kw, rows, B),
    into the layout ``reference.col2im`` takes. The batched GEMM does the same multiply-adds at about
    the same speed (``benchmarks/README.md``) and writes the offset-major layout directly, so that copy
    is never made.
    """
    a, kh, kw, b = weight.shape
    return weight.reshape(a, kh * kw, b).transpose(1, 0, 2)  # (A, kh·kw, B) -> (kh·kw, A, B)


def _offset_groups(kernel, dilation, stride, padding, phase_sizes):
    """The kernel offsets of one axis, grouped so that each group can be added back in one go.

    Offset a sends output position i to image row i·stride + a·dilation − padding = (i + q)·stride + r,
    with (q, r) = divmod(a·dilation − padding, stride): phase r, shifted by q phase rows. Consecutive offsets
    with the same q land in *different* phases (r grows by ``dilation``), so they never hit the same pixel
    and can share one add, as long as those phases have the same number of rows (``phase_sizes[r]``; they
    do when the stride divides the image size), so that one crop fits them all. Returns
    [(q, offsets, phases)], the last two as slices. DCGAN's 4-wide stride-2 kernel with padding 1: offsets
    0 | 1, 2 | 3, three groups where one offset at a time would make four.
    """
    groups = []
    for a in range(kernel):
        q, r = divmod(a * dilation - padding, stride)
        if groups and groups[-1][0] == q and phase_sizes[groups[-1][3]] == phase_sizes[r]:
            groups[-1][2] += 1
        else:
            groups.append([q, a, 1, r])
    return [(q, slice(a, a + count), slice(r, r + dilation * (count - 1) + 1, dilation)) for q, a, count, r in groups]


def col2im(cols, image_shape, kernel_size, output_size, stride, dilation, padding):
    """The adjoint of ``im2col`` after ``pad2d``: add each kernel offset's contribution back where it came from.

    Args:
        cols: (kh·kw, N, oh, ow, C), *offset-major*: block a·kw + b holds what kernel offset (a, b) sends
            to each output pixel (``x @ kernel_offset_weights(w)`` writes exactly this).
        image_shape: (N, H, W, C), the unpadded image.
        kernel_size, output_size, stride, dilation, padding: (h, w) pairs; output_size = (oh, ow).

    Returns:
        (N, H, W, C): image[n, i·sh + a·dh − ph, j·sw + b·dw − pw, c] += cols[a·kw + b, n, i, j, c],
        for the terms that land inside the image (what lands in the padding is dropped).

    Equals ``reference.col2im``, which adds each kernel offset's block onto a strided slice of a zero
    buffer the size of the padded image, then crops the padding off.

    Here, with stride s the image splits into sh·sw *phases*: the pixels (y, x) with y mod sh = r and
    x mod sw = t, an (N, ⌈H/sh⌉, ⌈W/sw⌉, C) grid of their own, kept together in one phase-major buffer.
    Kernel offset a always lands in the same phase r, shifted by the same number q of phase rows, and
    consecutive offsets with the same shift land in different phases, so one add covers a group of them
    (``_offset_groups``): DCGAN's 4×4 stride-2 kernel with padding 1 needs 3 × 3 adds instead of 16 (on a
    GPU, 9 kernels instead of 16). Both sides of each add are (…, rows, ow·C) with contiguous rows; what
    would land in the padding is cut off by the window bounds (no padded buffer, no crop). The phases are
    then interleaved into the image with sh·sw strided copies. Why faster than the twin, and the more so
    the fewer channels: a stride-2 slice of the image is contiguous only C floats at a time, and NumPy
    pays per contiguous run; here every add moves whole phase rows of ow·C floats, and the strided work is
    left to the sh·sw interleaving copies, one per phase instead of one per offset (measured in
    ``benchmarks/README.md``). Overlapping patches add up, so this is a sum, never an assignment; within a
    group the targets are distinct, so no ``add.at`` is needed; and each pixel receives its terms in the
    order of the offsets (a, then b), as the twin adds them, so the two agree bit for bit.
    """
    xp = array_module(cols)
    n, h, w, c = image_shape
    (kh, kw), (oh, ow), (sh, sw), (dh, dw), (ph, pw) = kernel_size, output_size, stride, dilation, padding
    patches = cols.reshape(kh, kw, n, oh, ow, c)  # (kh·kw, N, oh, ow, C) -> (kh, kw, N, oh, ow, C)
    phase_rows = [-(-(h - r) // sh) for r in range(sh)]  # image rows r, r + sh, … of phase r
    phase_cols = [-(-(w - t) // sw) for t in range(sw)]
    # phases[r, t, n, y, x, c] = image[n, y·sh + r, x·sw + t, c]
    phases = xp.zeros((sh, sw, n, phase_rows[0], phase_cols[0], c), dtype=cols.dtype)
    for q, offsets_a, phases_r in _offset_groups(kh, dh, sh, ph, phase_rows):
        rows = phase_rows[phases_r.start]
        i0, i1 = max(0, -q), min(oh, rows - q)  # output rows whose phase row q + i lies inside the image
        for u, offsets_b, phases_t in _offset_groups(kw, dw, sw, pw, phase_cols):
            columns = phase_cols[phases_t.start]
            j0, j1 = max(0, -u), min(ow, columns - u)
            if i1 <= i0 or j1 <= j0:
                continue  # this group lands only in the padding
            target = phases[phases_r, phases_t, :, q + i0 : q + i1, u + j0 : u + j1, :]  # (group a, group b, N, rows, columns, C)
            xp.add(target, patches[offsets_a, offsets_b, :, i0:i1, j0:j1, :], out=target)
    if sh == sw == 1:
        return phases[0, 0]  # one phase: it is the image
    image = xp.empty((n, h, w, c), dtype=cols.dtype)  # (N, H, W, C)
    for r in range(sh):
        for t in range(sw):
            image[:, r::sh, t::sw, :] = phases[r, t, :, : phase_rows[r], : phase_cols[t], :]
    return image


def column_sums(a):
    """Σ over the rows of a (m, C) matrix, as ``ones @ a``: one BLAS matrix-vector product.

    Its twin is ``a.sum(axis=0)``, the same sums. NumPy reduces that axis row by row, one short pass
    of C values per row; the matrix-vector product streams the whole matrix through in long runs and is
    several times faster at the conv shapes here (``benchmarks/README.md``).
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

    Equals ``reference.conv2d``, the loop over every output pixel and kernel offset, whose work is
    N·oh·ow·kh·kw small products of a (O, C) matrix with a C-vector, each one Python iteration. Here
    the same multiply-adds are one GEMM, which BLAS runs at close to the processor's peak, and the only
    Python loops are im2col's over kernel rows and col2im's over kernel offsets.

    The backward is written with ops, each again differentiable:

        dL/dx = conv_transpose2d(dL/dy, W)            (``ConvTranspose2d``: the two ops are each other's adjoint)
        dL/dW = conv2d_weight_grad(x, dL/dy)          (``ConvWeightGrad``: one GEMM on the saved patches X)
        dL/db = Σ_{n, i, j} dL/dy                     (``ChannelSum``)

    Forward and backward are one GEMM per result. For dL/dx the GEMM is batched over the kernel offsets,
    dL/dY W[:, a, b, :] for each (a, b) (``kernel_offset_weights``): the same products as dL/dY W_flat,
    written offset by offset, the layout ``col2im`` adds back fastest. dL/dx is skipped when x needs no
    gradient (the first layer, fed with images).

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
    offset; faster for the same reason as ``Conv2d``: one GEMM instead of N·H·W·kh·kw small products.

    This forward is ``Conv2d``'s input gradient and this backward is ``Conv2d``'s forward (im2col + one
    GEMM) with the same weight: the two ops are each other's adjoint. Written with ops:

        dL/dx = conv2d(dL/dy, W)                       (``Conv2d``)
        dL/dW = conv2d_weight_grad(dL/dy, x)           (``ConvWeightGrad``, dL/dy in the images' place)
        dL/db = Σ_{n, i, j} dL/dy                      (``ChannelSum``)

    and the patches im2col(dL/dY) are extracted once for both. The forward's GEMM X W_flat is batched
    over the kernel offsets (``kernel_offset_weights``), as in ``Conv2d``'s dL/dx, for ``col2im``.
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
