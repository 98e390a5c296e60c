"""The Wasserstein GANs: weight clipping (Arjovsky et al. 2017) and the gradient penalty (Gulrajani et al. 2017).

Both replace D's probability with a *critic* f: a network without a sigmoid whose score on real data
minus its score on fakes estimates the Earth-Mover (Wasserstein-1) distance between p_data and p_g,
by the Kantorovich–Rubinstein duality (Arjovsky et al. 2017, eq. 2)

    W(p_data, p_g) = sup over 1-Lipschitz f of  E_x~p_data[f(x)] − E_z[f(G(z))].

The critic ascends that difference, G descends −E_z[f(G(z))]. What differs between the two papers is
how f is kept (roughly) 1-Lipschitz: by clipping its weights into a box, or by penalising the norm of
its gradient. Both run the one loop of ``gan.py`` (Algorithm 1 with k = n_critic); what follows is
their objectives, each quoting its paper's algorithm.

The statistics ``d_real`` and ``d_fake`` are here the mean critic scores E[f(x)] and E[f(G(z))] (raw,
not probabilities), so ``d_real − d_fake`` is the critic's Wasserstein estimate, which the WGAN paper
(Figures 3–4) shows falling as the samples improve; ``wasserstein`` reports it directly.
"""

from minigan.engine import backend
from minigan.engine.autograd import Tensor, grad
from minigan.engine.checks import finite_number
from .objectives import data_of, mean_score


class WGAN:
    """The Wasserstein GAN with weight clipping: Arjovsky et al. 2017, Algorithm 1.

    Algorithm 1 (α = 0.00005, c = 0.01, m = 64, n_critic = 5)::

        while θ has not converged do
            for t = 0, …, n_critic do
                sample {x⁽ⁱ⁾}ᵢ₌₁ᵐ ~ P_r a batch from the real data
                sample {z⁽ⁱ⁾}ᵢ₌₁ᵐ ~ p(z) a batch of prior samples
                g_w ← ∇_w [ (1/m) Σᵢ f_w(x⁽ⁱ⁾) − (1/m) Σᵢ f_w(g_θ(z⁽ⁱ⁾)) ]
                w ← w + α · RMSProp(w, g_w)
                w ← clip(w, −c, c)
            end for
            sample {z⁽ⁱ⁾}ᵢ₌₁ᵐ ~ p(z) a batch of prior samples
            g_θ ← −∇_θ (1/m) Σᵢ f_w(g_θ(z⁽ⁱ⁾))
            θ ← θ − α · RMSProp(θ, g_θ)
        end while

    The loop of ``gan.py`` is this loop with k = n_critic: ``discriminator_loss`` is the critic's loss
    (the negated bracket, since the optimisers descend), ``generator_loss`` G's, and
    ``after_discriminator_step`` the clipping line, which the loop calls after every critic update.
    The optimiser (RMSprop, lr 5e-5) and n_critic are the caller's (``models.build_gan``).

    Why clipping: a network whose weights lie in a compact box is K-Lipschitz for some K, and the sup
    over K-Lipschitz functions is K·W, so the critic still estimates W up to a constant (§3). The paper
    itself calls clipping "a clearly terrible way to enforce a Lipschitz constraint": with c large the
    critic is slow to train, with c small its gradients vanish. As the paper's code does, every critic
    parameter is clipped (batch norm's scale and shift too).

    Args:
        clip: c, the half-width of the box [−c, c] every critic parameter is clipped to.
    """

    def __init__(self, clip=0.01):
        if not finite_number("WGAN", "clip (c)", clip) > 0:  # an infinite box clips nothing
            raise ValueError(f"WGAN: clip (c) must be positive, got {clip!r}")
        self.clip = float(clip)

    def discriminator_loss(self, gan, real, fake, condition=None):
        """−[(1/m) Σ f(x) − (1/m) Σ f(G(z))]: the critic ascends its Wasserstein estimate."""
        return critic_loss(gan, real, fake, condition)

    def generator_loss(self, gan, fake, condition=None):
        """−(1/m) Σ f(G(z)), through the frozen critic."""
        return generator_loss(gan, fake, condition)

    def after_discriminator_step(self, gan):
        """w ← clip(w, −c, c) for every critic parameter, in place (no graph: this is not a loss)."""
        for parameter in gan.discriminator.parameters():
            parameter.xp.clip(parameter.data, -self.clip, self.clip, out=parameter.data)

    def __repr__(self):
        return f"WGAN(clip={self.clip!r})"


class WGANGP:
    """The Wasserstein GAN with gradient penalty: Gulrajani et al. 2017, Algorithm 1.

    Algorithm 1 (λ = 10, n_critic = 5, α = 0.0001, β₁ = 0, β₂ = 0.9)::

        while θ has not converged do
            for t = 1, …, n_critic do
                for i = 1, …, m do
                    sample real data x ~ P_r, latent variable z ~ p(z), a random number ε ~ U[0, 1]
                    x̃ ← G_θ(z)
                    x̂ ← εx + (1 − ε)x̃
                    L⁽ⁱ⁾ ← D_w(x̃) − D_w(x) + λ(‖∇ₓ̂ D_w(x̂)‖₂ − 1)²
                end for
                w ← Adam(∇_w (1/m) Σᵢ L⁽ⁱ⁾, w, α, β₁, β₂)
            end for
            sample a batch of latent variables {z⁽ⁱ⁾}ᵢ₌₁ᵐ ~ p(z)
            θ ← Adam(∇_θ (1/m) Σᵢ −D_w(G_θ(z⁽ⁱ⁾)), θ, α, β₁, β₂)
        end while

    The per-example loop is the minibatch at once here; the optimiser and n_critic are the caller's.
    Why the penalty (§4): the optimal critic has gradient norm 1 almost everywhere on the lines between
    points of P_r and P_g (Proposition 1), so instead of clipping weights the critic is pushed towards
    ‖∇D‖ = 1 at random points x̂ on those lines. Its gradient wrt w is a gradient of a gradient, which
    ``minigan.grad(..., create_graph=True)`` records (docs/double-backward.md). Because the penalty is
    per example, the critic must not mix examples: no batch norm in it (the DCGAN critic uses layer
    norm instead, §4; ``models.dcgan_discriminator(norm="layer")``).

    Args:
        penalty_weight: λ.
    """

    def __init__(self, penalty_weight=10.0):
        if not finite_number("WGANGP", "penalty_weight (λ)", penalty_weight) >= 0:
            raise ValueError(f"WGANGP: penalty_weight (λ) must be non-negative, got {penalty_weight!r}")
        self.penalty_weight = float(penalty_weight)

    def discriminator_loss(self, gan, real, fake, condition=None):
        """(1/m) Σ [D(x̃) − D(x) + λ(‖∇ₓ̂ D(x̂)‖₂ − 1)²]."""
        loss, stats = critic_loss(gan, real, fake, condition)
        penalty = gradient_penalty(gan, real, fake, condition, self.penalty_weight)
        return loss + penalty, {**stats, "gradient_penalty": penalty.data}

    def generator_loss(self, gan, fake, condition=None):
        """−(1/m) Σ D(G(z)), through the frozen critic."""
        return generator_loss(gan, fake, condition)

    def __repr__(self):
        return f"WGANGP(penalty_weight={self.penalty_weight!r})"


# ----- the pieces both share --------------------------------------------------------------------------
def critic_loss(gan, real, fake, condition=None):
    """(1/m) Σ f(G(z)) − (1/m) Σ f(x), the negated Wasserstein estimate, with its statistics."""
    real_scores = gan.call_discriminator(real, condition)  # f(x), (m, 1), no sigmoid
    fake_scores = gan.call_discriminator(fake, condition)  # f(G(z)), (m, 1)
    loss = fake_scores.mean() - real_scores.mean()
    d_real, d_fake = mean_score(real_scores), mean_score(fake_scores)
    return loss, {"d_real": d_real, "d_fake": d_fake, "wasserstein": d_real - d_fake}


def generator_loss(gan, fake, condition=None):
    """−(1/m) Σ f(G(z)): G ascends the critic's score on its samples."""
    fake_scores = gan.call_discriminator(fake, condition)
    return -fake_scores.mean(), {"d_fake_after": mean_score(fake_scores)}


NORM_FLOOR = 1e-12  # added to ‖∇D(x̂)‖² before its square root (see gradient_penalty)


def gradient_penalty(gan, real, fake, condition, penalty_weight, pac=1):
    """λ · (1/m) Σᵢ (‖∇ₓ̂ D(x̂⁽ⁱ⁾)‖₂ − 1)², x̂ = εx + (1 − ε)x̃, one ε ~ U[0, 1] per example.

    ε comes from the backend's training stream (``backend.default_rng()``), which ``GAN(seed=...)``
    reseeds every iteration, so a seed fixes it. The returned scalar carries a graph back to D's
    parameters (through the gradient ∇ₓ̂ D, recorded with ``create_graph=True``).

    ``pac``: for a critic that scores packs of ``pac`` consecutive examples together (PacGAN, Lin et al.
    2018; CTGAN's critic, ``ctgan.py``), each pack is one point of the critic's input: one ε per pack,
    and the norm is that of the gradient with respect to the whole pack, averaged over the m/pac packs.
    """
    real_data, fake_data = data_of(real), data_of(fake)
    if real_data.shape != fake_data.shape:  # x̂ pairs each real example with one fake: NumPy would only say "broadcast"
        raise ValueError(f"gradient_penalty: real and fake must have the same shape (x̂ = εx + (1 − ε)x̃ pairs them "
                         f"example by example), got real {tuple(real_data.shape)} and fake {tuple(fake_data.shape)}")
    m = real_data.shape[0]
    if m % pac:
        raise ValueError(f"gradient_penalty: the minibatch of {m} examples does not split into packs of pac = {pac}")
    epsilon = backend.default_rng().uniform(0.0, 1.0, size=(m // pac,) + (1,) * (real_data.ndim - 1))  # (m/pac, 1, …)
    epsilon = epsilon.astype(real_data.dtype, copy=False)
    if pac > 1:
        epsilon = backend.array_module(epsilon).repeat(epsilon, pac, axis=0)                # (m, 1, …): one ε per pack
    interpolated = Tensor(epsilon * real_data + (1 - epsilon) * fake_data, requires_grad=True)  # x̂, a leaf
    scores = gan.call_discriminator(interpolated, condition)                                    # D(x̂), (m, 1)
    # Σᵢ D(x̂⁽ⁱ⁾) has ∂/∂x̂⁽ⁱ⁾ = ∇D(x̂⁽ⁱ⁾): each example's score depends on its own x̂ only (no batch norm)
    (slopes,) = grad(scores.sum(), interpolated, create_graph=True)                             # (m, …) like x̂
    squared = (slopes * slopes).reshape(m // pac, -1).sum(axis=1)                              # ‖∇D(x̂⁽ⁱ⁾)‖², (m/pac,)
    # ‖·‖ = √(‖·‖² + NORM_FLOOR): √ has an infinite derivative at 0, reached by a critic whose gradient
    # vanishes at x̂ (dead ReLUs); the floor keeps its gradient finite and changes ‖·‖ by at most 1e-6.
    norms = (squared + NORM_FLOOR) ** 0.5
    return penalty_weight * ((norms - 1.0) ** 2).mean()
