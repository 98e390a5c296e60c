"""DualGAN: Yi, Zhang, Tan & Gong 2017, "DualGAN: Unsupervised Dual Learning for Image-to-Image Translation".

The same unpaired task as CycleGAN (``cyclegan.py``), from the same year and the same idea: two
translators, G_A: U → V (the "primal" task) and G_B: V → U (the "dual" task), each with its own
discriminator, D_A judging images of V and D_B images of U, and a reconstruction loss that asks a round
trip to return its input. What DualGAN changes is the game: its discriminators are Wasserstein critics
(Arjovsky et al. 2017, ``wasserstein.py``) kept Lipschitz by weight clipping and trained n_critic times
per generator step with RMSProp. The losses (§3, eqs. 1–3), z and z′ the generators' noise::

    l^d_A(u, v) = D_A(G_A(u, z)) − D_A(v)                                                      (1)
    l^d_B(u, v) = D_B(G_B(v, z′)) − D_B(u)                                                     (2)
    l^g(u, v)   = λ_U ‖u − G_B(G_A(u, z), z′)‖ + λ_V ‖v − G_A(G_B(v, z′), z)‖
                  − D_B(G_B(v, z′)) − D_A(G_A(u, z))                                           (3)

with ‖·‖ the L1 distance (§3: L2 "often leads to blurriness"). One loss l^g for both generators, "as
they share the same objective". Algorithm 1 (§3.2, "DualGAN training procedure")::

    Require: image sets U and V, GAN A's generator θ_A and discriminator ω_A, GAN B's θ_B and ω_B,
             clipping parameter c, batch size m, and n_critic
    randomly initialise ω_i, θ_i, i ∈ {A, B}
    repeat
        for t = 1, …, n_critic do
            sample images {u⁽ᵏ⁾}ₖ₌₁ᵐ ⊆ U, {v⁽ᵏ⁾}ₖ₌₁ᵐ ⊆ V
            update ω_A to minimise (1/m) Σₖ l^d_A(u⁽ᵏ⁾, v⁽ᵏ⁾)
            update ω_B to minimise (1/m) Σₖ l^d_B(u⁽ᵏ⁾, v⁽ᵏ⁾)
            clip(ω_A, −c, c), clip(ω_B, −c, c)
        end for
        sample images {u⁽ᵏ⁾}ₖ₌₁ᵐ ⊆ U, {v⁽ᵏ⁾}ₖ₌₁ᵐ ⊆ V
        update θ_A, θ_B to minimise (1/m) Σₖ l^g(u⁽ᵏ⁾, v⁽ᵏ⁾)
    until convergence

The settings of §3.2: RMSProp, "as momentum based methods such as Adam would occasionally cause
instability"; n_critic 2–4, batch size 1–4; c "normally set in [0.01, 0.1], varying by application";
λ_U, λ_V "typically set to a value within [100.0, 1,000.0]" (§3). The paper gives no learning rate; the
authors' released code uses RMSProp at 5e-5 (WGAN's α) with decay 0.9. ``build_dualgan`` takes the decay,
and the defaults below say which end of each range they take and why.

How it runs on Algorithm 1's loop: it is CycleGAN's model (``CycleGAN``, ``CycleGenerators``,
``CycleDiscriminators``) with this objective and ``discriminator_steps = n_critic``. In CycleGAN's names
U is X (``pair.source``), V is Y (``pair.target``), G_A is G, G_B is F, D_A is D_Y and D_B is D_X; the
fakes of a step are ``Pair(G_B(v), G_A(u))``. The loop's k critic steps each take their own minibatch
(lines 3–8), and ``after_discriminator_step`` is the clipping line 7 (``WGAN``'s, on every parameter of
both critics, instance norm's scale and shift too). One difference from the algorithm: the generator step
(lines 9–10) reuses the last critic step's minibatch instead of sampling a new one, as every GAN on this
loop does (``GAN.train_iteration``). The noise z, z′: the authors' code supplies it as dropout in its
U-Net's decoder; these generators (CycleGAN's ResNets, so that both methods are compared on the same
networks) are deterministic, as CycleGAN's are.
"""

from minigan.engine import optim
from .cyclegan import CycleGAN, OneDomain, cycle_networks
from .image_to_image import l1_loss
from .wasserstein import WGAN, critic_loss, generator_loss

# Within the paper's ranges, at the end that lets the critics count most against λ·L1: the scores of a
# small critic whose weights all lie in [−c, c] stay small beside λ (docs/two-domains.md, "DualGAN").
RECONSTRUCTION_WEIGHT = 100.0  # λ_U = λ_V: the low end of §3's "[100.0, 1,000.0]"
CLIP = 0.1                     # c: the high end of §3.2's [0.01, 0.1] (WGAN's is 0.01)
CRITIC_STEPS = 2               # n_critic: the low end of §3.2's 2–4, so that G takes as many steps as it can
# The paper gives no learning rate. The authors' code's 5e-5 (WGAN's α) moves G too little in the few
# hundred steps of a run here; 2e-4 is CycleGAN's Adam rate, so both methods step alike (docs/two-domains.md).
LEARNING_RATE = 2e-4
RMSPROP_DECAY = 0.9            # the authors' code's RMSProp decay (PyTorch's default α is 0.99)


class DualLearning:
    """The objective of eqs. 1–3: a Wasserstein critic for each domain, weight clipping, and λ-weighted L1
    reconstruction for both generators.

    Args:
        reconstruction_weights: (λ_U, λ_V), the weights of the round trips u → G_A → G_B and v → G_B → G_A.
        clip: c, the half-width of the box [−c, c] every parameter of both critics is clipped to after each
            critic step.

    Statistics (0-d arrays on the device): ``d_real``, ``d_fake``, the mean critic scores on real and fake
    images of both domains; ``wasserstein``, their difference (the mean of the two critics' estimates of
    W); ``reconstruction``, the mean of the two L1 errors; ``d_fake_after``.
    """

    def __init__(self, reconstruction_weights=(RECONSTRUCTION_WEIGHT, RECONSTRUCTION_WEIGHT), clip=CLIP):
        weights = tuple(reconstruction_weights)
        if len(weights) != 2 or not all(weight >= 0 for weight in weights):  # NaN fails too
            raise ValueError(f"DualLearning: reconstruction_weights must be two numbers (λ_U, λ_V) ≥ 0, got {reconstruction_weights!r}")
        self.reconstruction_weights = tuple(float(weight) for weight in weights)
        self.clipping = WGAN(clip)  # checks c and clips; its losses are the single-critic ones used below
        self.clip = self.clipping.clip

    def discriminator_loss(self, gan, real, fake, pair):
        """(1/m) Σ l^d_A + (1/m) Σ l^d_B: [D_A(G_A(u)) − D_A(v)] + [D_B(G_B(v)) − D_B(u)], each averaged over
        patches and images. The critics' parameters are disjoint, so descending the sum updates each on its
        own loss, as lines 5 and 6 do."""
        critic_a, critic_b = OneDomain(gan.discriminator.d_y), OneDomain(gan.discriminator.d_x)  # D_A judges V, D_B judges U
        loss_a, stats_a = critic_loss(critic_a, pair.target, fake.target)   # eq. 1: v against G_A(u)
        loss_b, stats_b = critic_loss(critic_b, pair.source, fake.source)   # eq. 2: u against G_B(v)
        return loss_a + loss_b, {name: (stats_a[name] + stats_b[name]) / 2 for name in ("d_real", "d_fake", "wasserstein")}

    def reconstruction_losses(self, gan, fake, pair):
        """(mean |u − G_B(G_A(u))|, mean |v − G_A(G_B(v))|), from the fakes (G_B(v), G_A(u)): the graph runs
        through both generators, so each round trip trains both."""
        g_a, g_b = gan.generator.g, gan.generator.f
        return l1_loss(g_b(fake.target), pair.source), l1_loss(g_a(fake.source), pair.target)

    def generator_loss(self, gan, fake, pair):
        """l^g of eq. 3, averaged: λ_U·mean |u − G_B(G_A(u))| + λ_V·mean |v − G_A(G_B(v))| − mean D_B(G_B(v))
        − mean D_A(G_A(u)), through the frozen critics."""
        adversarial_a, stats_a = generator_loss(OneDomain(gan.discriminator.d_y), fake.target)  # −D_A(G_A(u))
        adversarial_b, stats_b = generator_loss(OneDomain(gan.discriminator.d_x), fake.source)  # −D_B(G_B(v))
        reconstruction_u, reconstruction_v = self.reconstruction_losses(gan, fake, pair)
        weight_u, weight_v = self.reconstruction_weights
        loss = weight_u * reconstruction_u + weight_v * reconstruction_v + adversarial_b + adversarial_a
        return loss, {"d_fake_after": (stats_a["d_fake_after"] + stats_b["d_fake_after"]) / 2,
                      "reconstruction": (reconstruction_u.data + reconstruction_v.data) / 2}

    def after_discriminator_step(self, gan):
        """Line 7: clip(ω_A, −c, c), clip(ω_B, −c, c), in place."""
        self.clipping.after_discriminator_step(gan)

    def __repr__(self):
        return f"DualLearning(reconstruction_weights={self.reconstruction_weights!r}, clip={self.clip!r})"


def build_dualgan(channels=1, width=32, blocks=3, patch_widths=(64, 128), reconstruction_weights=(RECONSTRUCTION_WEIGHT, RECONSTRUCTION_WEIGHT),
                  clip=CLIP, critic_steps=CRITIC_STEPS, lr=LEARNING_RATE, generator_norm="instance", discriminator_norm="instance", seed=None):
    """DualGAN for 1-channel 28×28 images in [−1, 1], on CycleGAN's networks (``cycle_networks``; G_A, G_B:
    ``resnet_generator``; D_A, D_B: ``patch_critic``, whose last layer has no sigmoid, as a critic must),
    weights N(0, 0.02), RMSProp(lr, decay 0.9) for both pairs of networks, n_critic = ``critic_steps``."""
    generators, discriminators = cycle_networks(channels, width, blocks, patch_widths, generator_norm, discriminator_norm)
    return CycleGAN(
        generators, discriminators,
        optim.RMSprop(generators.parameters(), lr=lr, alpha=RMSPROP_DECAY),
        optim.RMSprop(discriminators.parameters(), lr=lr, alpha=RMSPROP_DECAY),
        objective=DualLearning(reconstruction_weights, clip), discriminator_steps=critic_steps, seed=seed,
    )


__all__ = ["DualLearning", "build_dualgan", "RECONSTRUCTION_WEIGHT", "CLIP", "CRITIC_STEPS", "LEARNING_RATE", "RMSPROP_DECAY"]
