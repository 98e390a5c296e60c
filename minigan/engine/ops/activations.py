"""The activations GANs use: ReLU, LeakyReLU, tanh, sigmoid, softplus, softmax and its Gumbel-softmax sample.

Each backward states the derivative, including its value at a kink (ReLU at 0 takes 0, the usual
subgradient), and is written with differentiable ops, so the second derivative follows: ReLU's and
LeakyReLU's masks are constants (their second derivative is 0 almost everywhere, but the mask still
carries the incoming gradient), tanh's and sigmoid's derivatives are polynomials in their output.
"""

from ..autograd import Function, Tensor
from ..backend import array_module, default_rng
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


def _log_softmax(logits):
    """log softmax over the last axis of an array, with the row maximum subtracted first (every exponent ≤ 0)."""
    xp = array_module(logits)
    shifted = logits - logits.max(axis=-1, keepdims=True)                       # (..., C), every entry ≤ 0
    log_normaliser = xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))        # (..., 1), in [0, log C]
    return shifted - log_normaliser                                              # (..., C)


class Softmax(Function):
    """p = softmax(z) over the last axis, pₖ = e^(zₖ) / Σⱼ e^(zⱼ);   dL/dz = p ⊙ (dL/dp − Σₖ pₖ dL/dpₖ).

    (The Jacobian is diag(p) − p pᵀ; applied to dL/dp it is the line above. It is written with ops of p,
    the output tensor, so the second derivative follows: cross-entropy's gradient is softmax − onehot.)
    """

    def forward(self, logits):
        return array_module(logits).exp(_log_softmax(logits))

    def backward(self, grad):
        p = self.output
        return p * (grad - (p * grad).sum(axis=-1, keepdims=True))


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


def softmax(x):
    """softmax over the last axis: (..., C) -> (..., C), each row non-negative and summing to 1."""
    return Softmax.apply(_floating(x, "softmax"))


def gumbel_noise(shape, dtype, xp, rng=None):
    """g = −log(−log u), u ~ U(0, 1) elementwise: standard Gumbel noise of ``shape`` in ``dtype`` on the array
    module ``xp``, drawn from ``rng`` (default the backend's training stream, ``default_rng()``, as dropout's
    masks are). u is kept inside [tiny, 1 − ε] so that neither log is of 0."""
    rng = default_rng() if rng is None else rng
    u = xp.asarray(rng.random(shape, dtype=dtype))
    u = xp.clip(u, xp.finfo(dtype).tiny, 1 - xp.finfo(dtype).epsneg)
    return -xp.log(-xp.log(u))


def gumbel_softmax(logits, temperature, noise=None, rng=None):
    """y = softmax((z + g) / τ) over the last axis, g standard Gumbel noise: a differentiable sample of a category
    (Jang et al. 2017, "Categorical Reparameterization with Gumbel-Softmax", eq. 1; Maddison et al. 2017).

    Why: argmax(z + g) is an exact sample from the categorical distribution softmax(z) (the Gumbel-max
    trick), but argmax has no gradient; its relaxation softmax((z + g)/τ) has one, and tends to the one-hot
    sample as τ → 0 (CTGAN uses τ = 0.2 for its generator's one-hot outputs, Xu et al. 2019, §4.4).

    dy/dz = (1/τ) (diag(y) − y yᵀ): the softmax's Jacobian at (z + g)/τ, scaled by 1/τ; g is a constant of
    the derivative (composed from a division and ``Softmax``, so its backward is theirs).

    Args:
        logits: a floating Tensor (..., C).
        temperature: τ > 0.
        noise: the Gumbel noise g, an array of the logits' shape (for a check that must see the same g
            twice); default: drawn by ``gumbel_noise`` from ``rng``.
    """
    logits = _floating(logits, "gumbel_softmax")
    if not (isinstance(temperature, (int, float)) and not isinstance(temperature, bool) and temperature > 0):
        raise ValueError(f"gumbel_softmax: temperature τ must be a positive number, got {temperature!r}")
    if noise is None:
        noise = gumbel_noise(logits.shape, logits.dtype, logits.xp, rng)
    elif tuple(noise.shape) != tuple(logits.shape):
        raise ValueError(f"gumbel_softmax: noise has shape {tuple(noise.shape)}, expected the logits' {tuple(logits.shape)}")
    perturbed = logits + Tensor(logits.xp.asarray(noise, dtype=logits.dtype))   # z + g, (..., C)
    return Softmax.apply(perturbed * (1.0 / temperature))
