"""Context encoders: Pathak et al. 2016, "Context Encoders: Feature Learning by Inpainting" (CVPR 2016).

An encoder-decoder F sees an image x with a region hidden, (1 − M̂) ⊙ x (M̂ the binary mask of the
region, 1 where it is hidden), and fills the region in. Here the region is the paper's "central region"
(§3.3): a fixed square in the middle, a quarter of the image (``minigan/tools/data/transforms.py``,
``mask_centre``). The joint loss (§3.2, eqs. 1–3)::

    L_rec(x) = ‖M̂ ⊙ (x − F((1 − M̂) ⊙ x))‖²₂                                    (1)  the hidden pixels, in L2
    L_adv    = max_D E_x[log D(x) + log(1 − D(F((1 − M̂) ⊙ x)))]                  (2)  D judges the fill
    L        = λ_rec · L_rec + λ_adv · L_adv,   λ_rec = 0.999, λ_adv = 0.001        (3)

Why both terms (§3.2): the L2 term alone gets the rough outline of the missing part right but not its
fine detail: the L2-optimal fill of an uncertain pixel is the mean of its plausible values, a blur. The
adversarial term asks D whether the fill looks like a real image region, and a blur does not; the
paper's pictures show the joint loss giving sharper fills than L2 alone, which
``examples/context_encoder.py`` measures on digits.

As built here, on the image-to-image loop (``image_to_image.ImageToImageGAN``, Algorithm 1 of
``minigan/gans/gan.py``): a minibatch is a ``Pair(source, target)`` with the source the masked digit
(1 − M̂) ⊙ x and the target the hidden centre M̂ ⊙ x, cut out; F is the loop's G, F(source) outputs the
centre only (the paper's decoder, for the central region, outputs the missing region alone), and D judges
centres alone, real against filled, not conditioned on the context (as the paper's D, §3.2). So L_rec is the mean squared error over the hidden pixels (the paper's
"normalized masked L2"), and each player's part of eq. 2 is the standard GAN's: D descends
−[log D(centre) + log(1 − D(F(source)))], F the non-saturating −log D(F(source)) (as pix2pix does,
after Goodfellow et al. 2014, §3), weighted by λ_adv inside F's loss (eq. 3). One detail of the paper is
left out: its fill overlaps the context by a few pixels, on which the reconstruction loss weighs 10
times more (its implementation details); here the fill is exactly the hidden square.

Networks for 28 × 28 digits and a 14 × 14 centre (the paper's are for 128 × 128 images and a 64 × 64
centre; each is scaled down, keeping its shape):

    F: encoder conv 1→w (k4 s2) → LeakyReLU 0.2 → conv w→2w (k4 s2) → BN → LeakyReLU    (m, 7, 7, 2w)
       → flatten → dense to a 256 code → BN → ReLU → dense back to 7·7·2w → BN → ReLU
       → convT 2w→w (k4 s2) → BN → ReLU → conv w→1 (k3 s1) → tanh                        (m, 14, 14, 1)
    D: conv 1→w (k4 s2) → LeakyReLU 0.2 → conv w→2w (k4 s2) → BN → LeakyReLU → dense → 1 logit

Why the dense layers in the middle of F (the paper's "channel-wise fully-connected layer", §3.1): a
convolutional encoder only connects nearby pixels, and a pixel in the middle of the hole has no context
pixel within several convolutions of it; the dense layer lets every output pixel see the whole context.
"""

from minigan.engine import nn, optim
from .image_to_image import ImageToImageGAN
from .objectives import Standard

RECONSTRUCTION_WEIGHT, ADVERSARIAL_WEIGHT = 0.999, 0.001  # λ_rec and λ_adv of eq. 3 (§3.2)
CODE = 256  # the width of F's code, between its encoder and its decoder


class ContextEncoder(Standard):
    """λ_rec · L_rec + λ_adv · L_adv (eq. 3). D's loss is ``Standard``'s on centres: −[log D(y) + log(1 − D(F(s)))].

    F's loss: λ_rec · mean (F(s) − y)² + λ_adv · (−log D(F(s))), with y the hidden centre and s the masked
    image. ``adversarial=False`` drops the second term: reconstruction alone, the paper's L2 baseline (D
    still trains beside it, so its D(F(s)) shows how well a discriminator tells those fills from real
    centres).

    Statistics (on the device, as ``Standard``'s): ``Standard``'s, plus ``reconstruction``, the mean
    (F(s) − y)² of F's step (in the images' units, [−1, 1]).
    """

    def __init__(self, reconstruction_weight=RECONSTRUCTION_WEIGHT, adversarial_weight=ADVERSARIAL_WEIGHT, adversarial=True):
        super().__init__(generator_loss="non-saturating", real_label=1.0)
        for name, value in (("reconstruction_weight (λ_rec)", reconstruction_weight), ("adversarial_weight (λ_adv)", adversarial_weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                raise ValueError(f"ContextEncoder: {name} must be a positive finite number, got {value!r}")
        self.reconstruction_weight, self.adversarial_weight = float(reconstruction_weight), float(adversarial_weight)
        self.adversarial = bool(adversarial)

    def generator_loss(self, gan, fill, pair):
        """λ_rec · mean (F(s) − y)² + λ_adv · (−log D(F(s))), or λ_rec · mean (F(s) − y)² alone."""
        difference = fill - pair.target
        reconstruction = (difference * difference).mean()                 # L_rec, eq. 1, over the hidden pixels
        loss = self.reconstruction_weight * reconstruction
        if not self.adversarial:
            return loss, {"reconstruction": reconstruction.data}
        adversarial, stats = super().generator_loss(gan, fill, pair)       # −log D(F(s)), D frozen by the loop
        return loss + self.adversarial_weight * adversarial, {**stats, "reconstruction": reconstruction.data}

    def __repr__(self):
        return (f"ContextEncoder(reconstruction_weight={self.reconstruction_weight!r}, "
                f"adversarial_weight={self.adversarial_weight!r}, adversarial={self.adversarial!r})")


def context_encoder(width=32, code=CODE):
    """F: masked images (m, 28, 28, 1) → centres (m, 14, 14, 1) in [−1, 1] (see the module docstring)."""
    return nn.Sequential(
        nn.Conv2d(1, width, 4, stride=2, padding=1),                                  # (m, 14, 14, w)
        nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),              # (m, 7, 7, 2w)
        nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(7 * 7 * 2 * width, code, bias=False), nn.BatchNorm1d(code), nn.ReLU(),   # the code: all the context
        nn.Linear(code, 7 * 7 * 2 * width, bias=False),
        nn.Reshape(7, 7, 2 * width), nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),     # (m, 14, 14, w)
        nn.BatchNorm2d(width), nn.ReLU(),
        nn.Conv2d(width, 1, 3, stride=1, padding=1),                                  # (m, 14, 14, 1)
        nn.Tanh(),
    )


def centre_discriminator(width=32):
    """D: centres (m, 14, 14, 1) → logits (m, 1)."""
    return nn.Sequential(
        nn.Conv2d(1, width, 4, stride=2, padding=1),                                  # (m, 7, 7, w)
        nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),              # (m, 3, 3, 2w)
        nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(3 * 3 * 2 * width, 1),
    )


def build_context_encoder(width=32, adversarial=True, reconstruction_weight=RECONSTRUCTION_WEIGHT,
                          adversarial_weight=ADVERSARIAL_WEIGHT, lr=2e-4, seed=None):
    """The context encoder for 28 × 28 digits in [−1, 1]: F and D as above, N(0, 0.02) weights, Adam(lr, β₁ = 0.5).

    The paper trains with Adam; lr 2e-4 and β₁ = 0.5 are DCGAN's, on which its networks are modelled; one D step per F step.
    """
    generator = nn.init.normal_weights_(context_encoder(width))
    discriminator = nn.init.normal_weights_(centre_discriminator(width))
    return ImageToImageGAN(
        generator, discriminator,
        optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999)),
        optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
        objective=ContextEncoder(reconstruction_weight, adversarial_weight, adversarial), seed=seed,
    )


__all__ = ["ContextEncoder", "context_encoder", "centre_discriminator", "build_context_encoder",
           "RECONSTRUCTION_WEIGHT", "ADVERSARIAL_WEIGHT"]
