"""The activations GANs use: ReLU, LeakyReLU, tanh, sigmoid, softplus.

Each backward states the derivative, including its value at a kink (ReLU at 0 takes 0, the usual
subgradient), and is written with differentiable ops, so the second derivative follows: ReLU's and
LeakyReLU's masks are constants (their second derivative is 0 almost everywhere, but the mask still
carries the incoming gradient), tanh's and sigmoid's derivatives are polynomials in their output.
"""

from ..autograd import Function
from ..backend import array_module
from .arithmetic import MulConstant, _floating


class ReLU(Function):
    """y = max(x, 0);   dy/dx = 1 if x > 0 else 0 (0 at the kink x = 0)."""

    def forward(self, x):
        xp = array_module(x)
        # max against an array of zeros, not against the scalar 0: NumPy runs maximum with a scalar operand
        # through a slower loop than with two arrays of the same shape (docs/performance.md has the timing)
        self.y = y = xp.zeros_like(x)
        xp.maximum(x, y, out=y)
        return y

    def backward(self, grad):
        return MulConstant.apply(grad, constant=self.y > 0)  # y > 0 exactly where x > 0


class LeakyReLU(Function):
    """y = max(x, a·x) for 0 ≤ a < 1 (DCGAN: a = 0.2);   dy/dx = 1 if x > 0 else a.

    ``maximum(x, a·x)`` is used rather than ``where(x > 0, x, a·x)``: two plain passes (a·x, then the
    maximum), where ``where`` makes three, one of them building a boolean mask and one choosing through
    it element by element, and NumPy's element-by-element choice is slower than both plain passes
    together (timed in ``docs/performance.md``). For 0 ≤ a < 1 the two agree: a·x ≤ x exactly when x ≥ 0.
    """

    def forward(self, x, slope):
        self.x, self.slope = x, slope
        return array_module(x).maximum(x, x * x.dtype.type(slope))

    def backward(self, grad):
        # slope + (1 − slope)·[x > 0], built in place: five passes, counting the product with dy written
        # into it, and no float64 temporaries. (A masked copy, copyto(a·dy, dy, where=x > 0), is fewer
        # passes, but NumPy's masked copy is slower per element than a plain pass, by more than enough to
        # lose to five of them; docs/performance.md has the timing.)
        scale = (self.x > 0).astype(grad.dtype)
        scale *= grad.dtype.type(1.0 - self.slope)
        scale += grad.dtype.type(self.slope)
        return MulConstant.apply(grad, constant=scale, consume=True)


class Tanh(Function):
    """y = tanh x;   dy/dx = 1 − y²  (y the output tensor, so d²y/dx² = −2y(1 − y²) follows from Mul and Sub)."""

    def forward(self, x):
        return array_module(x).tanh(x)

    def backward(self, grad):
        y = self.output
        return grad * (1 - y * y)


def _sigmoid(x):
    """σ(x) = 1/(1 + e⁻ˣ) without overflow: with e = e^(−|x|) ≤ 1, σ = 1/(1+e) for x ≥ 0, e/(1+e) for x < 0."""
    xp = array_module(x)
    e = xp.exp(-xp.abs(x))
    s = 1 / (1 + e)
    return xp.where(x >= 0, s, e * s)


def _softplus(x):
    """log(1 + eˣ) = max(x, 0) + log(1 + e^(−|x|)), finite for every finite x."""
    xp = array_module(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class Sigmoid(Function):
    """y = σ(x) = 1/(1 + e⁻ˣ);   dy/dx = y(1 − y)  (y the output tensor)."""

    def forward(self, x):
        return _sigmoid(x)

    def backward(self, grad):
        y = self.output
        return grad * y * (1 - y)


class Softplus(Function):
    """y = log(1 + eˣ);   dy/dx = σ(x)  (a Sigmoid op, so d²y/dx² = σ(x)(1 − σ(x)))."""

    def forward(self, x):
        return _softplus(x)

    def backward(self, grad):
        return grad * Sigmoid.apply(self.inputs[0])


def relu(x):
    return ReLU.apply(_floating(x, "relu"))


def leaky_relu(x, negative_slope=0.2):
    if not 0 <= negative_slope < 1:
        raise ValueError(f"leaky_relu: negative_slope must be in [0, 1), got {negative_slope}")
    return LeakyReLU.apply(_floating(x, "leaky_relu"), slope=float(negative_slope))


def tanh(x):
    return Tanh.apply(_floating(x, "tanh"))


def sigmoid(x):
    return Sigmoid.apply(_floating(x, "sigmoid"))


def softplus(x):
    return Softplus.apply(_floating(x, "softplus"))
