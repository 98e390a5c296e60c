"""Image completion by searching a GAN's latent space: Yeh et al. 2017, "Semantic Image Inpainting with Deep
Generative Models" (CVPR 2017), §3.

A generator G trained on whole images has learnt where images lie: every G(z) looks like one. Given an
image y with some pixels hidden (M the mask of the *known* pixels, M_i = 1 known, 0 hidden), the paper
looks for the G(z) that agrees with y where y is known and that the discriminator D takes for real, and
reads the hidden pixels off it. Nothing is trained: G and D are frozen, only z moves::

    ẑ = argmin_z  L_c(z | y, M) + L_p(z)                                         the search
    L_c(z | y, M) = ‖W ⊙ (G(z) − y)‖₁ = Σ_i W_i |G(z)_i − y_i|                    the contextual loss
    W_i = Σ_{j ∈ N(i)} (1 − M_j) / |N(i)|   if M_i = 1,   0 if M_i = 0             its importance weights
    L_p(z) = λ log(1 − D(G(z)))                                                   the perceptual (prior) loss
    x̂ = M ⊙ y + (1 − M) ⊙ G(ẑ)                                                    the completed image

* **Importance weights.** N(i) is the window × window square around pixel i (the paper's window is 7;
  i itself included, only pixels inside the image counted), so W_i is the fraction of i's neighbours
  that are hidden. A known pixel far from every hole gets weight 0: what matters for filling a hole is
  the context next to it, and a plain L1 over all known pixels would let G(z) trade a good fit at the
  hole's edge for a better one far away. (The paper's released code weights by the fraction of *known*
  neighbours instead; here it is the paper's formula.)
* **Perceptual loss.** log(1 − D(G(z))) falls as D's belief that G(z) is real rises, so the search is
  pulled towards images D takes for real, not only towards ones that match the context; λ weighs the
  two (0.003 in the paper). On D's logit a: log(1 − σ(a)) = −softplus(a), the form computed here (it
  never takes the log of a number rounded to 0).
* **The search.** Gradient descent on z through the frozen networks, with Adam (as the paper's §3 implementation details),
  every image of the batch searched at once: the loss is the sum over the batch of each image's loss,
  and with G and D in evaluation mode (batch norm from its running statistics) image k's loss depends on
  z_k alone, so the sum's gradient with respect to z_k is that of image k's own loss, and Adam, which
  updates each coordinate by itself, makes for each z_k the steps a search of that image alone would.
* **The prior's support.** After every step z is put back where the prior puts it (``project_to_prior``):
  the paper's prior is uniform on [−1, 1]ᵈ and it clips z to that cube. For a normal prior N(0, I)
  (minigan's DCGAN) every z is possible, but in d = 100 dimensions nearly all of the prior's mass lies
  near the sphere ‖z‖ = √d (‖z‖ has mean ≈ √(d − ½) and standard deviation ≈ 1/√2), and G never saw a z
  far from it; z is put back onto that sphere, the normal prior's counterpart of the paper's clipping.

The completed image keeps y's known pixels and takes G(ẑ)'s in the hole; where G(ẑ)'s intensities do
not quite meet y's at the hole's edge, Poisson blending (``minigan/tools/poisson_blending.py``, the
paper's last step) keeps G(ẑ)'s gradients and y's values at the edge instead.

``nearest_neighbour_fill`` is the baseline the example measures the search against: the training image
closest to y on y's known pixels, its pixels pasted into the hole.
"""

from typing import NamedTuple

import numpy

from minigan.engine import backend, optim
from minigan.engine.autograd import no_grad
from minigan.engine.nn.module import Parameter
from minigan.engine.ops import relu, softplus
from minigan.gans.gan import evaluating, frozen

WINDOW = 7             # the side of the neighbourhood N(i) of the importance weights (the paper's 7)
PERCEPTUAL_WEIGHT = 0.003  # λ, the paper's
STEPS = 1500           # the paper's iterations of the search
LEARNING_RATE = 0.1    # Adam's step size for z: the paper gives none (docs/image-completion.md says how this was chosen)
PRIORS = ("normal", "uniform")


# ----- the losses ----------------------------------------------------------------------------------
def _check_known(known, op):
    if getattr(known, "dtype", None) != bool or getattr(known, "ndim", None) != 4:
        raise ValueError(f"{op}: known must be a boolean array (n, H, W, C), True on the known pixels, got "
                         f"{getattr(known, 'dtype', type(known).__name__)} of shape {getattr(known, 'shape', None)}")


def importance_weights(known, window=WINDOW, dtype=numpy.float32):
    """W (n, H, W, C) of ``dtype``: for a known pixel i, the fraction of the window × window square around it
    (inside the image) that is hidden; 0 on the hidden pixels.

    The counts are sums over the window's offsets, one shifted slice each, of the hidden pixels and of
    the pixels inside the image (both zero-padded by window // 2), as the morphology of
    ``minigan/tools/data/transforms.py`` does: window² array passes, no loop over images or pixels.
    """
    _check_known(known, "importance_weights")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1 or window % 2 == 0:
        raise ValueError(f"importance_weights: window must be an odd positive int (the square is centred on the pixel), got {window!r}")
    xp = backend.array_module(known)
    _, h, w, _ = known.shape
    r = window // 2
    padding = ((0, 0), (r, r), (r, r), (0, 0))
    hidden = xp.pad((~known).astype(dtype), padding)                     # (n, H + 2r, W + 2r, C), 0 outside the image
    inside = xp.pad(xp.ones((1, h, w, 1), dtype), padding)               # 1 on the image, 0 around it
    missing, neighbours = xp.zeros(known.shape, dtype), xp.zeros((1, h, w, 1), dtype)
    for dy in range(window):
        for dx in range(window):
            missing += hidden[:, dy : dy + h, dx : dx + w, :]               # hidden pixels of the square around (i, j)
            neighbours += inside[:, dy : dy + h, dx : dx + w, :]            # |N(i)|: its pixels inside the image
    return known.astype(dtype) * missing / neighbours


def importance_weights_by_definition(known, window=WINDOW):
    """The weights of one mask ``known`` (H, W) (NumPy bool) as the paper writes them, pixel by pixel: the
    slow twin of ``importance_weights``, for the tests."""
    h, w = known.shape
    r = window // 2
    weights = numpy.zeros((h, w))
    for i in range(h):
        for j in range(w):
            if known[i, j]:
                square = known[max(i - r, 0) : i + r + 1, max(j - r, 0) : j + r + 1]
                weights[i, j] = (~square).sum() / square.size
    return weights


def contextual_loss(generated, target, weights):
    """L_c = Σ_i W_i |G(z)_i − y_i| per image: a Tensor (m,) from ``generated`` (a Tensor (m, H, W, C)), ``target``
    y and ``weights`` W (arrays of the same shape). |d| is written relu(d) + relu(−d), whose derivative
    at d = 0 is 0 (ReLU's at its kink), a subgradient of |d| there."""
    difference = generated - target
    absolute = relu(difference) + relu(-difference)
    return (absolute * weights).reshape(generated.shape[0], -1).sum(axis=1)


def perceptual_loss(logits, weight=PERCEPTUAL_WEIGHT):
    """L_p = λ log(1 − D(G(z))) per image, a Tensor (m,) from D's ``logits`` a (a Tensor (m, 1)): with
    D = σ(a), log(1 − σ(a)) = −softplus(a)."""
    return softplus(logits).reshape(logits.shape[0]) * (-weight)


# ----- the search ----------------------------------------------------------------------------------
def project_to_prior(z, prior):
    """Put each row of the array ``z`` (m, d) back on the prior's support, in place: clipped to [−1, 1] for
    "uniform" (the paper's), scaled onto the sphere ‖z‖ = √d for "normal" (see the module docstring)."""
    xp = backend.array_module(z)
    if prior == "uniform":
        xp.clip(z, -1, 1, out=z)
    elif prior == "normal":
        norms = xp.sqrt((z * z).sum(axis=1, keepdims=True))            # (m, 1)
        z *= z.dtype.type(numpy.sqrt(z.shape[1])) / xp.maximum(norms, z.dtype.type(1e-12))
    else:
        raise ValueError(f"project_to_prior: prior must be one of {PRIORS}, got {prior!r}")
    return z


class Completion(NamedTuple):
    """What ``search_latent`` found: ``z`` (m, d), ``generated`` = G(z) (m, H, W, C) in G's range, each image's
    ``contextual`` and ``perceptual`` loss at z (m,), all arrays of the current backend; ``history``:
    {"step", "contextual", "perceptual", "d_fake"} as lists, the batch means every ``log_every`` steps."""

    z: object
    generated: object
    contextual: object
    perceptual: object
    history: dict


def search_latent(generator, discriminator, target, known, z, steps=STEPS, weight=PERCEPTUAL_WEIGHT, lr=LEARNING_RATE,
                  prior="normal", window=WINDOW, log=None, log_every=100):
    """ẑ = argmin_z L_c(z | y, M) + L_p(z) by Adam on z, projected onto the prior after every step.

    Args:
        generator, discriminator: G (noise (m, d) → images) and D (images → logits (m, 1)); frozen and in
            evaluation mode for the search, and given back as they were.
        target: y, the images (m, H, W, C) in G's output range, on the current backend (hidden pixels
            may hold anything: they are weighted 0).
        known: M, a boolean array of y's shape, True on the known pixels.
        z: the starting points (m, d), drawn from the prior (not changed: the search works on a copy).
        steps, weight, lr, window: iterations, λ, Adam's step size, the side of N(i).
        prior: "normal" or "uniform", G's noise distribution (``GAN.noise``): where z is kept.
        log: called with a progress line every ``log_every`` steps (None: silent).

    Returns a ``Completion``.
    """
    if prior not in PRIORS:
        raise ValueError(f"search_latent: prior must be one of {PRIORS}, got {prior!r}")
    if target.shape != known.shape:
        raise ValueError(f"search_latent: target and known must have the same shape, got {target.shape} and {known.shape}")
    weights = importance_weights(known, window, dtype=target.dtype)
    code = Parameter(project_to_prior(z.astype(target.dtype, copy=True), prior))    # (m, d): the only thing that moves
    optimizer = optim.Adam([code], lr=lr)
    history = {"step": [], "contextual": [], "perceptual": [], "d_fake": []}
    with evaluating(generator), evaluating(discriminator), frozen(generator), frozen(discriminator):
        for step in range(1, steps + 1):
            optimizer.zero_grad()
            generated = generator(code)
            logits = discriminator(generated)
            contextual, perceptual = contextual_loss(generated, target, weights), perceptual_loss(logits, weight)
            (contextual + perceptual).sum().backward()    # image k's loss depends on z_k alone (see the docstring)
            optimizer.step()
            project_to_prior(code.data, prior)
            if step % log_every == 0 or step == steps:
                record(history, step, contextual, perceptual, logits, log)
        with no_grad():
            generated = generator(code)
            logits = discriminator(generated)
            contextual, perceptual = contextual_loss(generated, target, weights), perceptual_loss(logits, weight)
    return Completion(code.data, generated.data, contextual.data, perceptual.data, history)


def record(history, step, contextual, perceptual, logits, log):
    """Append the batch means at ``step`` to ``history`` (one device→host copy each) and log a line."""
    d_fake = float((1 / (1 + numpy.exp(-backend.to_numpy(logits.data).astype(numpy.float64)))).mean())
    values = {"step": step, "contextual": float(contextual.data.mean()), "perceptual": float(perceptual.data.mean()), "d_fake": d_fake}
    for key, value in values.items():
        history[key].append(value)
    if log:
        log(f"  step {step}: contextual loss {values['contextual']:.3f}, perceptual loss {values['perceptual']:.5f}, "
            f"mean D(G(z)) {d_fake:.3f}")


def completed(target, known, generated):
    """x̂ = M ⊙ y + (1 − M) ⊙ G(ẑ): y's known pixels, G(ẑ)'s in the hole (arrays of one shape)."""
    return backend.array_module(target).where(known, target, generated)


# ----- the baseline --------------------------------------------------------------------------------
def nearest_neighbour_fill(target, known, images, chunk=10000):
    """Fill each hole with the pixels of the image of ``images`` nearest to y on y's own known pixels.

    Args:
        target, known: y and M as for ``search_latent`` (m, H, W, C), NumPy arrays.
        images: the candidates (N, H, W, C), a NumPy array (the training set).
        chunk: candidates compared at once (memory: m × chunk floats).

    Returns (filled (m, H, W, C), index (m,)): M ⊙ y + (1 − M) ⊙ x_k with k = argmin_k Σ_i M_i (y_i − x_k,i)².
    The distance of every pair is three matrix products, Σ M y² − 2 (M ⊙ y)·x_k + M·x_k², on
    float64 copies (a difference of large, nearly equal sums in float32 would misorder close candidates).
    """
    m = len(target)
    mask = known.reshape(m, -1).astype(numpy.float64)                                    # (m, P)
    masked = mask * target.reshape(m, -1)                                                 # (m, P)
    own = (masked * target.reshape(m, -1)).sum(axis=1, keepdims=True)                    # (m, 1): Σ M y²
    best, index = numpy.full(m, numpy.inf), numpy.zeros(m, numpy.int64)
    for start in range(0, len(images), chunk):
        candidates = images[start : start + chunk].reshape(-1, mask.shape[1]).astype(numpy.float64)   # (c, P)
        distances = own - 2 * masked @ candidates.T + mask @ (candidates * candidates).T            # (m, c)
        nearest = distances.argmin(axis=1)
        closer = distances[numpy.arange(m), nearest] < best
        best[closer], index[closer] = distances[numpy.arange(m), nearest][closer], start + nearest[closer]
    return numpy.where(known, target, images[index]), index


__all__ = ["importance_weights", "importance_weights_by_definition", "contextual_loss", "perceptual_loss", "project_to_prior",
           "search_latent", "Completion", "completed", "nearest_neighbour_fill", "WINDOW", "PERCEPTUAL_WEIGHT", "STEPS",
           "LEARNING_RATE", "PRIORS"]
