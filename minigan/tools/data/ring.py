"""A ring of 8 Gaussians: the 2-D toy on which mode collapse can be seen, and a diagnostic that counts it.

The distribution (the 2-D mixture of Gaussians of Metz et al. 2016, "Unrolled Generative Adversarial
Networks") is an equal mixture of ``modes`` = 8 isotropic Gaussians whose centres sit evenly on a circle::

    c_j = radius · (cos 2πj/modes, sin 2πj/modes),   j = 0 … modes−1      (radius = 2)
    x   = c_J + std · ε,   J ~ Uniform{0 … modes−1},  ε ~ N(0, I₂)        (std = 0.02)

Neighbouring modes are about 77 std apart (2·radius·sin(π/8) ≈ 1.53 for radius 2), so a sample
belongs to an obvious mode, and a generator that draws only some of them is visibly collapsed.

The diagnostic (Srivastava et al. 2017, "VEEGAN", in their synthetic-data experiments; the metric used
for this ring ever since):

* each generated point is assigned to its **nearest centre**;
* it is a **high-quality** sample when it lies within **3 std** of that centre (distance ≤ 3·std). For
  the true distribution that is P(‖ε‖ ≤ 3) = 1 − e^(−9/2) ≈ 98.9% of the samples (‖ε‖² ~ χ²₂);
* a mode is **covered** when it holds at least ``min_fraction`` of the high-quality samples *and* at
  least ``min_count`` of them. The default fraction is a tenth of a mode's share under a uniform
  spread, 1 / (10 · modes) = 1.25% for 8 modes, the same rule as ``minigan.tools.evaluate``'s digit classes
  (1% for 10 digits): a mode drawn ten times less often than it should is still counted. The floor
  (default ``MIN_COUNT`` = 10 samples) is there for generators with almost no high-quality samples: a
  diffuse cloud of 2,500 points puts two or three near some centres by chance, and 1.25% of three
  points is less than one, so without the floor every stray point would make a "covered" mode.
  Judge the mode count on enough samples (2,500 in ``examples/mode_collapse.py``) and always next to
  the high-quality fraction.

Everything here is NumPy (the data is tiny); ``GAN.discriminator_step`` moves each batch to the device.

    ring_centres(modes, radius)               -> (modes, 2) float32
    sample_ring(m, seed, ...)                 -> (m, 2) float32
    ring_batches(batch_size, seed, ...)       -> endless iterator of (batch_size, 2) float32 batches
    mode_coverage(samples, ...)               -> ModeCoverage(modes_covered, high_quality_fraction, ...)
"""

import math
from typing import NamedTuple

import numpy

from minigan.engine.backend import SEED_LIMIT, to_numpy

MODES = 8          # Metz et al. 2016: "a mixture of 8 Gaussians arranged in a circle"
RADIUS = 2.0       # the circle's radius
STD = 0.02         # each Gaussian's standard deviation
QUALITY_STDS = 3.0  # VEEGAN: a sample is high quality within three standard deviations of its mode
MIN_COUNT = 10      # high-quality samples a mode needs at the least (see the module docstring)


# ----- checking arguments -----------------------------------------------------------------------
def _check_count(name, value, caller):
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < 1:
        raise ValueError(f"{caller}: {name} must be a positive int, got {value!r}")
    return int(value)


def _check_positive(name, value, caller):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{caller}: {name} must be a positive number, got {value!r}") from None
    if isinstance(value, bool) or not (number > 0 and math.isfinite(number)):  # NaN fails `> 0`
        raise ValueError(f"{caller}: {name} must be a positive finite number, got {value!r}")
    return number


def _check_ring(modes, radius, std, caller):
    return _check_count("modes", modes, caller), _check_positive("radius", radius, caller), _check_positive("std", std, caller)


def _rng(seed, caller):
    """A NumPy generator from an int seed, None (fresh entropy) or an existing ``numpy.random.Generator``."""
    if isinstance(seed, numpy.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, numpy.integer)) and not isinstance(seed, bool) and 0 <= seed < SEED_LIMIT):
        return numpy.random.default_rng(seed)
    raise ValueError(f"{caller}: seed must be a non-negative int below 2**64 (as for minigan.seed), None or a "
                     f"numpy.random.Generator, got {seed!r}")


# ----- the distribution -------------------------------------------------------------------------
def ring_centres(modes=MODES, radius=RADIUS):
    """The mixture's means, (modes, 2) float32: centre j at angle 2πj/modes on the circle of ``radius``."""
    modes, radius, _ = _check_ring(modes, radius, 1.0, "ring_centres")
    angles = 2.0 * numpy.pi * numpy.arange(modes) / modes
    return (radius * numpy.stack([numpy.cos(angles), numpy.sin(angles)], axis=1)).astype(numpy.float32)


def sample_ring(m, seed=None, modes=MODES, radius=RADIUS, std=STD):
    """m points from the ring, (m, 2) float32: a uniformly chosen centre plus N(0, std²·I₂) noise.

    ``seed``: an int (the same int gives the same points), None, or a ``numpy.random.Generator`` to draw from.
    """
    m = _check_count("m", m, "sample_ring")
    modes, radius, std = _check_ring(modes, radius, std, "sample_ring")
    rng = _rng(seed, "sample_ring")
    which = rng.integers(0, modes, size=m)                                      # (m,) the mixture component J
    noise = rng.standard_normal((m, 2), dtype=numpy.float32) * numpy.float32(std)  # (m, 2)
    return ring_centres(modes, radius)[which] + noise


def ring_batches(batch_size, seed=None, modes=MODES, radius=RADIUS, std=STD):
    """An endless iterator of fresh minibatches (batch_size, 2) float32, for ``GAN.train_iteration``.

    One generator seeded by ``seed`` draws every batch, so the same seed gives the same sequence of
    batches. The distribution is known, so there is no data set and no epoch: every batch is new.
    """
    batch_size = _check_count("batch_size", batch_size, "ring_batches")
    modes, radius, std = _check_ring(modes, radius, std, "ring_batches")
    rng = _rng(seed, "ring_batches")

    def batches():
        while True:
            yield sample_ring(batch_size, rng, modes, radius, std)

    return batches()


# ----- the diagnostic ---------------------------------------------------------------------------
class ModeCoverage(NamedTuple):
    """What ``mode_coverage`` measured on n samples of a generator."""

    modes_covered: int            # modes holding ≥ min_fraction and ≥ min_count of the high-quality samples
    high_quality_fraction: float  # high-quality samples / n, in [0, 1] (≈ 0.989 for the true distribution)
    counts: numpy.ndarray         # (modes,) int64: high-quality samples at each centre
    min_fraction: float           # the share of the high-quality samples a mode needs to be covered
    min_count: int                # ... and the fewest high-quality samples it needs


def mode_coverage(samples, modes=MODES, radius=RADIUS, std=STD, min_fraction=None, min_count=MIN_COUNT):
    """Count the modes a generator covers and the share of its samples that are high quality.

    Args:
        samples: n generated points, shape (n, 2): NumPy, CuPy or a minigan Tensor. Points that are not
            finite (a diverged generator) are never high quality.
        modes, radius, std: the ring the samples are judged against (``sample_ring``'s defaults).
        min_fraction: the share of the high-quality samples a mode must hold to count as covered, in
            (0, 1]; default 1 / (10 · modes).
        min_count: the fewest high-quality samples a covered mode holds, an int ≥ 1 (default 10).

    Returns:
        ``ModeCoverage``: 8 modes and ≈ 0.989 for (enough) samples of the true distribution; 1 mode for
        10 or more samples all at one centre; 0 modes and 0.0 when no sample lies within 3 std of any centre.
    """
    modes, radius, std = _check_ring(modes, radius, std, "mode_coverage")
    if min_fraction is None:
        min_fraction = 1.0 / (10 * modes)
    min_fraction = _check_positive("min_fraction", min_fraction, "mode_coverage")
    if min_fraction > 1:
        raise ValueError(f"mode_coverage: min_fraction must be in (0, 1], got {min_fraction!r}")
    min_count = _check_count("min_count", min_count, "mode_coverage")
    points = _as_points(samples)
    centres = ring_centres(modes, radius).astype(numpy.float64)
    # squared distance of every point to every centre: (n, 1, 2) − (1, modes, 2) → (n, modes)
    squared = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    nearest = numpy.argmin(squared, axis=1)                                  # (n,) index of the nearest centre
    distance = numpy.sqrt(squared[numpy.arange(len(points)), nearest])       # (n,)
    high_quality = distance <= QUALITY_STDS * std  # (n,) bool; NaN and inf compare False, so a diverged point never counts
    counts = numpy.bincount(nearest[high_quality], minlength=modes).astype(numpy.int64)
    total = int(counts.sum())
    covered = int(((counts >= min_fraction * total) & (counts >= min_count)).sum())
    return ModeCoverage(covered, total / len(points), counts, min_fraction, min_count)


def _as_points(samples):
    """``samples`` as a float64 NumPy array (n, 2), or a clear error."""
    if hasattr(samples, "data") and type(samples).__name__ in ("Tensor", "Parameter"):
        samples = samples.data
    points = numpy.asarray(to_numpy(samples))
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"mode_coverage: samples must have shape (n, 2), got shape {points.shape}")
    if points.shape[0] == 0:
        raise ValueError("mode_coverage: got no samples (shape (0, 2)); expected at least one point")
    if points.dtype.kind not in "iuf":
        raise TypeError(f"mode_coverage: samples must be numeric, got dtype {points.dtype}")
    return points.astype(numpy.float64)  # distances in float64: this is evaluation, not the hot path
