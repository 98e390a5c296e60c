"""Boundary-seeking GAN: Hjelm et al. 2018, "Boundary-Seeking Generative Adversarial Networks" (ICLR 2018).

D is trained exactly as in the standard GAN (Goodfellow et al. 2014, eq. 1); only G's objective changes.
The paper's starting point (§2): for the optimal D*, p_data(x) = p_g(x) · D*(x) / (1 − D*(x)), so G is at
the data distribution exactly when the ratio D/(1 − D) is 1 on its samples, that is when D(G(z)) = ½,
on D's *decision boundary*. For continuous data the paper trains G to put its samples there by
minimising the squared log of that ratio (its continuous-variable objective, §2):

    min_G  L_G = ½ E_z[(log D(G(z)) − log(1 − D(G(z))))²]

In D's logit s (D = σ(s), as every D of ``models`` returns it) the bracket is the logit itself:
log σ(s) − log(1 − σ(s)) = log(σ(s) / σ(−s)) = log eˢ = s. So the loss is ½ mean(s²), computed here from
the logit directly, which is exact at any s (in float64 σ(s) rounds to 1 for s above about 37, so the
paper's form from the probabilities would be log 1 − log 0 = +∞ there). Its gradient in each fake's logit is

    ∂L_G/∂sᵢ = sᵢ / m

Why this is a different G from the non-saturating one (``objectives.Standard``), whose gradient is
−(1 − σ(sᵢ))/m: the non-saturating G always pushes its fakes towards "more real", and hardest where D
rejects them; the boundary-seeking G pushes each fake towards s = 0 from *either* side, so a fake D
already takes for real (s > 0) is pulled back to the boundary instead of further past it. The paper
presents this as a way to stabilise training on continuous data (shown on CelebA, LSUN bedrooms and
ImageNet; it reports no MNIST figure for the continuous objective).

An objective of Algorithm 1 (``minigan/gans/gan.py``): the loop is unchanged; ``models.OBJECTIVES`` names
it "bgan", with DCGAN's optimiser (Adam, lr 2e-4, β₁ 0.5) and k = 1, so that it can be set beside the
standard objective at the same budget (``examples/mnist_gan.py --objective bgan``).
"""

from .objectives import Standard, mean_probability


class BoundarySeeking:
    """D: the standard loss −[log D(x) + log(1 − D(G(z)))]; G: ½ mean over fakes of (log D − log(1 − D))² = ½ mean s².

    D must return logits (m, 1), as the discriminators of ``models`` do.

    Statistics: ``d_real``, ``d_fake`` (the mean D(x) and D(G(z)) of D's step, as ``Standard``'s) and
    ``d_fake_after``, the mean D(G(z)) of G's step: the boundary-seeking G aims it at ½, where the
    non-saturating G aims it at 1.
    """

    def __init__(self):
        self.discriminator = Standard()  # D's loss is the paper's standard one, with none of Standard's options

    def discriminator_loss(self, gan, real, fake, condition=None):
        """−[log D(x) + log(1 − D(G(z)))], the standard GAN's D loss."""
        return self.discriminator.discriminator_loss(gan, real, fake, condition)

    def generator_loss(self, gan, fake, condition=None):
        """½ mean (log D(G(z)) − log(1 − D(G(z))))² = ½ mean s², through the frozen D."""
        logits = gan.call_discriminator(fake, condition)  # s = log D(G(z)) − log(1 − D(G(z))), exactly
        loss = 0.5 * (logits * logits).mean()              # ∂/∂sᵢ = sᵢ/m: towards the boundary s = 0, from either side
        return loss, {"d_fake_after": mean_probability(logits)}

    def __repr__(self):
        return "BoundarySeeking()"
