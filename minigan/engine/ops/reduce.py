"""Reductions over axes: sum, mean, max, log-sum-exp.

``axis`` is None (all axes), an int or a tuple of ints, as in NumPy; ``keepdims`` keeps the reduced
axes with length 1. Every backward first restores the reduced axes (``_expand``) so the output gradient
broadcasts against the input.
"""

from ..autograd import Function, Tensor, is_grad_enabled
from ..backend import array_module
from .arithmetic import Exp, Log, MulConstant, _floating
from .shape import BroadcastTo, Reshape


def _normalise_axes(axis, ndim, op):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(a % ndim for a in axes))


def _expand(grad, axes, keepdims):
    """Re-insert the reduced axes (length 1) so the Tensor ``grad`` broadcasts against the input."""
    if keepdims:
        return grad
    shape = grad.shape
    for a in axes:
        shape = shape[:a] + (1,) + shape[a:]
    return Reshape.apply(grad, shape=shape)


class Sum(Function):
    """z = Σ_axes x;   dz/dx = 1 for every summed element (the gradient is copied back along the axes)."""

    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, grad):
        return BroadcastTo.apply(_expand(grad, self.axes, self.keepdims), shape=self.shape)


class Mean(Function):
    """z = (1/n) Σ_axes x, n = number of elements reduced;   dz/dx = 1/n."""

    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        self.count = 1
        for a in axes:
            self.count *= x.shape[a]
        return x.mean(axis=axes, keepdims=keepdims)

    def backward(self, grad):
        grad = MulConstant.apply(_expand(grad, self.axes, self.keepdims), constant=grad.dtype.type(1.0 / self.count))
        return BroadcastTo.apply(grad, shape=self.shape)


class Max(Function):
    """z = max_axes x;   dz/dx = 1 at the maximum, 0 elsewhere.

    Where several elements tie for the maximum the gradient is shared equally among them (a valid
    subgradient, and the choice that keeps the result independent of element order).

    The mask is a constant of the derivative (it changes only where the maximum jumps to another
    element), so the second derivative is 0 almost everywhere and flows through dL/dz alone.
    """

    def forward(self, x, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims
        self.z = x.max(axis=axes, keepdims=True)
        return self.z if keepdims else self.z.reshape([s for a, s in enumerate(self.z.shape) if a not in axes])

    def backward(self, grad):
        mask = (self.inputs[0].data == self.z).astype(grad.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return MulConstant.apply(_expand(grad, self.axes, self.keepdims), constant=mask, consume=True)  # broadcasts to x's shape


class LogSumExp(Function):
    """z = log Σ_axes eˣ;   dz/dx = softmax(x) = eˣ / Σ_axes eˣ over the reduced axes.

    Computed as c + log Σ e^(x − c) with c = max_axes x: the same z for any constant c, and with this
    one every exponent is ≤ 0 (nothing overflows) and the largest term is e⁰ = 1 (the log's argument is
    at least 1, so nothing underflows to log 0). The forward keeps e = e^(x − c) and S = Σ e, and the
    backward is dL/dx = (dL/dz / S) · e: softmax(x) = e / S without a second pass of exponentials, one
    division per reduced row rather than per element.

    The shift c is a constant of the derivative (z does not depend on it), so when the backward is being
    recorded (a gradient of a gradient) the op differentiates ``logsumexp_composed``, the same function
    written with differentiable ops, whose backward is again made of ops (as layer norm does).
    """

    def forward(self, x, axes, keepdims):
        xp = array_module(x)
        self.axes, self.keepdims = axes, keepdims
        shift = x.max(axis=axes, keepdims=True)                            # c, shape of z with keepdims
        self.exponentials = xp.exp(x - shift)                              # e = e^(x − c) ∈ (0, 1]
        self.total = self.exponentials.sum(axis=axes, keepdims=True)       # S = Σ e ≥ 1
        z = xp.log(self.total) + shift
        return z if keepdims else z.reshape([s for a, s in enumerate(z.shape) if a not in axes])

    def backward(self, grad):
        if is_grad_enabled():  # the backward is being recorded: differentiate the composition instead
            return self.backward_by_composition(grad, logsumexp_composed, axes=self.axes, keepdims=self.keepdims)
        scale = _expand(grad, self.axes, self.keepdims).data / self.total  # dL/dz / S, broadcasts along the axes
        return Tensor(scale * self.exponentials)                           # (dL/dz / S) · e = dL/dz · softmax(x)


def logsumexp_composed(x, axes, keepdims):
    """log Σ_axes eˣ composed from differentiable ops (the fused ``LogSumExp``'s function, same value)."""
    shift = Tensor(x.data.max(axis=axes, keepdims=True))                   # c: a constant, z is the same for any c
    z = Log.apply(Sum.apply(Exp.apply(x - shift), axes=axes, keepdims=True)) + shift
    return z if keepdims else Reshape.apply(z, shape=tuple(s for a, s in enumerate(z.shape) if a not in axes))


def sum(x, axis=None, keepdims=False):
    return Sum.apply(x, axes=_normalise_axes(axis, x.ndim, "sum"), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    axes = _normalise_axes(axis, x.ndim, "mean")
    if any(x.shape[a] == 0 for a in axes):  # 0/0: NumPy would warn and return NaN
        raise ValueError(f"mean: the axes {axes} of a tensor of shape {x.shape} hold no element to average")
    return Mean.apply(_floating(x, "mean"), axes=axes, keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    return Max.apply(x, axes=_normalise_axes(axis, x.ndim, "max"), keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False):
    return LogSumExp.apply(_floating(x, "logsumexp"), axes=_normalise_axes(axis, x.ndim, "logsumexp"), keepdims=keepdims)
