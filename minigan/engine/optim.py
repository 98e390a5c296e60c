"""Optimisers: SGD with momentum, and Adam (Kingma & Ba 2015, Algorithm 1).

Both keep every parameter they manage, and its gradient, as a *view into one flat buffer*: the update is
then a handful of whole-buffer array passes instead of a Python loop over parameters, and ``zero_grad``
is one ``fill``. (The parameters keep their shapes; only where their memory lives changes.) A parameter
can therefore belong to one optimiser only. All updates are in place with ``out=``, so a step allocates
nothing after the first, and everything stays in the parameters' dtype (float32 stays float32).
"""

import numpy

from .backend import array_module, to_numpy
from .nn.module import Parameter


class Optimizer:
    """Owns the flat buffers ``self.data`` and ``self.grad``; subclasses write ``step``."""

    def __init__(self, parameters, lr):
        parameters = list(parameters)
        if not parameters:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for i, p in enumerate(parameters):
            if not isinstance(p, Parameter):
                raise TypeError(f"{type(self).__name__}: parameter {i} is a {type(p).__name__}, expected a Parameter")
            if getattr(p, "_optimizer", None) is not None:
                raise ValueError(f"{type(self).__name__}: parameter {i} (shape {p.shape}) already belongs to another optimiser")
            if p.dtype != parameters[0].dtype:
                raise TypeError(f"{type(self).__name__}: parameter {i} has dtype {p.dtype}, parameter 0 has {parameters[0].dtype}")
        if len({id(p) for p in parameters}) != len(parameters):
            raise ValueError(f"{type(self).__name__}: a parameter appears twice in the list")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, got {lr}")
        self.parameters, self.lr = parameters, lr
        self.data, self.grad = self._flatten(parameters)
        self.scratch = self.xp.empty_like(self.data)

    def _flatten(self, parameters):
        """Move each parameter's data and gradient into views of two flat buffers."""
        self.xp = xp = array_module(parameters[0].data)
        total = sum(p.size for p in parameters)
        data = xp.empty(total, dtype=parameters[0].dtype)
        grad = xp.zeros(total, dtype=parameters[0].dtype)
        offset = 0
        for p in parameters:
            end = offset + p.size
            data[offset:end] = p.data.reshape(-1)
            if p.grad is not None:
                grad[offset:end] = p.grad.reshape(-1)
            p.data = data[offset:end].reshape(p.shape)
            p.grad = grad[offset:end].reshape(p.shape)
            p._optimizer = self
            offset = end
        return data, grad

    def zero_grad(self):
        """Set every managed gradient to zero (one fill of the flat gradient buffer)."""
        self.grad.fill(0)

    def step(self):
        raise NotImplementedError

    def _check_state_shapes(self, state, names):
        for name in names:
            if name in state and tuple(state[name].shape) != tuple(self.data.shape):
                raise ValueError(f"{type(self).__name__}.load_state_dict: {name!r} has shape {tuple(state[name].shape)}, expected {tuple(self.data.shape)}")


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum μ and weight decay λ (PyTorch's convention):

        g ← g + λθ;    v ← μv + g;    θ ← θ − η v        (without momentum: θ ← θ − η g)

    Equals ``ops.reference.sgd``, which applies these lines to one parameter array at a time; here each
    is one in-place pass over the flat buffer holding every parameter (see the module docstring).
    """

    def __init__(self, parameters, lr=0.01, momentum=0.0, weight_decay=0.0):
        super().__init__(parameters, lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"SGD: weight_decay must be ≥ 0, got {weight_decay}")
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = self.xp.zeros_like(self.data) if momentum else None

    def step(self):
        xp, direction = self.xp, self.grad
        if self.weight_decay:
            xp.multiply(self.data, self.weight_decay, out=self.scratch)
            self.scratch += self.grad
            direction = self.scratch
        if self.momentum:
            self.velocity *= self.momentum
            self.velocity += direction
            direction = self.velocity
        xp.multiply(direction, self.lr, out=self.scratch)
        self.data -= self.scratch

    def state_dict(self):
        return {"velocity": to_numpy(self.velocity).copy()} if self.momentum else {}

    def load_state_dict(self, state):
        self._check_state_shapes(state, ["velocity"])
        if self.momentum:
            self.velocity[...] = self.xp.asarray(state["velocity"])


class Adam(Optimizer):
    """Adam, Kingma & Ba 2015, Algorithm 1, with step size α (``lr``), decay rates β₁, β₂ and ε:

        t ← t + 1
        m ← β₁ m + (1 − β₁) g                 biased first moment
        v ← β₂ v + (1 − β₂) g²                biased second moment
        m̂ ← m / (1 − β₁ᵗ);  v̂ ← v / (1 − β₂ᵗ)  bias correction (m and v start at 0)
        θ ← θ − α m̂ / (√v̂ + ε)

    DCGAN uses α = 2e-4, β₁ = 0.5 (Radford et al. 2015, §4).

    Equals ``ops.reference.adam``, these lines written out with m̂ and v̂ as arrays, for one parameter at a
    time. Here each line is one or two in-place passes over the flat buffers of all the parameters (no
    loop over parameters, no temporary arrays), and m̂ and v̂ are never formed: the bias corrections
    are folded into two Python-float scalars (``step``), which saves a pass over the buffers.
    """

    def __init__(self, parameters, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(parameters, lr)
        beta1, beta2 = betas
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"Adam: betas must each be in [0, 1), got {betas}")
        if not eps > 0:
            raise ValueError(f"Adam: eps must be positive, got {eps}")
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t = 0
        self.m = self.xp.zeros_like(self.data)
        self.v = self.xp.zeros_like(self.data)

    def step(self):
        xp, g, s = self.xp, self.grad, self.scratch
        self.t += 1
        self.m *= self.beta1  # m ← β₁ m + (1 − β₁) g
        xp.multiply(g, 1 - self.beta1, out=s)
        self.m += s
        self.v *= self.beta2  # v ← β₂ v + (1 − β₂) g²
        xp.multiply(g, g, out=s)
        s *= 1 - self.beta2
        self.v += s
        # θ ← θ − α m̂ / (√v̂ + ε) = θ − αₜ m / (√v + ε̂), with αₜ = α √(1 − β₂ᵗ) / (1 − β₁ᵗ) and
        # ε̂ = ε √(1 − β₂ᵗ) (multiply the numerator and the denominator by √(1 − β₂ᵗ)): the reordering of
        # Kingma & Ba §2, which saves a pass over the buffers
        correction = (1 - self.beta2**self.t) ** 0.5
        xp.sqrt(self.v, out=s)
        s += self.eps * correction
        xp.divide(self.m, s, out=s)
        s *= self.lr * correction / (1 - self.beta1**self.t)
        self.data -= s

    def state_dict(self):
        return {"t": numpy.array(self.t), "m": to_numpy(self.m).copy(), "v": to_numpy(self.v).copy()}

    def load_state_dict(self, state):
        self._check_state_shapes(state, ["m", "v"])
        self.t = int(state["t"])
        self.m[...] = self.xp.asarray(state["m"])
        self.v[...] = self.xp.asarray(state["v"])
