"""Batch normalisation (Ioffe & Szegedy 2015) over a channels-last input, with a fused backward.

The channel axis is the LAST axis: (N, C) after a dense layer, (N, H, W, C) after a convolution. The input
is viewed as a matrix of m rows (every position of every example) and C columns (channels); each column is
normalised on its own:

    μ = (1/m) Σᵢ xᵢ,   σ² = (1/m) Σᵢ (xᵢ − μ)²   (biased),   inv_std = 1/√(σ² + ε)
    x̂ = (x − μ)·inv_std,   y = γ·x̂ + β

Backward (training mode, where μ and σ² depend on x), with every sum over the m rows:

    dβ = Σ dy,   dγ = Σ dy·x̂,   dx = γ·inv_std·(dy − (x̂·dγ + dβ)/m)

This is the paper's backward (§3, written out term by term in ``reference.batch_norm_backward``, the
slow twin), rearranged. With x − μ = x̂/inv_std and (σ² + ε)^(−3/2) = inv_std³:

    ∂ℓ/∂x̂  = γ·dy
    ∂ℓ/∂σ² = Σ ∂ℓ/∂x̂·(x − μ)·(−½)(σ² + ε)^(−3/2)           = −½·γ·inv_std²·Σ dy·x̂ = −½·γ·inv_std²·dγ
    ∂ℓ/∂μ  = Σ ∂ℓ/∂x̂·(−inv_std) + ∂ℓ/∂σ²·Σ −2(x − μ)/m     = −γ·inv_std·dβ          (Σ (x − μ) = 0)
    ∂ℓ/∂x  = ∂ℓ/∂x̂·inv_std + ∂ℓ/∂σ²·2(x − μ)/m + ∂ℓ/∂μ/m   = γ·inv_std·dy − γ·inv_std·x̂·dγ/m − γ·inv_std·dβ/m
                                                            = γ·inv_std·(dy − (x̂·dγ + dβ)/m)

so after the two sums dβ and dγ, dx is one expression with per-channel factors, and x̂ never needs to
be stored: x̂·s = (x − μ)·(inv_std·s) for any per-channel s, so the forward saves the centred input.

In eval mode μ and σ² are the running statistics (constants), y is an affine map per channel and
dx = γ·inv_std·dy, with dγ and dβ as above (twins: ``reference.batch_norm_inference`` and its backward).

Why faster than the twin: the twin makes a full pass over the (m, C) matrix for every operation of
every term, where here per-channel factors are folded into (C,) vectors first, so training costs five
full passes forward and six backward (each counted beside its line; ``docs/performance.md`` has the
rest of the story and the measurements). Scalars enter as ``dtype.type`` values, so a float32
pipeline never creates a float64 temporary.

Higher derivatives (a gradient penalty through D's batch norm): the fused backward works on arrays, so
when the engine records the backward (``create_graph=True``) it differentiates ``batch_norm_composed``
instead, the same normalisation composed from mean, subtract, multiply and power, whose ops each carry
their own derivatives (``Function.backward_by_composition``); the tests check the two agree.
"""

from ..autograd import Function, Tensor, is_grad_enabled
from ..backend import array_module


class BatchNorm(Function):
    """y = γ·x̂ + β, x̂ = (x − μ)·inv_std, per channel (last axis); dβ = Σdy, dγ = Σdy·x̂, dx = γ·inv_std·(dy − (x̂·dγ + dβ)/m).

    Equals ``reference.batch_norm_forward`` and ``reference.batch_norm_backward`` (Ioffe & Szegedy 2015,
    Algorithm 1 and §3); the module docstring derives this backward from the twin's.
    In eval mode (``training=False``) μ, σ² are ``running_mean``, ``running_var`` and dx = γ·inv_std·dy.
    In training mode the running statistics, when given, are updated in place (see ``batch_norm``).
    """

    def forward(self, x, weight, bias, training, running_mean, running_var, momentum, eps):
        xp = array_module(x)
        dtype = x.dtype.type
        self.shape, self.training = x.shape, training
        # what the composition needs, the running statistics as they were before this forward updated them
        self.composition_params = dict(training=training, eps=eps,
                                running_mean=None if training else running_mean.copy(), running_var=None if training else running_var.copy())
        channels = x.shape[-1]
        rows = x.reshape(-1, channels)  # (N, ..., C) -> (m, C): the matrix whose columns are normalised
        m = rows.shape[0]
        self.ones = ones = xp.ones(m, dtype=x.dtype)  # (m,): ones @ a is the column sum of a (m, C)
        # The elementwise passes run on x viewed (N, R·C), one row per example (R = m/N positions), with
        # each (C,) vector tiled R times: NumPy runs one inner loop per row of a broadcast, so its start-up
        # cost is paid N times instead of m.
        self.tile = tile = m // x.shape[0] if x.shape[0] else 1  # R = m / N
        wide = x.reshape(-1, tile * channels)  # (N, R·C)
        if training:
            mean = ones @ rows                                       # (C,)   pass 1 (read)
            mean *= dtype(1.0 / m)
            self.centred = centred = wide - xp.tile(mean, tile)      # (N, R·C) pass 2: x − μ_B
            flat = centred.reshape(m, channels)
            var = xp.einsum("ij,ij->j", flat, flat)                  # (C,)   pass 3 (read): Σ (x − μ)²
            var *= dtype(1.0 / m)
            if running_mean is not None:
                running_mean *= dtype(1.0 - momentum)
                running_mean += dtype(momentum) * mean
            if running_var is not None:  # PyTorch's rule: the running variance is the unbiased one
                running_var *= dtype(1.0 - momentum)
                running_var += dtype(momentum * m / (m - 1)) * var
        else:
            self.centred = centred = wide - xp.tile(running_mean, tile)  # (N, R·C) pass 1
            var = running_var.copy()
        var += dtype(eps)
        self.inv_std = inv_std = xp.sqrt(var)                        # (C,)
        xp.divide(dtype(1.0), inv_std, out=inv_std)                  # inv_std = 1/√(σ²_B + ε)
        self.weight = weight
        # Algorithm 1's x̂ = (x − μ_B)·inv_std is never stored: it only ever meets per-channel factors s,
        # and x̂·s = (x − μ_B)·(inv_std·s), so ``centred`` and ``inv_std`` stand for it, here and in backward.
        y = centred * xp.tile(weight * inv_std, tile)                # (N, R·C) pass 4: y = x̂·γ ...
        y += xp.tile(bias, tile)                                     # (N, R·C) pass 5: ... + β
        return y.reshape(self.shape)                                 # -> (N, ..., C)

    def backward(self, grad):
        if is_grad_enabled():  # the backward is being recorded: differentiate the composition instead
            return self.backward_by_composition(grad, batch_norm_composed, **self.composition_params)
        grad = grad.data  # ∂ℓ/∂y
        xp = array_module(grad)
        dtype = grad.dtype.type
        channels = grad.shape[-1]
        rows = grad.reshape(-1, channels)  # (N, ..., C) -> (m, C)
        m, tile = rows.shape[0], self.tile
        wide = grad.reshape(-1, tile * channels)  # (N, R·C), as in forward
        # x̂ = centred·inv_std, as in forward: x − μ_B (N, R·C) and 1/√(σ²_B + ε) (C,)
        centred, inv_std, ones = self.centred, self.inv_std, self.ones
        need_x, need_weight, need_bias = self.needs_input_grad
        if not (need_weight or need_bias or self.training):
            return Tensor((wide * xp.tile(self.weight * inv_std, tile)).reshape(self.shape)), None, None
        # Ioffe & Szegedy §3, per channel, every Σᵢ over the m rows:
        grad_bias = ones @ rows                           # ∂ℓ/∂β = Σᵢ ∂ℓ/∂yᵢ            (C,) pass 1 (read)
        grad_weight = xp.einsum("ij,ij->j", rows, centred.reshape(m, channels))  # Σᵢ ∂ℓ/∂yᵢ·(xᵢ − μ_B)  (C,) pass 2 (read)
        grad_weight *= inv_std                            # ∂ℓ/∂γ = Σᵢ ∂ℓ/∂yᵢ·x̂ᵢ
        grad_x = None
        if need_x:
            if self.training:
                # ∂ℓ/∂xᵢ = γ·inv_std·(∂ℓ/∂yᵢ − (x̂ᵢ·∂ℓ/∂γ + ∂ℓ/∂β)/m): §3's ∂ℓ/∂x̂, ∂ℓ/∂σ²_B and ∂ℓ/∂μ_B
                # terms summed (derived in the module docstring), built from the inside out:
                correction = centred * xp.tile(inv_std * grad_weight * dtype(1.0 / m), tile)  # x̂ᵢ·∂ℓ/∂γ/m       pass 3
                correction += xp.tile(grad_bias * dtype(1.0 / m), tile)                      # + ∂ℓ/∂β/m        pass 4
                grad_x = xp.subtract(wide, correction, out=correction)                       # ∂ℓ/∂yᵢ − …       pass 5
                grad_x *= xp.tile(self.weight * inv_std, tile)                               # ·γ·inv_std       pass 6
            else:
                grad_x = wide * xp.tile(self.weight * inv_std, tile)  # ∂ℓ/∂x = γ·inv_std·∂ℓ/∂y (Algorithm 2: μ, σ² constant)
            grad_x = Tensor(grad_x.reshape(self.shape))
        return grad_x, Tensor(grad_weight) if need_weight else None, Tensor(grad_bias) if need_bias else None


def normalise(x, axes, eps):
    """(x − mean) / √(var + ε) over ``axes`` (biased variance), composed from differentiable ops."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=axes, keepdims=True)
    return centred * (variance + eps) ** -0.5


def batch_norm_composed(x, weight, bias, training, running_mean, running_var, eps):
    """Batch norm composed from differentiable ops: the fused ``BatchNorm``'s function (same value).

    Training: γ·normalise(x over every axis but the channels) + β. Eval: γ·(x − running_mean)/√(running_var + ε) + β.
    Slower (more passes, more temporaries) but differentiable to any order, op by op.
    """
    if training:
        return normalise(x, tuple(range(x.ndim - 1)), eps) * weight + bias
    return (x - Tensor(running_mean)) * (weight * (Tensor(running_var) + eps) ** -0.5) + bias


def _array(value):
    return value.data if isinstance(value, Tensor) else value


def batch_norm(x, weight, bias, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalisation of a channels-last ``x``: (N, C), (N, H, W, C) or any (…, C).

    Args:
        x: tensor (…, C); the statistics are taken over all axes but the last, m = x.size / C rows.
        weight: γ, tensor (C,).  bias: β, tensor (C,).
        running_mean, running_var: arrays (or tensors) (C,) in x's dtype, never differentiated. Required
            in eval mode; in training mode they may be None (then nothing is tracked).
        training: True normalises with the batch statistics, False with the running ones.
        momentum: weight of the new batch in the running averages, in [0, 1].
        eps: added to the variance before the square root.

    Returns:
        y, a tensor of x's shape and dtype.

    In training mode the running statistics are updated **in place**, exactly as PyTorch does::

        running_mean ← (1 − momentum)·running_mean + momentum·μ
        running_var  ← (1 − momentum)·running_var  + momentum·σ²·m/(m − 1)

    i.e. the running variance tracks the *unbiased* batch variance while the normalisation itself uses
    the biased one. Training mode therefore needs m ≥ 2.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"batch_norm: x must be a Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: x must have shape (N, ..., C) with at least 2 dimensions, got shape {x.shape}")
    channels = x.shape[-1]
    for name, value in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        if value is None:
            if name in ("weight", "bias") or not training:
                raise ValueError(f"batch_norm: {name} is required{'' if name in ('weight', 'bias') else ' in eval mode'}")
            continue
        if tuple(value.shape) != (channels,):
            raise ValueError(f"batch_norm: {name} has shape {tuple(value.shape)} but x has {channels} channels (last axis of shape {x.shape}); expected ({channels},)")
        if value.dtype != x.dtype:
            raise TypeError(f"batch_norm: {name} has dtype {value.dtype} but x has dtype {x.dtype}; convert one so both match")
    rows = x.size // channels if channels else 0
    if training and rows < 2:
        raise ValueError(f"batch_norm: training mode needs at least 2 values per channel to estimate a variance, got m = {rows} (x shape {x.shape})")
    if not 0 <= momentum <= 1:
        raise ValueError(f"batch_norm: momentum must be in [0, 1], got {momentum}")
    if not eps > 0:
        raise ValueError(f"batch_norm: eps must be positive, got {eps}")
    return BatchNorm.apply(
        x, weight, bias, training=bool(training), running_mean=_array(running_mean), running_var=_array(running_var),
        momentum=float(momentum), eps=float(eps),
    )
