"""The auxiliary-classifier GAN: Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs".

As in the conditional GAN (``conditional_gan.py``), G draws a sample of the class it is asked for,
X_fake = G(c, z). Unlike it, D is *not* told the class: it answers two questions about every image, the
probability distribution over sources, P(S | X), and over classes, P(C | X). Its objective has two parts
(paper, §3, eqs. 2 and 3):

    L_S = E[log P(S = real | X_real)] + E[log P(S = fake | X_fake)]
    L_C = E[log P(C = c | X_real)]    + E[log P(C = c | X_fake)]

"D is trained to maximize L_S + L_C while G is trained to maximize L_C − L_S." As losses to minimise,
with D's source logit s and class logits k (``AuxiliaryClassifierDiscriminator``):

    D's loss = BCE(s_real, 1) + BCE(s_fake, 0) + CE(k_real, c) + CE(k_fake, c)   = −(L_S + L_C)
    G's loss = CE(k_fake, c) − BCE(s_fake, 0)                                    = −(L_C − L_S)   ("minimax")
             = CE(k_fake, c) + BCE(s_fake, 1)                                    ("non-saturating", the default)

(BCE the binary cross-entropy on a logit, CE the softmax cross-entropy; G's source term takes the
non-saturating form of Goodfellow et al. 2014, §3, for the reason given in ``objectives.Standard``.)
So both players *agree* on the class term: G is rewarded for fakes that D's classifier reads as their
class, which is what makes the samples of a class look like that class.

What changes from the conditional GAN is therefore only how D is called (``ACGAN.call_discriminator``:
D(x) with both heads, no label) and the objective (``AuxiliaryClassifier``); the loop, the label path
into G (onehot(c) joined to z) and the fakes drawn for the real minibatch's labels are the conditional
GAN's, unchanged. The networks here are the project's MLP GAN recipe (as for the conditional GAN, so the
two compare at the same budget); D's body is the maxout discriminator with two linear heads on its last
hidden layer.
"""

from minigan.engine import nn, optim
from minigan.engine.losses import binary_cross_entropy_with_logits, cross_entropy
from . import models
from .conditional_gan import NUM_CLASSES, ConditionalGAN, conditional_mlp_generator
from .objectives import GENERATOR_LOSSES, mean_probability


class AuxiliaryClassifierDiscriminator(nn.Module):
    """D(x) = (s, k): images (m, …) → a source logit s (m, 1) and class logits k (m, num_classes).

    ``body`` maps the images to features (m, features); the two heads are linear maps of those features:
    ``source`` (real or fake, P(S = real | x) = σ(s)) and ``classes`` (P(C | x) = softmax(k)).
    """

    def __init__(self, body, features, num_classes=NUM_CLASSES):
        self.body = body
        self.source = nn.Linear(features, 1)
        self.classes = nn.Linear(features, num_classes)
        self.num_classes = num_classes

    def forward(self, x):
        h = self.body(x)                                 # (m, features)
        return self.source(h), self.classes(h)           # (m, 1), (m, num_classes)


def acgan_mlp_discriminator(num_classes=NUM_CLASSES, units=240, pieces=5, input_dropout=0.2, hidden_dropout=0.5):
    """The maxout discriminator of ``models.mlp_discriminator`` with a source head and a class head."""
    body = nn.Sequential(
        nn.Flatten(), nn.Dropout(input_dropout),                                   # (m, 28, 28, 1) → (m, 784)
        nn.Maxout(784, units, pieces), nn.Dropout(hidden_dropout),
        nn.Maxout(units, units, pieces), nn.Dropout(hidden_dropout),              # (m, units)
    )
    return AuxiliaryClassifierDiscriminator(body, units, num_classes)


class AuxiliaryClassifier:
    """The AC-GAN objective: D minimises −(L_S + L_C), G minimises −(L_C − L_S) (or its non-saturating form).

    Args:
        generator_loss: ``"non-saturating"`` (default) or ``"minimax"``, the form of G's source term.
        real_label: the target for real images in the source term (0.9: one-sided label smoothing, as the
            MLP recipe uses); the class term always uses the true class.

    Statistics: ``d_real``, ``d_fake`` (mean P(S = real) of D's step), ``d_fake_after`` (G's step), and
    ``class_real``, ``class_fake``: the fraction of the real and fake minibatch whose class D reads right.
    """

    def __init__(self, generator_loss="non-saturating", real_label=1.0):
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"AuxiliaryClassifier: generator_loss must be one of {GENERATOR_LOSSES}, got {generator_loss!r}")
        if not 0 < real_label <= 1:
            raise ValueError(f"AuxiliaryClassifier: real_label must be in (0, 1], got {real_label!r}")
        self.generator_form, self.real_label = generator_loss, real_label

    def discriminator_loss(self, gan, real, fake, labels):
        """−(L_S + L_C) = BCE(s_real, 1) + BCE(s_fake, 0) + CE(k_real, c) + CE(k_fake, c)."""
        real_source, real_classes = gan.call_discriminator(real, labels)
        fake_source, fake_classes = gan.call_discriminator(fake, labels)
        source = binary_cross_entropy_with_logits(real_source, self.real_label) + binary_cross_entropy_with_logits(fake_source, 0.0)
        classes = cross_entropy(real_classes, labels) + cross_entropy(fake_classes, labels)
        return source + classes, {"d_real": mean_probability(real_source), "d_fake": mean_probability(fake_source),
                                  "class_real": class_accuracy(real_classes, labels),
                                  "class_fake": class_accuracy(fake_classes, labels)}

    def generator_loss(self, gan, fake, labels):
        """−(L_C − L_S) = CE(k_fake, c) − BCE(s_fake, 0), or CE(k_fake, c) + BCE(s_fake, 1) (non-saturating)."""
        fake_source, fake_classes = gan.call_discriminator(fake, labels)
        if self.generator_form == "minimax":
            source = -binary_cross_entropy_with_logits(fake_source, 0.0)   # log P(S = fake | X_fake)
        else:
            source = binary_cross_entropy_with_logits(fake_source, 1.0)    # −log P(S = real | X_fake)
        return cross_entropy(fake_classes, labels) + source, {"d_fake_after": mean_probability(fake_source)}

    def __repr__(self):
        return f"AuxiliaryClassifier(generator_loss={self.generator_form!r}, real_label={self.real_label!r})"


def class_accuracy(logits, labels):
    """The fraction of rows whose largest logit is at their label, as a 0-d array on the logits' device."""
    return (logits.data.argmax(axis=1) == logits.xp.asarray(labels)).mean()


class ACGAN(ConditionalGAN):
    """The conditional GAN's loop with D that is not told the class: D(x) → (source logit, class logits)."""

    def call_discriminator(self, x, labels):
        return self.discriminator(x)  # (c) is not D's input: D must find the class itself (its class head)


def build_acgan(lr=2e-4, generator_loss="non-saturating", discriminator_steps=1, seed=None, images=None,
                num_classes=NUM_CLASSES):
    """An AC-GAN for MNIST with the recipe of ``conditional_gan.build_conditional_gan`` (the MLP GAN's).

    G: the conditional MLP generator (batch norm; z and onehot(c) as its input; output bias from the
    pixel marginals when the training ``images`` are given). D: the maxout discriminator with dropout and
    two heads. One-sided label smoothing 0.9 on the source term, U(−1, 1) noise, Adam(lr, β₁ 0.5) for both;
    images in [0, 1].
    """
    generator = conditional_mlp_generator(num_classes=num_classes)
    discriminator = acgan_mlp_discriminator(num_classes=num_classes)
    if images is not None:
        models.init_output_bias_from_marginals_(generator.net, images)
    return ACGAN(
        generator, discriminator,
        optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999)),
        optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
        noise_dim=models.NOISE_DIM, num_classes=num_classes, discriminator_steps=discriminator_steps,
        noise="uniform", seed=seed, objective=AuxiliaryClassifier(generator_loss, real_label=0.9),
    )
