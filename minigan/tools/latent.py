"""Walking in a generator's latent space: interpolation and vector arithmetic on noise vectors z.

A trained generator G maps every z to an image, so paths and sums of z's can be looked at as pictures.
Two tools, both on plain NumPy vectors of length d = noise_dim (pass the results to ``GAN.generate``).

**Interpolation** between two noise vectors z₀ and z₁, at ``steps`` evenly spaced t ∈ [0, 1]:

    linear     lerp(t)  = (1 − t) z₀ + t z₁
    spherical  slerp(t) = sin((1 − t) Ω) / sin Ω · z₀  +  sin(t Ω) / sin Ω · z₁,
               where Ω = arccos(z₀·z₁ / (‖z₀‖ ‖z₁‖)) is the angle between them

(Shoemake 1985 for slerp; White 2016, "Sampling generative networks", for its use on GANs).
Why slerp suits the noise of a GAN (White 2016): in d dimensions nearly all of N(0, I)'s mass lies on a
thin shell of radius ≈ √d, and two independent samples are nearly orthogonal (Ω ≈ 90°). The straight
line between them cuts through the inside of the shell: for ‖z₀‖ = ‖z₁‖ = r its midpoint has norm
r cos(Ω/2) ≈ 0.71 r, a norm G almost never saw in training. Slerp follows the great circle instead, and
for ‖z₀‖ = ‖z₁‖ = r every point of it has norm r. (U(−1, 1)ᵈ noise, the MLP GAN's, also concentrates on
a shell, of radius √(d/3); but slerp's points may leave the cube: the midpoint's coordinates are up to
1/cos(Ω/2) ≈ 1.41 times the endpoints'.)

**Vector arithmetic** (Radford et al. 2015, "DCGAN", §6.3.2 and Figure 7): if z's of images that share a
visual concept (say "thick 7") are averaged, the mean z carries that concept, and differences of means
carry differences of concepts:

    z = mean(z of A) − mean(z of B) + mean(z of C),   e.g. A = thick 7, B = thin 7, C = thin 1  →  thick 1

The paper found single exemplars unstable and averaged three per concept; ``vector_arithmetic`` takes
any number k ≥ 1 per concept. The paper picked its exemplars by eye; ``pick_exemplars`` finds them among
G's own samples, from a classifier's labels and each image's ``ink`` (mean pixel value).
"""

import numpy

# Below this angle (radians) sin Ω is too small to divide by, and slerp's limit is lerp anyway.
PARALLEL_ANGLE = 1e-4


def _as_vector(z, name):
    """``z`` as a 1-D floating NumPy array, or a TypeError/ValueError that names ``name``."""
    array = numpy.asarray(z)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected a vector of real numbers, got dtype {array.dtype}")
    if array.ndim != 1 or array.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty vector of shape (noise_dim,), got shape {array.shape}")
    if not numpy.all(numpy.isfinite(array)):
        raise ValueError(f"{name}: expected finite values, found NaN or infinity")
    return array if array.dtype.kind == "f" else array.astype(numpy.float64)


def _check_pair(z0, z1, steps, caller):
    z0, z1 = _as_vector(z0, f"{caller}: z0"), _as_vector(z1, f"{caller}: z1")
    if z0.shape != z1.shape:
        raise ValueError(f"{caller}: z0 and z1 must have the same shape (noise_dim,), got {z0.shape} and {z1.shape}")
    if isinstance(steps, bool) or not isinstance(steps, (int, numpy.integer)) or steps < 2:
        raise ValueError(f"{caller}: steps must be an int >= 2 (the two endpoints included), got {steps!r}")
    dtype = numpy.result_type(z0.dtype, z1.dtype)
    return z0.astype(dtype, copy=False), z1.astype(dtype, copy=False), int(steps), dtype


def interpolation_times(steps):
    """The ``steps`` evenly spaced t = 0, 1/(steps−1), …, 1 at which both interpolations are taken, float64."""
    return numpy.linspace(0.0, 1.0, steps)


def lerp(z0, z1, steps):
    """Linear interpolation: rows (1 − t) z₀ + t z₁ for t = 0 … 1 in ``steps`` even steps.

    Args:
        z0, z1: vectors of shape (d,), floating point (or integer, taken as float64).
        steps: number of points, ≥ 2; row 0 is z₀ and row steps−1 is z₁.

    Returns:
        (steps, d) array in the inputs' floating dtype (float32 noise stays float32).
    """
    z0, z1, steps, dtype = _check_pair(z0, z1, steps, "lerp")
    t = interpolation_times(steps).astype(dtype)[:, None]  # (steps, 1)
    return (1 - t) * z0 + t * z1                            # (steps, d)


def slerp(z0, z1, steps):
    """Spherical interpolation: rows sin((1−t)Ω)/sin Ω · z₀ + sin(tΩ)/sin Ω · z₁ for t = 0 … 1.

    Ω is the angle between z₀ and z₁. For ‖z₀‖ = ‖z₁‖ every row has that same norm (the path is an arc
    of the great circle through both); for unequal norms the norm changes smoothly between them. When
    the two point the same way (Ω < ``PARALLEL_ANGLE``) this returns ``lerp``, slerp's limit as Ω → 0.

    Args:
        z0, z1: non-zero vectors of shape (d,) that do not point in opposite directions (then every
            great circle through both is equally short and the path is not defined).
        steps: number of points, ≥ 2; row 0 is z₀ and row steps−1 is z₁.

    Returns:
        (steps, d) array in the inputs' floating dtype.
    """
    z0, z1, steps, dtype = _check_pair(z0, z1, steps, "slerp")
    norm0, norm1 = float(numpy.linalg.norm(z0)), float(numpy.linalg.norm(z1))
    if norm0 == 0 or norm1 == 0:
        raise ValueError("slerp: z0 and z1 must be non-zero vectors (the angle to a zero vector is undefined)")
    # The angle is computed in float64 whatever the dtype: the arccos of a rounded cosine near ±1 is poor.
    cosine = numpy.clip(numpy.dot(z0.astype(numpy.float64), z1.astype(numpy.float64)) / (norm0 * norm1), -1.0, 1.0)
    omega = float(numpy.arccos(cosine))
    if omega < PARALLEL_ANGLE:
        return lerp(z0, z1, steps)
    if numpy.pi - omega < PARALLEL_ANGLE:
        raise ValueError("slerp: z0 and z1 point in opposite directions; the great circle between them is not unique")
    t = interpolation_times(steps)[:, None]                                     # (steps, 1)
    weight0 = (numpy.sin((1 - t) * omega) / numpy.sin(omega)).astype(dtype)     # (steps, 1)
    weight1 = (numpy.sin(t * omega) / numpy.sin(omega)).astype(dtype)
    return weight0 * z0 + weight1 * z1                                          # (steps, d)


INTERPOLATIONS = {"lerp": lerp, "slerp": slerp}


def interpolate_pairs(starts, ends, steps, method="slerp"):
    """Interpolate each row of ``starts`` to the same row of ``ends``: an interpolation grid's noise.

    Args:
        starts, ends: (pairs, d) arrays of noise vectors.
        steps: points per path, ≥ 2.
        method: ``"slerp"`` or ``"lerp"``.

    Returns:
        (pairs * steps, d) array: pair 0's path, then pair 1's, … — row by row, as ``plots.image_grid``
        with ``rows=pairs`` lays images out.
    """
    if method not in INTERPOLATIONS:
        raise ValueError(f"interpolate_pairs: method must be one of {tuple(INTERPOLATIONS)}, got {method!r}")
    starts, ends = numpy.asarray(starts), numpy.asarray(ends)
    if starts.ndim != 2 or starts.shape != ends.shape or starts.shape[0] == 0:
        raise ValueError(f"interpolate_pairs: starts and ends must both be (pairs, noise_dim) with pairs >= 1, "
                         f"got shapes {starts.shape} and {ends.shape}")
    paths = [INTERPOLATIONS[method](start, end, steps) for start, end in zip(starts, ends)]
    return numpy.concatenate(paths)  # (pairs * steps, d)


def concept_mean(exemplars, name="exemplars"):
    """The mean z of one concept's exemplars: (k, d) → (d,). One exemplar (k = 1) is allowed."""
    array = numpy.asarray(exemplars)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected noise vectors of real numbers, got dtype {array.dtype}")
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name}: expected k >= 1 noise vectors as an array of shape (k, noise_dim), got shape {array.shape}")
    if not numpy.all(numpy.isfinite(array)):  # as _as_vector: a NaN exemplar would make the whole mean NaN
        raise ValueError(f"{name}: expected finite values, found NaN or infinity")
    if array.dtype.kind != "f":
        array = array.astype(numpy.float64)
    return array.mean(axis=0, dtype=array.dtype)


def vector_arithmetic(a, b, c):
    """Radford et al. 2015, §6.3.2: z = mean(a) − mean(b) + mean(c), "A − B + C".

    Args:
        a, b, c: exemplars of the three concepts, each (kᵢ, d) (kᵢ may differ; the paper used 3).

    Returns:
        (d,) array in the exemplars' floating dtype.

    With a = thick 7, b = thin 7, c = thin 1: mean(a) − mean(b) is the direction from thin to thick
    strokes (the digit's identity cancels), and adding it to thin 1 should give a thick 1.
    """
    means = [concept_mean(value, name=f"vector_arithmetic: {label}") for label, value in zip("abc", (a, b, c))]
    if len({mean.shape for mean in means}) != 1:
        raise ValueError(f"vector_arithmetic: a, b and c must share noise_dim, got {[m.shape[0] for m in means]}")
    dtype = numpy.result_type(*means)
    a_mean, b_mean, c_mean = (mean.astype(dtype, copy=False) for mean in means)
    return a_mean - b_mean + c_mean


# ----- finding a concept's exemplars among G's samples ------------------------------------------------
CONFIDENCE = 0.9     # exemplars must be classified with at least this softmax probability
EXTREME_SHARE = 0.1  # thick = from the inkiest tenth of a digit's samples, thin = from the least inky tenth


def ink(images):
    """Stroke thickness as the mean pixel value of each image (n, 28, 28[, 1]) in [0, 1]: (n,)."""
    images = numpy.asarray(images)
    return images.reshape(len(images), -1).mean(axis=1)


def ink_tails(labels, confidence, amount, wanted, count):
    """The thick and the thin candidates for digit ``wanted``: two disjoint index arrays, each ≥ ``count`` long.

    ``labels`` (n,) and ``confidence`` (n,) are a classifier's digit and softmax probability for n samples,
    ``amount`` (n,) their ``ink``. Among the samples classified as ``wanted`` with probability ≥
    ``CONFIDENCE``, the thick tail is the tenth with the most ink (``EXTREME_SHARE``, but at least ``count``
    samples) and the thin tail the tenth with the least. A ValueError says how many candidates there were
    when fewer than 2·``count``.
    """
    candidates = numpy.flatnonzero((labels == wanted) & (confidence >= CONFIDENCE))
    if len(candidates) < 2 * count:
        raise ValueError(f"only {len(candidates)} of the {len(labels)} pool samples are a {wanted} with probability "
                         f">= {CONFIDENCE}, and {2 * count} are needed")
    by_ink = candidates[numpy.argsort(amount[candidates], kind="stable")]           # thinnest first
    size = min(max(count, int(numpy.ceil(EXTREME_SHARE * len(candidates)))), len(candidates) // 2)
    return by_ink[len(by_ink) - size :], by_ink[:size]


def pick_exemplars(labels, confidence, amount, wanted, count):
    """Indices of ``count`` thick and ``count`` thin samples that the classifier calls ``wanted``: the
    concepts of ``vector_arithmetic`` ("thick 7", "thin 7"), found among a generator's own samples.

    From each of ``ink_tails`` the ``count`` most confidently classified samples are taken. Taking the
    very inkiest samples instead picks blots, and the very thinnest broken strokes, which are not what
    "a thick 7" means; the paper chose its exemplars by eye for the same reason.

    Returns (thick, thin), each (count,) int, most confident first; they never overlap.
    """
    def most_confident(indices):
        return indices[numpy.argsort(-confidence[indices], kind="stable")][:count]

    thick, thin = ink_tails(labels, confidence, amount, wanted, count)
    return most_confident(thick), most_confident(thin)


__all__ = ["lerp", "slerp", "interpolate_pairs", "interpolation_times", "concept_mean", "vector_arithmetic",
           "ink", "ink_tails", "pick_exemplars", "INTERPOLATIONS", "PARALLEL_ANGLE", "CONFIDENCE", "EXTREME_SHARE"]
