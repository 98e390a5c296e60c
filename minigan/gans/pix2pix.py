"""pix2pix: Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks".

A *paired* translation: every source image s (here an edge map) comes with its target y (the digit it
was computed from), and G learns y from s. The objective (§3.1, eqs. 1, 3, 4; the paper writes x for the
source and y for the target)::

    L_cGAN(G, D) = E_{s,y}[log D(s, y)] + E_s[log(1 − D(s, G(s)))]          (1)  D sees the pair (s, image)
    L_L1(G)      = E_{s,y}[‖y − G(s)‖₁]                                    (3)
    G* = arg min_G max_D  L_cGAN(G, D) + λ·L_L1(G),   λ = 100                (4)

Why both terms (§3.1, §4.2): L1 alone already gets the low frequencies right (where the strokes are), but
the L1-optimal answer to an uncertain pixel is the *median* of its plausible values, so L1 alone blurs; D
is a learned loss that penalises whatever makes the output look unlike a real image next to its source,
and restricting D to patches (the PatchGAN, §3.2.2) makes it model exactly the high frequencies L1 misses.
The paper's Table 1 is that ablation, L1 against cGAN + L1, which ``examples/pix2pix.py`` repeats.

As Algorithm 1 is run here (``ImageToImageGAN``, ``GAN.train_iteration``): one D step, then one G step
(§3.3: "we alternate between one gradient descent step on D, then one step on G"), G's adversarial term
in the non-saturating form, −log D(s, G(s)) (§3.3, after Goodfellow et al. 2014), Adam α = 2e-4,
β₁ = 0.5. Two details of the paper are left out: it halves D's loss ("to slow down the rate at which D
learns"), which Adam's step almost ignores (Adam divides the gradient by its own running scale); and at
test time it keeps dropout on and batch norm on the test batch's statistics, where here G is evaluated
as every minigan network is, in eval mode (no dropout, running statistics).

Networks for 28×28 digits (the paper's are for 256×256; each is scaled down, keeping its shape):

    G: nn.UNet, encoder C64-C128 (k4 s2, LeakyReLU 0.2, batch norm after the first), decoder with skips,
       dropout 0.5 in the decoder layer below the output, tanh output (Appendix 6.1.1)
    D: PatchGAN: C64 (k4 s2, no norm) → C128 (k4 s2, batch norm) → 1×1 conv to one logit per patch
       (Appendix 6.1.2). Each logit sees a 10 × 10 patch of the 28 × 28 pair, about the share of the
       image the paper's 70 × 70 patches cover of 256 × 256 (7.7 pixels would be the same share).
"""

from minigan.engine import nn, optim
from .image_to_image import ImageToImageGAN, l1_loss
from .objectives import Standard

L1_WEIGHT = 100.0  # λ of eq. 4


class Pix2Pix(Standard):
    """cGAN + λ·L1 (eq. 4). D's loss is ``Standard``'s on D(s, ·): −[log D(s, y) + log(1 − D(s, G(s)))].

    G's loss: −log D(s, G(s)) + λ·‖y − G(s)‖₁ (mean over pixels), with λ = ``l1_weight``.
    ``adversarial=False`` drops the first term: the paper's "L1" row of Table 1 (D is still trained
    beside it, so its D(s, G(s)) shows how well a discriminator tells those outputs from real digits).

    Statistics (on the device, as ``Standard``'s): ``Standard``'s, plus ``l1``, the mean |y − G(s)| of G's
    step (in the images' units).
    """

    def __init__(self, l1_weight=L1_WEIGHT, adversarial=True):
        super().__init__(generator_loss="non-saturating", real_label=1.0)
        if not l1_weight >= 0:
            raise ValueError(f"Pix2Pix: l1_weight must be ≥ 0, got {l1_weight!r}")
        if not (adversarial or l1_weight > 0):
            raise ValueError("Pix2Pix: with adversarial=False the L1 term is all of G's loss; l1_weight must be positive")
        self.l1_weight, self.adversarial = float(l1_weight), bool(adversarial)

    def generator_loss(self, gan, fake, pair):
        """−log D(s, G(s)) + λ·mean |y − G(s)|, or λ·mean |y − G(s)| alone."""
        l1 = l1_loss(fake, pair.target)                             # L_L1, eq. 3
        if not self.adversarial:
            return self.l1_weight * l1, {"l1": l1.data}
        adversarial, stats = super().generator_loss(gan, fake, pair)  # −log D(s, G(s)), D frozen by the loop
        return adversarial + self.l1_weight * l1, {**stats, "l1": l1.data}

    def __repr__(self):
        return f"Pix2Pix(l1_weight={self.l1_weight!r}, adversarial={self.adversarial!r})"


def patch_discriminator(in_channels, widths=(64, 128)):
    """PatchGAN D: (m, H, W, in_channels) → logits (m, H/4, W/4, 1), one per 10 × 10 patch.

    Receptive field of a logit: 4 pixels after the first k4 s2 conv, 4 + 3·2 = 10 after the second,
    and the 1×1 conv adds nothing.
    """
    first, second = widths
    return nn.Sequential(
        nn.Conv2d(in_channels, first, 4, stride=2, padding=1),                 # (m, H/2, W/2, C64)
        nn.LeakyReLU(0.2),
        nn.Conv2d(first, second, 4, stride=2, padding=1, bias=False),          # (m, H/4, W/4, C128)
        nn.BatchNorm2d(second), nn.LeakyReLU(0.2),
        nn.Conv2d(second, 1, 1),                                               # (m, H/4, W/4, 1): a logit per patch
    )


def build_pix2pix(channels=1, widths=(64, 128), patch_widths=(64, 128), dropout=0.5, l1_weight=L1_WEIGHT,
                  adversarial=True, lr=2e-4, seed=None):
    """pix2pix for 1-channel 28×28 images in [−1, 1]: U-Net G, PatchGAN D on (source, image), Adam(α, β₁ = 0.5).

    Weights from N(0, 0.02) (the paper's initialisation, Appendix 6.2, as DCGAN's).
    """
    generator = nn.init.normal_weights_(nn.UNet(channels, channels, widths=widths, dropout=dropout))
    discriminator = nn.init.normal_weights_(patch_discriminator(2 * channels, patch_widths))
    return ImageToImageGAN(
        generator, discriminator,
        optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999)),
        optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
        objective=Pix2Pix(l1_weight, adversarial), conditional_discriminator=True, seed=seed,
    )


__all__ = ["Pix2Pix", "patch_discriminator", "build_pix2pix", "L1_WEIGHT"]
