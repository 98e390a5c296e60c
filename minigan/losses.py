"""Losses for GANs and regression.

The GAN losses are binary cross-entropies. With D's output as a *logit* z (before the sigmoid) and a
target y ∈ [0, 1]:

    ℓ(z, y) = −[y log σ(z) + (1 − y) log(1 − σ(z))] = softplus(z) − y·z
            = max(z, 0) − y·z + log(1 + e^(−|z|))

The last form never overflows (ℓ(±1e4, y) is finite) and its gradient is simply σ(z) − y: this is why
the GAN code feeds logits here rather than probabilities to ``binary_cross_entropy``.
"""

from .autograd import Function, as_tensor
from .backend import array_module
from .ops.activations import _sigmoid, _softplus

REDUCTIONS = ("mean", "sum", "none")


def _check(name, prediction, target, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    target = as_tensor(target, like=prediction)
    if target.dtype != prediction.dtype:
        raise TypeError(f"{name}: target has dtype {target.dtype} but the prediction has {prediction.dtype}")
    if target.ndim and target.shape != prediction.shape:
        raise ValueError(f"{name}: target shape {target.shape} does not match prediction shape {prediction.shape}")
    return target


def _reduce(values, reduction):
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


class BCEWithLogits(Function):
    """ℓ = max(z, 0) − y·z + log(1 + e^(−|z|)) elementwise;   dℓ/dz = σ(z) − y,   dℓ/dy = −z."""

    def forward(self, logits, target):
        self.logits, self.target = logits, target
        return _softplus(logits) - target * logits

    def backward(self, grad):
        grad_logits = grad * (_sigmoid(self.logits) - self.target)
        grad_target = -grad * self.logits if self.needs_input_grad[1] else None
        return grad_logits, grad_target


class BCE(Function):
    """ℓ = −[y log p + (1 − y) log(1 − p)] for probabilities p;   dℓ/dp = (p − y) / (p(1 − p)).

    As in PyTorch each log is clamped at −100, so p = 0 or 1 gives a large finite loss rather than inf,
    and the derivative's denominator is kept at least 1e-12.
    """

    def forward(self, p, target):
        self.p, self.target = p, target
        self.log_p, self.log_not_p = _clamped_log(p), _clamped_log1p_neg(p)
        return -(target * self.log_p + (1 - target) * self.log_not_p)

    def backward(self, grad):
        xp = array_module(grad)
        denominator = xp.maximum(self.p * (1 - self.p), self.p.dtype.type(1e-12))
        grad_p = grad * (self.p - self.target) / denominator
        grad_target = grad * (self.log_not_p - self.log_p) if self.needs_input_grad[1] else None
        return grad_p, grad_target


def _clamped_log(p):
    """max(log p, −100), with log 0 never evaluated (no warning, on NumPy or CuPy)."""
    xp = array_module(p)
    positive = p > 0
    return xp.where(positive, xp.maximum(xp.log(xp.where(positive, p, 1)), -100), -100).astype(p.dtype)


def _clamped_log1p_neg(p):
    """max(log(1 − p), −100), accurate for small p (log1p) and without evaluating log 0."""
    xp = array_module(p)
    below_one = p < 1
    return xp.where(below_one, xp.maximum(xp.log1p(-xp.where(below_one, p, 0)), -100), -100).astype(p.dtype)


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """BCE on logits z (any shape) against targets y (same shape, or a scalar such as 1.0 for 'real')."""
    target = _check("binary_cross_entropy_with_logits", logits, target, reduction)
    return _reduce(BCEWithLogits.apply(logits, target), reduction)


def binary_cross_entropy(probabilities, target, reduction="mean"):
    """BCE on probabilities p ∈ [0, 1]; prefer ``binary_cross_entropy_with_logits`` for stability."""
    target = _check("binary_cross_entropy", probabilities, target, reduction)
    return _reduce(BCE.apply(probabilities, target), reduction)


def mse_loss(prediction, target, reduction="mean"):
    """ℓ = (prediction − target)²; composed from + and ×, whose gradients give dℓ/dp = 2(p − t)."""
    target = _check("mse_loss", prediction, target, reduction)
    difference = prediction - target
    return _reduce(difference * difference, reduction)


__all__ = ["binary_cross_entropy_with_logits", "binary_cross_entropy", "mse_loss"]
