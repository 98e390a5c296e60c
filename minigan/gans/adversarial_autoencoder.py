"""The adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose codes are made to look like
samples of a prior p(z) by a discriminator on codes.

An encoder q(z | x) (here deterministic, z = E(x)) and a decoder p(x | z) form an autoencoder. A
discriminator D on the *code* space is shown samples of a chosen prior p(z) ("real") and the codes E(x)
of the data ("fake"); the encoder is the GAN's generator, and fools D when the aggregated posterior
q(z) = ∫ q(z | x) p_data(x) dx matches p(z). Then the decoder, fed z ~ p(z), draws data: it is a
generative model. The paper trains on each minibatch in two phases (§2):

    "In the reconstruction phase, the autoencoder updates the encoder and the decoder to minimize the
    reconstruction error of the inputs. In the regularization phase, the adversarial network first
    updates its discriminative network to tell apart the true samples (generated using the prior) from
    the generated samples (the hidden codes computed by the autoencoder). The adversarial network then
    updates its generator (which is also the encoder of the autoencoder) to confuse the discriminative
    network."

So the regularisation phase is Algorithm 1 exactly (``minigan/gans/gan.py``) with G = E, real examples
= samples of p(z), fakes = E(x), and the objective the paper's (``objectives.Standard``: D's
−[log D(z) + log(1 − D(E(x)))], E's non-saturating −log D(E(x))). ``AdversarialAutoencoder`` adds the
reconstruction phase in front of D's step (``discriminator_step``): one step of E and the decoder down

    L_rec = (1/m) Σᵢ (1/784) ‖x⁽ⁱ⁾ − Dec(E(x⁽ⁱ⁾))‖²       (the mean squared error over pixels)

E's optimiser is the loop's generator optimiser, stepped in both phases; the decoder has its own,
stepped in the reconstruction phase only (in the regularisation phase the decoder gets no gradient, and
an Adam step with a zero gradient would still move it by its momentum; an optimiser owns its parameters,
so E cannot be in a second one).

**Priors** (§2.1, §2.3). ``GaussianPrior``: p(z) = N(0, I). ``MixturePrior``: an equal mixture of 10
2-D Gaussians, component k centred at radius r on angle 2πk/10, elongated along its radius; with labels
(§2.3, Figure 4), D is given a one-hot of the label as well: for a prior sample, the component it was
drawn from, for a code E(x), the digit of x; each minibatch's prior samples are drawn from the
components of its own digits, so D can only separate the two by where the codes lie. Digit k is then
pushed into component k, and the code space is cut into ten labelled petals.
"""

import math
from typing import NamedTuple

import numpy

from minigan.engine import backend, nn, optim
from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.losses import mse_loss
from minigan.engine.ops import concatenate
from .conditional_gan import check_labels, one_hot
from .gan import GAN, descend, evaluating
from .objectives import Standard

CLASSES = 10


class Minibatch(NamedTuple):
    """The condition of an iteration: its images (m, 28, 28, 1) Tensor and their labels (m,) ints, or None."""

    images: object
    labels: object


# ----- the priors p(z) ---------------------------------------------------------------------------------------
class GaussianPrior:
    """p(z) = N(0, I) in ``dim`` dimensions (§2.1). Takes no labels."""

    labelled = False

    def __init__(self, dim=2):
        self.dim = dim

    def sample(self, m, labels=None, rng=None):
        rng = backend.default_rng() if rng is None else rng
        return backend.get_backend().xp.asarray(rng.standard_normal((m, self.dim), dtype=backend.get_backend().dtype))

    def __repr__(self):
        return f"GaussianPrior(dim={self.dim})"


class MixturePrior:
    """An equal mixture of ``components`` 2-D Gaussians: component k has mean r (cos θₖ, sin θₖ), θₖ = 2πk/K,
    and standard deviations ``radial`` along (cos θₖ, sin θₖ) and ``tangential`` across it (§2.3, Figure 4:
    ten elongated components around the origin; r, the two deviations are this module's choice).

    ``sample(m, labels)`` draws sample i from component labels[i] (the labelled case of §2.3); without
    labels, from a uniformly drawn component.
    """

    labelled = True
    dim = 2

    def __init__(self, components=CLASSES, radius=4.0, radial=0.5, tangential=0.1):
        self.components, self.radius, self.radial, self.tangential = components, radius, radial, tangential

    def sample(self, m, labels=None, rng=None):
        rng = backend.default_rng() if rng is None else rng
        xp, dtype = backend.get_backend().xp, backend.get_backend().dtype
        if labels is None:
            labels = xp.minimum((xp.asarray(rng.random(m)) * self.components).astype(xp.int64), self.components - 1)
        angle = xp.asarray(labels).astype(dtype) * (2 * math.pi / self.components)            # θ of each sample's component
        along, across = (xp.asarray(rng.standard_normal((m, 2), dtype=dtype)) * xp.asarray([self.radial, self.tangential], dtype=dtype)).T
        distance = self.radius + along                                                          # along the radius
        cos, sin = xp.cos(angle), xp.sin(angle)
        return xp.stack([distance * cos - across * sin, distance * sin + across * cos], axis=1).astype(dtype)

    def __repr__(self):
        return f"MixturePrior(components={self.components}, radius={self.radius}, radial={self.radial}, tangential={self.tangential})"


# ----- the networks (the paper's MNIST E, decoder and D: two layers of 1000 ReLU units; ``hidden`` sets the width) ---
class AutoEncoder(nn.Module):
    """E and the decoder in one module (the GAN's ``generator``, saved and restored as one)."""

    def __init__(self, encoder, decoder):
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x):
        return self.encoder(x)                                     # as the GAN's generator: the code E(x)


def mlp_encoder(code_dim, hidden=1000):
    """images (m, 28, 28, 1) → codes (m, code_dim): FC ReLU → FC ReLU → FC (linear)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, code_dim))


def mlp_decoder(code_dim, hidden=1000):
    """codes (m, code_dim) → images (m, 28, 28, 1) in [0, 1]: FC ReLU → FC ReLU → FC sigmoid."""
    return nn.Sequential(nn.Linear(code_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 784), nn.Sigmoid(), nn.Reshape(28, 28, 1))


class CodeDiscriminator(nn.Module):
    """D(z) or, with ``classes``, D(z, onehot(y)) → logit (m, 1): FC ReLU → FC ReLU → FC 1."""

    def __init__(self, code_dim, hidden=1000, classes=0):
        self.classes = classes
        self.net = nn.Sequential(nn.Linear(code_dim + classes, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, z, labels=None):
        if self.classes:
            z = concatenate([z, one_hot(labels, self.classes, dtype=z.dtype)], axis=1)
        return self.net(z)


def reconstruction_error(images, reconstructions):
    """L_rec: the mean over the minibatch and the pixels of (x − Dec(E(x)))²."""
    return mse_loss(reconstructions, images)


# ----- the GAN -------------------------------------------------------------------------------------------------
class AdversarialAutoencoder(GAN):
    """Algorithm 1 on codes, with the reconstruction phase before each update of D.

    Args:
        autoencoder: an ``AutoEncoder``, the GAN's generator.
        discriminator: a ``CodeDiscriminator`` (with ``classes`` when the prior is labelled).
        encoder_optimizer: over E's parameters: stepped in both phases.
        discriminator_optimizer: over D's.
        decoder_optimizer: over the decoder's: stepped in the reconstruction phase.
        prior: ``GaussianPrior`` or ``MixturePrior``; a labelled prior needs (images, labels) minibatches.
        seed: as ``GAN``'s; the prior's samples come from the training stream, so a resumed run draws the same.

    Statistics: the loop's, with ``reconstruction``, L_rec before the reconstruction step.
    """

    def __init__(self, autoencoder, discriminator, encoder_optimizer, discriminator_optimizer, decoder_optimizer, prior,
                 seed=None, objective=None):
        if not isinstance(autoencoder, AutoEncoder):
            raise TypeError(f"AdversarialAutoencoder: autoencoder must be an AutoEncoder(encoder, decoder), got a {type(autoencoder).__name__}")
        super().__init__(autoencoder, discriminator, encoder_optimizer, discriminator_optimizer, noise_dim=prior.dim, seed=seed,
                         objective=objective or Standard())
        self.prior, self.decoder_optimizer = prior, decoder_optimizer

    # ----- what one iteration is made of -------------------------------------------------------------------
    def split_batch(self, batch):
        """images, or (images, labels) → (m samples of p(z), Minibatch(images, labels)): D's "real" are the prior's."""
        images, labels = batch if isinstance(batch, tuple) else (batch, None)
        if self.prior.labelled and labels is None:
            raise TypeError(f"{type(self).__name__}.train_iteration: the prior {self.prior!r} is labelled (§2.3): real_batches "
                            f"must yield (images, labels) pairs, got images alone")
        x = images if isinstance(images, Tensor) else Tensor(backend.get_backend().asarray(images))
        labels = None if labels is None or not self.prior.labelled else check_labels(labels, x.shape[0], CLASSES)
        return Tensor(self.prior.sample(x.shape[0], labels)), Minibatch(x, labels)

    def check_condition(self, minibatch, m, method):
        if not isinstance(minibatch, Minibatch) or minibatch.images.shape[0] != m:
            raise TypeError(f"{type(self).__name__}.{method}: the condition must be the Minibatch(images, labels) of the "
                            f"m = {m} images that E encodes, got {type(minibatch).__name__}")
        return minibatch

    def call_generator(self, noise, minibatch):
        return self.generator.encoder(minibatch.images)            # the "fake": E(x) (the loop's noise is not used)

    def call_discriminator(self, z, minibatch):
        return self.discriminator(z, minibatch.labels)             # D(z), or D(z, onehot(y)) for a labelled prior

    def discriminator_step(self, real, minibatch=None):
        """The reconstruction phase, then (the regularisation phase) the loop's update of D."""
        minibatch = self.check_condition(minibatch, real.shape[0], "discriminator_step")
        loss = reconstruction_error(minibatch.images, self.generator.decoder(self.generator.encoder(minibatch.images)))
        self.decoder_optimizer.zero_grad()
        descend(self.generator_optimizer, loss)                    # E and the decoder, down L_rec
        self.decoder_optimizer.step()
        stats = super().discriminator_step(real, minibatch)
        return {**stats, "reconstruction": loss.data}

    # ----- using the trained networks ----------------------------------------------------------------------
    def generate(self, codes, condition=None):
        """Dec(z) in evaluation mode, without a graph: codes (m, dim) → images (m, 28, 28, 1)."""
        codes = codes if isinstance(codes, Tensor) else Tensor(backend.get_backend().asarray(codes))
        with evaluating(self.generator), no_grad():
            return self.generator.decoder(codes)

    def encode(self, images, batch=1000):
        """E(x) of images (n, 28, 28, 1) in evaluation mode: float32 (n, dim) (NumPy)."""
        codes = []
        with evaluating(self.generator), no_grad():
            for start in range(0, len(images), batch):
                codes.append(self.generator.encoder(Tensor(backend.get_backend().asarray(images[start : start + batch]))).numpy())
        return numpy.concatenate(codes).astype(numpy.float32) if codes else numpy.zeros((0, self.prior.dim), numpy.float32)

    # ----- saving and resuming: the loop's state and the decoder's optimiser ------------------------------------
    def state_dict(self):
        return {**super().state_dict(), "decoder_optimizer": self.decoder_optimizer.state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.decoder_optimizer.load_state_dict(state["decoder_optimizer"])
        return self


def build_adversarial_autoencoder(prior, seed=None, hidden=1000, lr=2e-4):
    """E, the decoder and D as MLPs of two ``hidden``-unit ReLU layers (the paper's MNIST networks have 1000);
    Adam (β₁ 0.5) with learning rate ``lr`` for each of the three optimisers (the paper used SGD with
    momentum; Adam is the project's choice, as for the other MNIST GANs here)."""
    autoencoder = AutoEncoder(mlp_encoder(prior.dim, hidden), mlp_decoder(prior.dim, hidden))
    discriminator = CodeDiscriminator(prior.dim, hidden, classes=CLASSES if prior.labelled else 0)
    adam = lambda parameters: optim.Adam(parameters, lr=lr, betas=(0.5, 0.999))  # noqa: E731
    return AdversarialAutoencoder(autoencoder, discriminator, adam(autoencoder.encoder.parameters()), adam(discriminator.parameters()),
                                  adam(autoencoder.decoder.parameters()), prior, seed=seed)
