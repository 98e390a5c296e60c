"""A convolution as a matrix product: ``im2col`` gathers the patches, ``col2im`` adds them back.

Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning", §4.1 (convolution as a
matrix operation): a convolution is a sparse matrix C applied to the flattened input, and its input
gradient is Cᵀ applied to the output gradient. Neither matrix is ever built here. Instead:

* ``im2col`` copies every patch the kernel meets into one row of a dense matrix X (one row per output
  pixel, one column per kernel offset and channel), so that C·x is the dense product X·W_flatᵀ
  (``conv.Conv2d``);
* ``col2im`` is its adjoint: given one column block per kernel offset, it adds each value back onto the
  pixel it came from, so that Cᵀ·g is col2im(G·W_flat) (``conv.ConvTranspose2d``, and ``Conv2d``'s dL/dx).

Overlapping patches share pixels, so im2col copies a pixel once per patch that contains it and col2im
*sums* what comes back to it. Layouts are channels-last (``docs/layouts.md``): images (N, H, W, C), a
patch (kh, kw, C), and col2im's columns offset-major, (kh·kw, N, oh, ow, C).

The plain twins, one strided slice per kernel offset, are ``reference.im2col`` and ``reference.col2im``;
the tests check that each function here equals its twin. Why these are faster, with the measurements:
``docs/performance.md``.

The same lines run on NumPy and CuPy: slicing, ``lib.stride_tricks.as_strided`` views (both libraries
have them, with strides in bytes), ``add`` and ``zeros``/``empty`` from the input's array module.
"""

from ..backend import array_module


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

    Equals ``reference.im2col`` (one strided slice copied per kernel offset). Here all kh·kw of those
    slices are one strided *view* of the image, with axes (N, oh, ow, kh, kw, C): patch (i, j) starts at
    pixel (i·sh, j·sw), its rows are dh pixels apart and its columns dw apart. The patches overlap, which
    is safe because the view is only read; one copy of it is the whole im2col. Why faster: one copy
    instead of kh·kw, moving runs of kw·C contiguous floats (a patch row, with dilation 1) where each
    slice moves runs of only C.
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
    result is the offset-major columns (kh·kw, rows, B) that ``col2im`` takes, each offset's block
    contiguous. It holds the same products as the plain ``x @ w.reshape(A, kh·kw·B)``, whose (rows, kh·kw, B)
    result would need a transposing copy into that layout; why this is faster: the batched GEMM writes
    the layout directly, so that copy is never made.
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

    Equals ``reference.col2im`` (each offset's block added onto a strided slice of a padded zero image,
    then the padding cropped off), bit for bit: each pixel receives its terms in the twin's order, the
    offsets' (a, then b). Overlapping patches add up, so this is a sum, never an assignment.

    How: with stride s the image splits into sh·sw *phases*, the pixels (y, x) with y mod sh = r and
    x mod sw = t, each an (N, ⌈H/sh⌉, ⌈W/sw⌉, C) grid of its own. Kernel offset a always lands in one
    phase r, shifted by q phase rows, and a group of consecutive offsets with the same shift lands in
    distinct phases, so one add covers the group without two terms meeting on a pixel (no ``add.at``
    needed; ``_offset_groups``). What would land in the padding is cut off by the window bounds. Then the
    phases are interleaved into the image, one strided copy per phase. Why faster: every add moves whole
    phase rows of ow·C contiguous floats, where a stride-s slice of the image is contiguous only C at a time.
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
