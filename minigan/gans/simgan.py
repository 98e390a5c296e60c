"""SimGAN: Shrivastava et al. 2017, "Learning from Simulated and Unsupervised Images through Adversarial Training".

A simulator knows the label of every image it draws, but its images do not look real, and a model
trained on them does worse on real data. SimGAN learns a *refiner* R_θ that makes a synthetic image x look
real while keeping what the simulator labelled, from unlabelled real images y: Simulated+Unsupervised
learning. Here the simulator draws digits from fonts (``minigan/tools/data/synthetic_digits.py``) and the
real images are MNIST's. The losses (§2.1), with D_φ(·) the probability that an image is *refined*::

    L_D(φ) = −Σᵢ log D_φ(x̃ᵢ) − Σⱼ log(1 − D_φ(yⱼ))                                         (2)
    L_R(θ) = −Σᵢ log(1 − D_φ(R_θ(xᵢ))) + λ‖R_θ(xᵢ) − xᵢ‖₁                                  (4)

x̃ᵢ = R_θ(xᵢ). The L1 term is the *self-regularisation*: R may change an image only as much as realism
asks, so the digit it was given stays the digit it returns (the label is kept). Three more pieces:

* **Local adversarial loss** (§2.2, Fig. 3): "The discriminator network outputs a w × h probability map.
  The adversarial loss function is the sum of the cross-entropy losses over the local patches." Each patch
  is judged on its own, so R cannot make one region look real at the price of artefacts in another.
* **History of refined images** (§2.3, Fig. 4): "At each iteration of discriminator training, we compute
  the discriminator loss function by sampling b/2 images from the current refiner network, and sampling an
  additional b/2 images from the buffer to update parameters φ. We keep the size of the buffer, B, fixed.
  After each training iteration, we randomly replace b/2 samples in the buffer with the newly generated
  refined images." D then keeps rejecting what R made earlier, and R cannot bring back an artefact D has
  forgotten. ``HistoryBuffer``.
* **The refiner** "as a fully convolutional neural net without striding or pooling", which "modifies the
  synthetic image on a pixel level ... and preserves the global structure and the annotations" (§2.1):
  a 3×3 conv, ResNet blocks, a 1×1 conv to one channel (§3.1's eye-gaze refiner, narrower here).

Algorithm 1 ("Adversarial training of refiner network R_θ")::

    Input: sets of synthetic images xᵢ ∈ X, and real images yⱼ ∈ Y, max number of steps (T), number of
           discriminator network updates per step (K_d), number of generative network updates per step (K_g)
    for t = 1, …, T do
        for k = 1, …, K_g do
            1. Sample a mini-batch of synthetic images xᵢ.
            2. Update θ by taking a SGD step on mini-batch loss L_R(θ) in (4).
        end
        for k = 1, …, K_d do
            1. Sample a mini-batch of synthetic images xᵢ, and real images yⱼ.
            2. Compute x̃ᵢ = R_θ(xᵢ) with current θ.
            3. Update φ by taking a SGD step on mini-batch loss L_D(φ) in (2).
        end
    end

How it runs on the project's loop (``ImageToImageGAN``, ``GAN.train_iteration``): R is G, a minibatch is
``Pair(source = synthetic x, target = real y)``, drawn independently (unpaired). The loop makes k = K_d D
steps and then one R step (K_g = 1), D first; the paper sets K_d and K_g per experiment (§3.1).
§3.1 also pretrains: R first on the self-regularisation loss alone (1,000 steps), then D (200 steps).
Here the first ``pretrain_steps`` R steps descend L1 alone, while D trains beside them on their outputs
from the first step, so D starts the adversarial phase pretrained too. Both are one objective beside
the loop (``Refinement``), not a copy of it.

Sums and means: eqs. 2 and 4 sum over images and patches; here the loss is their mean, as every
objective of the project, which rescales L_D and L_R by constants (Adam's steps do not change with such a
factor). The L1 term is then the mean over pixels, so this λ is the paper's λ times (pixels per image) /
(patches per image) = 784 / 49 = 16 for a 7 × 7 map: what matters is the balance of the two terms.
D's logit s is the project's (σ(s) the probability of *real*), so the paper's D_φ = 1 − σ(s):
−log D_φ(x̃) = BCE(s, 0) and −log(1 − D_φ(y)) = BCE(s, 1); the paper's two-way softmax over (real,
refined) per patch is this one logit (a softmax over two scores is the sigmoid of their difference).
"""

import numpy

from minigan.engine import backend, nn, optim
from minigan.engine.autograd import Tensor
from minigan.engine.checks import finite_number, positive_int
from minigan.engine.losses import binary_cross_entropy_with_logits
from .image_to_image import ImageToImageGAN, l1_loss
from .objectives import mean_probability

SELF_REGULARISATION = 1.0   # λ, on the mean L1 (16× the paper's on its per-image sum; see the docstring)
HISTORY_SIZE = 1024         # B, images of the buffer
PRETRAIN_STEPS = 100        # R steps on the self-regularisation alone before the adversarial term (§3.1 uses 1,000)


class HistoryBuffer:
    """The buffer of refined images of §2.3: B images from earlier refiners, half of every D minibatch.

    ``mix(current)`` takes the m images the current R made for a D step and returns the m images D judges:
    m − m//2 of them current, m//2 drawn at random (without replacement) from the buffer, which then
    swaps those m//2 drawn slots for m//2 of the current images: "we randomly replace b/2 samples in the
    buffer with the newly generated refined images". The b/2 replaced are the b/2 just shown to D, so each
    stored image is judged once before it may be replaced.

    Before the buffer holds m//2 images (the first step), D judges the m current images alone and they go
    into it; while it has room, the current images it takes fill new slots instead of replacing old ones.

    The slots are drawn from a NumPy generator seeded by (``seed``, the number of D steps taken so far),
    on the host, so a run stopped and resumed draws what the uninterrupted run drew on every backend;
    ``state_dict`` holds the images and the counts.
    """

    def __init__(self, size=HISTORY_SIZE, seed=0):
        self.size = positive_int("HistoryBuffer", "size (B)", size)
        self.seed = backend.check_seed(seed, "HistoryBuffer: seed")
        self.images = None      # (B, H, W, C) on the device, made at the first push
        self.filled = 0         # slots holding an image
        self.updates = 0        # calls of mix: the position of the slot generator's stream

    def mix(self, current):
        """The m images (m, H, W, C) D judges in place of ``current`` (a Tensor or array of R's outputs), and the buffer updated."""
        data = current.data if isinstance(current, Tensor) else current
        m, half = data.shape[0], data.shape[0] // 2
        if self.images is not None and self.images.shape[1:] != data.shape[1:]:
            raise ValueError(f"HistoryBuffer.mix: the buffer holds images of shape {self.images.shape[1:]}, got refined images "
                             f"of shape {data.shape[1:]}")
        rng = numpy.random.default_rng([self.seed, self.updates])
        self.updates += 1
        if self.filled < half or half == 0:         # no history yet: the current images alone, and into the buffer
            self._append(data)
            return Tensor(data)
        xp = backend.array_module(data)
        slots = xp.asarray(rng.choice(self.filled, size=half, replace=False))
        judged = xp.concatenate([data[: m - half], self.images[slots]])   # (m, H, W, C): b/2 current, b/2 history
        if self.filled < self.size:                  # room left: the current half takes new slots
            self._append(data[:half])
        else:                                        # full: the b/2 drawn slots are replaced by b/2 current images
            self.images[slots] = data[:half]
        return Tensor(judged)

    def _append(self, data):
        if self.images is None:
            self.images = backend.array_module(data).zeros((self.size, *data.shape[1:]), data.dtype)
        count = min(len(data), self.size - self.filled)
        self.images[self.filled : self.filled + count] = data[:count]
        self.filled += count

    def state_dict(self):
        images = numpy.zeros((0,), numpy.float32) if self.images is None else backend.to_numpy(self.images[: self.filled])
        return {"images": images, "filled": numpy.array(self.filled), "updates": numpy.array(self.updates)}

    def load_state_dict(self, state):
        filled, updates, images = int(state["filled"]), int(state["updates"]), numpy.asarray(state["images"])
        if not 0 <= filled <= self.size or (filled and (images.ndim != 4 or len(images) != filled)):
            raise ValueError(f"HistoryBuffer: the state holds {filled} images of shape {images.shape} for a buffer of "
                             f"B = {self.size}; expected at most B images (n, H, W, C)")
        self.filled, self.updates, self.images = filled, updates, None
        if filled:
            be = backend.get_backend()
            self.images = be.xp.zeros((self.size, *images.shape[1:]), images.dtype)
            self.images[:filled] = be.asarray(images)
        return self

    def __repr__(self):
        return f"HistoryBuffer(size={self.size}, filled={self.filled})"


class Refinement:
    """SimGAN's objective: the local adversarial loss of eqs. 2 and 4, self-regularisation, the history buffer.

    Args:
        self_regularisation: λ of eq. 4, on the mean |R(x) − x| over pixels (see the module's docstring).
        history: a ``HistoryBuffer`` for D's refined images, or None for D on the current ones alone
            (the paper's ablation, §3.1).
        pretrain_steps: R's first steps (``gan.generator_step_count`` below it) descend the L1 term alone (§3.1).

    D returns a map of logits (m, h, w, 1), one per patch; every loss is a mean over patches and images.
    Statistics (0-d arrays on the device): ``d_real``, ``d_fake`` the mean probability of *real* that D
    gives real and refined patches (its refined minibatch is half history); ``d_fake_after`` that of R's
    step; ``self_regularisation``, the mean |R(x) − x|.
    """

    def __init__(self, self_regularisation=SELF_REGULARISATION, history=None, pretrain_steps=0):
        if not finite_number("Refinement", "self_regularisation (λ)", self_regularisation) >= 0:
            raise ValueError(f"Refinement: self_regularisation (λ) must be ≥ 0, got {self_regularisation!r}")
        if isinstance(pretrain_steps, bool) or not isinstance(pretrain_steps, (int, numpy.integer)) or pretrain_steps < 0:
            raise ValueError(f"Refinement: pretrain_steps must be an int ≥ 0, got {pretrain_steps!r}")
        if history is not None and not isinstance(history, HistoryBuffer):
            raise TypeError(f"Refinement: history must be a HistoryBuffer or None, got {type(history).__name__}")
        self.self_regularisation, self.history, self.pretrain_steps = float(self_regularisation), history, int(pretrain_steps)

    def discriminator_loss(self, gan, real, fake, pair):
        """L_D (eq. 2) per patch, averaged: −log(1 − D_φ(y)) − log D_φ(x̃) = BCE(s_real, 1) + BCE(s_refined, 0),
        with x̃ half current, half from the history buffer."""
        refined = self.history.mix(fake) if self.history is not None else fake
        real_logits = gan.call_discriminator(real, pair)         # (m, h, w, 1): one logit per patch
        refined_logits = gan.call_discriminator(refined, pair)   # (m, h, w, 1)
        loss = binary_cross_entropy_with_logits(real_logits, 1.0) + binary_cross_entropy_with_logits(refined_logits, 0.0)
        return loss, {"d_real": mean_probability(real_logits), "d_fake": mean_probability(refined_logits)}

    def generator_loss(self, gan, fake, pair):
        """L_R (eq. 4), averaged: −log(1 − D_φ(R(x))) = BCE(s, 1) over the patches, + λ·mean |R(x) − x|;
        the L1 term alone while R is pretrained."""
        self_regularisation = l1_loss(fake, pair.source)                   # ‖R(x) − x‖₁ / pixels
        stats = {"self_regularisation": self_regularisation.data}
        if gan.generator_step_count < self.pretrain_steps:                  # §3.1: R pretrained on self-regularisation alone
            logits = gan.call_discriminator(fake.detach(), pair)            # D(R(x)) for the record, no graph to R
            return self_regularisation, {**stats, "d_fake_after": mean_probability(logits)}
        logits = gan.call_discriminator(fake, pair)                        # through the frozen D
        adversarial = binary_cross_entropy_with_logits(logits, 1.0)         # ℓ_real: −log(1 − D_φ(R(x)))
        return adversarial + self.self_regularisation * self_regularisation, {**stats, "d_fake_after": mean_probability(logits)}

    def __repr__(self):
        return (f"Refinement(self_regularisation={self.self_regularisation!r}, history={self.history!r}, "
                f"pretrain_steps={self.pretrain_steps!r})")


class SimGAN(ImageToImageGAN):
    """``ImageToImageGAN`` (R is G, D judges an image alone) whose checkpoint also holds the history buffer,
    so a resumed run's D sees what the uninterrupted run's saw."""

    def __init__(self, refiner, discriminator, refiner_optimizer, discriminator_optimizer, objective, discriminator_steps=1, seed=None):
        if not isinstance(objective, Refinement):
            raise TypeError(f"SimGAN: objective must be a Refinement, got {type(objective).__name__}")
        super().__init__(refiner, discriminator, refiner_optimizer, discriminator_optimizer, objective,
                         conditional_discriminator=False, discriminator_steps=discriminator_steps, seed=seed)

    def state_dict(self):
        history = self.objective.history
        return {**super().state_dict(), **({"history": history.state_dict()} if history is not None else {})}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        if self.objective.history is not None:
            self.objective.history.load_state_dict(state["history"])
        return self


def refiner(channels=1, width=32, blocks=4):
    """R_θ: conv 3×3 (channels → width) → ReLU, ``blocks`` ResNet blocks (no norm), conv 1×1 → tanh; 28×28
    in, 28×28 out, no striding or pooling (§2.1; §3.1's eye-gaze refiner has 64 channels and 4 blocks)."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),                # (m, 28, 28, width)
        *[nn.ResidualBlock(width, norm=None) for _ in range(blocks)],       # (m, 28, 28, width)
        nn.Conv2d(width, channels, 1), nn.Tanh(),                           # (m, 28, 28, channels), in (−1, 1)
    )


def local_discriminator(channels=1, widths=(32, 64, 32)):
    """D_φ: one logit per patch, a 7 × 7 map for 28 × 28 images: conv 3×3 s2 → conv 3×3 s2 → conv 3×3 → conv 1×1,
    LeakyReLU 0.2 between (§3.1's eye-gaze D, without its max-pooling, which minigan does not have)."""
    first, second, third = widths
    return nn.Sequential(
        nn.Conv2d(channels, first, 3, stride=2, padding=1), nn.LeakyReLU(0.2),   # (m, 14, 14, first)
        nn.Conv2d(first, second, 3, stride=2, padding=1), nn.LeakyReLU(0.2),     # (m, 7, 7, second)
        nn.Conv2d(second, third, 3, padding=1), nn.LeakyReLU(0.2),               # (m, 7, 7, third)
        nn.Conv2d(third, 1, 1),                                                  # (m, 7, 7, 1): a logit per patch
    )


def build_simgan(channels=1, width=32, blocks=4, discriminator_widths=(32, 64, 32), self_regularisation=SELF_REGULARISATION,
                 history_size=HISTORY_SIZE, pretrain_steps=PRETRAIN_STEPS, lr=1e-3, seed=None):
    """SimGAN for 28×28 images in [−1, 1]: ``refiner`` and ``local_discriminator``, weights N(0, 0.02), Adam(lr, β₁ = 0.5)
    for both (the paper trains with SGD); ``history_size`` 0 trains D without the buffer."""
    r = nn.init.normal_weights_(refiner(channels, width, blocks))
    d = nn.init.normal_weights_(local_discriminator(channels, discriminator_widths))
    history = HistoryBuffer(history_size, seed=0 if seed is None else seed) if history_size else None
    return SimGAN(r, d, optim.Adam(r.parameters(), lr=lr, betas=(0.5, 0.999)), optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.999)),
                  Refinement(self_regularisation, history, pretrain_steps), seed=seed)


__all__ = ["HistoryBuffer", "Refinement", "SimGAN", "refiner", "local_discriminator", "build_simgan", "SELF_REGULARISATION",
           "HISTORY_SIZE", "PRETRAIN_STEPS"]
