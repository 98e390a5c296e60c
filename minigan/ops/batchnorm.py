"""Batch normalisation (Ioffe & Szegedy 2015) over a channels-last input, with a fused backward.

The channel axis is the LAST axis: (N, C) after a dense layer, (N, H, W, C) after a convolution. The input
is viewed as a matrix of m rows (every position of every example) and C columns (channels); each column is
normalised on its own:

    μ = (1/m) Σᵢ xᵢ,   σ² = (1/m) Σᵢ (xᵢ − μ)²   (biased),   inv_std = 1/√(σ² + ε)
    x̂ = (x − μ)·inv_std,   y = γ·x̂ + β

Backward (training mode, where μ and σ² depend on x), with every sum over the m rows:

    dβ = Σ dy,   dγ = Σ dy·x̂,   dx = γ·inv_std·(dy − (x̂·dγ + dβ)/m)

In eval mode μ and σ² are the running statistics (constants), y is an affine map per channel and
dx = γ·inv_std·dy, with dγ and dβ as above.

Speed (see shared/PERFORMANCE.md): column sums are matrix-vector products (``ones @ a``, one BLAS call),
per-channel factors are folded into (C,) vectors before they touch the (m, C) matrix, and every full pass
writes in place into one of two buffers. The forward saves the centred input x − μ (not x̂; x̂·s is
(x − μ)·(inv_std·s), folded into the vector), so training costs six full passes forward and seven
backward, two of each only reading. Scalars enter as ``dtype.type`` values, so a float32 pipeline never
creates a float64 temporary.
"""

from ..autograd import Function, Tensor
from ..backend import array_module


class BatchNorm(Function):
    """y = γ·(x − μ)·inv_std + β per channel (last axis); dβ = Σdy, dγ = Σdy·x̂, dx = γ·inv_std·(dy − (x̂·dγ + dβ)/m).

    In eval mode (``training=False``) μ, σ² are ``running_mean``, ``running_var`` and dx = γ·inv_std·dy.
    In training mode the running statistics, when given, are updated in place (see ``batch_norm``).
    """

    def forward(self, x, weight, bias, training, running_mean, running_var, momentum, eps):
        xp = array_module(x)
        dtype = x.dtype.type
        self.shape, self.training = x.shape, training
        x = x.reshape(-1, x.shape[-1])  # (N, ..., C) -> (m, C)
        m = x.shape[0]
        self.ones = ones = xp.ones(m, dtype=x.dtype)  # (m,): ones @ a is the column sum of a (m, C)
        if training:
            mean = ones @ x                                          # (C,)   pass 1 (read)
            mean *= dtype(1.0 / m)
            self.centred = centred = x - mean                        # (m, C) pass 2
            y = xp.multiply(centred, centred)                        # (m, C) pass 3, y as scratch
            var = ones @ y                                           # (C,)   pass 4 (read)
            var *= dtype(1.0 / m)
            if running_mean is not None:
                running_mean *= dtype(1.0 - momentum)
                running_mean += dtype(momentum) * mean
            if running_var is not None:  # PyTorch's rule: the running variance is the unbiased one
                running_var *= dtype(1.0 - momentum)
                running_var += dtype(momentum * m / (m - 1)) * var
        else:
            self.centred = centred = x - running_mean                # (m, C) pass 1
            y = xp.empty_like(centred)
            var = running_var.copy()
        var += dtype(eps)
        self.inv_std = inv_std = xp.sqrt(var)                        # (C,)
        xp.divide(dtype(1.0), inv_std, out=inv_std)
        self.weight = weight
        xp.multiply(centred, weight * inv_std, out=y)                # (m, C) pass 5: y = x̂·γ ...
        y += bias                                                    # (m, C) pass 6: ... + β
        return y.reshape(self.shape)                                 # (m, C) -> (N, ..., C)

    def backward(self, grad):
        xp = array_module(grad)
        dtype = grad.dtype.type
        grad = grad.reshape(-1, grad.shape[-1])  # (N, ..., C) -> (m, C)
        m = grad.shape[0]
        centred, inv_std, ones = self.centred, self.inv_std, self.ones
        need_x, need_weight, need_bias = self.needs_input_grad
        if not (need_weight or need_bias or self.training):
            return (grad * (self.weight * inv_std)).reshape(self.shape), None, None
        grad_bias = ones @ grad                                      # dβ = Σ dy          (C,)  pass 1 (read)
        buffer = xp.multiply(grad, centred)                          # dy·(x − μ)         (m, C) pass 2
        grad_weight = ones @ buffer                                  # dγ = Σ dy·x̂ =      (C,)  pass 3 (read)
        grad_weight *= inv_std                                       #   Σ dy·(x − μ) · inv_std
        grad_x = None
        if need_x:
            grad_x = buffer  # reuse the (m, C) scratch for dx
            if self.training:
                # dx = γ·inv_std·(dy − (x̂·dγ + dβ)/m), x̂·dγ/m = (x − μ)·(inv_std·dγ/m)
                xp.multiply(centred, inv_std * grad_weight * dtype(1.0 / m), out=grad_x)  # pass 4
                grad_x += grad_bias * dtype(1.0 / m)                                     # pass 5
                xp.subtract(grad, grad_x, out=grad_x)                                    # pass 6
                grad_x *= self.weight * inv_std                                          # pass 7
            else:
                xp.multiply(grad, self.weight * inv_std, out=grad_x)
            grad_x = grad_x.reshape(self.shape)
        return grad_x, grad_weight if need_weight else None, grad_bias if need_bias else None


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
