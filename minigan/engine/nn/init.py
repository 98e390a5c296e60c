"""Weight initialisers. Each fills a parameter in place from a generator (default: ``minigan.seed``'s).

* ``normal_(p, std=0.02)``: N(0, std²), the DCGAN initialisation (Radford et al. 2015, §4:
  "All weights were initialized from a zero-centered Normal distribution with standard deviation 0.02").
* ``normal_weights_(model, std=0.02)``: that initialisation applied to a whole model, every weight
  N(0, std²), every batch- or instance-norm scale N(1, std²), every bias 0.
* ``glorot_uniform_``: U(−a, a), a = √(6 / (fan_in + fan_out)) (Glorot & Bengio 2010), keeps the
  variance of activations and of gradients about equal across layers for tanh/linear units.
* ``he_uniform_``: U(−a, a), a = √(6 / fan_in) (He et al. 2015), the same for ReLU units.

Fans: a dense weight (out, in) has fan_in = in, fan_out = out; a convolution weight (out, kh, kw, in)
— minigan's channels-last layout — has fan_in = kh·kw·in and fan_out = kh·kw·out.
"""

from ..backend import array_module, default_rng
from ..checks import finite_number
from .instancenorm import InstanceNorm2d
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm


def fans(shape):
    """(fan_in, fan_out) of a weight of ``shape``: (out, in) for dense, (out, kh, kw, in) for conv."""
    if len(shape) < 2:
        raise ValueError(f"fans: a weight needs at least 2 dimensions, got shape {shape}")
    receptive = 1
    for size in shape[1:-1]:
        receptive *= size
    return shape[-1] * receptive, shape[0] * receptive


def _fill(parameter, values):
    parameter.data[...] = values.astype(parameter.dtype, copy=False)
    return parameter


def normal_(parameter, std=0.02, mean=0.0, rng=None):
    finite_number("normal_", "mean", mean)
    if not finite_number("normal_", "std", std) >= 0:
        raise ValueError(f"normal_: std must be ≥ 0, got {std}")
    rng = rng if rng is not None else default_rng()
    values = rng.standard_normal(parameter.shape, dtype=parameter.dtype) * parameter.dtype.type(std) + parameter.dtype.type(mean)
    return _fill(parameter, array_module(parameter.data).asarray(values))


def uniform_(parameter, bound, rng=None):
    if not finite_number("uniform_", "bound", bound) >= 0:
        raise ValueError(f"uniform_: bound must be ≥ 0 (values are drawn from U(−bound, bound)), got {bound}")
    rng = rng if rng is not None else default_rng()
    values = rng.uniform(-bound, bound, size=parameter.shape)
    return _fill(parameter, array_module(parameter.data).asarray(values))


def glorot_uniform_(parameter, rng=None):
    fan_in, fan_out = fans(parameter.shape)
    return uniform_(parameter, (6.0 / (fan_in + fan_out)) ** 0.5, rng)


def he_uniform_(parameter, rng=None):
    fan_in, _ = fans(parameter.shape)
    return uniform_(parameter, (6.0 / fan_in) ** 0.5, rng)


def zeros_(parameter):
    parameter.data[...] = 0
    return parameter


def ones_(parameter):
    parameter.data[...] = 1
    return parameter


def normal_weights_(model, std=0.02):
    """Radford et al. 2015, §4, for every layer of ``model``: weights ~ N(0, std²), biases 0.

    A batch-norm (or affine instance-norm) scale γ multiplies the normalised features, so it is drawn
    around 1, N(1, std²), not around 0, which would start the layer with its output switched off. Layer
    norm keeps γ = 1, β = 0 as built (Ba et al. 2016): DCGAN's initialisation predates it. Returns ``model``.
    """
    for module in model.modules():
        weight, bias = getattr(module, "weight", None), getattr(module, "bias", None)
        if weight is not None:
            if isinstance(module, LayerNorm):
                continue
            is_norm = isinstance(module, (BatchNorm1d, BatchNorm2d, InstanceNorm2d))
            normal_(weight, std=std, mean=1.0 if is_norm else 0.0)
        if bias is not None:
            zeros_(bias)
    return model
