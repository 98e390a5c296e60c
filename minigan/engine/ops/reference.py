"""The slow twins: each fast kernel of the engine written the obvious way, to read beside the paper.

The kernels that a training step runs were rearranged for speed: im2col reads a strided view with byte
strides, col2im sums stride phases, batch norm's backward is fused into a few passes over tiled
vectors, Adam folds its bias corrections into two scalars. Each of them equals one definition here,
written top to bottom with the formula beside each line:

    twin                                written as                                 fast kernel
    conv2d, conv_transpose2d            loops over every pixel and kernel offset   conv.Conv2d, conv.ConvTranspose2d
    im2col, col2im                      one strided slice per kernel offset        im2col.im2col, im2col.col2im
    column_sums                         a.sum(axis=0)                              conv.column_sums
    batch_norm_forward, ..._backward    Ioffe & Szegedy 2015, Algorithm 1 and §3   batchnorm.BatchNorm (training)
    batch_norm_inference, ..._backward  Algorithm 2, line 11                       batchnorm.BatchNorm (eval)
    update_running_statistics           PyTorch's rule for the running averages    batchnorm.BatchNorm.forward
    layer_norm_forward, ..._backward    Ba et al. 2016, §3, and its chain rule     layernorm.LayerNorm
    logsumexp_forward, ..._backward     the definition, log Σ eˣ, and its softmax  reduce.LogSumExp
    adam                                Kingma & Ba 2015, Algorithm 1              optim.Adam.step
    sgd                                 momentum and weight decay, PyTorch's rule  optim.SGD.step
    rmsprop                             Tieleman & Hinton 2012, PyTorch's form     optim.RMSprop.step

They take and return plain arrays of the backend's array module (NumPy or CuPy), never Tensors, and
keep their inputs' dtype. Nothing in training calls them: they are the oracles of ``tests/``, which
checks on hypothesis-drawn shapes that every fast kernel equals its twin, and checks the twins
themselves where an independent fact exists (conv-transpose is conv's adjoint, col2im is im2col's,
batch norm's gradients match finite differences, Adam's first step is ±α).

Layouts are those of the fast kernels: images (N, H, W, C), conv weights (out, kh, kw, in), batch
norm's channel axis last.
"""

from ..backend import array_module


def _hw(value):
    """An int or an (h, w) pair as an (h, w) pair (the fast ops accept both too)."""
    return (value, value) if isinstance(value, int) else tuple(value)


# ----- convolution -----------------------------------------------------------------------------------
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """y[n, i, j, o] = bias[o] + Σ_{a, b, c} W[o, a, b, c] · x[n, i·sh + a·dh − ph, j·sw + b·dw − pw, c],

    with x read as zero outside its H×W pixels (zero padding). x (N, H, W, C), W (O, kh, kw, C),
    bias (O,) or None → y (N, oh, ow, O), oh = floor((H + 2ph − dh(kh − 1) − 1) / sh) + 1, likewise ow.
    """
    xp = array_module(x)
    (sh, sw), (ph, pw), (dh, dw) = _hw(stride), _hw(padding), _hw(dilation)
    n_images, height, width, _ = x.shape
    out_channels, kh, kw, _ = weight.shape
    oh = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = xp.zeros((n_images, oh, ow, out_channels), dtype=x.dtype)
    for n in range(n_images):
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    for b in range(kw):
                        row, col = i * sh + a * dh - ph, j * sw + b * dw - pw  # the pixel offset (a, b) meets
                        if 0 <= row < height and 0 <= col < width:  # else it is a zero of the padding
                            y[n, i, j] += weight[:, a, b, :] @ x[n, row, col]  # Σ_c W[o, a, b, c] x[n, row, col, c]
    return y if bias is None else y + bias


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    """Scatter each input pixel through the kernel, defined without reference to conv2d:

        y[n, i·sh + a·dh − ph, j·sw + b·dw − pw, c] += Σ_o x[n, i, j, o] · W[o, a, b, c]

    for every (i, j, a, b) that lands inside the oh×ow output, then y += bias. x (N, H, W, Ci),
    W (Ci, kh, kw, Co) — conv2d's layout for the conv from Co to Ci channels —, bias (Co,) or None
    → y (N, oh, ow, Co), oh = (H − 1)sh − 2ph + dh(kh − 1) + output_padding + 1, likewise ow.
    """
    xp = array_module(x)
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = _hw(stride), _hw(padding), _hw(output_padding), _hw(dilation)
    n_images, height, width, _ = x.shape
    _, kh, kw, out_channels = weight.shape
    oh = (height - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (width - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    y = xp.zeros((n_images, oh, ow, out_channels), dtype=x.dtype)
    for n in range(n_images):
        for i in range(height):
            for j in range(width):
                for a in range(kh):
                    for b in range(kw):
                        row, col = i * sh + a * dh - ph, j * sw + b * dw - pw  # where offset (a, b) sends pixel (i, j)
                        if 0 <= row < oh and 0 <= col < ow:  # else it falls into the cropped padding
                            y[n, row, col] += x[n, i, j] @ weight[:, a, b, :]  # Σ_o x[n, i, j, o] W[o, a, b, c]
    return y if bias is None else y + bias


def _every(start, step, count):
    """The slice start, start + step, …, start + (count − 1)·step."""
    return slice(start, start + (count - 1) * step + 1, step)


def im2col(x_padded, kernel_size, output_size, stride, dilation):
    """cols[(n, i, j), (a, b, c)] = x_padded[n, i·sh + a·dh, j·sw + b·dw, c]: one row per output pixel.

    Arguments as for ``im2col.im2col``: x_padded (N, Hp, Wp, C), already padded; the rest (h, w) pairs,
    output_size = (oh, ow). Returns (N·oh·ow, kh·kw·C).

    The obvious way: kernel offset (a, b) meets, over all output pixels, the image rows a·dh, a·dh + sh,
    …, a·dh + (oh − 1)·sh and the columns b·dw, b·dw + sw, …: one strided slice (N, oh, ow, C). Copy
    each of the kh·kw slices into its place in the patch array (N, oh, ow, kh, kw, C).
    """
    xp = array_module(x_padded)
    n, _, _, c = x_padded.shape
    (kh, kw), (oh, ow), (sh, sw), (dh, dw) = kernel_size, output_size, stride, dilation
    patches = xp.zeros((n, oh, ow, kh, kw, c), dtype=x_padded.dtype)
    for a in range(kh):
        for b in range(kw):
            rows, columns = _every(a * dh, sh, oh), _every(b * dw, sw, ow)  # what offset (a, b) meets
            patches[:, :, :, a, b, :] = x_padded[:, rows, columns, :]  # (N, oh, ow, C)
    return patches.reshape(n * oh * ow, kh * kw * c)  # (N, oh, ow, kh, kw, C) -> (N·oh·ow, kh·kw·C)


def col2im(cols, image_shape, kernel_size, output_size, stride, dilation, padding):
    """The adjoint of padding then ``im2col``: each patch value is added back onto the pixel it came from.

    Arguments as for ``im2col.col2im``: cols (kh·kw, N, oh, ow, C), offset-major (block a·kw + b is
    kernel offset (a, b)); image_shape (N, H, W, C), the unpadded image; the rest (h, w) pairs. Returns

        image[n, i·sh + a·dh − ph, j·sw + b·dw − pw, c] = Σ cols[a·kw + b, n, i, j, c]   (N, H, W, C)

    summed over every (a, b, i, j) that lands inside the image.

    The obvious way: a zero buffer the size of the *padded* image; add each kernel offset's block onto
    the same strided slice that ``im2col`` copies it from (patches overlap, so this is a sum); then crop
    the padding off: what landed there was sent to a zero of the padding and belongs to no pixel.
    """
    xp = array_module(cols)
    n, h, w, c = image_shape
    (kh, kw), (oh, ow), (sh, sw), (dh, dw), (ph, pw) = kernel_size, output_size, stride, dilation, padding
    patches = cols.reshape(kh, kw, n, oh, ow, c)  # (kh·kw, N, oh, ow, C) -> (kh, kw, N, oh, ow, C)
    padded = xp.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=cols.dtype)  # (N, H + 2ph, W + 2pw, C)
    for a in range(kh):
        for b in range(kw):
            rows, columns = _every(a * dh, sh, oh), _every(b * dw, sw, ow)  # where im2col took offset (a, b) from
            padded[:, rows, columns, :] += patches[a, b]  # (N, oh, ow, C)
    return padded[:, ph : ph + h, pw : pw + w, :]  # crop: (N, H + 2ph, W + 2pw, C) -> (N, H, W, C)


def column_sums(a):
    """Σᵢ a[i, c] for each column c of a (m, C) matrix → (C,): a conv's bias gradient over its output pixels."""
    return a.sum(axis=0)


# ----- batch normalisation ---------------------------------------------------------------------------
# The channel axis is last: x (N, ..., C) is read as m = x.size / C rows of C channels, and each
# channel's column of m values is one "mini-batch B = {x₁ … x_m}" of the paper.


def batch_statistics(x):
    """Algorithm 1's first two lines, per channel of x (N, ..., C) → (μ_B, σ²_B), each (C,):

        μ_B  ← (1/m) Σᵢ xᵢ                    mini-batch mean
        σ²_B ← (1/m) Σᵢ (xᵢ − μ_B)²           mini-batch variance (biased: divided by m)
    """
    rows = x.reshape(-1, x.shape[-1])  # (N, ..., C) -> (m, C)
    m = rows.shape[0]
    mean = rows.sum(axis=0) / m
    var = ((rows - mean) ** 2).sum(axis=0) / m
    return mean, var


def batch_norm_forward(x, gamma, beta, eps=1e-5):
    """Ioffe & Szegedy 2015, Algorithm 1 (the batch normalising transform), per channel, training mode:

        μ_B  ← (1/m) Σᵢ xᵢ                    mini-batch mean      (``batch_statistics``)
        σ²_B ← (1/m) Σᵢ (xᵢ − μ_B)²           mini-batch variance
        x̂ᵢ   ← (xᵢ − μ_B) / √(σ²_B + ε)       normalise
        yᵢ   ← γ x̂ᵢ + β                       scale and shift

    x (N, ..., C), γ and β (C,) → y of x's shape.
    """
    mean, var = batch_statistics(x)
    x_hat = (x - mean) / (var + eps) ** 0.5
    return gamma * x_hat + beta


def batch_norm_backward(dy, x, gamma, eps=1e-5):
    """The gradients of Algorithm 1 by the chain rule, as Ioffe & Szegedy 2015 write them in §3:

        ∂ℓ/∂x̂ᵢ  = ∂ℓ/∂yᵢ · γ
        ∂ℓ/∂σ²_B = Σᵢ ∂ℓ/∂x̂ᵢ · (xᵢ − μ_B) · (−1/2)(σ²_B + ε)^(−3/2)
        ∂ℓ/∂μ_B  = (Σᵢ ∂ℓ/∂x̂ᵢ · −1/√(σ²_B + ε)) + ∂ℓ/∂σ²_B · (Σᵢ −2(xᵢ − μ_B)) / m
        ∂ℓ/∂xᵢ   = ∂ℓ/∂x̂ᵢ · 1/√(σ²_B + ε) + ∂ℓ/∂σ²_B · 2(xᵢ − μ_B)/m + ∂ℓ/∂μ_B · 1/m
        ∂ℓ/∂γ    = Σᵢ ∂ℓ/∂yᵢ · x̂ᵢ
        ∂ℓ/∂β    = Σᵢ ∂ℓ/∂yᵢ

    dy = ∂ℓ/∂y and x (N, ..., C), γ (C,) → (∂ℓ/∂x, ∂ℓ/∂γ, ∂ℓ/∂β); every Σᵢ runs over the m rows of a
    channel. μ_B, σ²_B and x̂ are recomputed from x as in the forward pass. (Σᵢ −2(xᵢ − μ_B) is zero
    by the definition of μ_B; the paper keeps the term, and so does this twin.)
    """
    channels = x.shape[-1]
    rows, dy_rows = x.reshape(-1, channels), dy.reshape(-1, channels)  # (N, ..., C) -> (m, C)
    m = rows.shape[0]
    mean, var = batch_statistics(rows)
    x_hat = (rows - mean) / (var + eps) ** 0.5
    dx_hat = dy_rows * gamma
    dvar = (dx_hat * (rows - mean) * (-0.5) * (var + eps) ** -1.5).sum(axis=0)
    dmean = (dx_hat * -1 / (var + eps) ** 0.5).sum(axis=0) + dvar * (-2 * (rows - mean)).sum(axis=0) / m
    dx = dx_hat / (var + eps) ** 0.5 + dvar * 2 * (rows - mean) / m + dmean / m
    dgamma = (dy_rows * x_hat).sum(axis=0)
    dbeta = dy_rows.sum(axis=0)
    return dx.reshape(x.shape), dgamma, dbeta


def batch_norm_inference(x, gamma, beta, mean, var, eps=1e-5):
    """Eval mode, Ioffe & Szegedy 2015, Algorithm 2, line 11: with the population statistics E[x] and
    Var[x] (here the running averages) fixed, the transform is one affine map per channel:

        y = γ / √(Var[x] + ε) · x + (β − γ E[x] / √(Var[x] + ε))

    x (N, ..., C), γ, β, E[x] = ``mean``, Var[x] = ``var`` (C,) → y of x's shape.
    """
    scale = gamma / (var + eps) ** 0.5
    return scale * x + (beta - scale * mean)


def batch_norm_inference_backward(dy, x, gamma, mean, var, eps=1e-5):
    """The gradients of ``batch_norm_inference``: μ and σ² are constants now, so only the affine map
    is differentiated: ∂ℓ/∂x = γ/√(Var[x] + ε) · ∂ℓ/∂y, ∂ℓ/∂γ = Σ ∂ℓ/∂y · x̂, ∂ℓ/∂β = Σ ∂ℓ/∂y with
    x̂ = (x − E[x]) / √(Var[x] + ε), each sum over the m rows. Returns (∂ℓ/∂x, ∂ℓ/∂γ, ∂ℓ/∂β).
    """
    channels = x.shape[-1]
    rows, dy_rows = x.reshape(-1, channels), dy.reshape(-1, channels)  # (N, ..., C) -> (m, C)
    x_hat = (rows - mean) / (var + eps) ** 0.5
    dx = gamma / (var + eps) ** 0.5 * dy
    return dx, (dy_rows * x_hat).sum(axis=0), dy_rows.sum(axis=0)


def update_running_statistics(running_mean, running_var, x, momentum):
    """The running averages after one training batch x (N, ..., C), by PyTorch's rule:

        running_mean ← (1 − momentum)·running_mean + momentum·μ_B
        running_var  ← (1 − momentum)·running_var  + momentum·σ²_B·m/(m − 1)   (the unbiased variance)

    Returns the new (running_mean, running_var); the arguments are left as they were.
    """
    mean, var = batch_statistics(x)
    m = x.size // x.shape[-1]
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)
    return new_mean, new_var


# ----- layer normalisation (Ba, Kiros & Hinton 2016) ---------------------------------------------------
# The normalised axes are the last ``gamma.ndim``: x (N, ..., *F) is read as rows of n = |F| features,
# one row per example, and each row is normalised on its own.


def layer_norm_forward(x, gamma, beta, eps=1e-5):
    """Ba et al. 2016, §3, per example (row) over its n features:

        μ  = (1/n) Σⱼ xⱼ,   σ² = (1/n) Σⱼ (xⱼ − μ)²   (biased),   x̂ⱼ = (xⱼ − μ) / √(σ² + ε),   yⱼ = γⱼ x̂ⱼ + βⱼ

    x (..., *F), γ and β of shape F → y of x's shape.
    """
    rows = x.reshape(-1, gamma.size)  # (..., *F) -> (m, n)
    n = rows.shape[1]
    mean = rows.sum(axis=1, keepdims=True) / n
    var = ((rows - mean) ** 2).sum(axis=1, keepdims=True) / n
    x_hat = (rows - mean) / (var + eps) ** 0.5
    return (gamma.reshape(-1) * x_hat + beta.reshape(-1)).reshape(x.shape)


def layer_norm_backward(dy, x, gamma, eps=1e-5):
    """The gradients of ``layer_norm_forward`` by the chain rule, term by term as for batch norm (§3 of
    Ioffe & Szegedy), with every Σⱼ over the n features of one example:

        ∂ℓ/∂x̂ⱼ = ∂ℓ/∂yⱼ · γⱼ
        ∂ℓ/∂σ²  = Σⱼ ∂ℓ/∂x̂ⱼ · (xⱼ − μ) · (−1/2)(σ² + ε)^(−3/2)
        ∂ℓ/∂μ   = Σⱼ ∂ℓ/∂x̂ⱼ · −1/√(σ² + ε)        (the σ² term's Σⱼ −2(xⱼ − μ)/n is zero)
        ∂ℓ/∂xⱼ  = ∂ℓ/∂x̂ⱼ / √(σ² + ε) + ∂ℓ/∂σ² · 2(xⱼ − μ)/n + ∂ℓ/∂μ / n
        ∂ℓ/∂γⱼ  = Σ_examples ∂ℓ/∂yⱼ · x̂ⱼ,   ∂ℓ/∂βⱼ = Σ_examples ∂ℓ/∂yⱼ

    Returns (∂ℓ/∂x, ∂ℓ/∂γ, ∂ℓ/∂β) in the shapes of x, γ, γ.
    """
    rows, dy_rows = x.reshape(-1, gamma.size), dy.reshape(-1, gamma.size)  # (..., *F) -> (m, n)
    n = rows.shape[1]
    mean = rows.sum(axis=1, keepdims=True) / n
    var = ((rows - mean) ** 2).sum(axis=1, keepdims=True) / n
    x_hat = (rows - mean) / (var + eps) ** 0.5
    dx_hat = dy_rows * gamma.reshape(-1)
    dvar = (dx_hat * (rows - mean) * (-0.5) * (var + eps) ** -1.5).sum(axis=1, keepdims=True)
    dmean = (dx_hat * -1 / (var + eps) ** 0.5).sum(axis=1, keepdims=True)
    dx = dx_hat / (var + eps) ** 0.5 + dvar * 2 * (rows - mean) / n + dmean / n
    dgamma = (dy_rows * x_hat).sum(axis=0).reshape(gamma.shape)
    dbeta = dy_rows.sum(axis=0).reshape(gamma.shape)
    return dx.reshape(x.shape), dgamma, dbeta


# ----- log-sum-exp ----------------------------------------------------------------------------------
def logsumexp_forward(x, axis):
    """z = log Σ_axis eˣ, as defined (no shift: eˣ overflows for x beyond ~709 in float64, ~88 in float32)."""
    xp = array_module(x)
    return xp.log(xp.exp(x).sum(axis=axis))


def logsumexp_backward(dz, x, axis):
    """∂ℓ/∂xₖ = ∂ℓ/∂z · eˣᵏ / Σ_axis eˣ: the incoming gradient times the softmax over ``axis``."""
    xp = array_module(x)
    softmax = xp.exp(x) / xp.exp(x).sum(axis=axis, keepdims=True)
    return xp.expand_dims(dz, axis) * softmax


# ----- optimisers ------------------------------------------------------------------------------------
def adam(theta, gradients, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Kingma & Ba 2015, Algorithm 1, line by line, for one parameter array θ.

    Algorithm 1 evaluates gₜ ← ∇θ fₜ(θₜ₋₁) itself; here the caller passes the gradients g₁, g₂, … of the
    steps (``gradients``, arrays of θ's shape), and θ after the last step is returned. α = ``lr``,
    (β₁, β₂) = ``betas``, ε = ``eps``.
    """
    xp = array_module(theta)
    beta1, beta2 = betas
    m = xp.zeros_like(theta)  # m₀ ← 0 (initialise the 1st moment vector)
    v = xp.zeros_like(theta)  # v₀ ← 0 (initialise the 2nd moment vector)
    t = 0                     # t ← 0 (initialise the timestep)
    for g in gradients:
        t = t + 1                                        # t ← t + 1
        m = beta1 * m + (1 - beta1) * g                  # mₜ ← β₁·mₜ₋₁ + (1 − β₁)·gₜ    biased 1st moment estimate
        v = beta2 * v + (1 - beta2) * g * g              # vₜ ← β₂·vₜ₋₁ + (1 − β₂)·gₜ²   biased 2nd raw moment estimate
        m_hat = m / (1 - beta1**t)                       # m̂ₜ ← mₜ / (1 − β₁ᵗ)           bias-corrected 1st moment
        v_hat = v / (1 - beta2**t)                       # v̂ₜ ← vₜ / (1 − β₂ᵗ)           bias-corrected 2nd moment
        theta = theta - lr * m_hat / (xp.sqrt(v_hat) + eps)  # θₜ ← θₜ₋₁ − α·m̂ₜ / (√v̂ₜ + ε)
    return theta


def sgd(theta, gradients, lr, momentum=0.0, weight_decay=0.0):
    """SGD with momentum μ and weight decay λ, PyTorch's convention, for one parameter array θ:

        g ← g + λθ;    v ← μv + g;    θ ← θ − η v        (μ = 0: θ ← θ − η g)

    ``gradients`` are the g of the successive steps; returns θ after the last one.
    """
    velocity = array_module(theta).zeros_like(theta)  # v₀ ← 0
    for g in gradients:
        g = g + weight_decay * theta       # g ← g + λθ
        velocity = momentum * velocity + g  # v ← μv + g
        theta = theta - lr * velocity      # θ ← θ − η v
    return theta


def rmsprop(theta, gradients, lr=1e-2, alpha=0.99, eps=1e-8):
    """RMSprop (Tieleman & Hinton 2012, Lecture 6.5) in PyTorch's form, for one parameter array θ:

        v ← α v + (1 − α) g²;    θ ← θ − η g / (√v + ε)        (v₀ = 0)

    ``gradients`` are the g of the successive steps; returns θ after the last one.
    """
    xp = array_module(theta)
    v = xp.zeros_like(theta)  # v₀ ← 0
    for g in gradients:
        v = alpha * v + (1 - alpha) * g * g             # v ← α v + (1 − α) g²   running mean of g²
        theta = theta - lr * g / (xp.sqrt(v) + eps)      # θ ← θ − η g / (√v + ε)
    return theta
