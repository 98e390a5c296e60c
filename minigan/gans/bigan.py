"""BiGAN (Donahue et al. 2017, "Adversarial Feature Learning"; ALI, Dumoulin et al. 2017, is the same game).

A GAN maps z to x but has no way back. BiGAN adds an *encoder* E that maps data to the latent space, and
lets D judge *pairs*: a real image with its code (x, E(x)) against a fake image with the noise that made
it (G(z), z). The game (paper §3, eq. 3) is

    min_{G,E} max_D  V(D, E, G) = E_x[log D(x, E(x))] + E_z[log(1 − D(G(z), z))].

At the optimum the two joint distributions of (x, z) are equal, and then (§3, Theorem 2) E = G⁻¹ on the
data: E inverts G although no reconstruction is ever asked of them. E(x) is then a feature of x learnt
without labels, which is what §4.1 measures (Table 1: a 1-nearest-neighbour classifier on E(x) of MNIST).

D's loss is the GAN's, on pairs; G and E descend V together. As the GAN's G (Goodfellow et al. 2014, §3),
they descend the "inverse" objective, with the labels swapped (§3.4: it has the same fixed point and
does not saturate when D rejects everything):

    D's loss               =  BCE(s_real, 1) + BCE(s_fake, 0)   = −[log D(x, E(x)) + log(1 − D(G(z), z))]
    G and E, minimax       = −BCE(s_real, 1) − BCE(s_fake, 0)   =   log D(x, E(x)) + log(1 − D(G(z), z))
    G and E, non-saturating=  BCE(s_real, 0) + BCE(s_fake, 1)   = −log(1 − D(x, E(x))) − log D(G(z), z)

with s_real = D's logit on (x, E(x)) and s_fake on (G(z), z), averaged over the minibatch.

Algorithm 1's loop is unchanged (``minigan/gans/gan.py``). Three things make it BiGAN:

* the *condition* of an iteration is its real minibatch x itself (``split_batch``): the loop already
  hands the condition to both steps, so the generator step, which in a plain GAN never sees real
  data, gets the x that E must encode;
* G's "sample" is the pair (G(z), z) (``call_generator``), so the objective gets the fake pairs as it
  gets a plain GAN's fakes;
* G and E are one module (``GeneratorEncoder``) under one optimiser: the loop's generator step steps
  both, as InfoGAN's D step steps Q, which lives on D's body (``infogan.py``).

In D's step E(x) is computed under ``no_grad`` (as the loop does for G(z)): D's update must not touch E.
In G's step E(x) keeps its graph, and D is frozen: the gradient of G and E's loss reaches E only
*through D's input*, the code half of the real pair (``tests/test_bigan.py`` checks that it does).
"""

from typing import NamedTuple

import numpy

from minigan.engine import backend, nn, optim
from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.losses import binary_cross_entropy_with_logits
from minigan.engine.ops import concatenate
from .gan import GAN, evaluating, output_range
from .models import init_output_bias_from_marginals_, mlp_generator
from .objectives import GENERATOR_LOSSES, mean_probability

NOISE_DIM = 50   # z ~ U(−1, 1)⁵⁰, the released MNIST script's noise ("u-50", train_mnist.sh of jeffdonahue/bigan)
HIDDEN = 1024    # units in each hidden layer of G, E and D: this module's choice, not read from the paper


class Pair(NamedTuple):
    """What D judges: images (m, 28, 28, 1) and their codes (m, noise_dim), both Tensors."""

    x: object
    z: object


# ----- the networks ----------------------------------------------------------------------------------------
class GeneratorEncoder(nn.Module):
    """G and E in one module, so that one optimiser steps both (they descend V together).

    Called as a generator: z (m, noise_dim) → the fake pair (G(z), z). ``encoder(x)`` is E alone.
    """

    def __init__(self, generator, encoder):
        self.generator, self.encoder = generator, encoder

    def forward(self, noise):
        return Pair(self.generator(noise), noise)


class PairDiscriminator(nn.Module):
    """D(x, z) → logit (m, 1): x and z each through their own layer, then joined, so that D can weigh
    what the image and the code say about each other (a layout chosen here)."""

    def __init__(self, noise_dim=NOISE_DIM, hidden=HIDDEN, slope=0.2):
        self.image_path = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.LeakyReLU(slope))
        self.code_path = nn.Sequential(nn.Linear(noise_dim, hidden), nn.LeakyReLU(slope))
        self.joint = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.LeakyReLU(slope), nn.Linear(hidden, 1))

    def forward(self, x, z):
        return self.joint(concatenate([self.image_path(x), self.code_path(z)], axis=1))


def mlp_encoder(noise_dim=NOISE_DIM, hidden=HIDDEN, slope=0.2):
    """E: images (m, 28, 28, 1) → codes (m, noise_dim): FC hidden BN lReLU → FC hidden BN lReLU → FC noise_dim
    (linear: D, not a squashing layer, pushes E(x) into the prior's [−1, 1]⁵⁰)."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, hidden, bias=False), nn.BatchNorm1d(hidden), nn.LeakyReLU(slope),
        nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.LeakyReLU(slope),
        nn.Linear(hidden, noise_dim),
    )


# ----- the objective ---------------------------------------------------------------------------------------
class Bidirectional:
    """The BiGAN game (eq. 3) on pairs: D tells (x, E(x)) from (G(z), z); G and E descend it together.

    Args:
        generator_loss: ``"non-saturating"`` (the default, §3.4's inverted labels) or ``"minimax"``.

    Statistics: ``d_real`` = mean D(x, E(x)) and ``d_fake`` = mean D(G(z), z) in D's step; in G and E's
    step ``d_fake_after`` and ``d_real_after``, the same judged by the D just updated.
    """

    def __init__(self, generator_loss="non-saturating"):
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"Bidirectional: generator_loss must be one of {GENERATOR_LOSSES}, got {generator_loss!r}")
        self.generator_form = generator_loss

    def discriminator_loss(self, gan, real, fake, x):
        """−[log D(x, E(x)) + log(1 − D(G(z), z))]; E(x) is a constant here, as G(z) is."""
        with no_grad():
            code = gan.encode_batch(real)                                        # E(x), no graph: D's step leaves E alone
        real_logits = gan.call_discriminator(Pair(real, code), x)                # s_real = D(x, E(x))
        fake_logits = gan.call_discriminator(fake, x)                            # s_fake = D(G(z), z)
        loss = binary_cross_entropy_with_logits(real_logits, 1.0) + binary_cross_entropy_with_logits(fake_logits, 0.0)
        return loss, {"d_real": mean_probability(real_logits), "d_fake": mean_probability(fake_logits)}

    def generator_loss(self, gan, fake, x):
        """G and E's loss on the fake pairs and the real pairs (x, E(x)), E(x) with its graph."""
        real_logits = gan.call_discriminator(Pair(x, gan.encode_batch(x)), x)    # the gradient reaches E through D's input
        fake_logits = gan.call_discriminator(fake, x)
        if self.generator_form == "minimax":
            loss = -(binary_cross_entropy_with_logits(real_logits, 1.0) + binary_cross_entropy_with_logits(fake_logits, 0.0))
        else:
            loss = binary_cross_entropy_with_logits(real_logits, 0.0) + binary_cross_entropy_with_logits(fake_logits, 1.0)
        return loss, {"d_fake_after": mean_probability(fake_logits), "d_real_after": mean_probability(real_logits)}

    def __repr__(self):
        return f"Bidirectional(generator_loss={self.generator_form!r})"


# ----- the GAN -----------------------------------------------------------------------------------------------
class BiGAN(GAN):
    """Algorithm 1 on pairs. ``generator`` is a ``GeneratorEncoder``, ``discriminator`` takes (x, z).

    Minibatches are plain images (m, 28, 28, 1), as for ``GAN``; each iteration's condition is its last
    real minibatch, which the generator step needs for E (see the module's docstring).
    """

    def __init__(self, generator, discriminator, generator_optimizer, discriminator_optimizer, noise_dim, **kwargs):
        if not isinstance(generator, GeneratorEncoder):
            raise TypeError(f"BiGAN: generator must be a GeneratorEncoder(G, E), got a {type(generator).__name__}")
        super().__init__(generator, discriminator, generator_optimizer, discriminator_optimizer, noise_dim, **kwargs)
        self.output_range = output_range(generator.generator)  # G's range, read off G inside the pair

    def split_batch(self, batch):
        if isinstance(batch, tuple):
            raise TypeError(f"{type(self).__name__}.train_iteration: real_batches must yield minibatches of images "
                            f"(m, 28, 28, 1), got a tuple of {len(batch)}: BiGAN uses no labels")
        x = batch if isinstance(batch, Tensor) else Tensor(backend.get_backend().asarray(batch))  # one copy to the device
        return x, x                                                # the condition is x itself, for E

    def check_condition(self, x, m, method):
        if x is None or getattr(x, "shape", (None,))[0] != m:
            found = "none" if x is None else f"shape {tuple(getattr(x, 'shape', ()))}"
            raise TypeError(f"{type(self).__name__}.{method}: the condition must be the real minibatch x (m = {m} images) "
                            f"that E encodes, got {found}")
        return x if isinstance(x, Tensor) else Tensor(backend.get_backend().asarray(x))

    def call_generator(self, noise, x):
        return self.generator(noise)                               # the fake pair (G(z), z)

    def call_discriminator(self, pair, x):
        return self.discriminator(pair.x, pair.z)                  # D(x, z)

    def encode_batch(self, x):
        return self.generator.encoder(x)                           # E(x), in the module's current mode

    # ----- using the trained networks -----------------------------------------------------------------
    def generate(self, noise, condition=None):
        """G(z) in evaluation mode, without a graph: images (m, 28, 28, 1)."""
        noise = noise if isinstance(noise, Tensor) else Tensor(backend.get_backend().asarray(noise))
        with evaluating(self.generator), no_grad():
            return self.generator.generator(noise)

    def encode(self, images, batch=1000):
        """E(x) for images (n, 28, 28, 1) in evaluation mode: float32 (n, noise_dim) (NumPy)."""
        codes = []
        with evaluating(self.generator), no_grad():
            for start in range(0, len(images), batch):
                chunk = Tensor(backend.get_backend().asarray(images[start : start + batch]))
                codes.append(self.generator.encoder(chunk).numpy())
        return numpy.concatenate(codes).astype(numpy.float32) if codes else numpy.zeros((0, self.noise_dim), numpy.float32)

    def reconstruct(self, images):
        """G(E(x)) in evaluation mode: (n, 28, 28, 1) (NumPy). E was never asked to invert G: how close these
        come to x is what the game alone achieved (§3, Theorem 2)."""
        return self.generate(self.encode(images)).numpy()


def build_bigan(images=None, seed=None, hidden=HIDDEN, lr=2e-4, generator_loss="non-saturating"):
    """BiGAN for MNIST: MLPs for G, E and D; z ~ U(−1, 1)⁵⁰; Adam 2e-4 with β₁ 0.5 for D and for G with E.

    G is the project's MLP generator (``models.mlp_generator``: batch norm, sigmoid output, images in
    [0, 1]); with ``images``, its output bias starts at the logit of the mean pixel, as the MLP GAN's recipe
    (``models.init_output_bias_from_marginals_``).
    """
    generator = mlp_generator(noise_dim=NOISE_DIM, hidden=hidden)
    if images is not None:
        init_output_bias_from_marginals_(generator, images)
    pair = GeneratorEncoder(generator, mlp_encoder(hidden=hidden))
    discriminator = PairDiscriminator(hidden=hidden)
    return BiGAN(pair, discriminator,
                 optim.Adam(pair.parameters(), lr=lr, betas=(0.5, 0.999)),
                 optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
                 noise_dim=NOISE_DIM, noise="uniform", seed=seed, objective=Bidirectional(generator_loss))


# ----- the paper's Table 1 protocol: 1-nearest-neighbour on features -------------------------------------------
def nearest_neighbour_accuracy(train_features, train_labels, test_features, test_labels, batch=500):
    """The fraction of test points whose nearest training point (Euclidean) has their label.

    ‖a − b‖² = ‖a‖² − 2 a·b + ‖b‖²; ‖a‖² (the test point's own) is the same for every candidate and is left
    out of the argmin, so one GEMM per chunk of test points does the work (in the features' float32: on
    raw pixels, 50,000 × 10,000 × 784 products).
    """
    train = numpy.asarray(train_features, numpy.float32).reshape(len(train_features), -1)
    test = numpy.asarray(test_features, numpy.float32).reshape(len(test_features), -1)
    if train.shape[1] != test.shape[1] or len(train) != len(train_labels) or len(test) != len(test_labels):
        raise ValueError(f"nearest_neighbour_accuracy: train {train.shape} with {len(train_labels)} labels and test {test.shape} "
                         f"with {len(test_labels)} labels must have one label a row and the same feature length")
    squared = (train * train).sum(axis=1)
    train_labels, test_labels = numpy.asarray(train_labels), numpy.asarray(test_labels)
    correct = 0
    for start in range(0, len(test), batch):
        chunk = test[start : start + batch]
        nearest = (squared[None, :] - 2.0 * chunk @ train.T).argmin(axis=1)
        correct += int((train_labels[nearest] == test_labels[start : start + batch]).sum())
    return correct / max(len(test), 1)
