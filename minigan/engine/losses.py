"""Losses for GANs and regression, each with the paper it comes from:

    binary_cross_entropy_with_logits   Goodfellow et al. 2014, eq. 1: the value function V(D, G) is the
    binary_cross_entropy               negated BCE of D's output against "real" (1) and "fake" (0), so D's
                                       loss is BCE(D(x), 1) + BCE(D(G(z)), 0); G's non-saturating loss,
                                       BCE(D(G(z)), 1), is the same paper's §3; label smoothing (a target
                                       of 0.9) is Salimans et al. 2016, §3.4
    mse_loss                           Mao et al. 2017 (least-squares GAN), eq. 2: D's and G's squared
                                       distances to target scores; also SRGAN's pixel loss (Ledig et al.
                                       2016, eq. 4)
    cross_entropy                      softmax cross-entropy −log softmax(z)_y: the classification losses
                                       of the AC-GAN (Odena et al. 2017, §3, eq. 3, L_C), the semi-supervised
                                       GAN (Salimans et al. 2016, §5, L_supervised) and InfoGAN's categorical
                                       code (Chen et al. 2016, whose Q(c₁ | x) is a softmax)

The GAN losses are binary cross-entropies. With D's output as a *logit* z (before the sigmoid) and a
target y ∈ [0, 1]:

    ℓ(z, y) = −[y log σ(z) + (1 − y) log(1 − σ(z))] = y·softplus(−z) + (1 − y)·softplus(z)
            = y·max(−z, 0) + (1 − y)·max(z, 0) + log(1 + e^(−|z|))

(using −log σ(z) = softplus(−z) and −log(1 − σ(z)) = softplus(z)). The last form never overflows
(ℓ(±1e4, y) is finite), is exact at z = ±∞, and its gradient is simply σ(z) − y: this is why the GAN
code feeds logits here rather than probabilities to ``binary_cross_entropy``.

Arguments are checked at the call, so a mistake gets one line naming the loss, the argument and the
value found: predictions must be floating point, targets must lie in [0, 1], and the probabilities
given to ``binary_cross_entropy`` must lie in [0, 1] (NaN included: it is outside).
"""

import math
import numbers

from .autograd import Function, Tensor, as_tensor
from .backend import array_module, to_numpy
from .ops.activations import Sigmoid, Softmax, _log_softmax
from .ops.arithmetic import Sub, clamp_min

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


def _floating(name, argument, value):
    """``value`` as a floating-point Tensor (arrays are wrapped), or a TypeError naming the argument."""
    value = value if isinstance(value, Tensor) else Tensor(value)
    if value.dtype.kind != "f":
        raise TypeError(f"{name}: {argument} must be floating point, got dtype {value.dtype}")
    return value


def _scalar_target(name, target):
    """A Python or NumPy number as a float checked to lie in [0, 1] (free: it is on the host); else None."""
    if isinstance(target, Tensor) or not isinstance(target, numbers.Real):
        return None
    value = float(target)
    if not 0 <= value <= 1:  # written so that NaN fails too
        raise ValueError(f"{name}: target must lie in [0, 1], got {target!r}")
    return value


def _check_unit_interval(name, arrays):
    """Refuse any array of ``arrays`` ({argument: array}) with a value outside [0, 1], NaN included.

    This reads the minima and maxima back to the host: one device→host transfer for all the arrays
    together (a synchronisation under CuPy), paid once per call at the boundary of the loss.
    """
    arrays = {argument: array for argument, array in arrays.items() if array.size}
    if not arrays:
        return
    xp = array_module(*arrays.values())
    bounds = to_numpy(xp.stack([bound for array in arrays.values() for bound in (array.min(), array.max())])).tolist()
    for (argument, array), low, high in zip(arrays.items(), bounds[0::2], bounds[1::2]):
        if not (0 <= low and high <= 1):  # written so that NaN fails too
            hint = " (logits? use binary_cross_entropy_with_logits)" if argument == "probabilities" and not math.isnan(low + high) else ""
            raise ValueError(f"{name}: {argument} must lie in [0, 1], found values from {low} to {high}{hint}")


def _reduce(values, reduction):
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


class BCEWithLogits(Function):
    """ℓ = y·max(−z, 0) + (1 − y)·max(z, 0) + log(1 + e^(−|z|)) elementwise;   dℓ/dz = σ(z) − y,   dℓ/dy = −z.

    This equals softplus(z) − y·z, but that shorter form is ∞ − ∞ = NaN at z = ±∞ and, for large z,
    subtracts two nearly equal numbers (in float32, softplus(20) − 20 is 0 instead of 2e−9). Here each
    term is ≥ 0 and nothing cancels. A term whose weight y or 1 − y is exactly 0 is *left out*, not
    multiplied, because 0·∞ is NaN while the loss's limit is 0: ℓ(+∞, 1) = ℓ(−∞, 0) = 0 and
    ℓ(+∞, 0) = ℓ(−∞, 1) = +∞, with gradient σ(z) − y = 0 and ±1 there.

    ``constant``: the target as a Python float when it is one number known on the host (the GAN's 1.0,
    0.0 or a smoothed 0.9); the zero weights are then dropped by an ``if``, with no array pass.
    """

    def forward(self, logits, target, constant=None):
        xp = array_module(logits)
        loss = xp.log1p(xp.exp(-xp.abs(logits)))                 # log(1 + e^(−|z|)) ∈ [0, log 2]
        if constant is None:                                     # an array of targets
            loss += _weighted(target, xp.maximum(-logits, 0)) + _weighted(1 - target, xp.maximum(logits, 0))
            return loss
        if constant != 0:
            loss += xp.maximum(-logits, 0) if constant == 1 else constant * xp.maximum(-logits, 0)
        if constant != 1:
            loss += xp.maximum(logits, 0) if constant == 0 else (1 - constant) * xp.maximum(logits, 0)
        return loss

    def backward(self, grad):
        logits, target = self.inputs
        grad_logits = grad * (Sigmoid.apply(logits) - target)
        grad_target = -grad * logits if self.needs_input_grad[1] else None
        return grad_logits, grad_target


def _weighted(weight, values):
    """weight · values with 0 · ∞ taken as 0 (the term is absent), computed without an invalid-value warning."""
    xp = array_module(values)
    return weight * xp.where(weight == 0, 0, values)


class BCE(Function):
    """ℓ = −[y log p + (1 − y) log(1 − p)] for probabilities p;   dℓ/dp = (p − y) / (p(1 − p)).

    As in PyTorch each log is clamped at −100, so p = 0 or 1 gives a large finite loss rather than inf,
    and the derivative's denominator is kept at least 1e-12.
    """

    def forward(self, p, target):
        return -(target * _clamped_log(p) + (1 - target) * _clamped_log1p_neg(p))

    def backward(self, grad):
        p, target = self.inputs
        grad_p = grad * (p - target) / clamp_min(p * (1 - p), 1e-12)
        grad_target = grad * (ClampedLog1pNeg.apply(p) - ClampedLog.apply(p)) if self.needs_input_grad[1] else None
        return grad_p, grad_target


class ClampedLog(Function):
    """z = max(log p, −100) for p ≥ 0;   dz/dp = 1/p where log p > −100, else 0 (BCE's clamped log)."""

    def forward(self, p):
        z = _clamped_log(p)
        self.inside = (z > -100).astype(p.dtype)  # 1 where the clamp is inactive, a constant of the derivative
        return z

    def backward(self, grad):
        safe_p = self.inputs[0] * self.inside + (1 - self.inside)  # p where unclamped, 1 elsewhere: no 1/0
        return grad * self.inside / safe_p


class ClampedLog1pNeg(Function):
    """z = max(log(1 − p), −100) for p ≤ 1;   dz/dp = −1/(1 − p) where log(1 − p) > −100, else 0."""

    def forward(self, p):
        z = _clamped_log1p_neg(p)
        self.inside = (z > -100).astype(p.dtype)
        return z

    def backward(self, grad):
        safe_q = (1 - self.inputs[0]) * self.inside + (1 - self.inside)  # 1 − p where unclamped, 1 elsewhere
        return -grad * self.inside / safe_q


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
    """BCE on logits z (any shape) against targets y ∈ [0, 1] (same shape, or a number such as 1.0 for 'real'):
    the GAN's losses of Goodfellow et al. 2014, eq. 1, with D(x) = σ(z).

    A target outside [0, 1] gives a loss that is not a cross-entropy (it can be negative), so both kinds
    are checked: a number for free, an array with one pass and, under CuPy, one device→host transfer.
    The GAN objectives pass numbers (1.0, 0.0, a smoothed 0.9), so their loop never pays for the scan.
    """
    name = "binary_cross_entropy_with_logits"
    logits = _floating(name, "logits", logits)
    constant = _scalar_target(name, target)
    target = _check(name, logits, target if constant is None else constant, reduction)
    if constant is None:
        _check_unit_interval(name, {"target": target.data})
    return _reduce(BCEWithLogits.apply(logits, target, constant=constant), reduction)


def binary_cross_entropy(probabilities, target, reduction="mean"):
    """BCE on probabilities p ∈ [0, 1] against targets y ∈ [0, 1] (Goodfellow et al. 2014, eq. 1, with D(x) = p);
    prefer ``binary_cross_entropy_with_logits``.

    p and y outside [0, 1] (NaN included) are refused with the range found: the clamped logs below
    would otherwise turn a NaN into the finite loss 100.
    """
    name = "binary_cross_entropy"
    probabilities = _floating(name, "probabilities", probabilities)
    constant = _scalar_target(name, target)
    target = _check(name, probabilities, target if constant is None else constant, reduction)
    _check_unit_interval(name, {"probabilities": probabilities.data, **({} if constant is not None else {"target": target.data})})
    return _reduce(BCE.apply(probabilities, target), reduction)


def mse_loss(prediction, target, reduction="mean"):
    """ℓ = (prediction − target)² (the least-squares GAN, Mao et al. 2017, eq. 2; SRGAN's pixel loss, Ledig et
    al. 2016, eq. 4); composed from + and ×, whose gradients give dℓ/dp = 2(p − t)."""
    prediction = _floating("mse_loss", "prediction", prediction)
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

class CrossEntropy(Function):
    """ℓ = logsumexp(z) − z_y over the last axis;   dℓ/dz = softmax(z) − onehot(y).

    Shapes: logits (..., C), labels (...) of integers in [0, C) → losses (...).
    """

    def forward(self, logits, labels):
        xp = array_module(logits)
        log_p = _log_softmax(logits)                                             # (..., C)
        self.labels = labels[..., None]                                          # (..., 1) for take_along_axis
        return -xp.take_along_axis(log_p, self.labels, axis=-1)[..., 0]          # (...)

    def backward(self, grad):
        xp = array_module(grad.data)
        logits = self.inputs[0]
        onehot = self.labels == xp.arange(logits.shape[-1])                      # (..., C) booleans, a constant
        grad_logits = Sub.apply(Softmax.apply(logits), onehot)                   # softmax − onehot, same dtype as p
        return grad_logits * grad.reshape(grad.shape + (1,)), None               # (..., C) · (..., 1)


def cross_entropy(logits, labels, reduction="mean"):
    """Softmax cross-entropy of ``logits`` against integer class ``labels``: −log softmax(z)_y (the AC-GAN's
    L_C, Odena et al. 2017, §3, eq. 3; the semi-supervised GAN's L_supervised, Salimans et al. 2016, §5).

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
