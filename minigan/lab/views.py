"""What the page draws, each computed by minigan from the GAN as it is now (after GAN Lab, Kahng et al. 2018, §4).

The distribution view is four layers over the plane [−BOX, BOX]²:

    samples              real points and G's points for a fixed noise batch (``GAN.generate``)
    discriminator_heatmap  D's verdict over the whole plane: the probability "real" σ(D(x)), or a critic's raw score
    generator_gradients  on each of G's points, −∂L_G/∂x: the direction G's loss pushes that point
    manifold             how G maps a regular grid of the noise space (noise dimension 1 or 2)

and the metrics view tracks how far the samples are from the data (``divergences``). Every function here
only *reads* the GAN: no optimiser runs, no ``.grad`` is touched, no running statistic changes; so the
page may draw as often as it likes without changing the run it shows.
"""

import numpy

from minigan.engine import backend
from minigan.engine.autograd import Tensor, grad, no_grad
from minigan.gans.gan import evaluating, frozen
from minigan.gans.objectives import Standard
from .distributions import BOX

HEATMAP_SIZE = 40      # D is evaluated on a HEATMAP_SIZE² grid of cell centres
MANIFOLD_LINES = 21    # grid lines of the noise space drawn through G (noise dimension 2); points per line
MANIFOLD_SPAN = 2.5    # the noise grid covers [−span, span] per dimension: ±2.5 std of z ~ N(0, 1) holds 98.8% of it
DIVERGENCE_BINS = 30   # the histograms the divergences compare: DIVERGENCE_BINS² cells over the box


def samples(gan, noise):
    """G(z) for the fixed ``noise`` (n, noise_dim), as NumPy (n, 2): the "fake samples" layer."""
    return backend.to_numpy(gan.generate(noise).data)


def generator_gradients(gan, fake):
    """−∂L_G/∂x at each of G's points x = G(z) (n, 2): where G's loss pushes that sample.

    L_G is the objective's own ``generator_loss`` (for the non-saturating objective −mean log D(x)), so
    the arrow is what the next G step sends back through x into G's weights (by the chain rule,
    ∂L_G/∂θ = Σᵢ ∂L_G/∂xᵢ · ∂xᵢ/∂θ). The loss is a mean over the n points; the arrows are multiplied by n
    so that each is the push on its own point, whatever n is. D is frozen, as in ``GAN.generator_step``.
    """
    points = Tensor(backend.get_backend().asarray(fake), requires_grad=True)
    with frozen(gan.discriminator):
        loss, _ = gan.objective.generator_loss(gan, points, None)
        (gradient,) = grad(loss, points)
    return -len(fake) * backend.to_numpy(gradient.data)


def grid_points(size=HEATMAP_SIZE):
    """The centres of a size × size grid of cells over [−BOX, BOX]², row by row from the top (y = +BOX) down:
    the order an image's pixels are stored in, so the page paints value i into cell (i // size, i % size)."""
    centres = (numpy.arange(size) + 0.5) / size * 2 * BOX - BOX
    y, x = numpy.meshgrid(centres[::-1], centres, indexing="ij")
    return numpy.stack([x.ravel(), y.ravel()], axis=1).astype(numpy.float32)


def discriminator_heatmap(gan, size=HEATMAP_SIZE):
    """D over the plane: (values (size², ) in the order of ``grid_points``, kind).

    For the standard objective D's output is a logit and the value is σ(D(x)), the probability that x is
    real (kind "probability", in [0, 1]). A critic (WGAN-GP) or a least-squares D returns a raw score,
    shown as it is (kind "score"); the page scales its colours to the scores' range.
    """
    points = Tensor(backend.get_backend().asarray(grid_points(size)))
    with evaluating(gan.discriminator), no_grad():
        scores = gan.call_discriminator(points, None)
        if isinstance(gan.objective, Standard):
            return backend.to_numpy(scores.sigmoid().data).ravel(), "probability"
    return backend.to_numpy(scores.data).ravel(), "score"


def manifold(gan, lines=MANIFOLD_LINES, span=MANIFOLD_SPAN):
    """G applied to a regular grid of the noise space, as polylines in the plane; None above noise dimension 2.

    Noise dimension 1: one polyline, G(z) for z from −span to span. Noise dimension 2: the grid's rows
    and columns, 2·lines polylines of ``lines`` points each. Where G stretches the grid, it spreads a
    little noise over much of the plane (few samples land there); where it folds or squeezes it, samples
    pile up. GAN Lab's "manifold" layer (Kahng et al. 2018, §4.1.1).
    """
    if gan.noise_dim > 2:
        return None
    ticks = numpy.linspace(-span, span, lines, dtype=numpy.float32)
    if gan.noise_dim == 1:
        noise = ticks[:, None]
    else:
        first, second = numpy.meshgrid(ticks, ticks, indexing="ij")
        noise = numpy.stack([first.ravel(), second.ravel()], axis=1)
    mapped = samples(gan, backend.get_backend().asarray(noise))
    if gan.noise_dim == 1:
        return [mapped]
    grid = mapped.reshape(lines, lines, 2)
    return [grid[i] for i in range(lines)] + [grid[:, j] for j in range(lines)]


def histogram(points, bins=DIVERGENCE_BINS):
    """The share of ``points`` (n, 2) in each of bins² cells over [−BOX, BOX]² (points outside go uncounted)."""
    counts, _, _ = numpy.histogram2d(points[:, 0], points[:, 1], bins=bins, range=[[-BOX, BOX], [-BOX, BOX]])
    return counts.ravel() / max(len(points), 1)


def divergences(real, fake, bins=DIVERGENCE_BINS):
    """Estimates of KL(p_data ‖ p_g) and of the Jensen–Shannon divergence, in nats, from two samples.

    Both distributions are replaced by histograms p and q on the same bins² cells (``histogram``); then

        JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m),  m = ½ (p + q)      in [0, ln 2]: 0 for equal histograms
        KL(p ‖ q) = Σ p log(p / q), with q smoothed: q' = (q + ε) / (1 + cells·ε), ε = 1 / (cells · len(fake))

    JS is the divergence the original GAN's D estimates at its optimum (Goodfellow et al. 2014, Theorem 1:
    C(G) = −log 4 + 2·JS). KL(p_data ‖ p_g) is large when G misses modes of the data (a cell of the data
    that G leaves empty costs p log(p/ε)): a mode-collapse alarm. Binned estimates are biased and depend on
    the bins; they are for watching a run change, not for comparing with numbers elsewhere.
    """
    p, q = histogram(real, bins), histogram(fake, bins)
    mixture = 0.5 * (p + q)
    js = 0.5 * _kl(p, mixture) + 0.5 * _kl(q, mixture)
    epsilon = 1.0 / (q.size * max(len(fake), 1))  # a total of one sample's mass, spread over every cell
    smoothed = (q + epsilon) / (1.0 + q.size * epsilon)
    return {"kl": _kl(p, smoothed), "js": js}


def _kl(p, q):
    """Σ p log(p / q) over the cells where p > 0 (0 log 0 = 0); q > 0 there by construction."""
    where = p > 0
    return float(numpy.sum(p[where] * numpy.log(p[where] / q[where])))
