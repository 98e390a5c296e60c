"""Poisson blending: paste a source image g into the hole of a target y, keeping g's gradients and y's edge.

Pérez, Gangnet & Blake 2003, "Poisson Image Editing", §2–3; the last step of image completion by latent
search (Yeh et al. 2017, §3: "Poisson blending"), where g = G(ẑ) is the generator's completion and y the
image with its hole (``minigan/tools/completion.py``). Pasting g's pixels into the hole as they are
leaves a seam wherever g's intensities differ from y's at the hole's edge; blending keeps what g says
about the hole's *shape*, its gradients, and lets y's known pixels fix the level::

    x̂ = argmin_x  Σ_{⟨p,q⟩ : p or q hidden} ((x_p − x_q) − (g_p − g_q))²    subject to  x_p = y_p on the known pixels

over the pairs ⟨p, q⟩ of 4-neighbours inside the image. Setting the derivative with respect to each
hidden x_p to 0 gives the discrete Poisson equation in the hole (Pérez et al., eq. 7):

    (L x)_p = (L g)_p   for every hidden p,        (L x)_p = |N_p| x_p − Σ_{q ∈ N_p} x_q,

N_p the 4-neighbours of p inside the image (so L is the image's discrete Laplacian, with no flux through
the image's border). With the known pixels moved to the right-hand side, it is a linear system A u = b
in the hidden pixels u:

    A u = (1 − M) ⊙ L((1 − M) ⊙ u),     b = (1 − M) ⊙ (L g − L(M ⊙ y)),      x̂ = M ⊙ y + (1 − M) ⊙ u.

A is symmetric and positive definite whenever at least one pixel of the image is known: it is the
Laplacian of the hidden pixels with the known ones as fixed values, and every connected part of the hole
borders a known pixel (the image is connected). So conjugate gradients (Hestenes & Stiefel 1952) solve
it, for every image of the batch at once: each iteration applies L to the whole batch (four shifted
slices) and keeps one step size per image; it ends when every image's residual is below ``tolerance``
times its right-hand side, at the latest after as many iterations as an image has hidden pixels (the
bound in exact arithmetic), and twice that allowed for rounding. Nothing is looped over images or
pixels. The arithmetic is float64 whatever the images' dtype (float32 rounding would stop CG short of
the tolerance); the result comes back in the images' dtype.

``poisson_blend_by_definition`` is the slow twin for the tests: the system written out as a dense matrix,
one row per hidden pixel, and solved directly.
"""

import numpy

from minigan.engine import backend

TOLERANCE = 1e-10


def laplacian(images):
    """(L x)_p = |N_p| x_p − Σ_{q ∈ N_p} x_q over each image's in-image 4-neighbours: (n, H, W, C) → same."""
    xp = backend.array_module(images)
    out = xp.zeros_like(images)
    out[:, 1:] += images[:, 1:] - images[:, :-1]      # the neighbour above, for every pixel below the first row
    out[:, :-1] += images[:, :-1] - images[:, 1:]     # the neighbour below
    out[:, :, 1:] += images[:, :, 1:] - images[:, :, :-1]    # the neighbour to the left
    out[:, :, :-1] += images[:, :, :-1] - images[:, :, 1:]   # the neighbour to the right
    return out


def _check(target, source, known, op):
    for name, value in (("target", target), ("source", source)):
        if not (hasattr(value, "dtype") and value.ndim == 4 and value.dtype.kind == "f"):
            raise ValueError(f"{op}: {name} must be a floating array (n, H, W, C), got "
                             f"{getattr(value, 'dtype', type(value).__name__)} of shape {getattr(value, 'shape', None)}")
    if getattr(known, "dtype", None) != bool or source.shape != target.shape or known.shape != target.shape:
        raise ValueError(f"{op}: target, source and known must share one shape (n, H, W, C) and known must be boolean, got "
                         f"{target.shape}, {source.shape} and {getattr(known, 'shape', None)} ({getattr(known, 'dtype', None)})")
    if target.size and not bool(known.reshape(len(known), -1).any(axis=1).all()):
        raise ValueError(f"{op}: an image has no known pixel, so nothing fixes the level of its blend (the Poisson "
                         f"equation has no unique solution); known must hold at least one True per image")


def poisson_blend(target, source, known, tolerance=TOLERANCE):
    """x̂: ``source`` g blended into the hidden pixels of ``target`` y (see the module docstring), every image at once.

    Args:
        target: y (n, H, W, C); its hidden pixels are not read.
        source: g (n, H, W, C), e.g. G(ẑ), in the same units as y.
        known: M, boolean (n, H, W, C), True where y is known. Every image needs one known pixel.
        tolerance: stop when every image's ‖b − A u‖ ≤ tolerance · ‖b‖.

    Returns x̂ in ``target``'s dtype: y on the known pixels (exactly), the solution u in the hole.
    """
    _check(target, source, known, "poisson_blend")
    xp = backend.array_module(target)
    hidden = (~known).astype(numpy.float64)                         # 1 − M
    y, g = target.astype(numpy.float64), source.astype(numpy.float64)
    fixed = xp.where(known, y, 0.0)                                  # M ⊙ y

    def apply(u):                                                    # A u = (1 − M) ⊙ L((1 − M) ⊙ u)
        return hidden * laplacian(hidden * u)

    def dot(a, b):                                                   # one inner product per image: (n, 1, 1, 1)
        return (a * b).sum(axis=(1, 2, 3), keepdims=True)

    b = hidden * (laplacian(g) - laplacian(fixed))
    u = hidden * g                                                   # start from g itself: its values are already close
    residual = b - apply(u)
    direction = residual.copy()
    squared = dot(residual, residual)
    goal = tolerance**2 * dot(b, b)
    most = 2 * int(hidden.reshape(len(hidden), -1).sum(axis=1).max()) if hidden.size else 0
    for _ in range(most):
        if bool((squared <= goal).all()):
            break
        product = apply(direction)
        curvature = dot(direction, product)
        step = xp.where(squared > goal, squared / xp.where(curvature > 0, curvature, 1.0), 0.0)  # converged images stay put
        u += step * direction
        residual -= step * product
        previous, squared = squared, dot(residual, residual)
        direction = residual + xp.where(previous > 0, squared / xp.where(previous > 0, previous, 1.0), 0.0) * direction
    return xp.where(known, target, u.astype(target.dtype))


def poisson_blend_by_definition(target, source, known):
    """The same x̂ for NumPy arrays, one image at a time: the equations (L x)_p = (L g)_p of the hidden pixels p
    written as a dense matrix row by row, the known neighbours moved to the right-hand side, and solved
    with ``numpy.linalg.solve``. Slow; the tests' twin of ``poisson_blend``."""
    _check(target, source, known, "poisson_blend_by_definition")
    out = target.astype(numpy.float64).copy()
    n, h, w, channels = target.shape
    for k in range(n):
        for c in range(channels):
            g, y, hole = source[k, :, :, c].astype(numpy.float64), target[k, :, :, c].astype(numpy.float64), ~known[k, :, :, c]
            pixels = list(zip(*numpy.nonzero(hole)))
            number = {p: row for row, p in enumerate(pixels)}
            matrix, rhs = numpy.zeros((len(pixels), len(pixels))), numpy.zeros(len(pixels))
            for row, (i, j) in enumerate(pixels):
                for a, b in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
                    if not (0 <= a < h and 0 <= b < w):
                        continue                                     # outside the image: not a neighbour
                    matrix[row, row] += 1
                    rhs[row] += g[i, j] - g[a, b]                    # the guidance: g's gradient along ⟨p, q⟩
                    if hole[a, b]:
                        matrix[row, number[(a, b)]] -= 1
                    else:
                        rhs[row] += y[a, b]                          # a known neighbour: its value is fixed
            if pixels:
                out[k, :, :, c][hole] = numpy.linalg.solve(matrix, rhs)
    return out.astype(target.dtype)


__all__ = ["poisson_blend", "poisson_blend_by_definition", "laplacian", "TOLERANCE"]
