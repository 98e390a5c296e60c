"""CoGAN: Liu & Tuzel 2016, "Coupled Generative Adversarial Networks".

A *joint* distribution of images in two domains, learnt from samples of each domain alone: no training
image has its partner in the other domain (here the two halves of MNIST's training images, the second
half made into edge maps or negatives). Two GANs, GAN₁ = (g₁, f₁) for domain 1 and GAN₂ = (g₂, f₂) for
domain 2, play side by side; what couples them is weight sharing (§3):

* g₁ and g₂ share their first layers, which "decode high-level semantics", and keep their own last
  layers, which "decode low-level details": one z drawn into both makes a *pair* of images with the same
  content rendered in each domain's way;
* f₁ and f₂ keep their own first layers, which extract low-level features, and share their last layers;
  the paper finds this sharing matters far less than G's (§4) but reduces D's parameters.

The game (§3, eq. 4) is the sum of the two GANs' games, with one z for both generators::

    max_{g₁,g₂} min_{f₁,f₂}  V(f₁, f₂, g₁, g₂) ≡ E_{x₁~p_X₁}[−log f₁(x₁)] + E_{z~p_Z}[−log(1 − f₁(g₁(z)))]
                                             + E_{x₂~p_X₂}[−log f₂(x₂)] + E_{z~p_Z}[−log(1 − f₂(g₂(z)))]

and the paper's Algorithm 1 is Goodfellow et al.'s with both pairs updated at once: draw x₁ from domain
1, x₂ from domain 2 and m noise vectors z; update f₁ and f₂ on the sum of their losses; draw new z; update
g₁ and g₂ on the sum of theirs. Why it learns a joint distribution without pairs (§3): each GAN alone
would be content with any g_i(z) of its domain; but the shared layers mean g₁ and g₂ are one network up
to their last layers, and the cheapest way for one network to satisfy both discriminators is to render
one content two ways, which is the joint distribution when the domains differ in low-level details only.

How it runs on Algorithm 1's loop (``GAN.train_iteration``, ``minigan/gans/gan.py``), unchanged:

* a minibatch of the joint model is one array (m, H, W, 2): domain 1 in channel 0, domain 2 in channel 1.
  Real minibatches put an image of each half side by side (unrelated digits); G's put the pair g₁(z),
  g₂(z) there. The objective never compares the two channels of a row, so which real images share a row
  does not matter;
* ``CoupledGenerators`` is G: z → [g₁(z), g₂(z)], the shared layers run once on z and both heads read
  their output, so backward adds both heads' gradients into the shared weights;
* ``CoupledDiscriminators`` is D: [x₁, x₂] → logits (m, 2), f₁(x₁) in column 0 and f₂(x₂) in column 1,
  the shared layers called once per domain (two discriminators with tied weights; a batch norm among
  them normalises each domain's minibatch by its own statistics, as two separate networks would);
* ``Coupled`` is the objective of eq. 4: the sum over the two domains of a one-GAN objective
  (``Standard``, ``minigan/gans/objectives.py``), each GAN judged by its own column of D.

So the freeze of D in G's step, the k D steps, the reseeding and the checkpoints are ``GAN``'s. With the
default non-saturating G loss (§3 of Goodfellow et al. 2014), G's step descends −log f₁(g₁(z)) −
log f₂(g₂(z)) rather than eq. 4's log(1 − f_i(g_i(z))): the same fixed point, stronger early gradients.

Networks: the DCGAN of ``minigan/gans/models.py`` (``dcgan_generator``, ``dcgan_discriminator``) cut at the
paper's sharing points for its digit experiments: G shares everything but its last layer (the
conv-transpose to one channel and tanh), D everything but its first (the conv from one channel).
``share=False`` builds the same layers with nothing shared: two independent GANs trained side by side,
the end point of the paper's §4 study of how many layers to share, whose pairs are unrelated.
"""

from minigan.engine import nn, optim
from minigan.engine.ops import concatenate
from .gan import GAN
from .objectives import Standard

NOISE_DIM = 100
DOMAINS = 2


class CoupledGenerators(nn.Module):
    """G: z (m, noise_dim) → [g₁(z), g₂(z)] (m, H, W, 2), g_i = head_i ∘ shared.

    Args:
        shared: the layers g₁ and g₂ share (an empty ``nn.Sequential()`` shares none).
        first, second: each domain's own last layers, ending in one channel.
    """

    def __init__(self, shared, first, second):
        self.shared, self.first, self.second = shared, first, second

    def forward(self, z):
        features = self.shared(z)  # once: both heads read the same tensor, so its gradient is the sum of theirs
        return concatenate([self.first(features), self.second(features)], axis=3)  # (m, H, W, 2): g₁(z), g₂(z)

    def domain(self, z, which):
        """g₁(z) (which = 0) or g₂(z) (which = 1) alone, (m, H, W, 1)."""
        return (self.first, self.second)[which](self.shared(z))


class CoupledDiscriminators(nn.Module):
    """D: [x₁, x₂] (m, H, W, 2) → [f₁(x₁), f₂(x₂)] (m, 2) logits, f_i = shared ∘ head_i.

    Args:
        first, second: each domain's own first layers, taking one channel.
        shared: the layers f₁ and f₂ share, ending in one logit per image (empty: none shared).
    """

    def __init__(self, first, second, shared):
        self.first, self.second, self.shared = first, second, shared

    def forward(self, images):
        return concatenate([self.domain(images[..., 0:1], 0), self.domain(images[..., 1:2], 1)], axis=1)

    def domain(self, images, which):
        """f₁(x₁) (which = 0) or f₂(x₂) (which = 1): one domain's images (m, H, W, 1) → logits (m, 1)."""
        return self.shared((self.first, self.second)[which](images))


class CoGAN(GAN):
    """``GAN`` whose G is a ``CoupledGenerators`` and D a ``CoupledDiscriminators``, with the objective of eq. 4.

    Args are ``GAN``'s; ``objective`` defaults to ``Coupled()``. ``output_range`` is the heads' (tanh: (−1, 1)).
    """

    def __init__(self, generators, discriminators, generator_optimizer, discriminator_optimizer, noise_dim=NOISE_DIM,
                 objective=None, seed=None):
        if not isinstance(generators, CoupledGenerators) or not isinstance(discriminators, CoupledDiscriminators):
            raise TypeError("CoGAN: expected a CoupledGenerators(shared, first, second) and a CoupledDiscriminators(first, "
                            f"second, shared), got {type(generators).__name__} and {type(discriminators).__name__}")
        super().__init__(generators, discriminators, generator_optimizer, discriminator_optimizer, noise_dim,
                         objective=objective or Coupled(), seed=seed)
        self.output_range = (-1.0, 1.0) if _ends_in_tanh(generators.first) and _ends_in_tanh(generators.second) else None


class Coupled:
    """Eq. 4: the sum over the two domains of one GAN's objective, GAN_i judged by column i of D's logits.

        D's loss = Σ_i [−log f_i(x_i) − log(1 − f_i(g_i(z)))]        G's loss = Σ_i −log f_i(g_i(z))

    (G's minimax form Σ_i log(1 − f_i(g_i(z))) with ``Standard("minimax")``.) Each term is the one-GAN
    objective's own loss on that domain's channel of the minibatch, so every formula of ``Standard`` holds
    per domain. Statistics: ``d_real``, ``d_fake``, ``d_fake_after`` averaged over the two domains, and each
    domain's own as ``d_real_1``, ``d_real_2``, ….

    Args:
        objective: the one-GAN objective (default ``Standard()``, non-saturating).
    """

    def __init__(self, objective=None):
        self.objective = Standard() if objective is None else objective
        if getattr(self.objective, "after_discriminator_step", None) is not None:  # it would act on D's every column at once
            raise ValueError(f"Coupled: objective must have no after_discriminator_step, got {self.objective!r}")

    def discriminator_loss(self, gan, real, fake, condition=None):
        """Σ_i the one-GAN D loss on (x_i, g_i(z))."""
        return self._summed(gan, lambda domain, i: self.objective.discriminator_loss(domain, real[..., i:i + 1], fake[..., i:i + 1]))

    def generator_loss(self, gan, fake, condition=None):
        """Σ_i the one-GAN G loss on g_i(z), through the frozen f_i."""
        return self._summed(gan, lambda domain, i: self.objective.generator_loss(domain, fake[..., i:i + 1]))

    def _summed(self, gan, loss_of):
        """Σ_i loss_of(GAN_i, i), and the statistics: each name averaged over the domains, and each domain's own."""
        total, per_domain = None, []
        for i in range(DOMAINS):
            loss, stats = loss_of(_Domain(gan, i), i)
            total = loss if total is None else total + loss
            per_domain.append(stats)
        stats = {name: sum(s[name] for s in per_domain) / DOMAINS for name in per_domain[0]}  # on the device, no copy
        for i, s in enumerate(per_domain, start=1):
            stats.update({f"{name}_{i}": value for name, value in s.items()})
        return total, stats

    def __repr__(self):
        return f"Coupled({self.objective!r})"


class _Domain:
    """GAN_i as a one-GAN objective sees it: its discriminator is f_i, and the counters are the CoGAN's."""

    def __init__(self, gan, which):
        self.gan, self.which = gan, which
        self.discriminator_step_count = gan.discriminator_step_count

    def call_discriminator(self, images, condition=None):
        return self.gan.discriminator.domain(images, self.which)


def _ends_in_tanh(head):
    layers = head.layers if isinstance(head, nn.Sequential) else []
    return bool(layers) and isinstance(layers[-1], nn.Tanh)


# ----- the networks -----------------------------------------------------------------------------------
def coupled_generators(noise_dim=NOISE_DIM, width=32, share=True):
    """g₁, g₂ for 28×28: DCGAN's G (z → dense 7·7·2w → BN → ReLU → convT 2w→w → BN → ReLU → convT w→1 → tanh)
    with everything but the last convT shared (``share=False``: nothing shared)."""
    def trunk():
        return nn.Sequential(
            nn.Linear(noise_dim, 7 * 7 * 2 * width, bias=False), nn.Reshape(7, 7, 2 * width),    # (m, 7, 7, 2w)
            nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),            # (m, 14, 14, w)
            nn.BatchNorm2d(width), nn.ReLU(),
        )

    def head():
        return nn.Sequential(nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1), nn.Tanh())   # (m, 28, 28, 1)

    if share:
        return CoupledGenerators(trunk(), head(), head())
    return CoupledGenerators(nn.Sequential(), nn.Sequential(*trunk().layers, *head().layers),
                             nn.Sequential(*trunk().layers, *head().layers))


def coupled_discriminators(width=32, share=True):
    """f₁, f₂ for 28×28: DCGAN's D (conv 1→w k4 s2 → LeakyReLU → conv w→2w → BN → LeakyReLU → dense → 1)
    with everything but the first conv shared (``share=False``: nothing shared)."""
    def head():
        return nn.Sequential(nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2))     # (m, 14, 14, w)

    def trunk():
        return nn.Sequential(
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),                     # (m, 7, 7, 2w)
            nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(7 * 7 * 2 * width, 1),                                       # (m, 1)
        )

    if share:
        return CoupledDiscriminators(head(), head(), trunk())
    return CoupledDiscriminators(nn.Sequential(*head().layers, *trunk().layers), nn.Sequential(*head().layers, *trunk().layers),
                                 nn.Sequential())


def build_cogan(noise_dim=NOISE_DIM, width=32, share=True, lr=2e-4, seed=None):
    """CoGAN for pairs of 1-channel 28×28 images in [−1, 1]: weights N(0, 0.02), Adam(α = 2e-4, β₁ = 0.5) for
    G and for D (DCGAN's recipe; the paper trains its digit CoGAN with Adam too)."""
    generators = nn.init.normal_weights_(coupled_generators(noise_dim, width, share))
    discriminators = nn.init.normal_weights_(coupled_discriminators(width, share))
    return CoGAN(generators, discriminators, optim.Adam(generators.parameters(), lr=lr, betas=(0.5, 0.999)),
                 optim.Adam(discriminators.parameters(), lr=lr, betas=(0.5, 0.999)), noise_dim, seed=seed)


__all__ = ["CoGAN", "Coupled", "CoupledGenerators", "CoupledDiscriminators", "coupled_generators", "coupled_discriminators",
           "build_cogan", "NOISE_DIM"]
