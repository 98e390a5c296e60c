"""A GAN for tables of mixed columns: CTGAN, Xu et al. 2019, "Modeling Tabular Data using Conditional GAN".

A row of a table (``minigan/tools/data/tabular.py``) is, column after column, the one-hot of a category,
or for a continuous column its value within a mode, α ∈ [−1, 1], and the one-hot β of that mode (the
paper's mode-specific normalisation, §4.2). Three things make the GAN fit such rows (§4.3–4.4):

* **Outputs per column.** G ends in tanh for each α and in a Gumbel-softmax for each one-hot block:
  "α̂_i = tanh(FC(h₂)), β̂_i = gumbel_0.2(FC(h₂)), d̂_i = gumbel_0.2(FC(h₂))" (§4.4): a sample that is
  almost one-hot, as the real rows are, yet differentiable (``engine/ops/activations.py``, ``gumbel_softmax``).
* **A conditional generator, trained by sampling** (§4.3). A category of a rare class is seldom drawn
  in a random minibatch, so G would seldom be taught it. Each row of a minibatch instead starts from a
  *condition*: a categorical column chosen uniformly, then one of its categories with probability
  proportional to the log of its frequency, written as the conditional vector c (the one-hot of that
  category inside the concatenated one-hots of every categorical column, zeros elsewhere); the real
  row is drawn from the rows that have that category, and G draws G(z, c). "The critic estimates the
  distance between the learned conditional distribution P_G(row | cond) and the conditional
  distribution on real data P(row | cond)" (§4.3): D sees (row, c) for both.
* **G must honour c**: G's loss adds the cross-entropy between its logits for the chosen column and the
  chosen category, "penalizing its loss by adding the cross-entropy between m_{i*} and d̂_{i*}" (§4.3).

The critic is WGAN-GP's (Gulrajani et al. 2017, ``wasserstein.py``) with PacGAN's packing (Lin et al.
2018): it scores ``pac`` = 10 rows at once, concatenated, which lets it see a lack of diversity among
them (mode collapse) that no single row shows; the gradient penalty is then per pack.

Everything runs in the one loop of ``gan.py`` (Algorithm 1, k critic steps per G step; CTGAN's code
uses k = 1): ``CTGAN`` is a ``GAN`` whose minibatches are (rows, conditions) pairs, as
``ConditionalGAN``'s are (images, labels) pairs, and ``CTGANObjective`` is ``WGANGP`` with packs and the
condition's cross-entropy. ``ConditionalGAN`` itself is not reused: its condition is one class label of
one column, while here it is a category of any of several columns, which the training-by-sampling loader
chooses for each row.

The networks (§4.4, "Network Structure"): G is two residual blocks, each h ⊕ ReLU(BN(FC(h))) (the block's
input concatenated to its output, so the width grows), then one FC to the row's width and the activations
above; the critic is two layers FC → LeakyReLU(0.2) → Dropout(0.5) on the pack, then FC to a score.
"""

import numpy

from minigan.engine import backend, nn, optim
from minigan.engine.autograd import Tensor
from minigan.engine.losses import cross_entropy
from minigan.engine.ops import concatenate, gumbel_softmax
from .gan import GAN
from .objectives import Standard, data_of
from .wasserstein import critic_loss, generator_loss, gradient_penalty

TEMPERATURE = 0.2   # τ of the Gumbel-softmax outputs (§4.4)
PAC = 10            # rows per pack of the critic (CTGAN's code, from PacGAN)
NOISE_DIM = 128     # CTGAN's "embedding_dim"


# ----- the networks -------------------------------------------------------------------------------
class Residual(nn.Module):
    """h ⊕ ReLU(BN(FC(h))): (m, d) -> (m, d + width), the block of CTGAN's generator (§4.4)."""

    def __init__(self, features, width):
        self.fc, self.norm = nn.Linear(features, width), nn.BatchNorm1d(width)

    def forward(self, h):
        return concatenate([h, self.norm(self.fc(h)).relu()], axis=1)


class RowGenerator(nn.Module):
    """G(z, c): noise (m, noise_dim) and conditions (m, condition_width) -> rows (m, row width).

    ``spans``: the ``tabular.Span`` of each part of a row; G's last FC gives one logit per position, and each
    span goes through its activation: tanh for an α, a Gumbel-softmax at ``temperature`` for a one-hot block.
    ``logits`` keeps the last forward's pre-activation outputs (m, row width): the objective's cross-entropy
    for the condition is taken on them, as in CTGAN's code, not on the noisy Gumbel sample.
    """

    def __init__(self, noise_dim, condition_width, spans, hidden=(256, 256), temperature=TEMPERATURE):
        self.spans, self.temperature = tuple(spans), temperature
        features, self.blocks = noise_dim + condition_width, []
        for width in hidden:
            self.blocks.append(Residual(features, width))
            features += width
        self.output = nn.Linear(features, self.spans[-1].stop)
        self.logits = None

    def forward(self, noise, condition):
        h = concatenate([noise, condition], axis=1)                          # (m, noise_dim + condition_width)
        for block in self.blocks:
            h = block(h)                                                      # (m, features)
        self.logits = self.output(h)                                          # (m, row width)
        return activate(self.logits, self.spans, self.temperature)


def activate(logits, spans, temperature):
    """Each span of the logits (m, width) through its activation (tanh, or Gumbel-softmax at ``temperature``),
    joined again into rows (m, width)."""
    parts = []
    for span in spans:
        piece = logits[:, span.start:span.stop]                               # (m, span width)
        parts.append(piece.tanh() if span.activation == "tanh" else gumbel_softmax(piece, temperature))
    return concatenate(parts, axis=1)


class PackedCritic(nn.Module):
    """D(rows, c): the critic of ``pac`` rows at a time, each joined to its condition:
    (m, width) and (m, condition_width) -> scores (m/pac, 1), no sigmoid (a Wasserstein critic)."""

    def __init__(self, row_width, condition_width, pac=PAC, hidden=(256, 256), dropout=0.5):
        self.pac, layers, features = pac, [], pac * (row_width + condition_width)
        for width in hidden:
            layers += [nn.Linear(features, width), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            features = width
        self.net = nn.Sequential(*layers, nn.Linear(features, 1))

    def forward(self, rows, condition):
        m = rows.shape[0]
        if m % self.pac:
            raise ValueError(f"PackedCritic: a minibatch of {m} rows does not split into packs of pac = {self.pac}; "
                             f"use a batch size that is a multiple of {self.pac}")
        joined = concatenate([rows, condition], axis=1)                             # (m, width + condition_width)
        return self.net(joined.reshape(m // self.pac, self.pac * joined.shape[1]))   # (m/pac, pac·(width + cond)) -> (m/pac, 1)


# ----- the conditional vector and training by sampling (§4.3) ------------------------------------------
class ConditionSampler:
    """The conditional vectors of §4.3 and the real rows that match them.

    ``codes``: {column: (n,) int codes} of the training table's categorical columns, in the order of the
    conditional vector; ``sizes``: the number of categories of each. Built once from the training table.

        sample(m, rng) -> (conditions (m, width) float32, rows (m,) indices of real rows that match them)

    "1. Create N_d zero-filled mask vectors … 2. Randomly select a discrete column D_i with equal
    probability … 3. Construct a PMF across the range of values of the column selected, such that the
    probability mass of each value is the logarithm of its frequency in that column. 4. Let k* be a
    randomly selected value according to the PMF above" (§4.3); CTGAN's code takes log(frequency + 1),
    so a category seen once still has some mass.
    """

    def __init__(self, codes, sizes):
        self.columns, self.sizes = list(codes), [int(s) for s in sizes]
        self.offsets = numpy.concatenate([[0], numpy.cumsum(self.sizes)])         # where each column's block starts
        self.width = int(self.offsets[-1])
        self.pmfs, self.frequencies, self.rows_of = [], [], []
        for column, size in zip(self.columns, self.sizes):
            values = numpy.asarray(codes[column])
            counts = numpy.bincount(values, minlength=size)
            mass = numpy.log(counts + 1.0) * (counts > 0)                          # an absent category cannot be matched
            self.pmfs.append(mass / mass.sum())
            self.frequencies.append(counts / counts.sum())
            self.rows_of.append([numpy.flatnonzero(values == k) for k in range(size)])

    def sample(self, m, rng):
        column = rng.integers(len(self.columns), size=m)                            # step 2, per row
        category = numpy.zeros(m, numpy.int64)
        rows = numpy.zeros(m, numpy.int64)
        for j in range(len(self.columns)):                                          # steps 3–4, the rows of column j at once
            chosen = numpy.flatnonzero(column == j)
            category[chosen] = _draw(self.pmfs[j], len(chosen), rng)
            for k in numpy.unique(category[chosen]):                                 # a real row with column j = k, uniformly
                group = chosen[category[chosen] == k]
                rows[group] = self.rows_of[j][k][rng.integers(len(self.rows_of[j][k]), size=len(group))]
        return self.vectors(column, category), rows

    def sample_original(self, m, rng):
        """Conditions for *sampling* a synthetic table (CTGAN's code): a column chosen uniformly, then a category by
        its real frequency (not its log), so that the conditions follow the data's own marginals. Returns
        (conditions (m, width), column (m,), category (m,))."""
        column = rng.integers(len(self.columns), size=m)
        category = numpy.zeros(m, numpy.int64)
        for j in range(len(self.columns)):
            chosen = numpy.flatnonzero(column == j)
            category[chosen] = _draw(self.frequencies[j], len(chosen), rng)
        return self.vectors(column, category), column, category

    def vectors(self, column, category):
        """The conditional vectors (m, width) float32 of (column, category) pairs: one 1 each, in that column's block."""
        conditions = numpy.zeros((len(column), self.width), numpy.float32)
        conditions[numpy.arange(len(column)), self.offsets[column] + category] = 1.0
        return conditions


def _draw(pmf, count, rng):
    """``count`` categories drawn from the probabilities ``pmf`` (by inverting its cumulative sum)."""
    cumulative = numpy.cumsum(pmf)
    return numpy.minimum(numpy.searchsorted(cumulative, rng.uniform(size=count) * cumulative[-1], side="right"), len(pmf) - 1)


class TrainingBySampling:
    """The loader of CTGAN's training: epoch after epoch, ``len(self)`` minibatches of (rows, conditions), each
    row drawn to match its condition (``ConditionSampler``). Epoch e is drawn from a generator seeded by
    (seed, e), so a run resumed at epoch e draws what the uninterrupted run drew (as ``DataLoader``).

    ``images`` is the encoded table (n, width) (the name the run harness reads the examples under); an
    epoch has n // batch_size minibatches, as a pass over the rows would.
    """

    def __init__(self, rows, sampler, batch_size, seed):
        self.images, self.sampler, self.batch_size, self.seed, self.epoch = rows, sampler, int(batch_size), int(seed), 0

    def __len__(self):
        return len(self.images) // self.batch_size

    def __iter__(self):
        rng = numpy.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        for _ in range(len(self)):
            conditions, rows = self.sampler.sample(self.batch_size, rng)
            yield self.images[rows], conditions


# ----- the objective ------------------------------------------------------------------------------
ADVERSARIAL_LOSSES = ("wgan-gp", "standard")


class CTGANObjective:
    """WGAN-GP on packs, plus the condition's cross-entropy in G's loss (§4.3):

        D's loss = (1/M) Σ_packs [D(x̃, c) − D(x, c)] + λ (1/M) Σ_packs (‖∇ D(x̂, c)‖₂ − 1)²      (M = m / pac)
        G's loss = −(1/M) Σ_packs D(G(z, c), c) + (1/m) Σᵢ Σ_j [column j chosen for row i] · CE(logits_j, k*ᵢ)

    with CE(l, k) = −log softmax(l)_k on G's logits of column j's block. Statistics: those of ``WGANGP``,
    and ``condition_loss``, the cross-entropy term.

    ``adversarial="standard"``: the same, with Goodfellow et al.'s game in place of the Wasserstein one
    (``objectives.Standard``, non-saturating G, D's score of a pack a logit): what the paper's critic is
    compared against.
    """

    def __init__(self, penalty_weight=10.0, pac=PAC, adversarial="wgan-gp"):
        if adversarial not in ADVERSARIAL_LOSSES:
            raise ValueError(f"CTGANObjective: adversarial must be one of {ADVERSARIAL_LOSSES}, got {adversarial!r}")
        self.penalty_weight, self.pac, self.adversarial = float(penalty_weight), int(pac), adversarial
        self.standard = Standard() if adversarial == "standard" else None

    def discriminator_loss(self, gan, real, fake, condition):
        if self.standard is not None:
            return self.standard.discriminator_loss(gan, real, fake, condition)
        loss, stats = critic_loss(gan, real, fake, condition)
        penalty = gradient_penalty(gan, real, fake, condition, self.penalty_weight, pac=self.pac)
        return loss + penalty, {**stats, "gradient_penalty": penalty.data}

    def generator_loss(self, gan, fake, condition):
        if self.standard is not None:
            loss, stats = self.standard.generator_loss(gan, fake, condition)   # −log D(G(z, c) | c), per pack
        else:
            loss, stats = generator_loss(gan, fake, condition)                 # −(1/M) Σ D(G(z, c), c)
        honour = condition_loss(gan.generator.logits, condition, gan.condition_spans)
        return loss + honour, {**stats, "condition_loss": honour.data}

    def __repr__(self):
        return f"CTGANObjective(penalty_weight={self.penalty_weight!r}, pac={self.pac!r}, adversarial={self.adversarial!r})"


def condition_loss(logits, condition, condition_spans):
    """(1/m) Σᵢ Σ_j mᵢⱼ · CE(logitsᵢ[row span of j], k*ᵢⱼ): the cross-entropy of each row's chosen column.

    ``condition_spans``: per categorical column, (its span in the row, where its block starts in c). For
    each column j the block of c is one-hot where j was chosen (mᵢⱼ = 1, k* its argmax) and zeros elsewhere
    (mᵢⱼ = 0: the term is left out by the weight).
    """
    xp = logits.xp
    condition = data_of(condition)
    m, total = logits.shape[0], None
    for span, start in condition_spans:
        block = condition[:, start:start + (span.stop - span.start)]                 # (m, categories)
        chosen = block.sum(axis=1)                                                  # mᵢⱼ ∈ {0, 1}, (m,)
        terms = cross_entropy(logits[:, span.start:span.stop], block.argmax(axis=1), reduction="none")  # (m,)
        weighted = (terms * Tensor(xp.asarray(chosen, dtype=logits.dtype))).sum()
        total = weighted if total is None else total + weighted
    return total * (1.0 / m)


# ----- the GAN: Algorithm 1 with (rows, conditions) minibatches ---------------------------------------
class CTGAN(GAN):
    """``GAN`` whose minibatches are (rows, conditions) pairs, as ``TrainingBySampling`` yields them.

    Only how a minibatch splits, how the condition is checked and how G and D are called differ from
    ``GAN`` (as for ``ConditionalGAN``): G(z, c) and D(x, c), with the fakes of a step drawn for the
    real minibatch's conditions. ``condition_spans``: see ``condition_loss``.
    """

    def __init__(self, generator, discriminator, generator_optimizer, discriminator_optimizer, noise_dim,
                 condition_width, condition_spans, **gan_options):
        super().__init__(generator, discriminator, generator_optimizer, discriminator_optimizer, noise_dim, **gan_options)
        self.condition_width, self.condition_spans = int(condition_width), tuple(condition_spans)
        self.output_range = (-1.0, 1.0)  # tanh's α and the softmax blocks' [0, 1]: what the real rows must lie in

    def split_batch(self, batch):
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise TypeError(f"{type(self).__name__}.train_iteration: real_batches must yield (rows, conditions) pairs, "
                            f"as TrainingBySampling does; got a {type(batch).__name__}")
        return batch

    def check_condition(self, condition, m, method):
        """The conditions (m, condition_width) as a float array on the device, or an error naming the method."""
        if condition is None:
            raise TypeError(f"{type(self).__name__}.{method}: CTGAN needs conditional vectors, an array of shape "
                            f"({m}, {self.condition_width}), got None")
        array = data_of(condition)
        if tuple(array.shape) != (m, self.condition_width):
            raise ValueError(f"{type(self).__name__}.{method}: conditions must have shape ({m}, {self.condition_width}), "
                             f"got {tuple(array.shape)}")
        return Tensor(backend.get_backend().asarray(array).astype(backend.get_backend().dtype, copy=False))

    def call_generator(self, noise, condition):
        return self.generator(noise, condition)                                     # G(z, c)

    def call_discriminator(self, x, condition):
        return self.discriminator(x, condition)                                     # D(x, c), per pack


def build_ctgan(encoder, sampler, lr=2e-4, noise_dim=NOISE_DIM, hidden=(256, 256), pac=PAC, penalty_weight=10.0,
                discriminator_steps=1, seed=None, adversarial="wgan-gp"):
    """CTGAN for rows of ``encoder`` (a fitted ``tabular.TableEncoder``) conditioned by ``sampler`` (a
    ``ConditionSampler`` over the same categorical columns, in the order of ``encoder.category_spans``).

    CTGAN's settings (its code): Adam(lr 2e-4, β = (0.5, 0.9)) for both networks (its weight decay of 1e-6
    is left out: minigan's Adam has none), λ = 10, pac = 10, k = 1, N(0, I) noise of 128 dimensions.
    ``adversarial``: "wgan-gp" (the paper's) or "standard" (see ``CTGANObjective``).
    """
    starts = dict(zip(sampler.columns, sampler.offsets[:-1]))
    condition_spans = [(encoder.category_spans[name], int(starts[name])) for name in sampler.columns]
    generator = RowGenerator(noise_dim, sampler.width, encoder.spans, hidden)
    critic = PackedCritic(encoder.width, sampler.width, pac, hidden)
    return CTGAN(generator, critic,
                 optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.9)),
                 optim.Adam(critic.parameters(), lr=lr, betas=(0.5, 0.9)),
                 noise_dim=noise_dim, condition_width=sampler.width, condition_spans=condition_spans,
                 discriminator_steps=discriminator_steps, seed=seed,
                 objective=CTGANObjective(penalty_weight, pac, adversarial))
