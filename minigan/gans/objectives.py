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

An objective may have a third method, called by the loop after every update of D:

    after_discriminator_step(gan)
        what the objective does to D between its updates (WGAN's weight clipping, ``wasserstein.py``)

The objectives of this file: ``Standard`` (Goodfellow et al. 2014), optionally with the R1 penalty
(Mescheder et al. 2018). Beside it: the Wasserstein GANs (``wasserstein.py``). At its end, the small
pieces every objective's module imports: ``mean_probability`` and ``mean_score`` (the statistics of a D
that returns logits, and of one that returns raw scores) and ``data_of`` (the array to build a leaf on).
"""

from minigan.engine import backend
from minigan.engine.autograd import Tensor, grad
from minigan.engine.checks import finite_number, positive_int
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

        r1_gamma: γ of the R1 penalty (Mescheder et al. 2018, eq. 9), added to D's loss on real data:

                R1(ψ) = (γ/2) · E_x~p_data ‖∇ₓ D_ψ(x)‖²

            with D_ψ(x) the logit. Why (§4.1): at the equilibrium the data and the fakes coincide and D is
            flat; the penalty makes D flat on the data, which is where the plain game oscillates around
            that equilibrium instead of converging to it. 0 (the default) switches it off.
        r1_every: N, the lazy variant (Karras et al. 2020, "Analyzing and improving the image quality of
            StyleGAN", §3.1): the penalty only on every N-th D step, multiplied by N so that its average
            strength is unchanged; the gradient-of-a-gradient then costs 1/N as much. 1: every step.

    Statistics: ``d_real`` and ``d_fake``, the mean D(x) and D(G(z)) of D's step; ``d_fake_after``, the
    mean D(G(z)) of G's step (fresh fakes, judged by the D just updated); with R1 on, ``r1_penalty``,
    the penalty added on this step (N·R1 on a lazy step, 0 between them).
    """

    def __init__(self, generator_loss="non-saturating", real_label=1.0, r1_gamma=0.0, r1_every=1):
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"Standard: generator_loss must be one of {GENERATOR_LOSSES}, got {generator_loss!r}")
        if not 0 < finite_number("Standard", "real_label", real_label) <= 1:
            raise ValueError(f"Standard: real_label must be in (0, 1], got {real_label!r}")
        if not finite_number("Standard", "r1_gamma (γ)", r1_gamma) >= 0:  # a bool is refused: r1_gamma=True is a slip
            raise ValueError(f"Standard: r1_gamma (γ) must be a finite number ≥ 0, got {r1_gamma!r}")
        positive_int("Standard", "r1_every (N)", r1_every)
        if r1_every != 1 and r1_gamma == 0:  # spacing a penalty that is off would be silently ignored
            raise ValueError(f"Standard: r1_every (N) = {r1_every!r} spaces the R1 penalty, which is off (r1_gamma = 0); "
                             f"give r1_gamma > 0 with it")
        self.generator_form, self.real_label = generator_loss, real_label
        self.r1_gamma, self.r1_every = float(r1_gamma), r1_every

    def discriminator_loss(self, gan, real, fake, condition=None):
        """−[log D(x) + log(1 − D(G(z)))] (with label smoothing: BCE(s_real, real_label) for the first term),
        plus N·R1 on every N-th D step when R1 is on."""
        penalty = None
        if self.r1_gamma > 0 and gan.discriminator_step_count % self.r1_every == 0:
            penalty, real_logits = r1_penalty(gan, real, condition, self.r1_gamma)  # one forward of D on x serves both
        else:
            real_logits = gan.call_discriminator(real, condition)  # s_real, D(x) = σ(s_real)
        fake_logits = gan.call_discriminator(fake, condition)  # s_fake, D(G(z)) = σ(s_fake)
        loss = (binary_cross_entropy_with_logits(real_logits, self.real_label)
                + binary_cross_entropy_with_logits(fake_logits, 0.0))
        stats = {"d_real": mean_probability(real_logits), "d_fake": mean_probability(fake_logits)}
        if self.r1_gamma > 0:
            if penalty is not None:
                penalty = penalty * float(self.r1_every)  # lazy: N times the penalty, once every N steps
                loss = loss + penalty
            stats["r1_penalty"] = 0.0 if penalty is None else penalty.data  # on the device, as the other statistics
        return loss, stats

    def generator_loss(self, gan, fake, condition=None):
        """log(1 − D(G(z))) ("minimax") or −log D(G(z)) ("non-saturating")."""
        fake_logits = gan.call_discriminator(fake, condition)  # s_fake, through the frozen D
        if self.generator_form == "minimax":
            loss = -binary_cross_entropy_with_logits(fake_logits, 0.0)  # log(1 − σ(s))
        else:
            loss = binary_cross_entropy_with_logits(fake_logits, 1.0)   # −log σ(s)
        return loss, {"d_fake_after": mean_probability(fake_logits)}

    def __repr__(self):
        r1 = f", r1_gamma={self.r1_gamma!r}, r1_every={self.r1_every!r}" if self.r1_gamma > 0 else ""
        return f"Standard(generator_loss={self.generator_form!r}, real_label={self.real_label!r}{r1})"


def r1_penalty(gan, real, condition, gamma):
    """(γ/2) · (1/m) Σᵢ ‖∇ₓ D(x⁽ⁱ⁾)‖² on real data (Mescheder et al. 2018, eq. 9) and D's logits on it.

    Returns (penalty, logits): the logits D(x) come from the same forward pass the penalty
    differentiates, so the caller's loss reuses them instead of running D on x twice.
    """
    x = Tensor(data_of(real), requires_grad=True)
    logits = gan.call_discriminator(x, condition)                       # D(x), (m, 1)
    (slopes,) = grad(logits.sum(), x, create_graph=True)                # ∇ₓD(x), (m, …)
    m = x.shape[0]
    squared = (slopes * slopes).reshape(m, -1).sum(axis=1)              # ‖∇ₓD(x⁽ⁱ⁾)‖², (m,)
    return (gamma / 2) * squared.mean(), logits


# ----- the pieces every objective's statistics use ------------------------------------------------------
def mean_probability(logits):
    """Mean of σ(logits), the average D(·) over a batch, as a 0-d array on the logits' device (no graph is
    recorded, nothing is copied to the host: the loop fetches the statistics when it prints them)."""
    return Tensor(logits.data).sigmoid().data.mean()


def mean_score(scores):
    """The mean of D's raw scores over a batch (a critic's, a least-squares D's), a 0-d array on their
    device, as ``mean_probability`` is for a D whose scores are logits."""
    return scores.data.mean()


def data_of(x):
    """The array of a Tensor (or an array, as it is, on the backend's device): to build a fresh leaf on."""
    return x.data if isinstance(x, Tensor) else backend.get_backend().asarray(x)
