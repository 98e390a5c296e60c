"""The context-conditional GAN: Denton, Gross & Fergus 2016, "Semi-Supervised Learning with Context-Conditional
Generative Adversarial Networks" (arXiv:1611.06430), §3.

**The in-painting game** (§3). A square patch at a random place is cut out of a real image x; m is the
binary mask that keeps the rest (1 on the context, 0 in the hole; here M = 1 − m, the hole, as
``minigan/tools/data/transforms.py`` builds it). G sees the context m ⊙ x and draws a whole image
x_G = G(m ⊙ x); only its hole is kept, pasted into the context:

    x_I = (1 − m) ⊙ x_G + m ⊙ x                                   the in-painted image
    min_G max_D  E_{x ~ X}[log D(x)] + E_{x ~ X, m ~ M}[log(1 − D(x_I))]       the CC-GAN objective

D judges whole images, real or completed, never the patch apart from its context: the paper's reason is
that D then cannot win by spotting the seam; it must know what the context implies for the hole. The
context is what distinguishes this from a GAN that samples from noise: the fakes are real images except
in the hole.

**Semi-supervised** (§3): D is also a K-class classifier. It is the semi-supervised GAN's K + 1-class D
(``semi_supervised.py``, Salimans et al. 2016): with class logits l₁ … l_K and the "fake" class's logit
fixed at 0, D(x) = p(real | x) = Z/(Z + 1) = σ(log Z), Z = Σₖ exp lₖ. D's loss is that module's, with the
completed images as the fakes:

    L_D = −E_{(x, y) labelled} log p(y | x, y < K + 1)
          + w · {−E_x log D(x) − E_{x, m} log(1 − D(x_I))},         w = ½ (as ``SemiSupervised``)

and G, which now has no noise to match features with, plays the GAN game itself: the non-saturating
form of the objective (Goodfellow et al. 2014, §3), −E log D(x_I) = E softplus(−log Z(x_I)), through the
frozen D. The gradient reaches G only through the hole: ∂x_I/∂x_G = 1 − m, zero on the context.

**What is adapted to MNIST** (the paper's experiments are STL-10 and PASCAL VOC photographs, with VGG-style
discriminators; it reports no MNIST figure; docs/gan-family.md says more):

* D is the semi-supervised GAN's permutation-invariant MNIST D, unchanged (weight norm, Gaussian noise,
  784 → 1000 → 500 → 250 → 250 → 250 → 10), with its recipe (Adam 0.003, β₁ 0.5, ½ on the unsupervised
  term): the comparison with that GAN and with the same D on the labels alone is then at the same
  classifier, and only the fakes and G's game differ.
* G is that GAN's G (500 softplus → 500 softplus → 784 sigmoid, batch norm, weight norm at the output) with
  the masked image and its hole mask where the noise was, flattened: 2 · 784 inputs. The mask is given
  because on MNIST a hole filled with 0 looks like background, so m ⊙ x alone does not say where the hole
  is. There is no noise z: pix2pix found that G learns to ignore it (Isola et al. 2017, §3.1), and the
  hole's place is the randomness of each fake.
* The hole is a 14 × 14 square (a quarter of the 28 × 28 image) at a place drawn uniformly, a fresh one for
  every fake (the loop draws it where Algorithm 1 draws z: ``sample_noise``).
* ``low_resolution`` = f > 0: the paper's option for large holes, G also gets a low-resolution copy of the
  whole image (here box-downsampled by f, 7 × 7 for f = 4, repeated back to 28 × 28 as a third channel).

Algorithm 1's loop is unchanged: the GAN is ``SemiSupervisedGAN`` (its minibatches: unlabelled images for
D, and a ``Supervision`` whose ``matching`` images are here the images G in-paints), with ``sample_noise``
drawing holes and ``call_generator`` in-painting.
"""

import numpy

from minigan.engine import backend, nn, optim
from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.ops import activations
from minigan.tools.data.transforms import downsample, mask_holes, random_square_holes
from .gan import evaluating
from .objectives import mean_probability
from .semi_supervised import (ADAM_EPS, SemiSupervised, SemiSupervisedGAN, Supervision, real_logit, semi_supervised_discriminator,
                              semi_supervised_generator)

HOLE = 14  # of 28: a quarter of the image's area


class ContextConditional(SemiSupervised):
    """D: ``SemiSupervised``'s loss, the completed images x_I as its fakes; G: −log D(x_I) (non-saturating).

    Args:
        unlabelled_weight: w, as for ``SemiSupervised`` (½; 0 leaves D a classifier of the labels alone).

    Statistics: ``SemiSupervised``'s for D's step (``d_fake`` is the mean D(x_I)); ``d_fake_after``, the
    mean D(x_I) of G's step.
    """

    def generator_loss(self, gan, completed, supervision):
        """mean −log D(x_I) = mean softplus(−s), s = log Z(x_I), through the frozen D."""
        s = real_logit(gan.call_discriminator(completed, supervision))              # log Z(x_I), (m,)
        return activations.softplus(-s).mean(), {"d_fake_after": mean_probability(s)}

    def __repr__(self):
        return f"ContextConditional(unlabelled_weight={self.unlabelled_weight})"


class ContextConditionalGAN(SemiSupervisedGAN):
    """Algorithm 1 on ``SemiSupervisedLoader`` minibatches, G in-painting square holes at random places.

    Args:
        generator: maps G's input (m, H, W, C) to whole images (m, H, W, 1): C = 2 (the context (1 − M) ⊙ x
            and the hole M), 3 with ``low_resolution`` (and the low-resolution copy of x).
        discriminator: a ``SemiSupervisedDiscriminator`` (class logits (m, K)).
        hole: the side of the square hole; ``image_shape``: (H, W) of the images.
        low_resolution: f > 0 gives G a copy of the whole image at 1/f of its resolution (the paper's
            option); 0, none. f must divide H and W.
        generator_optimizer, discriminator_optimizer, seed, objective: as for ``GAN`` (default objective
            ``ContextConditional()``).

    The "noise" of this GAN is the holes: ``sample_noise(m)`` draws m hole masks (m, H, W, 1), from the
    iteration's seeded stream, so a resumed run draws the same holes.
    """

    def __init__(self, generator, discriminator, generator_optimizer, discriminator_optimizer, hole=HOLE, image_shape=(28, 28),
                 low_resolution=0, seed=None, objective=None):
        super().__init__(generator, discriminator, generator_optimizer, discriminator_optimizer, noise_dim=0, seed=seed,
                         objective=ContextConditional() if objective is None else objective)
        if isinstance(low_resolution, bool) or not isinstance(low_resolution, int) or low_resolution < 0 or (
                low_resolution and any(side % low_resolution for side in image_shape)):
            raise ValueError(f"ContextConditionalGAN: low_resolution must be 0 (none) or a factor that divides the image's "
                             f"{image_shape[0]} × {image_shape[1]}, got {low_resolution!r}")
        self.hole, self.image_shape, self.low_resolution = hole, tuple(image_shape), low_resolution
        random_square_holes(0, *self.image_shape, hole, numpy.random.default_rng(0))  # a hole that cannot fit: an error now

    def sample_noise(self, m, rng=None):
        """m hole masks M (m, H, W, 1), float32, 1 in the hole: the m ~ M of the objective (see the class)."""
        rng = backend.default_rng() if rng is None else rng
        be = backend.get_backend()
        holes = random_square_holes(m, *self.image_shape, self.hole, rng, dtype=be.dtype)
        return Tensor(holes if backend.array_module(holes) is be.xp else be.asarray(holes))

    def check_condition(self, supervision, m, method):
        if supervision is None:
            raise TypeError(f"{type(self).__name__}.{method}: a context-conditional G needs the images to in-paint (a "
                            f"Supervision whose matching images they are); for pictures use complete(images, holes)")
        supervision = super().check_condition(supervision, m, method)
        return supervision._replace(matching=backend.get_backend().asarray(supervision.matching))

    def call_generator(self, holes, supervision):
        return self.in_paint(supervision.matching, holes.data)                        # x_I for the images G in-paints

    def generator_input(self, images, holes):
        """G's input: the context (1 − M) ⊙ x and the hole M (and x at 1/f resolution) along channels, an array."""
        parts = [mask_holes(images, holes), holes]
        if self.low_resolution:
            xp, f = backend.array_module(images), self.low_resolution
            parts.append(xp.repeat(xp.repeat(downsample(images, f), f, axis=1), f, axis=2))
        return backend.array_module(images).concatenate(parts, axis=3)

    def in_paint(self, images, holes):
        """x_I = M ⊙ G(…) + (1 − M) ⊙ x: G's whole image kept in the hole only, pasted into the context (a Tensor)."""
        holes = holes.astype(images.dtype, copy=False)
        whole = self.generator(Tensor(self.generator_input(images, holes)))          # x_G, with G's graph
        return whole * Tensor(holes) + Tensor(mask_holes(images, holes))              # only the hole carries G's gradient

    def complete(self, images, holes, batch=1000):
        """The completed images (n, H, W, 1) of ``images`` with ``holes`` (both (n, H, W, 1)), G in evaluation
        mode, without a graph: a NumPy array."""
        be, completed = backend.get_backend(), []
        with evaluating(self.generator), no_grad():
            for start in range(0, len(images), batch):
                part = slice(start, start + batch)
                completed.append(self.in_paint(be.asarray(images[part]), be.asarray(holes[part])).numpy())
        return numpy.concatenate(completed) if completed else numpy.zeros((0, *self.image_shape, 1), numpy.float32)


def context_conditional_generator(channels=2, hidden=500):
    """G: (m, 28, 28, channels) → (m, 28, 28, 1) in (0, 1): the semi-supervised G, its input flattened where z was."""
    return nn.Sequential(nn.Flatten(), *semi_supervised_generator(noise_dim=channels * 28 * 28, hidden=hidden).layers)


def build_context_conditional_gan(init_images, seed=None, lr=0.003, unlabelled_weight=0.5, adam_eps=ADAM_EPS, hole=HOLE,
                                  low_resolution=0):
    """The MNIST CC-GAN of the module docstring: the semi-supervised GAN's D and recipe (D initialised from
    ``init_images``, as ``build_semi_supervised_gan``), G in-painting ``hole`` × ``hole`` squares."""
    generator = context_conditional_generator(channels=3 if low_resolution else 2)
    discriminator = nn.data_dependent_init_(semi_supervised_discriminator(), init_images)
    return ContextConditionalGAN(
        generator, discriminator,
        optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999), eps=adam_eps),
        optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999), eps=adam_eps),
        hole=hole, low_resolution=low_resolution, seed=seed, objective=ContextConditional(unlabelled_weight),
    )


__all__ = ["ContextConditional", "ContextConditionalGAN", "Supervision", "context_conditional_generator",
           "build_context_conditional_gan", "HOLE"]
