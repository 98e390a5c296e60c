"""The lab's 2-D data: the distributions a GAN learns on the page, each a sampler of fresh points.

All live in the square [−BOX, BOX]², the plane the page draws. Each is known in closed form, so there is
no data set: every minibatch is new, drawn by ``sample(name, m, rng, drawn)`` from the lab's own seeded
generator (the same seed and steps give the same minibatches).

    ring          the project's ring of 8 Gaussians (Metz et al. 2016; ``minigan.tools.data.ring``)
    line          a segment from (−2, −1.5) to (2, 1.5), blurred by N(0, 0.03²)
    two-clusters  two Gaussians of std 0.25 at (−1.5, −1) and (1.5, 1)
    circle        the circle of radius 2, blurred by N(0, 0.03²): a ring without modes
    three-disks   three uniform disks of radius 0.5 on a triangle
    drawn         the user's points, each blurred by N(0, 0.05²): a kernel density estimate of the drawing

Everything is NumPy (float32): the data is tiny, and the GAN's step moves each batch to the device.
"""

import math

import numpy

from minigan.tools.data.ring import sample_ring

BOX = 3.0                  # the page shows [−BOX, BOX]²; drawn points must lie in it
DRAWN_LIMITS = (3, 5000)   # a drawing of fewer points is no distribution; more only slows the page
DRAWN_BLUR = 0.05
DATA_NAMES = ("ring", "line", "two-clusters", "circle", "three-disks", "drawn")


def _line(m, rng):
    t = rng.uniform(-1.0, 1.0, size=(m, 1))
    return t * numpy.array([2.0, 1.5]) + 0.03 * rng.standard_normal((m, 2))


def _two_clusters(m, rng):
    centres = numpy.array([[-1.5, -1.0], [1.5, 1.0]])
    return centres[rng.integers(0, 2, size=m)] + 0.25 * rng.standard_normal((m, 2))


def _circle(m, rng):
    angle = rng.uniform(0.0, 2 * math.pi, size=m)
    return 2.0 * numpy.stack([numpy.cos(angle), numpy.sin(angle)], axis=1) + 0.03 * rng.standard_normal((m, 2))


def _three_disks(m, rng):
    angles = math.pi / 2 + 2 * math.pi * numpy.arange(3) / 3
    centres = 1.7 * numpy.stack([numpy.cos(angles), numpy.sin(angles)], axis=1)
    # Uniform in a disk: radius r·√u (the area within radius ρ grows as ρ²), angle uniform.
    radius, angle = 0.5 * numpy.sqrt(rng.uniform(size=m)), rng.uniform(0.0, 2 * math.pi, size=m)
    offsets = radius[:, None] * numpy.stack([numpy.cos(angle), numpy.sin(angle)], axis=1)
    return centres[rng.integers(0, 3, size=m)] + offsets


def _drawn(m, rng, points):
    return points[rng.integers(0, len(points), size=m)] + DRAWN_BLUR * rng.standard_normal((m, 2))


SAMPLERS = {"ring": lambda m, rng: sample_ring(m, rng), "line": _line, "two-clusters": _two_clusters,
            "circle": _circle, "three-disks": _three_disks}


def sample(name, m, rng, drawn=None):
    """m points of distribution ``name``, (m, 2) float32, drawn from the NumPy generator ``rng``;
    ``drawn``, the user's points (n, 2), for ``name == "drawn"``."""
    if name == "drawn":
        points = _drawn(m, rng, numpy.asarray(drawn, dtype=numpy.float64))
    else:
        points = SAMPLERS[name](m, rng)
    return numpy.asarray(points, dtype=numpy.float32)


def check_drawn_points(points):
    """The user's drawing as a list of [x, y] pairs, or a ValueError saying what is accepted.

    Accepts DRAWN_LIMITS[0] to DRAWN_LIMITS[1] pairs of finite numbers inside [−BOX, BOX]².
    """
    low, high = DRAWN_LIMITS
    if not isinstance(points, list):
        raise ValueError(f"expected a list of {low} to {high} [x, y] points, got {type(points).__name__}")
    if not low <= len(points) <= high:
        raise ValueError(f"expected {low} to {high} [x, y] points, got {len(points)}")
    for i, point in enumerate(points):
        if (not isinstance(point, list) or len(point) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and -BOX <= v <= BOX
                           for v in point)):
            raise ValueError(f"point {i} must be [x, y] with finite x and y in [{-BOX:g}, {BOX:g}], got {point!r}")
    return [[float(x), float(y)] for x, y in points]
