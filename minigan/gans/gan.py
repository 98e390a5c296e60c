"""Training a GAN: Goodfellow et al. 2014, Algorithm 1.

The discriminator D(x) estimates the probability that x came from the data rather than from the
generator G(z). The two play the minimax game (Goodfellow et al. 2014, eq. 1)

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))].

Algorithm 1 alternates between the players::

    for each training iteration:
        for k steps:                                         (k = discriminator_steps)
            sample m noise vectors z and m data examples x
            update D by ascending  (1/m) Σ [log D(x) + log(1 − D(G(z)))]
        sample m noise vectors z
        update G by descending (1/m) Σ log(1 − D(G(z)))       ("minimax")
               or ascending   (1/m) Σ log D(G(z))             ("non-saturating", §3 of the paper)

Here D returns a *logit* s (D(x) = σ(s)), and both objectives are written as binary cross-entropies,
BCE(s, y) = −[y log σ(s) + (1 − y) log(1 − σ(s))], evaluated by the stable ``losses`` function:

    D's loss          = BCE(s_real, 1) + BCE(s_fake, 0)   = −[log D(x) + log(1 − D(G(z)))]
    G's minimax       = −BCE(s_fake, 0)                   =   log(1 − D(G(z)))
    G's non-saturating=  BCE(s_fake, 1)                   = −log D(G(z))

Early in training D rejects fakes confidently, log(1 − D(G(z))) saturates and its gradient vanishes;
the non-saturating loss has the same fixed point but strong gradients exactly then (paper, §3).
"""

import contextlib

import numpy

from minigan.engine import backend
from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.losses import binary_cross_entropy_with_logits

GENERATOR_LOSSES = ("minimax", "non-saturating")
NOISE_DISTRIBUTIONS = ("normal", "uniform")


def _mean_probability(logits):
    """Mean of σ(logits) as a Python float: the average D(·) over a batch."""
    return float(backend.to_numpy(Tensor(logits.data).sigmoid().data).mean())


@contextlib.contextmanager
def frozen(module):
    """Inside the block ``module``'s parameters require no gradient; afterwards they do again (even after an error)."""
    module.requires_grad_(False)
    try:
        yield module
    finally:
        module.requires_grad_(True)


@contextlib.contextmanager
def evaluating(module):
    """Inside the block ``module`` is in eval mode (no dropout, batch norm from running statistics);
    afterwards it is back in the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


class GAN:
    """A generator, a discriminator, their optimisers, and Algorithm 1 to train them.

    Args:
        generator: maps noise (m, noise_dim) to samples shaped like the data.
        discriminator: maps a batch of samples to logits (m, 1).
        generator_optimizer, discriminator_optimizer: each over its own network's parameters.
        noise_dim: length of z.
        generator_loss: ``"non-saturating"`` (default) or ``"minimax"``.
        discriminator_steps: k, discriminator updates per generator update (the paper used k = 1).
        noise: ``"normal"`` N(0, I) or ``"uniform"`` U(−1, 1) for z.
        real_label: the target for real data in D's loss; 1.0 is the paper's, 0.9 is one-sided label
            smoothing (Salimans et al. 2016), which keeps D from growing over-confident.
        seed: with ``seed`` set, iteration t draws its noise (and dropout masks) from a generator seeded
            by (seed, t), so a run resumed at iteration t draws exactly what the uninterrupted run drew.
    """

    def __init__(self, generator, discriminator, generator_optimizer, discriminator_optimizer, noise_dim,
                 generator_loss="non-saturating", discriminator_steps=1, noise="normal", real_label=1.0, seed=None):
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"GAN: generator_loss must be one of {GENERATOR_LOSSES}, got {generator_loss!r}")
        if not isinstance(discriminator_steps, int) or discriminator_steps < 1:
            raise ValueError(f"GAN: discriminator_steps (k) must be a positive int, got {discriminator_steps!r}")
        if noise not in NOISE_DISTRIBUTIONS:
            raise ValueError(f"GAN: noise must be one of {NOISE_DISTRIBUTIONS}, got {noise!r}")
        if not 0 < real_label <= 1:
            raise ValueError(f"GAN: real_label must be in (0, 1], got {real_label}")
        self.generator, self.discriminator = generator, discriminator
        self.generator_optimizer, self.discriminator_optimizer = generator_optimizer, discriminator_optimizer
        self.noise_dim, self.generator_loss, self.discriminator_steps = noise_dim, generator_loss, discriminator_steps
        self.noise, self.real_label, self.seed = noise, real_label, seed
        self.iteration = 0  # completed iterations of Algorithm 1's outer loop
        self.discriminator_step_count = 0
        self.generator_step_count = 0

    # ----- the pieces of Algorithm 1 ----------------------------------------------------------
    def sample_noise(self, m, rng=None):
        """m noise vectors z, shape (m, noise_dim), in the networks' dtype, on the current device.

        ``rng``: a generator of the current backend (default: the training stream, ``default_rng()``);
        pass your own for noise that training does not consume, such as a fixed grid's.
        """
        rng = backend.default_rng() if rng is None else rng
        dtype = backend.get_backend().dtype
        if self.noise == "normal":
            z = rng.standard_normal((m, self.noise_dim), dtype=dtype)
        else:
            z = rng.uniform(-1.0, 1.0, size=(m, self.noise_dim)).astype(dtype)
        return Tensor(z)

    def discriminator_objective(self, real_logits, fake_logits):
        """D's loss, to minimise: −[log D(x) + log(1 − D(G(z)))], averaged over the minibatch.

        With one-sided label smoothing the real term is BCE(s_real, real_label) instead of −log D(x).
        """
        return binary_cross_entropy_with_logits(real_logits, self.real_label) + binary_cross_entropy_with_logits(fake_logits, 0.0)

    def generator_objective(self, fake_logits):
        """G's loss, to minimise: log(1 − D(G(z))) ("minimax") or −log D(G(z)) ("non-saturating")."""
        if self.generator_loss == "minimax":
            return -binary_cross_entropy_with_logits(fake_logits, 0.0)
        return binary_cross_entropy_with_logits(fake_logits, 1.0)

    def discriminator_step(self, real):
        """One update of D on a minibatch of real data and as many fresh fakes.

        G is run under ``no_grad``: its output enters D's graph as a constant, so D's backward pass
        stops at the fakes and G's parameters and gradients are untouched.
        """
        real = real if isinstance(real, Tensor) else Tensor(backend.get_backend().asarray(real))
        m = real.shape[0]
        with no_grad():
            fake = self.generator(self.sample_noise(m))
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake)
        return self.update_discriminator(real_logits, fake_logits)

    def generator_step(self, m):
        """One update of G through a frozen D.

        D's parameters are set not to require gradients for the step: the gradient still flows through
        D to the fakes and on into G, but D's weights get no gradient (and their GEMMs are skipped).
        """
        with frozen(self.discriminator):
            fake_logits = self.discriminator(self.generator(self.sample_noise(m)))
            return self.update_generator(fake_logits)

    def update_discriminator(self, real_logits, fake_logits):
        """One optimiser step of D on its objective, given D's logits for the real and the fake minibatch."""
        loss = self.discriminator_objective(real_logits, fake_logits)  # −[log D(x) + log(1 − D(G(z)))]
        self.discriminator_optimizer.zero_grad()
        loss.backward()
        self.discriminator_optimizer.step()
        self.discriminator_step_count += 1
        return {"d_loss": loss.item(), "d_real": _mean_probability(real_logits), "d_fake": _mean_probability(fake_logits)}

    def update_generator(self, fake_logits):
        """One optimiser step of G on its objective, given D's logits for G's fakes (D frozen by the caller)."""
        loss = self.generator_objective(fake_logits)  # log(1 − D(G(z))) or −log D(G(z))
        self.generator_optimizer.zero_grad()
        loss.backward()
        self.generator_optimizer.step()
        self.generator_step_count += 1
        return {"g_loss": loss.item(), "d_fake_after": _mean_probability(fake_logits)}

    def train_iteration(self, real_batches):
        """One outer iteration of Algorithm 1: k discriminator steps, each on ``next(real_batches)``,
        then one generator step with the same minibatch size. Returns the step's statistics."""
        self.seed_iteration()
        for _ in range(self.discriminator_steps):
            real = next(real_batches)
            stats = self.discriminator_step(real)
        stats.update(self.generator_step(real.shape[0]))
        self.iteration += 1
        return stats

    def seed_iteration(self):
        """With ``seed`` set, reseed the backend's generator from (seed, iteration): iteration t then draws
        the same noise and dropout masks whether or not the run was stopped and resumed before it."""
        if self.seed is not None:
            backend.seed(int(numpy.random.SeedSequence([self.seed, self.iteration]).generate_state(1)[0]))

    def generate(self, noise):
        """G(z) in evaluation mode (batch norm uses running statistics), without a graph."""
        with evaluating(self.generator), no_grad():
            return self.generator(noise if isinstance(noise, Tensor) else Tensor(backend.get_backend().asarray(noise)))

    # ----- saving and resuming -----------------------------------------------------------------
    def state_dict(self):
        """Everything needed to resume: both networks, both optimisers, and the counters."""
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "generator_optimizer": self.generator_optimizer.state_dict(),
            "discriminator_optimizer": self.discriminator_optimizer.state_dict(),
            "counters": {
                "iteration": numpy.array(self.iteration),
                "discriminator_step_count": numpy.array(self.discriminator_step_count),
                "generator_step_count": numpy.array(self.generator_step_count),
            },
        }

    def load_state_dict(self, state):
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.generator_optimizer.load_state_dict(state["generator_optimizer"])
        self.discriminator_optimizer.load_state_dict(state["discriminator_optimizer"])
        for name, value in state["counters"].items():
            setattr(self, name, int(value))
        return self
