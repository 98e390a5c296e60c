"""Optimisers: SGD with momentum, Adam (Kingma & Ba 2015, Algorithm 1) and RMSprop (Tieleman & Hinton 2012).

All keep every parameter they manage, and its gradient, as a *view into one flat buffer*: the update is
then a handful of whole-buffer array passes instead of a Python loop over parameters, and ``zero_grad``
is one ``fill``. (The parameters keep their shapes; only where their memory lives changes.) A parameter
can therefore belong to one optimiser only. All updates are in place with ``out=``, so a step allocates
nothing after the first, and everything stays in the parameters' dtype (float32 stays float32).
"""

import numpy

from .backend import array_module, to_numpy
from .checks import finite_number, state_array
from .autograd import Tensor
from .nn.module import Module, Parameter


class Optimizer:
    """Owns the flat buffers ``self.data`` and ``self.grad``; subclasses write ``step``."""

    def __init__(self, parameters, lr):
        if isinstance(parameters, (Module, Tensor)):  # list() would fail, or iterate over a parameter's rows
            raise TypeError(f"{type(self).__name__}: parameters must be an iterable of Parameters such as model.parameters(), "
                            f"got a {type(parameters).__name__}" + (" (pass model.parameters())" if isinstance(parameters, Module) else " (wrap it in a list)"))
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
        if not finite_number(type(self).__name__, "lr", lr) > 0:
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
        for parameter in self.parameters:  # their .grad_tensor held the gradients just cleared
            parameter.grad_tensor = None

    def step(self):
        raise NotImplementedError

    def release(self):
        """Give the parameters back: they keep their values and may join another optimiser (a run that
        switches from SGD to Adam midway). The next optimiser moves them into buffers of its own, so this
        one's buffers no longer hold them: stepping it afterwards changes nothing that anyone uses."""
        for parameter in self.parameters:
            parameter._optimizer = None
        self.parameters = []

    def _changed(self):
        """After a step: every parameter changed in place, so a graph recorded before it may not be
        back-propagated any more (autograd's version counters)."""
        for parameter in self.parameters:
            parameter._version += 1

    # ----- checks of a loaded state, all made before anything is changed ------------------------
    def _check_state_keys(self, state, expected):
        """``state`` is a dict with exactly the keys ``expected`` (so a state of another optimiser is refused)."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict):
            raise TypeError(f"{where}: state must be a dict such as state_dict() returns, got {type(state).__name__}")
        missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        if missing or unexpected:
            raise KeyError(f"{where}: missing keys {missing}, unexpected keys {unexpected} (expected {sorted(expected)}; "
                           "a state saved by an optimiser of another kind or with other settings?)")

    def _check_state_shapes(self, state, names):
        """Each of ``names`` present in ``state`` as a NumPy array of the flat buffer's shape and dtype, all finite."""
        where = f"{type(self).__name__}.load_state_dict"
        return {name: state_array(where, name, state[name], self.data.shape, self.data.dtype) for name in names if name in state}


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum μ and weight decay λ (PyTorch's convention):

        g ← g + λθ;    v ← μv + g;    θ ← θ − η v        (without momentum: θ ← θ − η g)

    Equals ``ops.reference.sgd``, which applies these lines to one parameter array at a time; here each
    is one in-place pass over the flat buffer holding every parameter (see the module docstring).
    """

    def __init__(self, parameters, lr=0.01, momentum=0.0, weight_decay=0.0):
        super().__init__(parameters, lr)
        if not 0 <= finite_number("SGD", "momentum", momentum) < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        if not finite_number("SGD", "weight_decay", weight_decay) >= 0:
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
        self._changed()

    def state_dict(self):
        return {"velocity": to_numpy(self.velocity).copy()} if self.momentum else {}

    def load_state_dict(self, state):
        self._check_state_keys(state, ["velocity"] if self.momentum else [])
        arrays = self._check_state_shapes(state, ["velocity"])
        if self.momentum:
            self.velocity[...] = self.xp.asarray(arrays["velocity"])


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
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}") from None
        if not all(0 <= finite_number("Adam", f"betas[{i}]", beta) < 1 for i, beta in enumerate((beta1, beta2))):
            raise ValueError(f"Adam: betas must each be in [0, 1), got {betas}")
        if not finite_number("Adam", "eps", eps) > 0:
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
        self._changed()

    def state_dict(self):
        return {"t": numpy.array(self.t), "m": to_numpy(self.m).copy(), "v": to_numpy(self.v).copy()}

    def load_state_dict(self, state):
        self._check_state_keys(state, ["t", "m", "v"])
        arrays = self._check_state_shapes(state, ["m", "v"])
        t = numpy.asarray(to_numpy(state["t"]))
        if t.shape != () or t.dtype.kind not in "iu" or t < 0:
            raise ValueError(f"Adam.load_state_dict: 't' must be a non-negative integer (the number of steps taken), got {state['t']!r}")
        if (arrays["v"] < 0).any():  # an average of squares: a negative entry would make √v NaN
            raise ValueError(f"Adam.load_state_dict: 'v' must be ≥ 0 (a running average of squared gradients), "
                             f"found {int((arrays['v'] < 0).sum())} negative value(s), the smallest {arrays['v'].min()}")
        if int(t) == 0 and (arrays["m"].any() or arrays["v"].any()):  # m and v start at 0 and only steps move them
            raise ValueError("Adam.load_state_dict: 't' is 0 (no step taken) but the moments 'm' and 'v' are not all 0; "
                             "a state that no run of Adam writes")
        self.t = int(t)
        self.m[...] = self.xp.asarray(arrays["m"])
        self.v[...] = self.xp.asarray(arrays["v"])


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton 2012, Lecture 6.5): divide the gradient by a running RMS of its recent values.

        v ← α v + (1 − α) g²          running mean of the squared gradient (v starts at 0)
        θ ← θ − η g / (√v + ε)

    with step size η (``lr``), smoothing constant α and ε, as in PyTorch's ``RMSprop`` (whose defaults these
    are; ε is added outside the square root). It has no momentum on the gradient itself, which is why
    Arjovsky et al. (2017) chose it for the WGAN critic: with a momentum-based optimiser (Adam) their
    weight-clipped critic's training became unstable. WGAN's Algorithm 1 uses η = 5e-5 (the caller passes it).
    """

    def __init__(self, parameters, lr=1e-2, alpha=0.99, eps=1e-8):
        super().__init__(parameters, lr)
        if not 0 <= finite_number("RMSprop", "alpha", alpha) < 1:
            raise ValueError(f"RMSprop: alpha must be in [0, 1), got {alpha}")
        if not finite_number("RMSprop", "eps", eps) > 0:
            raise ValueError(f"RMSprop: eps must be positive, got {eps}")
        self.alpha, self.eps = alpha, eps
        self.v = self.xp.zeros_like(self.data)

    def step(self):
        xp, g, s = self.xp, self.grad, self.scratch
        self.v *= self.alpha  # v ← α v + (1 − α) g²
        xp.multiply(g, g, out=s)
        s *= 1 - self.alpha
        self.v += s
        xp.sqrt(self.v, out=s)  # θ ← θ − η g / (√v + ε)
        s += self.eps
        xp.divide(g, s, out=s)
        s *= self.lr
        self.data -= s
        self._changed()

    def state_dict(self):
        return {"v": to_numpy(self.v).copy()}

    def load_state_dict(self, state):
        self._check_state_keys(state, ["v"])
        arrays = self._check_state_shapes(state, ["v"])
        if (arrays["v"] < 0).any():  # an average of squares: a negative entry would make √v NaN
            raise ValueError(f"RMSprop.load_state_dict: 'v' must be ≥ 0 (a running average of squared gradients), "
                             f"found {int((arrays['v'] < 0).sum())} negative value(s), the smallest {arrays['v'].min()}")
        self.v[...] = self.xp.asarray(arrays["v"])
