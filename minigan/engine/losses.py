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


# ----- softmax cross-entropy (classification) -----------------------------------------------------
#
# For logits z ∈ ℝ^C of one example and its class y ∈ {0, …, C−1}, with softmax pₖ = e^(zₖ) / Σⱼ e^(zⱼ):
#
#     ℓ(z, y) = −log p_y = logsumexp(z) − z_y,      logsumexp(z) = m + log Σⱼ e^(zⱼ − m),  m = maxⱼ zⱼ
#
# Subtracting m makes every exponent ≤ 0, so nothing overflows (ℓ at logits ±1e4 is finite), and the
# largest term is e⁰ = 1, so the log's argument is in [1, C]. The derivative is ∂ℓ/∂zₖ = pₖ − [k = y]:
# softmax minus the one-hot label. One fused Function stores only p, instead of the graph of
# max, subtract, exp, sum, log and index that composing the ops would record.

from .autograd import Tensor  # noqa: E402  (kept with the function that needs it)


class CrossEntropy(Function):
    """ℓ = logsumexp(z) − z_y over the last axis;   dℓ/dz = softmax(z) − onehot(y).

    Shapes: logits (..., C), labels (...) of integers in [0, C) → losses (...).
    """

    def forward(self, logits, labels):
        xp = array_module(logits)
        shifted = logits - logits.max(axis=-1, keepdims=True)                   # (..., C), every entry ≤ 0
        log_normaliser = xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))    # (..., 1), in [0, log C]
        log_p = shifted - log_normaliser                                         # (..., C) log-softmax
        self.labels = labels[..., None]                                          # (..., 1) for take_along_axis
        self.p = xp.exp(log_p)
        return -xp.take_along_axis(log_p, self.labels, axis=-1)[..., 0]          # (...)

    def backward(self, grad):
        xp = array_module(grad)
        onehot = self.labels == xp.arange(self.p.shape[-1])                      # (..., C) booleans
        grad_logits = self.p - onehot                                            # softmax − onehot, same dtype as p
        grad_logits *= grad[..., None]
        return grad_logits, None


def cross_entropy(logits, labels, reduction="mean"):
    """Softmax cross-entropy of ``logits`` against integer class ``labels``: −log softmax(z)_y.

    Args:
        logits: a Tensor (N, C), or more generally (..., C): one row of C unnormalised scores per example.
        labels: integers in [0, C), shape (N,) (generally the logits' shape without the last axis):
            a Tensor, NumPy/CuPy array or list. Labels take no gradient.
        reduction: "mean" (over examples), "sum" or "none" (the (N,) losses).

    The loss is logsumexp(z) − z_y, computed with the row maximum subtracted first, so it is finite for
    any finite logits; its gradient is softmax(z) − onehot(y) (see ``CrossEntropy``).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    logits = logits if isinstance(logits, Tensor) else Tensor(logits)
    if logits.dtype.kind != "f":
        raise TypeError(f"cross_entropy: logits must be floating point, got dtype {logits.dtype}")
    if logits.ndim < 1 or logits.shape[-1] < 1:
        raise ValueError(f"cross_entropy: logits must have shape (..., C) with C ≥ 1 classes, got shape {logits.shape}")
    labels = labels.data if isinstance(labels, Tensor) else logits.xp.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integers (class indices), got dtype {labels.dtype}")
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"cross_entropy: labels have shape {labels.shape}, expected {logits.shape[:-1]} "
                         f"(the logits' shape {logits.shape} without its last, class axis)")
    classes = logits.shape[-1]
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise ValueError(f"cross_entropy: labels must lie in [0, {classes - 1}] for {classes} classes, "
                         f"found values from {int(labels.min())} to {int(labels.max())}")
    return _reduce(CrossEntropy.apply(logits, labels.astype(logits.xp.int64, copy=False)), reduction)


__all__ += ["cross_entropy"]
