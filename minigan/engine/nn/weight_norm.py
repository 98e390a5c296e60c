"""Weight normalisation (Salimans & Kingma 2016): a dense layer whose weight is a direction times a length.

Each output unit i keeps a direction vᵢ ∈ ℝ^in and a length gᵢ, and uses the weight row (paper, eq. 2)

    wᵢ = gᵢ · vᵢ / ‖vᵢ‖,        y = x Wᵀ + b.

‖wᵢ‖ = gᵢ whatever vᵢ is, so the length of each weight vector is one parameter, decoupled from its
direction; the paper shows this conditions the gradient better and, unlike batch norm, adds no
dependence between the examples of a minibatch (which is why the semi-supervised GAN's discriminator,
Salimans et al. 2016, uses it: its minibatches mix labelled, unlabelled and generated examples).

The gradients (paper, eq. 3), with ∇w the gradient of the loss with respect to the row wᵢ:

    ∇g = ∇w · v / ‖v‖,          ∇v = (g / ‖v‖) ∇w − (g ∇g / ‖v‖²) v.

``weight_norm`` below is *composed* of the engine's differentiable ops (×, Σ, a power, a reshape)
rather than written as one Function with its own backward. Why: the engine then produces exactly eq. 3
by the chain rule (``tests/test_weight_norm_noise.py`` checks it against the formula, and by finite
differences), and any engine that can differentiate those ops twice differentiates weight norm twice
with no new code. The cost is a few passes over the (out, in) weight per forward, small next to the
GEMM with a minibatch (measured in ``docs/gan-family.md``).

**Data-dependent initialisation** (paper, §3): draw v ~ N(0, 0.05²) (the semi-supervised GAN's code
used 0.1), then feed one minibatch x through the network and, for each unit, with t = v·x / ‖v‖ its
pre-activation before scale and bias, set

    g ← 1 / σ[t],      b ← −μ[t] / σ[t],

μ and σ being the mean and standard deviation of t over the minibatch, so that every unit starts with
pre-activations of mean 0 and variance 1 on real data, layer after layer (``data_dependent_init_``).
"""

import contextlib

import numpy

from ..autograd import Tensor, no_grad
from ..backend import array_module, get_backend
from ..checks import finite_number
from ..ops.linalg import linear
from . import init
from .module import Module, Parameter


def weight_norm(direction, scale):
    """W = g · v / ‖v‖ row by row: direction v (out, in), scale g (out,) → weight (out, in), ‖Wᵢ‖ = |gᵢ|.

    Composed of differentiable ops, so both v and g receive eq. 3's gradients from the engine.
    """
    inverse_norm = (direction * direction).sum(axis=1) ** -0.5     # (out,): 1 / ‖vᵢ‖
    return direction * (scale * inverse_norm).reshape(-1, 1)        # (out,) -> (out, 1), broadcast over in


class WeightNormLinear(Module):
    """x (N, in_features) → x Wᵀ + b (N, out_features) with W = g · v / ‖v‖ (Salimans & Kingma 2016).

    Parameters: ``direction`` v (out_features, in_features) ~ N(0, init_std²); ``bias`` b (out_features,),
    zero; ``scale`` g (out_features,), ones — a Parameter when ``train_scale`` is True, otherwise a buffer
    that only ``data_dependent_init_`` sets (the semi-supervised GAN's hidden layers fix g after the
    initialisation; its output layer trains it).
    """

    def __init__(self, in_features, out_features, bias=True, train_scale=True, init_std=0.05, dtype=None, rng=None):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"WeightNormLinear: {name} must be a positive int, got {value!r}")
        if not finite_number("WeightNormLinear", "init_std", init_std) > 0:
            raise ValueError(f"WeightNormLinear: init_std must be positive, got {init_std!r}")
        xp, dtype = get_backend().xp, dtype or get_backend().dtype
        self.in_features, self.out_features, self.train_scale = in_features, out_features, train_scale
        self.direction = init.normal_(Parameter(xp.empty((out_features, in_features), dtype=dtype)), std=init_std, rng=rng)
        self.bias = Parameter(xp.zeros(out_features, dtype=dtype)) if bias else None
        if train_scale:
            self.scale = Parameter(xp.ones(out_features, dtype=dtype))
        else:
            self.register_buffer("scale", xp.ones(out_features, dtype=dtype))
        self.initialising = False  # set by data_dependent_init_ for one forward pass

    def check_state(self, where, prefix, state):
        """Every row vᵢ of a loaded direction needs 0 < ‖vᵢ‖² < ∞ in its dtype: W = g·v/‖v‖ divides by ‖v‖,
        so a zero row would make its unit's weights NaN, and an overflowing one would make them 0."""
        direction = state.get("direction")
        if direction is None:
            return
        with numpy.errstate(over="ignore"):  # an overflow gives inf: reported just below
            squared = (direction * direction).sum(axis=1)  # in the direction's dtype, as the forward computes it
        bad = ~((squared > 0) & numpy.isfinite(squared))
        if bad.any():
            row = int(numpy.argmax(bad))
            raise ValueError(f"{where}: {prefix}direction has {int(bad.sum())} row(s) whose squared norm ‖vᵢ‖² is 0 or "
                             f"overflows {direction.dtype} (the first, row {row}, gives {squared[row]}); expected "
                             f"0 < ‖vᵢ‖² < ∞ for every row, since W = g·v/‖v‖ divides by it")

    def effective_weight(self):
        """The effective weight W = g · v / ‖v‖ (out_features, in_features), as a differentiable tensor."""
        scale = self.scale if isinstance(self.scale, Tensor) else Tensor(self.scale)
        return weight_norm(self.direction, scale)

    def forward(self, x):
        if self.initialising:
            return self._initialise(x)
        return linear(x, self.effective_weight(), self.bias)

    def _initialise(self, x):
        """Set g ← g/σ[t] and b ← −μ[t]/σ[t] from this minibatch (paper, §3), and return the new output."""
        if x.shape[0] < 2:
            raise ValueError(f"WeightNormLinear: data-dependent initialisation needs a minibatch of at least 2 rows "
                             f"to measure a standard deviation, got shape {x.shape}")
        with no_grad():
            t = linear(x, self.effective_weight()).data                 # (N, out): g·v·x/‖v‖ with g as it stands
            mean, std = t.mean(axis=0), t.std(axis=0)                   # (out,) each
            if not array_module(t).isfinite(std).all():  # NaN or ±inf in a column: its σ is NaN, not "no variation"
                raise ValueError(f"WeightNormLinear: data-dependent initialisation found non-finite pre-activations "
                                 f"(NaN or ±inf) on this minibatch of shape {x.shape}; expected finite values")
            if not (std > 0).all():
                raise ValueError("WeightNormLinear: data-dependent initialisation found a unit whose pre-activation "
                                 "does not vary over the minibatch (σ[t] = 0); use a more varied minibatch")
            scale = self.scale.data if isinstance(self.scale, Tensor) else self.scale
            scale /= std                                                 # g ← g / σ[t] (g is 1 at first)
            if self.bias is not None:
                self.bias.data[...] = -mean / std                        # b ← −μ[t] / σ[t]
        self.initialising = False
        return linear(x, self.effective_weight(), self.bias)

    def extra_repr(self):
        return f"{self.in_features} → {self.out_features}, bias={self.bias is not None}, train_scale={self.train_scale}"


@contextlib.contextmanager
def _initialising(layers):
    for layer in layers:
        layer.initialising = True
    try:
        yield
    finally:
        for layer in layers:
            layer.initialising = False


def data_dependent_init_(model, x):
    """Initialise every ``WeightNormLinear`` of ``model`` from one forward pass of the minibatch ``x``.

    Layer by layer, as x flows through: each layer sets its g and b from the pre-activations it sees
    (already produced by the initialised layers below it), so every unit starts at mean 0 and variance 1
    on this data (Salimans & Kingma 2016, §3). Runs in ``model``'s current mode, without a graph.
    Returns ``model``; raises ValueError if ``model`` holds no ``WeightNormLinear``.
    """
    layers = [m for m in model.modules() if isinstance(m, WeightNormLinear)]
    if not layers:
        raise ValueError(f"data_dependent_init_: {type(model).__name__} holds no WeightNormLinear layer to initialise")
    x = x if isinstance(x, Tensor) else Tensor(get_backend().asarray(x))
    finite = array_module(x.data).isfinite(x.data)
    if not finite.all():  # else a NaN would be reported as a unit that does not vary
        bad = int(finite.size - finite.sum())
        raise ValueError(f"data_dependent_init_: the minibatch x of shape {x.shape} holds {bad} non-finite value(s) "
                         f"(NaN or ±inf); expected finite numbers")
    with _initialising(layers), no_grad():
        model(x)
    return model
