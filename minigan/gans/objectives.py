"""What the two players minimise: the objective of Goodfellow et al. 2014, beside which the variants go.

``GAN.train_iteration`` (``minigan/gans/gan.py``) is the loop of Algorithm 1: it draws the minibatches and
the noise, runs G, freezes D for G's step and steps the optimisers. What it descends is asked of an
*objective*, an object with two methods:

    discriminator_loss(gan, real, fake, condition) -> (loss, statistics)
        D's loss on a minibatch of m real examples and m fakes G drew for the same condition
    generator_loss(gan, fake, condition) -> (loss, statistics)
        G's loss on m fakes, judged by D (frozen by the loop; the gradient still flows through it to G)

``loss`` is a scalar ``Tensor`` to minimise; ``statistics`` a dict of scalars for the history (the loop adds
``d_loss`` and ``g_loss``), left on the device: ``minigan/gans/training.py`` fetches a run's statistics to
the host in one transfer every few steps, since on a GPU each fetch waits for all queued work. ``condition`` is None for a plain GAN and the minibatch's labels y for
a conditional one. An objective calls D through ``gan.call_discriminator(x, condition)`` (that is D(x), or
D(x | y) for a conditional GAN), never holding the networks itself: an objective that needs more of D than
its logits on the two minibatches (a gradient penalty at other points, an auxiliary classifier's head)
computes it there, and the loop stays the one loop.
"""

from minigan.engine.autograd import Tensor
from minigan.engine.losses import binary_cross_entropy_with_logits

GENERATOR_LOSSES = ("minimax", "non-saturating")


class Standard:
    """The minimax game of Goodfellow et al. 2014 (eq. 1), as Algorithm 1 ascends and descends it.

        min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))]

    D returns a *logit* s, D(x) = σ(s), and each loss is a binary cross-entropy
    BCE(s, t) = −[t log σ(s) + (1 − t) log(1 − σ(s))], evaluated stably from the logit
    (``losses.binary_cross_entropy_with_logits``):

        D's loss            =  BCE(s_real, 1) + BCE(s_fake, 0)  = −[log D(x) + log(1 − D(G(z)))]
        G's minimax         = −BCE(s_fake, 0)                   =   log(1 − D(G(z)))
        G's non-saturating  =  BCE(s_fake, 1)                   = −log D(G(z))

    averaged over the minibatch. Why two forms of G's loss (paper, §3): early in training D rejects the
    fakes confidently, log(1 − D(G(z))) saturates and its gradient vanishes; −log D(G(z)) has the same
    fixed point but strong gradients exactly then. In the logit, ∂/∂s log(1 − σ(s)) = −σ(s) is small for
    a fake D rejects (σ(s) ≈ 0), while ∂/∂s [−log σ(s)] = −(1 − σ(s)) is close to −1 there.

    Args:
        generator_loss: ``"non-saturating"`` (default) or ``"minimax"``.
        real_label: the target t for real data in D's loss; 1.0 is the paper's, 0.9 is one-sided label
            smoothing (Salimans et al. 2016, §3.4), which keeps D from growing over-confident: D's real
            term is then BCE(s_real, 0.9). Fakes keep the target 0 ("one-sided").

    Statistics: ``d_real`` and ``d_fake``, the mean D(x) and D(G(z)) of D's step; ``d_fake_after``, the
    mean D(G(z)) of G's step (fresh fakes, judged by the D just updated).
    """

    def __init__(self, generator_loss="non-saturating", real_label=1.0):
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"Standard: generator_loss must be one of {GENERATOR_LOSSES}, got {generator_loss!r}")
        if not 0 < real_label <= 1:  # written so that NaN fails too
            raise ValueError(f"Standard: real_label must be in (0, 1], got {real_label!r}")
        self.generator_form, self.real_label = generator_loss, real_label

    def discriminator_loss(self, gan, real, fake, condition=None):
        """−[log D(x) + log(1 − D(G(z)))] (with label smoothing: BCE(s_real, real_label) for the first term)."""
        real_logits = gan.call_discriminator(real, condition)  # s_real, D(x) = σ(s_real)
        fake_logits = gan.call_discriminator(fake, condition)  # s_fake, D(G(z)) = σ(s_fake)
        loss = (binary_cross_entropy_with_logits(real_logits, self.real_label)
                + binary_cross_entropy_with_logits(fake_logits, 0.0))
        return loss, {"d_real": mean_probability(real_logits), "d_fake": mean_probability(fake_logits)}

    def generator_loss(self, gan, fake, condition=None):
        """log(1 − D(G(z))) ("minimax") or −log D(G(z)) ("non-saturating")."""
        fake_logits = gan.call_discriminator(fake, condition)  # s_fake, through the frozen D
        if self.generator_form == "minimax":
            loss = -binary_cross_entropy_with_logits(fake_logits, 0.0)  # log(1 − σ(s))
        else:
            loss = binary_cross_entropy_with_logits(fake_logits, 1.0)   # −log σ(s)
        return loss, {"d_fake_after": mean_probability(fake_logits)}

    def __repr__(self):
        return f"Standard(generator_loss={self.generator_form!r}, real_label={self.real_label!r})"


def mean_probability(logits):
    """Mean of σ(logits), the average D(·) over a batch, as a 0-d array on the logits' device (no graph is
    recorded, nothing is copied to the host)."""
    return Tensor(logits.data).sigmoid().data.mean()
