"""Instance normalisation (Ulyanov, Vedaldi & Lempitsky 2016, "Instance Normalization: The Missing
Ingredient for Fast Stylization", eq. 2), channels-last.

Batch norm (``batchnorm.py``) pools its statistics over the whole minibatch; instance norm takes them
over the H·W pixels of **one image and one channel**, so each image is normalised on its own, at
training and at test time alike (there are no running statistics). For x (N, H, W, C), per (n, c),
with m = H·W and every sum over the m pixels of that image's channel::

    μ = (1/m) Σ x,   σ² = (1/m) Σ (x − μ)²   (biased),   inv_std = 1/√(σ² + ε)
    x̂ = (x − μ)·inv_std,   y = γ·x̂ + β            (γ, β of shape (C,), optional: the paper has none)

Why image-to-image GANs use it (Zhu et al. 2017, §4 and Appendix 7.2, after Johnson et al. 2016): the
contrast of one image should not depend on the others drawn with it.

Backward. The map x ↦ x̂ of one (n, c) slice is batch norm's with the m pixels as its rows, so its
derivative is the same formula (Ioffe & Szegedy 2015, §3), with ĝ = γ·dy = dL/dx̂::

    dx = inv_std · (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),   dγ = Σ_{n,h,w} dy·x̂,   dβ = Σ_{n,h,w} dy

(the two subtracted terms are ĝ's projections on the directions x̂ cannot move in: adding a constant to
the slice, which μ removes, and scaling it, which inv_std removes).
"""

from ..autograd import Function, Tensor


class InstanceNorm(Function):
    """y = γ·(x − μ)·inv_std + β with μ, σ² per (image, channel) over H·W;   dx = inv_std·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)), ĝ = γ·dy.

    Inputs: x (N, H, W, C) and optionally weight γ and bias β, both (C,) (both or neither).
    """

    def forward(self, x, weight=None, bias=None, *, eps):
        dtype = x.dtype.type
        mean = x.mean(axis=(1, 2), keepdims=True)                     # (N, 1, 1, C)
        centred = x - mean                                            # (N, H, W, C)
        var = (centred * centred).mean(axis=(1, 2), keepdims=True)    # (N, 1, 1, C), biased
        self.inv_std = 1 / (var + dtype(eps)) ** dtype(0.5)           # (N, 1, 1, C)
        self.normalised = centred * self.inv_std                      # x̂
        self.weight = weight
        if weight is None:
            return self.normalised
        return self.normalised * weight + bias                        # γ, β broadcast along the last axis

    def backward(self, grad):
        x_hat, inv_std = self.normalised, self.inv_std
        g = grad if self.weight is None else grad * self.weight       # ĝ = dL/dx̂
        grad_x = None
        if self.needs_input_grad[0]:
            mean_g = g.mean(axis=(1, 2), keepdims=True)               # (N, 1, 1, C)
            mean_gx = (g * x_hat).mean(axis=(1, 2), keepdims=True)    # (N, 1, 1, C)
            grad_x = inv_std * (g - mean_g - x_hat * mean_gx)
        if self.weight is None:
            return grad_x
        need_weight, need_bias = self.needs_input_grad[1:]
        grad_weight = (grad * x_hat).sum(axis=(0, 1, 2)) if need_weight else None   # (C,)
        grad_bias = grad.sum(axis=(0, 1, 2)) if need_bias else None                  # (C,)
        return grad_x, grad_weight, grad_bias


def instance_norm(x, weight=None, bias=None, eps=1e-5):
    """Instance normalisation of x (N, H, W, C): each image's each channel to mean 0, variance 1 over its H·W pixels.

    Args:
        x: a floating Tensor (N, H, W, C) with H·W ≥ 2 (one pixel has no variance to normalise).
        weight, bias: γ and β, Tensors (C,) in x's dtype, or both None (the paper's plain normalisation).
        eps: added to the variance before the square root.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"instance_norm: x must be a Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"instance_norm: x must have shape (N, H, W, C) (channels-last), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"instance_norm: x must have a floating dtype, got {x.dtype}")
    if x.shape[1] * x.shape[2] < 2:
        raise ValueError(f"instance_norm: each image needs H·W ≥ 2 pixels to estimate a variance, got shape {x.shape}")
    if (weight is None) != (bias is None):
        raise ValueError("instance_norm: give both weight and bias, or neither")
    if not eps > 0:
        raise ValueError(f"instance_norm: eps must be positive, got {eps}")
    if weight is None:
        return InstanceNorm.apply(x, eps=float(eps))
    channels = x.shape[-1]
    for name, value in (("weight", weight), ("bias", bias)):
        if not isinstance(value, Tensor):
            raise TypeError(f"instance_norm: {name} must be a Tensor, got {type(value).__name__}")
        if value.shape != (channels,):
            raise ValueError(f"instance_norm: {name} has shape {value.shape} but x has {channels} channels (shape {x.shape}); expected ({channels},)")
        if value.dtype != x.dtype:
            raise TypeError(f"instance_norm: {name} has dtype {value.dtype} but x has dtype {x.dtype}")
    return InstanceNorm.apply(x, weight, bias, eps=float(eps))
