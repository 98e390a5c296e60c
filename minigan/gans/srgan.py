"""SRGAN: Ledig et al. 2016, "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network".

Super-resolution: G maps a low-resolution image I_LR (here a 28×28 digit box-averaged to 7×7, or to
14×14) to an estimate of the high-resolution I_HR. Trained on the pixel MSE alone (the paper's SRResNet),
G learns the pixel-wise *mean* of the plausible high-resolution images, which scores the best PSNR and
looks smooth. SRGAN's perceptual loss (§2.2, eq. 3) adds a feature-space content loss and an adversarial
term that pushes G's outputs onto the manifold of real images::

    l_SR  = l_X + 10⁻³·l_Gen                                                  (3)
    l_MSE = (1/r²WH) Σ (I_HR − G(I_LR))²                                      (4)
    l_VGG = (1/W_ij H_ij) Σ (φ_ij(I_HR) − φ_ij(G(I_LR)))²                      (5)
    l_Gen = Σ_n −log D(G(I_LR))                                               (6)

and D is trained on the game of Goodfellow et al. (eq. 2). φ is VGG-19's features in the paper; here it is
the shipped MNIST classifier's penultimate layer (``minigan.tools.classifier``, 128 ReLU features):
features that know what makes a digit the digit it is, this task's analogue of VGG's. The content loss
l_X is the MSE plus the feature loss times ``feature_weight`` = 0.1, the same kind of rescaling as the
paper's 1/12.75 on its VGG loss ("to obtain VGG losses of a scale that is comparable to the MSE loss");
the classifier's features are of a larger scale than the pixels, so their MSE is too. l_Gen is averaged
over the minibatch and written as a BCE on D's logit, BCE(s, 1) = −log D(G(I_LR)).

The paper's claim this task can test (§3.4, Table 1–2): SRGAN's PSNR is *lower* than the MSE network's,
yet its images are sharper and judged better. ``examples/srgan.py`` measures PSNR for bicubic
interpolation, the MSE-only network and SRGAN, and how often the classifier reads each output correctly.

Networks (Fig. 4, scaled down for 28×28):

    G: conv k3 → ReLU; residual blocks (conv-BN-ReLU-conv-BN, + x); conv k3 → BN, + the first conv's
       output (the long skip); per ×2: conv k3 to 4·C channels → pixel shuffle ×2 → ReLU; conv k3 → tanh.
       (The paper: k9 convs at both ends, PReLU, 16 blocks of 64 channels.)
    D: conv k3 s1 → LReLU; (conv k3 s2, conv k3 s1) with batch norm and LeakyReLU 0.2, the width doubled
       at each stride; dense 256 → LeakyReLU → dense 1 (logit). (The paper: 8 convs up to 512, dense 1024.)
"""

from minigan.engine import nn, optim
from minigan.engine.losses import mse_loss
from .image_to_image import ImageToImageGAN
from .objectives import Standard

ADVERSARIAL_WEIGHT = 1e-3  # eq. 3
FEATURE_WEIGHT = 0.1


class SRGAN(Standard):
    """l_SR = MSE + feature_weight·MSE(φ(G(I_LR)), φ(I_HR)) + adversarial_weight·(−log D(G(I_LR))) (eq. 3–6).

    D's loss is ``Standard``'s, −[log D(I_HR) + log(1 − D(G(I_LR)))], on the high-resolution image alone.

    Args:
        features: the φ of eq. 5, a module mapping images in [0, 1] (m, 28, 28, 1) to features; it is frozen
            here (never trained). None (or feature_weight = 0) leaves the feature loss out.
        feature_weight, adversarial_weight: the weights of the feature loss and of l_Gen. Both 0 is the
            MSE-only network, the paper's SRResNet baseline (its D is still trained beside it, and its
            D(G(I_LR)) shows how easily a discriminator tells those outputs from real digits).

    Images are in [−1, 1] (G ends in tanh); φ is given (image + 1)/2.
    Statistics (on the device): ``Standard``'s, plus ``mse`` and ``feature`` (the two content terms of G's step).
    """

    def __init__(self, features=None, feature_weight=FEATURE_WEIGHT, adversarial_weight=ADVERSARIAL_WEIGHT):
        super().__init__(generator_loss="non-saturating", real_label=1.0)
        if not feature_weight >= 0 or not adversarial_weight >= 0:
            raise ValueError(f"SRGAN: the weights must be ≥ 0, got feature_weight={feature_weight!r}, adversarial_weight={adversarial_weight!r}")
        if feature_weight and features is None:
            raise ValueError("SRGAN: feature_weight > 0 needs the features φ (e.g. the shipped classifier's body)")
        self.features = features.requires_grad_(False) if features is not None else None
        self.feature_weight, self.adversarial_weight = float(feature_weight), float(adversarial_weight)

    def generator_loss(self, gan, fake, pair):
        """MSE + feature_weight·feature MSE + adversarial_weight·(−log D(G(I_LR))), through the frozen D."""
        mse = mse_loss(fake, pair.target)                                                # eq. 4
        loss, stats = mse, {"mse": mse.data}
        if self.feature_weight:
            feature = mse_loss(self.features((fake + 1.0) * 0.5), self.features((pair.target + 1.0) * 0.5).detach())  # eq. 5
            loss = loss + self.feature_weight * feature
            stats["feature"] = feature.data
        if self.adversarial_weight:
            adversarial, adversarial_stats = super().generator_loss(gan, fake, pair)   # −log D(G(I_LR)), eq. 6
            loss = loss + self.adversarial_weight * adversarial
            stats.update(adversarial_stats)
        return loss, stats

    def __repr__(self):
        return f"SRGAN(feature_weight={self.feature_weight!r}, adversarial_weight={self.adversarial_weight!r})"


def _check_factor(factor):
    if factor not in (2, 4, 8):
        raise ValueError(f"sr_generator: factor must be 2, 4 or 8 (one pixel shuffle ×2 per doubling), got {factor!r}")


class SuperResolution(nn.Module):
    """G of Fig. 4: I_LR (m, h, w, 1) → I_SR (m, factor·h, factor·w, 1) in [−1, 1]."""

    def __init__(self, factor=4, width=32, blocks=4, channels=1):
        _check_factor(factor)
        self.head = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU())          # (m, h, w, C)
        self.body = nn.Sequential(*[nn.ResidualBlock(width, norm="batch") for _ in range(blocks)],
                                  nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width))
        upsampling, doublings = [], factor.bit_length() - 1
        for k in range(doublings):  # the last doubling halves the channels, so the 28×28 layers stay cheap
            out = width if k < doublings - 1 else width // 2
            upsampling += [nn.Conv2d(width, 4 * out, 3, padding=1), nn.PixelShuffle(2), nn.ReLU()]  # (m, 2h, 2w, out)
            width_in = out
        self.upsample = nn.Sequential(*upsampling)
        self.tail = nn.Sequential(nn.Conv2d(width_in, channels, 3, padding=1), nn.Tanh())        # (m, H, W, 1)
        self.factor = factor

    def forward(self, low):
        features = self.head(low)
        features = features + self.body(features)                                               # the long skip
        return self.tail(self.upsample(features))

    def extra_repr(self):
        return f"factor={self.factor}"


def sr_discriminator(channels=1, width=32, size=28):
    """D: (m, 28, 28, 1) → logits (m, 1); two stride-2 stages, 28 → 14 → 7."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1), nn.LeakyReLU(0.2),                                       # (m, 28, 28, C)
        nn.Conv2d(width, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width), nn.LeakyReLU(0.2),   # (m, 14, 14, C)
        nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),     # (m, 14, 14, 2C)
        nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * width),          # (m, 7, 7, 2C)
        nn.LeakyReLU(0.2),
        nn.Flatten(),                                                                                      # (m, 49·2C)
        nn.Linear((size // 4) ** 2 * 2 * width, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 1),
    )


def build_srgan(factor=4, features=None, feature_weight=FEATURE_WEIGHT, adversarial_weight=ADVERSARIAL_WEIGHT,
                width=32, blocks=4, lr=1e-4, seed=None):
    """SRGAN (or, with both weights 0, the MSE-only network) for 28×28 digits: Adam(α = 1e-4, β₁ = 0.9) (§3.2)."""
    generator = SuperResolution(factor, width, blocks)
    discriminator = nn.init.normal_weights_(sr_discriminator(width=width))
    return ImageToImageGAN(
        generator, discriminator,
        optim.Adam(generator.parameters(), lr=lr, betas=(0.9, 0.999)),
        optim.Adam(discriminator.parameters(), lr=lr, betas=(0.9, 0.999)),
        objective=SRGAN(features, feature_weight, adversarial_weight), seed=seed,
    )


__all__ = ["SRGAN", "SuperResolution", "sr_discriminator", "build_srgan", "ADVERSARIAL_WEIGHT", "FEATURE_WEIGHT"]
