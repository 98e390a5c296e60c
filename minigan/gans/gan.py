"""Training a GAN: Goodfellow et al. 2014, Algorithm 1.

The discriminator D(x) estimates the probability that x came from the data rather than from the
generator G(z). The two play the minimax game (Goodfellow et al. 2014, eq. 1)

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))].

Algorithm 1 alternates between the players::

    for number of training iterations do
        for k steps do
            sample minibatch of m noise samples {z⁽¹⁾, …, z⁽ᵐ⁾} from noise prior p_g(z)
            sample minibatch of m examples {x⁽¹⁾, …, x⁽ᵐ⁾} from data generating distribution p_data(x)
            update the discriminator by ascending its stochastic gradient
                ∇_θd (1/m) Σᵢ [log D(x⁽ⁱ⁾) + log(1 − D(G(z⁽ⁱ⁾)))]
        end for
        sample minibatch of m noise samples {z⁽¹⁾, …, z⁽ᵐ⁾} from noise prior p_g(z)
        update the generator by descending its stochastic gradient
            ∇_θg (1/m) Σᵢ log(1 − D(G(z⁽ⁱ⁾)))
    end for

``GAN.train_iteration`` below is one pass of the outer loop, and reads like it; the pieces it calls come
after it. What each player descends is the GAN's *objective* (``minigan/gans/objectives.py``): by default
``Standard``, the losses above written as binary cross-entropies on D's logits, with G's loss either as
printed ("minimax") or in the paper's §3 form, ascending log D(G(z)) instead ("non-saturating").
A variant of the GAN is a new objective there, or new networks, beside this loop, never a copy of it
(the Wasserstein GANs, ``wasserstein.py``, are Algorithm 1 with k = n_critic critic steps).

A conditional GAN (``minigan/gans/conditional_gan.py``) runs this same loop with minibatches that carry
a condition y: it changes only how a minibatch splits into (x, y) and how G and D are called
(G(z | y), D(x | y)).
"""

import contextlib

import numpy

from minigan.engine import backend, nn
from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.checks import positive_int
from .objectives import GENERATOR_LOSSES, Standard, data_of

NOISE_DISTRIBUTIONS = ("normal", "uniform")


class GAN:
    """A generator, a discriminator, their optimisers, and Algorithm 1 to train them.

    Args:
        generator: maps noise (m, noise_dim) to samples shaped like the data.
        discriminator: maps a batch of samples to logits (m, 1).
        generator_optimizer, discriminator_optimizer: each over its own network's parameters.
        noise_dim: length of z.
        generator_loss, real_label: build the default objective, ``Standard(generator_loss, real_label)``:
            G's loss ``"non-saturating"`` (the default) or ``"minimax"``, and the target for real data in
            D's loss (1.0, the default, is the paper's; 0.9 is one-sided label smoothing).
        discriminator_steps: k, discriminator updates per generator update (the paper used k = 1).
        noise: ``"normal"`` N(0, I) or ``"uniform"`` U(−1, 1) for z.
        seed: with ``seed`` set, iteration t draws its noise (and dropout masks) from a generator seeded
            by (seed, t), so a run resumed at iteration t draws exactly what the uninterrupted run drew.
        objective: what the players minimise, any object with ``discriminator_loss(gan, real, fake,
            condition)`` and ``generator_loss(gan, fake, condition)`` (see ``objectives.py``), and
            optionally ``after_discriminator_step(gan)``, called after every update of D (WGAN's
            clipping); given instead of ``generator_loss`` and ``real_label``, not with them.

    ``output_range``: (low, high) of G's samples when G ends in tanh or sigmoid (``output_range(G)``), else
    None. The first real minibatch the GAN trains on must lie in it (see ``check_real_range``); set it
    to None to train on data outside it on purpose.
    """

    def __init__(self, generator, discriminator, generator_optimizer, discriminator_optimizer, noise_dim,
                 generator_loss=None, discriminator_steps=1, noise="normal", real_label=None, seed=None, *,
                 objective=None):
        discriminator_steps = positive_int("GAN", "discriminator_steps (k)", discriminator_steps)
        if noise not in NOISE_DISTRIBUTIONS:
            raise ValueError(f"GAN: noise must be one of {NOISE_DISTRIBUTIONS}, got {noise!r}")
        self.generator, self.discriminator = generator, discriminator
        self.generator_optimizer, self.discriminator_optimizer = generator_optimizer, discriminator_optimizer
        self.noise_dim, self.discriminator_steps, self.noise = noise_dim, discriminator_steps, noise
        self.seed = None if seed is None else backend.check_seed(seed, "GAN: seed")  # here, not deep in SeedSequence
        self.objective = _objective(objective, generator_loss, real_label)
        self.output_range = output_range(generator)
        self.real_range_checked = False  # the first real minibatch is checked against output_range
        self.iteration = 0  # completed iterations of Algorithm 1's outer loop
        self.discriminator_step_count = 0
        self.generator_step_count = 0

    # ----- Algorithm 1: one iteration of the outer loop -----------------------------------------------
    def train_iteration(self, real_batches):
        """k discriminator steps, each on its own minibatch ``next(real_batches)``, then one generator step
        with the same minibatch size m (and, for a conditional GAN, the last minibatch's condition).

        ``real_batches``, an iterator (``iter(loader)``), yields what ``DataLoader`` yields: minibatches of
        examples (m, …), or for a conditional GAN (examples, labels) pairs; k of them per call. The first
        minibatch a GAN trains on must lie in G's ``output_range`` (``check_real_range``). Returns the
        statistics of the last D step and the G step, as 0-d arrays left on the device: an iteration copies nothing to the host (on a GPU every copy
        waits for the queued work). ``float(stats["d_loss"])`` fetches one; ``training.fetch_statistics``
        fetches many steps' at once.
        """
        if not hasattr(real_batches, "__next__"):  # a list would fail in next() with a message naming neither
            raise TypeError(f"{type(self).__name__}.train_iteration: real_batches must be an iterator yielding "
                            f"k = {self.discriminator_steps} minibatches per iteration (iter(loader)), "
                            f"got a {type(real_batches).__name__}")
        self.seed_iteration()
        for step in range(self.discriminator_steps):                 # for k steps:
            real, condition = self.split_batch(next_minibatch(self, real_batches, step))  # m examples x (and y)
            if not self.real_range_checked:
                self.check_real_range(real)
            stats = self.discriminator_step(real, condition)         #   update D on them and on m fresh G(z)
        stats.update(self.generator_step(real.shape[0], condition))  # update G on m fresh G(z)
        self.iteration += 1
        return stats

    def check_real_range(self, real):
        """Refuse a real minibatch outside G's ``output_range``: D would tell real from fake by the range
        alone (images in [0, 255] against a tanh's (−1, 1)) and G could never close the gap.

        Called on the first minibatch only: one minimum and maximum per run, since on a GPU reading them
        waits for the queued work, which every later iteration must not do (``train_iteration``); the
        minibatches of one run come from the same scaling, so the first one speaks for them.
        """
        self.real_range_checked = True
        if self.output_range is None:
            return
        data = data_of(real)
        if data.size == 0 or data.dtype.kind not in "iuf":  # nothing to bound (D's own checks speak for the rest)
            return
        xp = backend.array_module(data)
        found_low, found_high = (float(v) for v in backend.to_numpy(xp.stack([data.min(), data.max()])))  # one copy
        low, high = self.output_range
        if not (low <= found_low and found_high <= high):  # NaN fails too
            raise ValueError(f"{type(self).__name__}.train_iteration: real_batches' first minibatch lies in [{found_low:g}, {found_high:g}], "
                             f"but G's samples lie in [{low:g}, {high:g}] (its last activation); scale the data to "
                             f"G's range (models.IMAGE_RANGE), or set gan.output_range = None to train on it as it is")

    # ----- the two updates --------------------------------------------------------------------------
    def discriminator_step(self, real, condition=None):
        """One update of D on a minibatch of real examples (m, …) and m fresh fakes for the same condition.

        G is run under ``no_grad``: its output enters D's graph as a constant, so D's backward pass
        stops at the fakes and G's parameters and gradients are untouched.
        """
        real = _as_tensor(real)
        condition = self.check_condition(condition, real.shape[0], "discriminator_step")
        with no_grad():
            fake = self.call_generator(self.sample_noise(real.shape[0]), condition)   # G(z), a constant here
        loss, stats = self.objective.discriminator_loss(self, real, fake, condition)  # −[log D(x) + log(1 − D(G(z)))]
        descend(self.discriminator_optimizer, loss)
        after_step = getattr(self.objective, "after_discriminator_step", None)
        if after_step is not None:
            after_step(self)                                                          # WGAN: clip D's weights
        self.discriminator_step_count += 1
        return {"d_loss": loss.data, **stats}  # on the device: see train_iteration

    def generator_step(self, m, condition=None):
        """One update of G on m fresh fakes (for ``condition``, if the GAN is conditional), through a frozen D.

        D's parameters are set not to require gradients for the step: the gradient still flows through
        D to the fakes and on into G, but D's weights get no gradient (and their GEMMs are skipped).
        """
        condition = self.check_condition(condition, m, "generator_step")
        with frozen(self.discriminator):
            fake = self.call_generator(self.sample_noise(m), condition)              # G(z), with its graph
            loss, stats = self.objective.generator_loss(self, fake, condition)        # log(1 − D(G(z))) or −log D(G(z))
            descend(self.generator_optimizer, loss)
        self.generator_step_count += 1
        return {"g_loss": loss.data, **stats}

    # ----- what is conditioned: the four methods a conditional GAN overrides --------------------------
    def split_batch(self, batch):
        """A minibatch as ``real_batches`` yields it -> (examples, condition): here (batch, None)."""
        if isinstance(batch, tuple):
            raise TypeError(f"{type(self).__name__}.train_iteration: real_batches must yield minibatches of examples "
                            f"(m, …), got a tuple of {len(batch)}; (examples, labels) pairs are for ConditionalGAN")
        return batch, None

    def check_condition(self, condition, m, method):
        """The condition for m examples, ready for G and D: an unconditional GAN takes none."""
        if condition is not None:
            raise TypeError(f"{type(self).__name__}.{method}: an unconditional GAN takes no condition, got a "
                            f"{type(condition).__name__}; for labelled data use ConditionalGAN")
        return None

    def call_generator(self, noise, condition):
        """G(z): noise (m, noise_dim) -> samples."""
        return self.generator(noise)

    def call_discriminator(self, x, condition):
        """D(x): samples (m, …) -> logits (m, 1)."""
        return self.discriminator(x)

    # ----- noise, seeds, sampling -------------------------------------------------------------------
    def sample_noise(self, m, rng=None):
        """m noise vectors z, shape (m, noise_dim), on the current device, in the backend's default dtype
        (``backend.get_backend().dtype``, float32) whatever the networks' dtype.

        ``rng``: a generator (default: the training stream, ``default_rng()``); pass your own for noise that
        training does not consume, such as a fixed grid's. A NumPy generator on another backend draws on the
        host, and the noise is then copied to the device.
        """
        rng = backend.default_rng() if rng is None else rng
        be = backend.get_backend()
        if self.noise == "normal":
            z = rng.standard_normal((m, self.noise_dim), dtype=be.dtype)
        else:
            z = rng.uniform(-1.0, 1.0, size=(m, self.noise_dim)).astype(be.dtype)
        return Tensor(z if backend.array_module(z) is be.xp else be.asarray(z))

    def seed_iteration(self):
        """With ``seed`` set, reseed the backend's generator from (seed, iteration): iteration t then draws
        the same noise and dropout masks whether or not the run was stopped and resumed before it.

        The generator is restarted in place (``backend.seed``), so a run keeps one generator throughout:
        on CuPy a new generator would set up its cuRAND state every step."""
        if self.seed is not None:
            backend.seed(int(numpy.random.SeedSequence([self.seed, self.iteration]).generate_state(1)[0]))

    def generate(self, noise, condition=None):
        """G(z) (or G(z | y) for a conditional GAN) in evaluation mode (batch norm uses running
        statistics, no dropout), without a graph. noise: (m, noise_dim)."""
        noise = _as_tensor(noise)
        condition = self.check_condition(condition, noise.shape[0], "generate")
        with evaluating(self.generator), no_grad():
            return self.call_generator(noise, condition)

    # ----- saving and resuming -----------------------------------------------------------------------
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


# ----- helpers of the loop ---------------------------------------------------------------------------
def next_minibatch(gan, real_batches, step):
    """The next minibatch of ``real_batches``; one line naming it if the iterator is exhausted, rather
    than a bare StopIteration from inside the loop."""
    try:
        return next(real_batches)
    except StopIteration:
        updated = f" (D was updated on the first {step})" if step else ""
        raise ValueError(f"{type(gan).__name__}.train_iteration: real_batches ran out after {step} of the "
                         f"k = {gan.discriminator_steps} minibatches of iteration {gan.iteration}{updated}; "
                         f"it must yield k minibatches per iteration") from None


# What each final activation bounds G's samples to; shape-only layers after it (a Reshape) change no value.
ACTIVATION_RANGES = ((nn.Tanh, (-1.0, 1.0)), (nn.Sigmoid, (0.0, 1.0)))
SHAPE_LAYERS = (nn.Reshape, nn.Flatten)


def output_range(generator):
    """(low, high) bounding G's samples if G is a ``Sequential`` whose last layer (after any reshape) is
    tanh or sigmoid; None when it cannot be read off G."""
    layers = generator.layers if isinstance(generator, nn.Sequential) else []
    for layer in reversed(layers):
        if not isinstance(layer, SHAPE_LAYERS):
            return next((bounds for kind, bounds in ACTIVATION_RANGES if isinstance(layer, kind)), None)
    return None


def _objective(objective, generator_loss, real_label):
    """``objective`` if given (and then without the other two), else ``Standard(generator_loss, real_label)``."""
    if objective is None:
        return Standard("non-saturating" if generator_loss is None else generator_loss, 1.0 if real_label is None else real_label)
    if generator_loss is not None or real_label is not None:
        raise ValueError(f"GAN: generator_loss and real_label build the default Standard objective; with "
                         f"objective={objective!r} given, leave them out (for example, pass "
                         f"objective=Standard(generator_loss='minimax', real_label=0.9))")
    if not (callable(getattr(objective, "discriminator_loss", None)) and callable(getattr(objective, "generator_loss", None))):
        raise TypeError(f"GAN: objective must have discriminator_loss(gan, real, fake, condition) and "
                        f"generator_loss(gan, fake, condition) methods, got {objective!r}")
    return objective


def descend(optimizer, loss):
    """One optimiser step down ``loss``: clear the old gradients, backpropagate, update the parameters."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


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


def _as_tensor(array):
    """A NumPy/CuPy array (or a Tensor, passed through) as a Tensor on the current device."""
    return array if isinstance(array, Tensor) else Tensor(backend.get_backend().asarray(array))


__all__ = ["GAN", "Standard", "GENERATOR_LOSSES", "NOISE_DISTRIBUTIONS", "frozen", "evaluating", "descend", "output_range"]
