"""Layer normalisation (Ba, Kiros & Hinton 2016), with a fused backward.

Each example is normalised over its own features, not over the batch: for an input (N, *F) and
``normalized_shape`` = F (for images after a conv, F = (H, W, C)), every example is a row of
n = |F| values, and with all sums over that row:

    μ = (1/n) Σ x,   σ² = (1/n) Σ (x − μ)²   (biased),   inv_std = 1/√(σ² + ε)
    x̂ = (x − μ)·inv_std,   y = γ ⊙ x̂ + β       (γ, β of shape F: one scale and shift per feature)

Nothing depends on the other examples, so there are no running statistics and training and evaluation
are the same function. This is why Gulrajani et al. (2017, §4) recommend it for the WGAN-GP critic: their
penalty is on each example's own gradient ∇ₓD(x), which batch norm would couple across the batch.

Backward, with dx̂ = γ ⊙ dy and every sum over the n features of one example (Ba et al. 2016, §3):

    dβ = Σ_examples dy,   dγ = Σ_examples dy ⊙ x̂,
    dx = inv_std · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂))

When the backward is recorded (``create_graph=True``) the fused kernel is replaced by the derivative of
``layer_norm_composed``, the same function composed from differentiable ops (``ops.batchnorm.normalise``),
as batch norm does. The plain array twins of the fused kernels are ``reference.layer_norm_forward`` and
``reference.layer_norm_backward``.
"""

from ..autograd import Function, Tensor, is_grad_enabled
from ..backend import array_module
from ..checks import finite_number
from .batchnorm import normalise


class LayerNorm(Function):
    """y = γ ⊙ (x − μ)·inv_std + β per example over its last axes;  dx = inv_std·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)), dx̂ = γ ⊙ dy."""

    def forward(self, x, weight, bias, eps):
        xp = array_module(x)
        dtype = x.dtype.type
        self.shape, self.eps = x.shape, eps
        features = weight.size
        rows = x.reshape(-1, features)  # (N, *F) -> (m, n): one row per example
        mean = rows.mean(axis=1, keepdims=True)                    # (m, 1)
        centred = rows - mean                                      # (m, n)
        var = xp.einsum("ij,ij->i", centred, centred)[:, None]     # (m, 1): Σ (x − μ)², no squares array
        var *= dtype(1.0 / features)
        var += dtype(eps)
        self.inv_std = inv_std = 1 / xp.sqrt(var)                  # (m, 1)
        self.normalised = normalised = centred                     # x̂ = (x − μ)·inv_std, in place
        normalised *= inv_std
        y = normalised * weight.reshape(-1)                        # (m, n) ⊙ (n,)
        y += bias.reshape(-1)
        return y.reshape(self.shape)                               # -> (N, *F)

    def backward(self, grad):
        if is_grad_enabled():  # the backward is being recorded: differentiate the composition instead
            return self.backward_by_composition(grad, layer_norm_composed, eps=self.eps)
        xp = array_module(grad.data)
        x_hat, inv_std = self.normalised, self.inv_std
        weight = self.inputs[1].data
        n = x_hat.shape[1]
        dy = grad.data.reshape(x_hat.shape)                        # (N, *F) -> (m, n)
        need_x, need_weight, need_bias = self.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if need_bias:
            grad_bias = Tensor((xp.ones(dy.shape[0], dtype=dy.dtype) @ dy).reshape(weight.shape))    # Σ_examples dy
        if need_weight:
            grad_weight = Tensor(xp.einsum("ij,ij->j", dy, x_hat).reshape(weight.shape))             # Σ_examples dy ⊙ x̂
        if need_x:
            d_hat = dy * weight.reshape(-1)                                                          # dx̂ = γ ⊙ dy (m, n)
            mean_d_hat = d_hat.mean(axis=1, keepdims=True)                                           # (m, 1)
            mean_d_hat_x_hat = xp.einsum("ij,ij->i", d_hat, x_hat)[:, None] * dy.dtype.type(1.0 / n)  # (m, 1)
            d_hat -= mean_d_hat
            d_hat -= x_hat * mean_d_hat_x_hat
            d_hat *= inv_std
            grad_x = Tensor(d_hat.reshape(self.shape))
        return grad_x, grad_weight, grad_bias


def layer_norm_composed(x, weight, bias, eps):
    """Layer norm composed from differentiable ops: the fused ``LayerNorm``'s function (same value)."""
    axes = tuple(range(x.ndim - weight.ndim, x.ndim))  # the trailing axes that γ covers
    return normalise(x, axes, eps) * weight + bias


def layer_norm(x, normalized_shape, weight, bias, eps=1e-5):
    """Layer normalisation of ``x`` (N, …, *normalized_shape) over its last ``len(normalized_shape)`` axes.

    Args:
        x: a floating tensor whose trailing axes are ``normalized_shape`` (for channels-last images
            (N, H, W, C) normalised per example, normalized_shape = (H, W, C)).
        normalized_shape: an int or a tuple of ints, the shape of the features of one example.
        weight, bias: γ and β, tensors of shape ``normalized_shape`` in x's dtype.
        eps: added to the variance before the square root.

    Returns:
        y, a tensor of x's shape and dtype: γ ⊙ (x − μ)/√(σ² + ε) + β with μ, σ² per example.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"layer_norm: x must be a Tensor, got {type(x).__name__}")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape):
        raise ValueError(f"layer_norm: normalized_shape must be a positive int or a non-empty tuple of positive ints, got {normalized_shape!r}")
    if x.dtype.kind != "f":
        raise TypeError(f"layer_norm: x must have a floating dtype, got {x.dtype}")
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError(f"layer_norm: x has shape {x.shape}, whose last axes should be normalized_shape {shape}")
    for name, value in (("weight", weight), ("bias", bias)):
        if not isinstance(value, Tensor):
            raise TypeError(f"layer_norm: {name} must be a Tensor of shape {shape}, got {type(value).__name__}")
        if tuple(value.shape) != shape:
            raise ValueError(f"layer_norm: {name} has shape {tuple(value.shape)}, expected normalized_shape {shape}")
        if value.dtype != x.dtype:
            raise TypeError(f"layer_norm: {name} has dtype {value.dtype} but x has dtype {x.dtype}; convert one so both match")
    if not finite_number("layer_norm", "eps", eps) > 0:
        raise ValueError(f"layer_norm: eps must be positive, got {eps}")
    return LayerNorm.apply(x, weight, bias, eps=float(eps))
