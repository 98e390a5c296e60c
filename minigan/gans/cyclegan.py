"""CycleGAN: Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks".

An *unpaired* translation between two domains X and Y (here thin and thick strokes, made from disjoint
halves of MNIST, so no image has its partner): two generators G: X → Y and F: Y → X, and two
discriminators, D_Y (real y against G(x)) and D_X (real x against F(y)). Adversarial losses alone would
let G map every x to *some* plausible y, unrelated to x; the cycle-consistency loss asks that translating
there and back returns the input (§3.2, eq. 2). The full objective (§3.3, eq. 3), with λ = 10::

    L(G, F, D_X, D_Y) = L_GAN(G, D_Y, X, Y) + L_GAN(F, D_X, Y, X) + λ·L_cyc(G, F)
    L_cyc(G, F)       = E_x[‖F(G(x)) − x‖₁] + E_y[‖G(F(y)) − y‖₁]                 (2)

with the least-squares adversarial losses of Mao et al. 2017 in place of the log-likelihood (§4,
"Training details": "more stable during training and generates higher quality results")::

    D_Y minimises  E_y[(D_Y(y) − 1)²] + E_x[D_Y(G(x))²]         G minimises  E_x[(D_Y(G(x)) − 1)²]
    D_X minimises  E_x[(D_X(x) − 1)²] + E_y[D_X(F(y))²]         F minimises  E_y[(D_X(F(y)) − 1)²]

and the identity loss of §5.2 (after Taigman et al. 2017), weighted 0.5·λ: a generator handed an image
already in its output domain should leave it alone, E_y[‖G(y) − y‖₁] + E_x[‖F(x) − x‖₁]. Each D loss is
halved, as in the authors' code ("we divide the objective by 2 while optimizing D").

How it runs on Algorithm 1's loop (``ImageToImageGAN``, ``GAN.train_iteration``): G and F are one
``generator`` module (``CycleGenerators``) with one Adam over both, D_X and D_Y one ``discriminator``
module (``CycleDiscriminators``) with one Adam over both, as in the authors' code. Their parameters are
disjoint and Adam is per-parameter, so one step on the sum of the two losses is the same as a step on
each. A minibatch is ``Pair(source = x from X, target = y from Y)``; the fakes of a step are the
``Pair(F(y), G(x))``, each domain's fakes in its slot, and the objective judges each slot by its own D,
with the least-squares losses of ``minigan/gans/least_squares.py`` (Mao et al. 2017's a = 0, b = c = 1).
D's step, G's step through the frozen Ds, the reseeding and the checkpoints are then ``GAN``'s.

Left out, and why: the authors' buffer of the 50 last fakes for D's updates (Shrivastava et al. 2017) —
it would be training state outside ``GAN``'s checkpoint; reflection padding (minigan's conv pads with
zeros); the learning-rate decay over the last 100 of 200 epochs (runs here are a few minutes).

Networks, scaled down from the paper's (Appendix 7.2) for 28×28 digits, instance norm throughout:

    G, F: c7s1-k, d2k, R2k × blocks, u k, c3s1-1 (tanh): conv k7 → IN → ReLU, conv k3 s2 → IN → ReLU,
          residual blocks at 14×14, conv-transpose k3 s2 → IN → ReLU, conv k3 → tanh. The paper's output
          conv is k7; with k channels in, its im2col holds 49·k values per output pixel, which made it
          the costliest layer of the network here, so it is k3
    D_X, D_Y: PatchGAN C64 (no norm) → C128 (IN) → 1×1 conv (``pix2pix.patch_discriminator``'s shape)
"""

from minigan.engine import nn, optim
from minigan.engine.nn.residual import normalisation
from .image_to_image import ImageToImageGAN, Pair, l1_loss
from .least_squares import LeastSquares

CYCLE_WEIGHT = 10.0      # λ of eq. 3
IDENTITY_WEIGHT = 0.5    # the identity loss's weight, as a fraction of λ (§5.2: 0.5λ)


class CycleGenerators(nn.Module):
    """G: X → Y (``forward``, ``g``) and F: Y → X (``f``), trained together."""

    def __init__(self, g, f):
        self.g, self.f = g, f

    def forward(self, x):
        return self.g(x)


class CycleDiscriminators(nn.Module):
    """D_X, which judges images of X, and D_Y, which judges images of Y."""

    def __init__(self, d_x, d_y):
        self.d_x, self.d_y = d_x, d_y

    def forward(self, images):
        raise TypeError("CycleDiscriminators: call d_x or d_y (or CycleGAN.call_discriminator on a Pair of images)")


class CycleGAN(ImageToImageGAN):
    """``ImageToImageGAN`` with two of each network: the fakes are Pair(F(y), G(x)), and each D judges its domain."""

    def __init__(self, generators, discriminators, generator_optimizer, discriminator_optimizer, objective=None,
                 discriminator_steps=1, seed=None):
        if not isinstance(generators, CycleGenerators) or not isinstance(discriminators, CycleDiscriminators):
            raise TypeError("CycleGAN: expected a CycleGenerators(g, f) and a CycleDiscriminators(d_x, d_y), got "
                            f"{type(generators).__name__} and {type(discriminators).__name__}")
        super().__init__(generators, discriminators, generator_optimizer, discriminator_optimizer,
                         objective=objective or CycleConsistent(), discriminator_steps=discriminator_steps, seed=seed)

    def call_generator(self, noise, pair):
        return Pair(self.generator.f(pair.target), self.generator.g(pair.source))  # (F(y), G(x)): fakes of X and of Y

    def call_discriminator(self, images, pair):
        return Pair(self.discriminator.d_x(images.source), self.discriminator.d_y(images.target))  # (D_X(x'), D_Y(y'))


class CycleConsistent:
    """The objective of eq. 3: least-squares GAN losses for both directions, λ·L_cyc and the identity loss.

    Args:
        cycle_weight: λ (10 in the paper).
        identity_weight: the identity loss's weight as a fraction of λ (0.5 in §5.2; 0 leaves it out).

    Statistics (0-d arrays on the device, as ``Standard``'s): ``d_real``, ``d_fake`` the mean D output on real and on fake images of both domains (an
    LSGAN D aims at 1 and 0); ``cycle``, the mean of the two cycle L1 errors; ``identity``; ``d_fake_after``.
    """

    def __init__(self, cycle_weight=CYCLE_WEIGHT, identity_weight=IDENTITY_WEIGHT):
        if not cycle_weight >= 0 or not identity_weight >= 0:
            raise ValueError(f"CycleConsistent: the weights must be ≥ 0, got cycle_weight={cycle_weight!r}, identity_weight={identity_weight!r}")
        self.cycle_weight, self.identity_weight = float(cycle_weight), float(identity_weight)
        self.least_squares = LeastSquares.coding("0-1")  # a = 0 for fakes, b = c = 1 for real (Mao et al. 2017, eq. 9)

    def discriminator_loss(self, gan, real, fake, pair):
        """½[(D_Y(y) − 1)² + D_Y(G(x))²] + ½[(D_X(x) − 1)² + D_X(F(y))²], each averaged over patches and images:
        ``LeastSquares``' D loss (``minigan/gans/least_squares.py``) for each domain's D."""
        d_x, d_y = gan.discriminator.d_x, gan.discriminator.d_y
        loss_y, stats_y = self.least_squares.discriminator_loss(OneDomain(d_y), pair.target, fake.target)  # D_Y: y against G(x)
        loss_x, stats_x = self.least_squares.discriminator_loss(OneDomain(d_x), pair.source, fake.source)  # D_X: x against F(y)
        return loss_y + loss_x, {name: (stats_y[name] + stats_x[name]) / 2 for name in ("d_real", "d_fake")}

    def cycle_loss(self, gan, fake, pair):
        """L_cyc = mean |F(G(x)) − x| + mean |G(F(y)) − y| (eq. 2), from the fakes (F(y), G(x))."""
        return l1_loss(gan.generator.f(fake.target), pair.source) + l1_loss(gan.generator.g(fake.source), pair.target)

    def identity_loss(self, gan, pair):
        """mean |G(y) − y| + mean |F(x) − x| (§5.2)."""
        return l1_loss(gan.generator.g(pair.target), pair.target) + l1_loss(gan.generator.f(pair.source), pair.source)

    def generator_loss(self, gan, fake, pair):
        """(D_Y(G(x)) − 1)² + (D_X(F(y)) − 1)² + λ·L_cyc + identity_weight·λ·L_identity, through the frozen Ds.

        Each adversarial term is twice ``LeastSquares``' G loss ½(D(·) − 1)²: Zhu et al. write it without the ½.
        """
        adversarial_y, stats_y = self.least_squares.generator_loss(OneDomain(gan.discriminator.d_y), fake.target)  # G's
        adversarial_x, stats_x = self.least_squares.generator_loss(OneDomain(gan.discriminator.d_x), fake.source)  # F's
        loss = 2.0 * (adversarial_y + adversarial_x)
        cycle = self.cycle_loss(gan, fake, pair)
        loss = loss + self.cycle_weight * cycle
        stats = {"d_fake_after": (stats_y["d_fake_after"] + stats_x["d_fake_after"]) / 2, "cycle": cycle.data / 2}
        if self.identity_weight:
            identity = self.identity_loss(gan, pair)
            loss = loss + self.identity_weight * self.cycle_weight * identity
            stats["identity"] = identity.data / 2
        return loss, stats

    def __repr__(self):
        return f"CycleConsistent(cycle_weight={self.cycle_weight!r}, identity_weight={self.identity_weight!r})"


class OneDomain:
    """One direction of a CycleGAN as a one-D objective sees a GAN (``LeastSquares`` here, the Wasserstein
    critic loss in ``dualgan.py``): its discriminator is that domain's D."""

    def __init__(self, discriminator):
        self.discriminator = discriminator

    def call_discriminator(self, images, condition=None):
        return self.discriminator(images)


def resnet_generator(channels=1, width=32, blocks=3, norm="instance"):
    """G or F for 28×28: c7s1-w, d2w (28 → 14), R2w × blocks, u w (14 → 28), c3s1-channels, tanh (Appendix 7.2).

    ``norm``: "instance" (the paper's), "batch" or None, after every conv but the last.
    """
    def norm_layer(width):
        layer = normalisation(norm, width)
        return [layer] if layer is not None else []

    bias = norm is None
    return nn.Sequential(
        nn.Conv2d(channels, width, 7, padding=3, bias=bias), *norm_layer(width), nn.ReLU(),                  # (m, 28, 28, w)
        nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=bias), *norm_layer(2 * width), nn.ReLU(),   # (m, 14, 14, 2w)
        *[nn.ResidualBlock(2 * width, norm=norm) for _ in range(blocks)],                                   # (m, 14, 14, 2w)
        nn.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, output_padding=1, bias=bias),          # (m, 28, 28, w)
        *norm_layer(width), nn.ReLU(),
        nn.Conv2d(width, channels, 3, padding=1), nn.Tanh(),                                                # (m, 28, 28, channels)
    )


def patch_critic(channels=1, widths=(64, 128), norm="instance"):
    """PatchGAN D_X or D_Y: C64 (no norm) → C128 (``norm``) → one score per 10 × 10 patch, no sigmoid (LSGAN)."""
    first, second = widths
    layer = normalisation(norm, second)
    return nn.Sequential(
        nn.Conv2d(channels, first, 4, stride=2, padding=1), nn.LeakyReLU(0.2),                   # (m, 14, 14, C64)
        nn.Conv2d(first, second, 4, stride=2, padding=1, bias=layer is None),                    # (m, 7, 7, C128)
        *([layer] if layer is not None else []), nn.LeakyReLU(0.2),
        nn.Conv2d(second, 1, 1),                                                                 # (m, 7, 7, 1)
    )


def cycle_networks(channels=1, width=32, blocks=3, patch_widths=(64, 128), generator_norm="instance", discriminator_norm="instance"):
    """(CycleGenerators(G, F), CycleDiscriminators(D_X, D_Y)) for 28×28 images, weights N(0, 0.02): CycleGAN's
    networks, and DualGAN's (``dualgan.py``), drawn in this order from the current seed."""
    generators = CycleGenerators(nn.init.normal_weights_(resnet_generator(channels, width, blocks, generator_norm)),
                                 nn.init.normal_weights_(resnet_generator(channels, width, blocks, generator_norm)))
    discriminators = CycleDiscriminators(nn.init.normal_weights_(patch_critic(channels, patch_widths, discriminator_norm)),
                                         nn.init.normal_weights_(patch_critic(channels, patch_widths, discriminator_norm)))
    return generators, discriminators


def build_cyclegan(channels=1, width=32, blocks=3, patch_widths=(64, 128), cycle_weight=CYCLE_WEIGHT,
                   identity_weight=IDENTITY_WEIGHT, lr=2e-4, generator_norm="instance", discriminator_norm="instance", seed=None):
    """CycleGAN for 1-channel 28×28 images in [−1, 1]: weights N(0, 0.02), Adam(α = 2e-4, β₁ = 0.5) (§4)."""
    generators, discriminators = cycle_networks(channels, width, blocks, patch_widths, generator_norm, discriminator_norm)
    return CycleGAN(
        generators, discriminators,
        optim.Adam(generators.parameters(), lr=lr, betas=(0.5, 0.999)),
        optim.Adam(discriminators.parameters(), lr=lr, betas=(0.5, 0.999)),
        objective=CycleConsistent(cycle_weight, identity_weight), seed=seed,
    )


__all__ = ["CycleGAN", "CycleConsistent", "CycleGenerators", "CycleDiscriminators", "OneDomain", "resnet_generator", "cycle_networks",
           "patch_critic", "build_cyclegan", "CYCLE_WEIGHT", "IDENTITY_WEIGHT"]
