"""Least-squares GAN: Mao et al. 2017, "Least Squares Generative Adversarial Networks".

The discriminator's output D(x) is a score, not a probability (no sigmoid), and both players minimise
squared distances to target scores instead of cross-entropies (paper, eq. 2):

    min_D  V(D) = ½ E_x[(D(x) − b)²] + ½ E_z[(D(G(z)) − a)²]
    min_G  V(G) = ½ E_z[(D(G(z)) − c)²]

a is the score D should give fakes, b the score for real data, c the score G wants D to give its fakes.
Why (paper, §3.1): the sigmoid cross-entropy saturates for fakes that D classifies correctly but that lie
far from the data, so they send G almost no gradient; the squared loss penalises them in proportion to
their distance from the decision boundary, and keeps pulling them towards the data.

The two codings of the paper (§3.2.3), both in ``CODINGS``:

* ``"0-1"``: a = 0, b = c = 1 (eq. 9): G wants its fakes scored as real, as in the non-saturating GAN;
* ``"-1-1-0"``: a = −1, b = 1, c = 0 (eq. 8): b − c = 1 and b − a = 2, for which minimising eq. 2 is
  minimising the Pearson χ² divergence between p_data + p_g and 2 p_g (paper, §3.2.2, Theorem).

Both are objectives of Algorithm 1 (``minigan/gans/gan.py``): the loop is unchanged; only what the
players descend is this module's.
"""

from minigan.engine.checks import finite_number
from minigan.engine.losses import mse_loss
from .objectives import mean_score

CODINGS = {"0-1": (0.0, 1.0, 1.0), "-1-1-0": (-1.0, 1.0, 0.0)}  # name → (a, b, c)


class LeastSquares:
    """The least-squares objective with targets a (fake), b (real) and c (G's wish), by default 0, 1, 1.

    ``LeastSquares.coding("-1-1-0")`` builds the χ² coding. D must return raw scores (m, 1): the
    discriminators of ``models`` do (their logits, which the standard objective feeds to a sigmoid).
    ``models.OBJECTIVES`` names both codings ("lsgan", "lsgan-chi2") with the paper's optimiser: Adam,
    lr 2e-4, β₁ 0.5, as DCGAN's (Mao et al. 2017, §4.1), one D step per G step.

    Statistics: ``d_real`` and ``d_fake``, the mean scores D(x) and D(G(z)) in D's step (targets b and a);
    ``d_fake_after``, the mean D(G(z)) in G's step (target c).
    """

    def __init__(self, a=0.0, b=1.0, c=1.0):
        for name, value in (("a", a), ("b", b), ("c", c)):
            finite_number("LeastSquares", name, value)  # an infinite target makes every loss infinite
        if a == b:
            raise ValueError(f"LeastSquares: the fake target a and the real target b must differ, got a = b = {a}")
        self.a, self.b, self.c = float(a), float(b), float(c)

    @classmethod
    def coding(cls, name):
        """The objective of one of the paper's codings: ``"0-1"`` (a=0, b=c=1) or ``"-1-1-0"`` (a=−1, b=1, c=0)."""
        if name not in CODINGS:
            raise ValueError(f"LeastSquares.coding: coding must be one of {tuple(CODINGS)}, got {name!r}")
        return cls(*CODINGS[name])

    def discriminator_loss(self, gan, real, fake, condition=None):
        """½ mean (D(x) − b)² + ½ mean (D(G(z)) − a)²."""
        real_scores = gan.call_discriminator(real, condition)   # D(x), (m, 1)
        fake_scores = gan.call_discriminator(fake, condition)   # D(G(z)), (m, 1)
        loss = 0.5 * mse_loss(real_scores, self.b) + 0.5 * mse_loss(fake_scores, self.a)
        return loss, {"d_real": mean_score(real_scores), "d_fake": mean_score(fake_scores)}

    def generator_loss(self, gan, fake, condition=None):
        """½ mean (D(G(z)) − c)², through the frozen D."""
        fake_scores = gan.call_discriminator(fake, condition)
        return 0.5 * mse_loss(fake_scores, self.c), {"d_fake_after": mean_score(fake_scores)}

    def __repr__(self):
        return f"LeastSquares(a={self.a:g}, b={self.b:g}, c={self.c:g})"
